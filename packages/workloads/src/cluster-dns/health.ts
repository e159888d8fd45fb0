/**
 * The addon's probe endpoints, as CoreDNS's health and ready plugins serve
 * them: `GET /health` → 200 "OK" while the process runs (liveness), and
 * `GET /ready` → 200 "OK" once the caches have synced, 503 before
 * (readiness). Both paths on one server when the ports are equal.
 */
import { createServer, type Server } from 'node:http';
import { listen } from '../http-util.js';

export interface HealthOptions {
  healthPort: number;
  readyPort: number;
  host?: string;
  /** True once the server can answer for the cluster. */
  ready: () => boolean;
}

export interface HealthServers {
  /** Bound ports (useful with port 0). */
  healthPort: number;
  readyPort: number;
  close(): Promise<void>;
}

export async function startHealth(opts: HealthOptions): Promise<HealthServers> {
  const host = opts.host ?? '0.0.0.0';
  const handler = (paths: Set<string>) =>
    createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (!paths.has(path) || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      const ok = path === '/health' || opts.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'OK' : 'kubernetes\n');
    });
  const servers: Server[] = [];
  const same = opts.healthPort === opts.readyPort && opts.healthPort !== 0;
  const health = handler(new Set(same ? ['/health', '/ready'] : ['/health']));
  await listen(health, opts.healthPort, host);
  servers.push(health);
  let readyPort = (health.address() as { port: number }).port;
  const healthPort = readyPort;
  if (!same) {
    const ready = handler(new Set(['/ready']));
    await listen(ready, opts.readyPort, host);
    servers.push(ready);
    readyPort = (ready.address() as { port: number }).port;
  }
  return {
    healthPort,
    readyPort,
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}
