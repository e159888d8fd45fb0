/**
 * ClientIP affinity as the kernel holds it: each endpoint of a Service port
 * with affinity has a dynamic set `<port id>-a<seconds>-<ip dashed>-<port>`
 * of client addresses, each element expiring `seconds` after the client's
 * last new connection. `/affinity` lists them (read with `nft -j`).
 */
import type { AffinityRecord } from '../proxier.js';

const SET_NAME = /^(p\d+)-a\d+-(\d+)-(\d+)-(\d+)-(\d+)-(\d+)$/;

interface NftJsonSet {
  set?: { name: string; elem?: (string | { elem: { val: string; expires?: number } })[] };
}

/** The affinity entries in `nft -j list table` output; `serviceOf` names the Service port of a port id. */
export function affinityFromNftJson(json: string, serviceOf: (portId: string) => string | undefined): AffinityRecord[] {
  let doc: { nftables?: NftJsonSet[] };
  try {
    doc = JSON.parse(json) as { nftables?: NftJsonSet[] };
  } catch {
    return [];
  }
  const out: AffinityRecord[] = [];
  for (const x of doc.nftables ?? []) {
    const m = x.set && SET_NAME.exec(x.set.name);
    if (!m) continue;
    const service = serviceOf(m[1]!);
    if (!service) continue;
    const endpoint = `${m[2]}.${m[3]}.${m[4]}.${m[5]}:${m[6]}`;
    for (const e of x.set!.elem ?? []) {
      if (typeof e === 'string') out.push({ service, client: e, endpoint, secondsLeft: -1 });
      else out.push({ service, client: e.elem.val, endpoint, secondsLeft: e.elem.expires ?? -1 });
    }
  }
  return out;
}
