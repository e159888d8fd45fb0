/**
 * The ingress addon in e2e suites: where its controller answers and when it
 * serves. `kubemu up --addons ingress` gives the controller's LoadBalancer
 * Service the pool's last address (<subnet>.250).
 */
import { spawnSync } from 'node:child_process';
import { type NetnsCluster, until } from './netns-cluster.js';

/** The ingress controller's address for a cluster made with `--subnet <prefix>.0/24`. */
export const ingressIP = (subnetPrefix: string) => `${subnetPrefix}.250`;

/** True once the ingress controller's Service has its one ready endpoint. */
export function ingressControllerReady(c: NetnsCluster): boolean {
  return c.json<{ subsets?: { addresses?: unknown[] }[] }>(['get', 'endpoints', '-n', 'ingress-kubemu', 'ingress-kubemu-controller']).subsets?.[0]?.addresses?.length === 1;
}

/** The HTTP status the controller at `ip` answers for `Host: host` (000 when nothing answered). */
export function ingressStatus(ip: string, host: string): string {
  return spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', '-H', `Host: ${host}`, `http://${ip}/`], { encoding: 'utf8' }).stdout;
}

/** Waits until each of `ingresses` shows the address `ip` and the controller answers 200 for each of `hosts`. */
export async function waitIngressServing(c: NetnsCluster, ip: string, ingresses: string[], hosts: string[], timeoutMs = 30_000): Promise<void> {
  await until(`${ingresses.join(', ')} have the address ${ip}`, () => ingresses.every((i) => c.kubectl(['get', 'ingress', i, '--no-headers']).stdout.includes(ip)), timeoutMs);
  await until(`the controller routes ${hosts.join(', ')}`, () => hosts.every((h) => ingressStatus(ip, h) === '200'), timeoutMs);
}
