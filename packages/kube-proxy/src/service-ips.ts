/**
 * Cluster IPs and externalIPs bound as /32 on `kube-ipvs0` in this node's
 * network namespace (as IPVS mode does), so listeners can bind them and the
 * kernel delivers a pod's packets for them to this node's kube-proxy.
 *
 * The interface is a dummy, or a bridge with no ports when the kernel has no
 * dummy driver (same as node-agent's ClusterNetwork.bindServiceIP). Changes
 * are applied as one `ip -batch` diff against what is bound; a set equal to
 * the last one synced is not looked at again.
 */
import { run } from './exec.js';

export const SERVICE_IFACE = 'kube-ipvs0';

export class ServiceIPs {
  #ready = false;
  /** The set the last successful sync left bound: an unchanged set costs no `ip` process. */
  #synced?: Set<string>;

  async #ensureIface(): Promise<void> {
    if (this.#ready) return;
    const show = await run('ip', ['link', 'show', 'dev', SERVICE_IFACE]);
    if (show.code !== 0) {
      const dummy = await run('ip', ['link', 'add', SERVICE_IFACE, 'type', 'dummy']);
      if (dummy.code !== 0) {
        const br = await run('ip', ['link', 'add', SERVICE_IFACE, 'type', 'bridge']);
        if (br.code !== 0 && !/exists/i.test(br.stderr)) throw new Error(`cannot create ${SERVICE_IFACE}: ${br.stderr.trim()}`);
      }
    }
    const up = await run('ip', ['link', 'set', SERVICE_IFACE, 'up']);
    if (up.code !== 0) throw new Error(`cannot bring ${SERVICE_IFACE} up: ${up.stderr.trim()}`);
    this.#ready = true;
  }

  /** The IPv4 addresses bound on kube-ipvs0 now. */
  async current(): Promise<string[]> {
    const r = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', SERVICE_IFACE]);
    if (r.code !== 0) return [];
    const links = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string }[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
  }

  /** Makes the bound set equal `want`; returns the lines it applied. */
  async sync(want: Set<string>): Promise<string[]> {
    if (this.#synced && this.#synced.size === want.size && [...want].every((a) => this.#synced!.has(a))) return [];
    this.#synced = undefined;
    await this.#ensureIface();
    const have = new Set(await this.current());
    const lines: string[] = [];
    for (const a of want) if (!have.has(a)) lines.push(`addr replace ${a}/32 dev ${SERVICE_IFACE}`);
    for (const a of have) if (!want.has(a)) lines.push(`addr del ${a}/32 dev ${SERVICE_IFACE}`);
    if (lines.length) {
      const r = await run('ip', ['-force', '-batch', '-'], lines.join('\n') + '\n');
      if (r.code !== 0) throw new Error(`ip -batch failed: ${r.stderr.trim()}`);
    }
    this.#synced = new Set(want);
    return lines;
  }

  /** Removes kube-ipvs0 and every address on it. */
  async teardown(): Promise<void> {
    await run('ip', ['link', 'del', SERVICE_IFACE]);
    this.#ready = false;
    this.#synced = undefined;
  }
}
