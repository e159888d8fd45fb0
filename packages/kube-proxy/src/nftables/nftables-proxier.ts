/**
 * The nftables data plane, the I/O part: keeps the `ip kubemu-nat` table of this
 * node namespace equal to the service ports it is given.
 *
 *   setPort(key, state) ─▶ desired model ─┐ (dirty keys only)
 *                                         ├─▶ diffModel() per port ─▶ one nft transaction (nft.ts)
 *   installed models ─────────────────────┘
 *
 * Only ports that changed are diffed and sent, so one EndpointSlice update
 * costs one small transaction whatever the number of Services. Each
 * selection's endpoints sit in a block of slots of the shared endpoint maps
 * (nft-slots.ts), kept while its endpoints fit. When a
 * transaction fails the table is rebuilt from scratch on the next sync (the
 * affinity sets start empty then). UDP conntrack entries towards endpoints
 * that left are deleted, as kube-proxy does, so a UDP client is not stuck on
 * a gone pod. TCP connections are left to end by themselves (graceful
 * termination needs them), except attempts that never got an answer: a TCP
 * entry in SYN_SENT towards an endpoint that left is deleted too. Left in
 * place (up to 120 s), it catches every new connection with the same
 * addresses and ports (a client reusing a source port, or an LB whose SNAT
 * keeps it) and sends it to the gone pod: after a node dies, connections
 * time out long after its pods left the endpoints. Upstream kube-proxy keeps
 * those (kubernetes/kubernetes#101607, fix proposed in #102669 and not
 * merged); deleting only unanswered attempts cannot break a connection.
 */
import type { Logger } from 'pino';
import { run } from '@kubemu/netns';
import { affinityFromNftJson } from './affinity-sets.js';
import type { AffinityRecord, ConnRecord, Proxier, ProxierContext } from '../proxier.js';
import type { ServicePortState } from '../service-state.js';
import { nftRunner, type NftRunner } from '../nft.js';
import { enableConntrackAccounting, serviceFlows, type ServiceLookup } from './conntrack-flows.js';
import { NAT_TABLE, baseScript, diffModel, emptyModel, modelsEqual, portModel, type NftPortInput, type PortModel, type Selection } from './nft-rules.js';
import { nftPortInput } from './port-input.js';
import { SlotSpace, type SlotBlock } from './nft-slots.js';

interface PortEntry {
  id: string;
  installed: PortModel;
  want: PortModel;
  /** The inputs behind them (UDP conntrack cleanup compares their endpoints). */
  installedInput?: NftPortInput;
  wantInput?: NftPortInput;
  /** The endpoint-map slots `want` draws from. */
  blocks: Map<Selection, SlotBlock>;
}

export interface NftablesOptions {
  log: Logger;
  /** How nft scripts run (default: libnftables in process, else the nft binary); tests pass a fake. */
  runner?: () => Promise<NftRunner>;
}

export class NftablesProxier implements Proxier {
  readonly mode = 'nftables' as const;
  /** Also the NftContext the rules are built with (it names the pod bridge). */
  readonly #ctx: ProxierContext;
  readonly #log: Logger;
  readonly #runner: () => Promise<NftRunner>;
  readonly #ports = new Map<string, PortEntry>();
  readonly #dirty = new Set<string>();
  readonly #slots = new SlotSpace();
  /** Addresses on kube-ipvs0 (node ports do not apply to them): wanted, and as installed. */
  #svcAddrs = new Set<string>();
  #installedAddrs = new Set<string>();
  /** This node's endpoint addresses (how many ports use each), and the `hairpin` set as installed. */
  readonly #localEps = new Map<string, number>();
  #installedHairpin = new Set<string>();
  #nextId = 1;
  #needBase = true;
  #conntrackMissing = false;
  #fallbackWarned = false;

  constructor(ctx: ProxierContext, opts: NftablesOptions) {
    this.#ctx = ctx;
    this.#log = opts.log;
    this.#runner = opts.runner ?? nftRunner;
  }

  async start(): Promise<void> {
    const failed = enableConntrackAccounting();
    if (failed.length) this.#log.warn({ sysctls: failed }, 'cannot turn on conntrack accounting; /connections shows no bytes or ages');
  }

  setPort(key: string, state: ServicePortState | undefined): Promise<void> {
    this.setPortInput(key, state && nftPortInput(state, this.#ctx.node, this.#ctx.servesExternalIP));
    return Promise.resolve();
  }

  async retry(): Promise<void> {}

  /** The DNATed flows conntrack holds for Services (the kernel forwards, not us). */
  connections(limit: number): Promise<{ total: number; items: ConnRecord[] }> {
    return serviceFlows(this.serviceLookup(), this.#ctx.node, limit);
  }

  /** The clients the kernel's affinity sets hold now (one `nft -j list table`; nothing when no port has affinity). */
  async affinity(): Promise<AffinityRecord[]> {
    const ids = new Map<string, string>();
    for (const [key, e] of this.#ports) if (e.installedInput?.affinitySeconds) ids.set(e.id, key);
    if (!ids.size) return [];
    const r = await (await this.#nft()).run(`list table ip ${NAT_TABLE}`, { json: true });
    if (r.code !== 0) throw new Error(`listing the affinity sets failed: ${r.stderr.trim()}`);
    return affinityFromNftJson(r.stdout, (id) => ids.get(id));
  }

  async stop(clean: boolean): Promise<void> {
    if (clean) await this.teardown();
  }

  async #nft() {
    const r = await this.#runner();
    if (r.fallbackReason && !this.#fallbackWarned) {
      this.#fallbackWarned = true;
      this.#log.warn(r.fallbackReason);
    }
    return r;
  }

  /** Sets (or, with undefined, removes) a service port as nft inputs; true when its rules change. */
  setPortInput(key: string, input: NftPortInput | undefined): boolean {
    let e = this.#ports.get(key);
    const prevWant = e?.want;
    if (!input) {
      if (!e) return false;
      e.want = emptyModel();
      this.#keepBlocks(e, new Set());
    } else {
      if (!e) {
        e = { id: `p${this.#nextId++}`, installed: emptyModel(), want: emptyModel(), blocks: new Map() };
        this.#ports.set(key, e);
      }
      const used = new Set<Selection>();
      const entry = e;
      e.want = portModel(e.id, input, this.#ctx, (sel, n) => {
        used.add(sel);
        let b = entry.blocks.get(sel);
        if (!b || b.cap < n) {
          if (b) this.#slots.give(b);
          b = this.#slots.take(n);
          entry.blocks.set(sel, b);
        }
        return b.base;
      });
      this.#keepBlocks(e, used);
    }
    this.#countLocal(e.wantInput, -1);
    this.#countLocal(input, +1);
    e.wantInput = input;
    // Against the installed model and the last wanted one: a sync in flight may be installing that one.
    const changed = !modelsEqual(e.installed, e.want) || (prevWant !== undefined && !modelsEqual(prevWant, e.want));
    // a removed port is always synced once, even with nothing installed: the sync forgets its entry
    if (changed || this.#needBase || !input) this.#dirty.add(key);
    return changed;
  }

  /**
   * Frees the blocks `e` no longer draws from. Another port may take them at
   * once: the next transaction holds both, and deletes elements before it adds any.
   */
  #keepBlocks(e: PortEntry, used: Set<Selection>): void {
    for (const [sel, b] of e.blocks) {
      if (used.has(sel)) continue;
      this.#slots.give(b);
      e.blocks.delete(sel);
    }
  }

  #countLocal(input: NftPortInput | undefined, by: 1 | -1): void {
    for (const ip of new Set(input?.local.map((e) => e.ip))) {
      const n = (this.#localEps.get(ip) ?? 0) + by;
      if (n > 0) this.#localEps.set(ip, n);
      else this.#localEps.delete(ip);
    }
  }

  /** The addresses bound on kube-ipvs0 (cluster IPs, external IPs that are not the node's own). */
  setServiceAddrs(addrs: Set<string>): void {
    this.#svcAddrs = addrs;
  }

  get pending(): boolean {
    return this.#dirty.size > 0 || this.#needBase || !sameSet(this.#svcAddrs, this.#installedAddrs) || !sameKeys(this.#localEps, this.#installedHairpin);
  }

  /** Sends what changed in one transaction. Throws with nft's message on failure (the next sync rebuilds). */
  async sync(): Promise<void> {
    if (!this.pending) return;
    const rebuild = this.#needBase;
    const keys = rebuild ? [...this.#ports.keys()] : [...this.#dirty];
    this.#dirty.clear();
    const phases: string[][] = Array.from({ length: 8 }, () => []);
    // What this transaction installs (setPort may change `want` while nft runs).
    const sent = new Map<string, { model: PortModel; input?: NftPortInput }>();
    for (const k of keys) {
      const e = this.#ports.get(k)!;
      sent.set(k, { model: e.want, input: e.wantInput });
      diffModel(rebuild ? emptyModel() : e.installed, e.want).forEach((cmds, i) => phases[i].push(...cmds));
    }
    const addrs = this.#svcAddrs;
    const before = rebuild ? new Set<string>() : this.#installedAddrs;
    const addrAdd = [...addrs].filter((a) => !before.has(a));
    const addrDel = [...before].filter((a) => !addrs.has(a));
    const hairpin = new Set(this.#localEps.keys());
    const hpBefore = rebuild ? new Set<string>() : this.#installedHairpin;
    const pair = (ip: string) => `${ip} . ${ip}`;
    const hpAdd = [...hairpin].filter((a) => !hpBefore.has(a)).map(pair);
    const hpDel = [...hpBefore].filter((a) => !hairpin.has(a)).map(pair);
    const t = `ip ${NAT_TABLE}`;
    const lines = [
      ...(rebuild ? [baseScript(this.#ctx)] : []),
      ...(addrAdd.length ? [`add element ${t} svc-addrs { ${addrAdd.join(', ')} }`] : []),
      ...(addrDel.length ? [`delete element ${t} svc-addrs { ${addrDel.join(', ')} }`] : []),
      ...(hpAdd.length ? [`add element ${t} hairpin { ${hpAdd.join(', ')} }`] : []),
      ...(hpDel.length ? [`delete element ${t} hairpin { ${hpDel.join(', ')} }`] : []),
      ...phases.flat(),
    ];
    let r: { code: number; stderr: string };
    try {
      r = lines.length ? await (await this.#nft()).run(lines.join('\n') + '\n') : { code: 0, stderr: '' };
    } catch (err) {
      r = { code: -1, stderr: (err as Error).message };
    }
    if (r.code !== 0) {
      this.#needBase = true;
      for (const k of keys) this.#dirty.add(k);
      throw new Error(`nft failed: ${r.stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    }
    this.#needBase = false;
    this.#installedAddrs = addrs;
    this.#installedHairpin = hairpin;
    const gone: { vips: string[]; port: number; ip: string }[] = [];
    const tcpGone = new Set<string>();
    for (const [k, x] of sent) {
      const e = this.#ports.get(k)!;
      gone.push(...udpEndpointsGone(e.installedInput, x.input));
      for (const ep of tcpEndpointsGone(e.installedInput, x.input)) tcpGone.add(ep);
      e.installed = x.model;
      e.installedInput = x.input;
      if (!x.input && !e.wantInput && !this.#dirty.has(k)) this.#ports.delete(k);
    }
    if (gone.length) await this.#flushUdp(gone);
    // An endpoint may have left one Service and stayed in another: its unanswered attempts are retried anyway.
    if (tcpGone.size) await this.#flushTcpAttempts([...tcpGone]);
  }

  /** Deletes TCP conntrack entries in SYN_SENT (never answered) towards endpoints (`ip:port`) that left. */
  async #flushTcpAttempts(endpoints: string[]): Promise<void> {
    for (const ep of endpoints) {
      if (this.#conntrackMissing) return;
      const i = ep.lastIndexOf(':');
      const r = await run('conntrack', ['-D', '-p', 'tcp', '--state', 'SYN_SENT', '--reply-src', ep.slice(0, i), '--reply-port-src', ep.slice(i + 1)], { allowFail: true });
      if (r.error?.notInstalled) {
        this.#conntrackMissing = true;
        this.#log.warn({ err: r.stderr.trim() }, 'conntrack not available: TCP connection attempts to removed endpoints stay until they time out (install the conntrack package)');
      }
    }
  }

  /** Deletes UDP conntrack entries from service addresses to endpoints that left. */
  async #flushUdp(gone: { vips: string[]; port: number; ip: string }[]): Promise<void> {
    for (const g of gone) {
      for (const vip of g.vips) {
        if (this.#conntrackMissing) return;
        const r = await run('conntrack', ['-D', '-p', 'udp', '--orig-dst', vip, '--orig-port-dst', String(g.port), '--reply-src', g.ip], { allowFail: true });
        // conntrack exits 1 when nothing matched; only a missing tool is worth a word (once: no more spawns).
        if (r.error?.notInstalled) {
          this.#conntrackMissing = true;
          this.#log.warn({ err: r.stderr.trim() }, 'conntrack not available: UDP flows to removed endpoints stay until they idle out (install the conntrack package)');
        }
      }
    }
  }

  /** Names the service port behind a flow's original destination, from what is installed. */
  serviceLookup(): ServiceLookup {
    const byAddr = new Map<string, { service: string; via: string }>();
    const byNodePort = new Map<string, { service: string; via: string }>();
    for (const [service, e] of this.#ports) {
      for (const [k, v] of e.installed.svcIps) byAddr.set(k, { service, via: v.endsWith('-int') ? 'cluster-ip' : 'external-ip' });
      for (const k of e.installed.nodePorts.keys()) byNodePort.set(k, { service, via: 'node-port' });
    }
    return (protocol, ip, port) => {
      const p = protocol.toLowerCase();
      return byAddr.get(`${ip} . ${p} . ${port}`) ?? byNodePort.get(`${p} . ${port}`);
    };
  }

  /** The current table as nft prints it (for /rules and tests). */
  async listTable(): Promise<string> {
    const r = await (await this.#nft()).run(`list table ip ${NAT_TABLE}`);
    return r.code === 0 ? r.stdout : '';
  }

  async teardown(): Promise<void> {
    await (await this.#nft()).run(`delete table ip ${NAT_TABLE}`);
    this.#ports.clear();
    this.#slots.reset();
    this.#dirty.clear();
    this.#installedAddrs = new Set();
    this.#localEps.clear();
    this.#installedHairpin = new Set();
    this.#needBase = true;
  }
}

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
const sameKeys = (a: Map<string, unknown>, b: Set<string>) => a.size === b.size && [...a.keys()].every((x) => b.has(x));

/** UDP endpoints `before` sent to that `after` no longer does, with the service addresses that reached them. */
/** `ip:port` of the TCP endpoints `before` had and `after` has not (a removed port: all of them). */
export function tcpEndpointsGone(before: NftPortInput | undefined, after: NftPortInput | undefined): string[] {
  if (before?.protocol !== 'tcp') return [];
  const keep = new Set(after?.protocol === 'tcp' ? after.cluster.map((e) => `${e.ip}:${e.port}`) : []);
  return [...new Set(before.cluster.map((e) => `${e.ip}:${e.port}`))].filter((x) => !keep.has(x));
}

function udpEndpointsGone(before: NftPortInput | undefined, after: NftPortInput | undefined): { vips: string[]; port: number; ip: string }[] {
  if (before?.protocol !== 'udp') return [];
  const keep = new Set(after?.cluster.map((e) => e.ip));
  const vips = [...(before.clusterIP ? [before.clusterIP] : []), ...before.externalIPs];
  return before.cluster.filter((e) => !keep.has(e.ip)).map((e) => ({ vips, port: before.port, ip: e.ip }));
}
