/**
 * `kube-ipvs0`: the dummy interface that holds a node's service addresses as
 * /32s (cluster IPs, external IPs, LB IPs), as kube-proxy's IPVS mode does, so
 * programs can bind them and the kernel delivers packets for them locally.
 * The one implementation: kube-proxy syncs the whole set from inside its
 * node, the cluster network binds single addresses from outside.
 *
 * Every address passes the owner's guard (`refuse`) before anything
 * changes, so a service address can never shadow a machine's own address.
 * The interface is a dummy, or a bridge with no ports when the kernel has
 * no dummy driver. sync() applies one `ip -batch` diff against what is bound
 * and skips a set equal to the last one it applied.
 */
import { NetnsError } from './errors.js';
import { SERVICE_INTERFACE } from '@kubemu/api';
import { ip as realIp, ipBatch as realIpBatch, parseIpJson } from './run.js';

/** How iproute2 is run (tests pass a fake that records). */
export interface IpTool {
  ip: typeof realIp;
  ipBatch: typeof realIpBatch;
}

export interface KubeIpvs0Options {
  /** The namespace to program; null: the one this process runs in. */
  netns: string | null;
  /** Default: the real `ip`. */
  tool?: IpTool;
  /** Why `addr` must not be bound here, or undefined when it may. */
  refuse?: (addr: string) => string | undefined;
}

interface IpAddrLink {
  addr_info?: { family: string; local: string }[];
}

export class KubeIpvs0 {
  readonly #netns: string | null;
  readonly #refuse: (addr: string) => string | undefined;
  readonly #ip: typeof realIp;
  readonly #ipBatch: typeof realIpBatch;
  #ready = false;
  /** The set the last successful sync left bound: an unchanged set costs no `ip` process. */
  #synced?: Set<string>;

  constructor(opts: KubeIpvs0Options) {
    this.#netns = opts.netns;
    this.#refuse = opts.refuse ?? (() => undefined);
    this.#ip = opts.tool?.ip ?? realIp;
    this.#ipBatch = opts.tool?.ipBatch ?? realIpBatch;
  }

  /** Throws ERR_INVALID_ADDRESS, naming the address and why, when the guard refuses it. */
  #check(addr: string): void {
    const why = this.#refuse(addr);
    if (why !== undefined) throw new NetnsError('ERR_INVALID_ADDRESS', `${addr} cannot be a service address on ${SERVICE_INTERFACE}: ${why}`);
  }

  async #ensureIface(): Promise<void> {
    if (this.#ready) return;
    if ((await this.#ip(this.#netns, ['link', 'show', 'dev', SERVICE_INTERFACE], { allowFail: true })).code !== 0) {
      const dummy = await this.#ip(this.#netns, ['link', 'add', SERVICE_INTERFACE, 'type', 'dummy'], { allowFail: true });
      // Kernel without the dummy driver: a bridge with no ports holds local addresses just the same.
      if (dummy.code !== 0) await this.#ip(this.#netns, ['link', 'add', SERVICE_INTERFACE, 'type', 'bridge'], { allowFail: true });
      // Someone else may have made it meanwhile: whatever failed above, it must exist now.
      await this.#ip(this.#netns, ['link', 'show', 'dev', SERVICE_INTERFACE]);
    }
    await this.#ip(this.#netns, ['link', 'set', SERVICE_INTERFACE, 'up']);
    this.#ready = true;
  }

  /** The IPv4 addresses bound now (none when the interface does not exist). */
  async current(): Promise<string[]> {
    const r = await this.#ip(this.#netns, ['-j', '-4', 'addr', 'show', 'dev', SERVICE_INTERFACE], { allowFail: true });
    if (r.code !== 0) return [];
    return parseIpJson<IpAddrLink>(r.stdout).flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local));
  }

  /** Binds one address (idempotent). */
  async bind(addr: string): Promise<void> {
    this.#check(addr);
    await this.#ensureIface();
    await this.#ip(this.#netns, ['addr', 'replace', `${addr}/32`, 'dev', SERVICE_INTERFACE]);
    this.#synced = undefined;
  }

  /** Unbinds one address; false when it was not bound. */
  async unbind(addr: string): Promise<boolean> {
    this.#synced = undefined;
    return (await this.#ip(this.#netns, ['addr', 'del', `${addr}/32`, 'dev', SERVICE_INTERFACE], { allowFail: true })).code === 0;
  }

  /** Makes the bound set equal `want` (all or nothing: a refused address changes nothing); returns the lines applied. */
  async sync(want: Set<string>): Promise<string[]> {
    if (this.#synced && this.#synced.size === want.size && [...want].every((a) => this.#synced!.has(a))) return [];
    for (const a of want) this.#check(a);
    this.#synced = undefined;
    await this.#ensureIface();
    const have = new Set(await this.current());
    const lines: string[] = [];
    for (const a of want) if (!have.has(a)) lines.push(`addr replace ${a}/32 dev ${SERVICE_INTERFACE}`);
    for (const a of have) if (!want.has(a)) lines.push(`addr del ${a}/32 dev ${SERVICE_INTERFACE}`);
    await this.#ipBatch(this.#netns, lines);
    this.#synced = new Set(want);
    return lines;
  }

  /** Removes the interface and every address on it. */
  async teardown(): Promise<void> {
    await this.#ip(this.#netns, ['link', 'del', SERVICE_INTERFACE], { allowFail: true });
    this.#ready = false;
    this.#synced = undefined;
  }
}
