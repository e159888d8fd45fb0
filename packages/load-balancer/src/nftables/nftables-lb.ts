/**
 * The kernel data plane of the load balancer: table `ip kubemu-lb` in the
 * LB's own namespace DNATs each new connection to a healthy node's node
 * port (lb-rules.ts); nothing passes through this process. /connections
 * reads the DNATed flows from conntrack. When a node leaves a frontend, its
 * UDP flows are deleted so their next datagram picks a node again, and so
 * are its TCP connection attempts that never got an answer (SYN_SENT: a dead
 * node's): left for their 120 s, they would send every new connection from a
 * client port they hold to that node. Established TCP connections are left
 * to end by themselves.
 */
import type { Logger } from 'pino';
import { enableConntrackAccounting, nftRunner, serviceFlows, type ConnRecord, type NftRunner } from '@kubemu/kube-proxy';
import { run } from '@kubemu/netns';
import type { Frontend, LbDataPlane } from '../frontend.js';
import { LB_TABLE, lbModel, lbScript, type LbModel } from './lb-rules.js';

export class NftablesLb implements LbDataPlane {
  readonly mode = 'nftables' as const;
  readonly #log: Logger;
  readonly #runner: () => Promise<NftRunner>;
  #installed?: LbModel;
  #frontends: Frontend[] = [];

  constructor(opts: { log: Logger; runner?: () => Promise<NftRunner> }) {
    this.#log = opts.log;
    this.#runner = opts.runner ?? nftRunner;
    const failed = enableConntrackAccounting();
    if (failed.length) this.#log.warn({ sysctls: failed }, 'cannot turn on conntrack accounting; /connections shows no bytes or ages');
  }

  async sync(frontends: Frontend[]): Promise<void> {
    const model = lbModel(frontends);
    const script = lbScript(model, this.#installed);
    const r = await (await this.#runner()).run(script);
    if (r.code !== 0) {
      this.#installed = undefined; // unknown now: the next sync rebuilds the table
      throw new Error(`nft rejected the load balancer's rules: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
    }
    this.#installed = model;
    const before = this.#frontends;
    this.#frontends = frontends;
    await this.#flushGone(before, frontends);
  }

  connections(limit: number): Promise<{ total: number; items: ConnRecord[] }> {
    const byAddr = new Map(this.#frontends.map((f) => [`${f.protocol} ${f.ip}:${f.port}`, f.key]));
    return serviceFlows((protocol, ip, port) => {
      const service = byAddr.get(`${protocol} ${ip}:${port}`);
      return service ? { service, via: 'load-balancer' } : undefined;
    }, 'load-balancer', limit);
  }

  async stop(): Promise<void> {
    await (await this.#runner()).run(`table ip ${LB_TABLE} {}\ndelete table ip ${LB_TABLE}\n`);
    this.#installed = undefined;
  }

  /** Deletes the UDP flows, and the unanswered TCP attempts, of nodes that left a frontend. */
  async #flushGone(before: Frontend[], after: Frontend[]): Promise<void> {
    for (const args of goneFlowFilters(before, after)) {
      const r = await run('conntrack', ['-D', ...args], { allowFail: true });
      if (r.error?.notInstalled) return;
    }
  }
}

/** `conntrack -D` filters for the flows of backends that left a frontend: UDP all, TCP those in SYN_SENT. */
export function goneFlowFilters(before: Frontend[], after: Frontend[]): string[][] {
  const now = new Map(after.map((f) => [`${f.ip}:${f.port}/${f.protocol}`, new Set(f.backends.map((b) => b.ip))]));
  const out: string[][] = [];
  for (const f of before) {
    const still = now.get(`${f.ip}:${f.port}/${f.protocol}`);
    for (const b of f.backends) {
      if (still?.has(b.ip)) continue;
      const state = f.protocol === 'TCP' ? ['--state', 'SYN_SENT'] : [];
      out.push(['-p', f.protocol.toLowerCase(), ...state, '--orig-dst', f.ip, '--orig-port-dst', String(f.port), '--reply-src', b.ip]);
    }
  }
  return out;
}
