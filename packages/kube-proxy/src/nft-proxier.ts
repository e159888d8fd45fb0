/**
 * nftables proxy mode, the I/O part: keeps the `ip kubemu-nat` table of this
 * node namespace equal to the service ports it is given.
 *
 *   setPort(key, input) ─▶ desired model ─┐ (dirty keys only)
 *                                         ├─▶ diffModel() per port ─▶ one `nft -f` transaction
 *   installed models ─────────────────────┘
 *
 * Only ports that changed are diffed and sent, so one EndpointSlice update
 * costs one small transaction whatever the number of Services. When a
 * transaction fails the table is rebuilt from scratch on the next sync (the
 * affinity sets start empty then). UDP conntrack entries towards endpoints
 * that left are deleted, as kube-proxy does, so a UDP client is not stuck on
 * a gone pod; TCP connections are left to end by themselves.
 */
import type { Logger } from 'pino';
import { run } from './exec.js';
import { AddrRefs, NAT_TABLE, baseScript, diffModel, emptyModel, modelsEqual, portModel, type NftContext, type NftPortInput, type PortModel } from './nft-rules.js';

interface PortEntry {
  id: string;
  installed: PortModel;
  want: PortModel;
  /** UDP: endpoints (`ip`) the installed model sends to, per service address. */
  udpTargets?: { vips: string[]; port: number; eps: Set<string> };
  wantUdp?: { vips: string[]; port: number; eps: Set<string> };
}

export class NftProxier {
  readonly #ctx: NftContext;
  readonly #log: Logger;
  readonly #ports = new Map<string, PortEntry>();
  readonly #dirty = new Set<string>();
  readonly #addrs = new AddrRefs();
  #nextId = 1;
  #needBase = true;
  #conntrackWarned = false;

  constructor(ctx: NftContext, log: Logger) {
    this.#ctx = ctx;
    this.#log = log;
  }

  /** Sets (or, with undefined, removes) a service port; true when its rules change. */
  setPort(key: string, input: NftPortInput | undefined): boolean {
    let e = this.#ports.get(key);
    const prevWant = e?.want;
    if (!input) {
      if (!e) return false;
      e.want = emptyModel();
      e.wantUdp = undefined;
    } else {
      if (!e) {
        e = { id: `p${this.#nextId++}`, installed: emptyModel(), want: emptyModel() };
        this.#ports.set(key, e);
      }
      e.want = portModel(e.id, input, this.#ctx);
      e.wantUdp =
        input.protocol === 'udp'
          ? { vips: [...(input.clusterIP ? [input.clusterIP] : []), ...input.externalIPs], port: input.port, eps: new Set(input.cluster.map((x) => x.ip)) }
          : undefined;
    }
    // Against the installed model and the last wanted one: a sync in flight may be installing that one.
    const changed = !modelsEqual(e.installed, e.want) || (prevWant !== undefined && !modelsEqual(prevWant, e.want));
    if (changed || this.#needBase) this.#dirty.add(key);
    return changed;
  }

  get pending(): boolean {
    return this.#dirty.size > 0 || this.#needBase;
  }

  /** Sends what changed in one transaction. Throws with nft's message on failure (the next sync rebuilds). */
  async sync(): Promise<void> {
    if (!this.pending) return;
    const rebuild = this.#needBase;
    const keys = rebuild ? [...this.#ports.keys()] : [...this.#dirty];
    this.#dirty.clear();
    const phases: string[][] = Array.from({ length: 8 }, () => []);
    const addrAdd: string[] = [];
    const addrDel: string[] = [];
    const refs = rebuild ? new AddrRefs() : this.#addrs;
    // What this transaction installs, per port (setPort may change `want` while nft runs).
    const sent = new Map<string, { model: PortModel; udp: PortEntry['wantUdp'] }>();
    for (const k of keys) {
      const e = this.#ports.get(k)!;
      sent.set(k, { model: e.want, udp: e.wantUdp });
      const from = rebuild ? emptyModel() : e.installed;
      diffModel(from, e.want).forEach((cmds, i) => phases[i].push(...cmds));
      const a = refs.change(from.addrs, e.want.addrs);
      addrAdd.push(...a.add);
      addrDel.push(...a.del);
    }
    const t = `ip ${NAT_TABLE}`;
    const lines = [
      ...(rebuild ? [baseScript(this.#ctx)] : []),
      ...phases.slice(0, 6).flat(),
      ...(addrAdd.length ? [`add element ${t} svc-addrs { ${addrAdd.join(', ')} }`] : []),
      ...phases.slice(6).flat(),
      ...(addrDel.length ? [`delete element ${t} svc-addrs { ${addrDel.join(', ')} }`] : []),
    ];
    const r = lines.length ? await run('nft', ['-f', '-'], lines.join('\n') + '\n') : { code: 0, stderr: '' };
    if (r.code !== 0) {
      this.#needBase = true;
      for (const k of keys) this.#dirty.add(k);
      throw new Error(`nft failed: ${r.stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    }
    if (rebuild) {
      this.#addrs.clear();
      for (const x of sent.values()) this.#addrs.change(new Set(), x.model.addrs);
      this.#needBase = false;
    }
    const gone: { vips: string[]; port: number; ip: string }[] = [];
    for (const [k, x] of sent) {
      const e = this.#ports.get(k)!;
      e.installed = x.model;
      for (const ip of e.udpTargets?.eps ?? []) if (!x.udp?.eps.has(ip)) gone.push({ vips: e.udpTargets!.vips, port: e.udpTargets!.port, ip });
      e.udpTargets = x.udp;
      if (!e.installed.chains.size && !x.udp && !e.want.chains.size && !this.#dirty.has(k)) this.#ports.delete(k);
    }
    if (gone.length) await this.#flushUdp(gone);
  }

  /** Deletes UDP conntrack entries from service addresses to endpoints that left. */
  async #flushUdp(gone: { vips: string[]; port: number; ip: string }[]): Promise<void> {
    for (const g of gone) {
      for (const vip of g.vips) {
        const r = await run('conntrack', ['-D', '-p', 'udp', '--orig-dst', vip, '--orig-port-dst', String(g.port), '--reply-src', g.ip]);
        // conntrack exits 1 when nothing matched; only a missing tool is worth a word.
        if (r.code === -1 && !this.#conntrackWarned) {
          this.#conntrackWarned = true;
          this.#log.warn({ err: r.stderr.trim() }, 'conntrack not available: UDP flows to removed endpoints stay until they idle out (install the conntrack package)');
        }
      }
    }
  }

  /** The current table as nft prints it (for /rules and tests). */
  async listTable(): Promise<string> {
    const r = await run('nft', ['list', 'table', 'ip', NAT_TABLE]);
    return r.code === 0 ? r.stdout : '';
  }

  async teardown(): Promise<void> {
    await run('nft', ['delete', 'table', 'ip', NAT_TABLE]);
    this.#ports.clear();
    this.#dirty.clear();
    this.#addrs.clear();
    this.#needBase = true;
  }
}
