/**
 * Connections a Local traffic policy dropped, for the connection stream: a
 * dropped first packet never makes a conntrack entry, so the drop rules note
 * each one in the nft set `dropped` (drop-rules.ts) and, while someone
 * watches, this reads the set every `periodMs` and sends one `close` event
 * with result `dropped` per connection it has not told yet. Drops from
 * before the watch began are not told (as conntrack's events are not).
 * While the node has no drop rule (`active` false) nothing can be added, so
 * after one last read the set is not read (a read is a netlink dump, and
 * the watch runs beside the traffic it watches).
 */
import { nftRunner } from './nft.js';
import type { ConnStreamItem } from './conn-events.js';
import { DROPPED_SET, NFT_TABLE } from './drop-rules.js';
import type { PortLookup } from './nftables/conntrack-events.js';

export interface DroppedFlow {
  /** The element as nft lists it, joined: stable while it stays in the set. */
  key: string;
  protocol: 'TCP' | 'UDP';
  client: string;
  dst: string;
  dport: number;
}

/** The elements of `nft -j list set ip kubemu-proxy dropped` (pure). */
export function droppedFromNftJson(json: string): DroppedFlow[] {
  let doc: { nftables?: { set?: { elem?: ({ elem?: { val?: { concat?: unknown[] } } } | { concat?: unknown[] })[] } }[] };
  try {
    doc = JSON.parse(json);
  } catch {
    return [];
  }
  const out: DroppedFlow[] = [];
  for (const x of doc.nftables ?? []) {
    for (const e of x.set?.elem ?? []) {
      const c = ('elem' in e ? e.elem?.val?.concat : (e as { concat?: unknown[] }).concat) ?? [];
      if (c.length !== 5) continue;
      const [saddr, proto, sport, daddr, dport] = c as [string, string, number, string, number];
      if (proto !== 'tcp' && proto !== 'udp') continue;
      out.push({ key: c.join(' '), protocol: proto === 'tcp' ? 'TCP' : 'UDP', client: `${saddr}:${sport}`, dst: daddr, dport: Number(dport) });
    }
  }
  return out;
}

export interface DropWatchOptions {
  node: string;
  lookup: () => PortLookup;
  emit: (item: ConnStreamItem) => void;
  /** The set as `nft -j` lists it (tests pass a fake). */
  list?: () => Promise<string>;
  /** Whether any drop rule is in place now (default: always). */
  active?: () => boolean;
  periodMs?: number;
  now?: () => number;
}

async function listDropped(): Promise<string> {
  const r = await (await nftRunner()).run(`list set ip ${NFT_TABLE} ${DROPPED_SET}`, { json: true });
  return r.code === 0 ? r.stdout : '';
}

export class DropWatch {
  readonly #o: DropWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  /** What the set held at the last read (told, or there before the watch). */
  #seen: Set<string> | undefined;
  #busy = false;
  /** Drop rules were in place at the last read. */
  #wasActive = true;

  constructor(o: DropWatchOptions) {
    this.#o = o;
  }

  start(): void {
    if (this.#timer) return;
    this.#seen = undefined;
    this.#wasActive = true;
    void this.poll();
    this.#timer = setInterval(() => void this.poll(), this.#o.periodMs ?? 500);
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#seen = undefined;
  }

  /** One read of the set; new elements become events (the first read only learns what is there). */
  async poll(): Promise<void> {
    if (this.#busy) return;
    const active = this.#o.active?.() ?? true;
    // The first read learns what is there; one more after the rules go catches their last drops.
    if (!active && !this.#wasActive && this.#seen !== undefined) return;
    this.#wasActive = active;
    this.#busy = true;
    try {
      const flows = droppedFromNftJson(await (this.#o.list ?? listDropped)());
      const first = this.#seen === undefined;
      const seen = new Set<string>();
      const lookup = this.#o.lookup();
      const now = (this.#o.now ?? Date.now)();
      for (const f of flows) {
        seen.add(f.key);
        if (first || this.#seen!.has(f.key)) continue;
        const m = lookup(f.protocol, f.dst, f.dport);
        this.#o.emit({
          type: 'close',
          start: now,
          durationMs: 0,
          protocol: f.protocol,
          service: m?.service ?? '',
          via: m?.via ?? '',
          client: f.client,
          node: this.#o.node,
          endpoint: '',
          bytesIn: 0,
          bytesOut: 0,
          result: 'dropped',
          attempts: 0,
        });
      }
      this.#seen = seen;
    } finally {
      this.#busy = false;
    }
  }
}
