/**
 * Listening sockets of a network namespace, from `ss -ltunH` (iproute2,
 * present on every node) run inside it.
 */
import type { Listener } from './facts.js';

/**
 * Parses `ss -ltunH` lines: `tcp LISTEN 0 511 0.0.0.0:8080 0.0.0.0:*`,
 * `udp UNCONN 0 0 [::]:53 [::]:*`, `tcp LISTEN 0 4096 127.0.0.1%lo:53 …`.
 */
export function parseSs(out: string): Listener[] {
  const seen = new Set<string>();
  const list: Listener[] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const proto = f[0] === 'tcp' ? 'TCP' : f[0] === 'udp' ? 'UDP' : undefined;
    if (!proto) continue;
    const local = f[4]!;
    const i = local.lastIndexOf(':');
    if (i < 0) continue;
    const port = Number(local.slice(i + 1));
    if (!Number.isInteger(port)) continue;
    const address = local.slice(0, i).replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const key = `${proto} ${address} ${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    list.push({ proto, address, port });
  }
  return list;
}

/** True for an address only the pod itself can reach. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}

/** True for an address that takes connections to the pod IP `podIP`. */
export function acceptsPodIP(address: string, podIP: string | undefined): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*' || address === '' || address === podIP || address === `::ffff:${podIP}`;
}
