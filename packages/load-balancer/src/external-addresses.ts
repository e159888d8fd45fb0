/**
 * The external addresses this load balancer answers for, as /32s on its
 * network interface (so the host and the nodes resolve them to the LB, as a
 * cloud LB or MetalLB's L2 speaker makes them reachable). Only addresses in
 * the pool are ever added or removed; the rest of the interface is left alone.
 */
import { ip as realIp, ipBatch as realIpBatch, parseIpJson, type IpTool } from '@kubemu/netns';

interface AddrLink {
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export class ExternalAddresses {
  readonly #dev: string;
  readonly #inPool: (ip: string) => boolean;
  readonly #tool: IpTool;

  constructor(opts: { dev: string; inPool: (ip: string) => boolean; tool?: IpTool }) {
    this.#dev = opts.dev;
    this.#inPool = opts.inPool;
    this.#tool = opts.tool ?? { ip: realIp, ipBatch: realIpBatch };
  }

  /** The pool addresses on the interface now. */
  async current(): Promise<string[]> {
    const r = await this.#tool.ip(null, ['-j', '-4', 'addr', 'show', 'dev', this.#dev]);
    const out: string[] = [];
    for (const l of parseIpJson<AddrLink>(r.stdout)) for (const a of l.addr_info ?? []) if (a.prefixlen === 32 && this.#inPool(a.local)) out.push(a.local);
    return out;
  }

  /** Makes the interface hold exactly `want` of the pool's addresses. */
  async sync(want: Iterable<string>): Promise<void> {
    const have = new Set(await this.current());
    const target = new Set(want);
    const lines: string[] = [];
    for (const a of have) if (!target.has(a)) lines.push(`addr del ${a}/32 dev ${this.#dev}`);
    for (const a of target) if (!have.has(a)) lines.push(`addr add ${a}/32 dev ${this.#dev}`);
    if (lines.length) await this.#tool.ipBatch(null, lines);
  }
}
