/**
 * kubemu-workload <workload> [args…]: the built-in images' programs, started by
 * the node agent inside a pod sandbox. Ports and modes follow the real images.
 */
import { hostname } from 'node:os';
import { agnhost } from './agnhost.js';
import { clusterDns } from './cluster-dns/cluster-dns.js';
import { echo } from './echo.js';
import { kubia } from './kubia.js';
import { nginx } from './nginx.js';
import { ingressControllerWorkload } from './ingress/workload.js';
import { parseFlags, onTerminate } from './http-util.js';

export async function runWorkload(name: string, args: string[]): Promise<void> {
  switch (name) {
    case 'kubia':
      return kubia();
    case 'kubia-unhealthy':
      return kubia({ unhealthy: true });
    case 'nginx':
      return nginx();
    case 'echo': {
      const { flags } = parseFlags(args);
      const num = (k: string, d: number | null) => (flags.has(k) ? (Number(flags.get(k)) > 0 ? Number(flags.get(k)) : null) : d);
      return echo({ httpPort: num('http-port', 8080), tcpPort: num('tcp-port', null), udpPort: num('udp-port', null) });
    }
    case 'agnhost':
      return agnhost(args);
    case 'cluster-dns':
      return clusterDns(args);
    case 'ingress-controller':
      return ingressControllerWorkload(args);
    case 'pause':
      onTerminate();
      setInterval(() => {}, 1 << 30);
      return;
    default:
      throw new Error(`unknown workload "${name}"`);
  }
}

// Run directly (dist/main.js) or as the bundle kubemu up installs (esbuild defines KUBEMU_WORKLOAD_BUNDLE).
const isMain = process.env.KUBEMU_WORKLOAD_BUNDLE === '1' || (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\/(dist|src)\//, '/$1/')));
if (isMain) {
  const [name, ...args] = process.argv.slice(2);
  runWorkload(name ?? '', args).catch((e: Error) => {
    console.error(`${hostname()}: ${e.message}`);
    process.exit(1);
  });
}
