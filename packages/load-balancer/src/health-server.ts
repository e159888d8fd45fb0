/**
 * The load balancer's own HTTP endpoints, like kube-proxy's :10256:
 *   /healthz     200 while the last sync applied (503 with the error otherwise),
 *                with the pool, every assignment, frontend and node check
 *   /livez       200 while the process runs
 *   /connections the recent connections (?limit=N, default 100), each naming
 *                the node it went to (backendNode); ?watch=1: the live
 *                stream (NDJSON, kube-proxy's conn-events.ts), with backendNode
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { serveConnStream, wantsWatch } from '@kubemu/kube-proxy';
import type { LoadBalancer } from './load-balancer.js';

export class LbHealthServer {
  readonly #server: http.Server;

  constructor(lb: LoadBalancer, log: Logger) {
    this.#server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://lb');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
        res.end(JSON.stringify(body, null, 1) + '\n');
      };
      switch (url.pathname) {
        case '/healthz': {
          const snap = lb.snapshot();
          return send(snap.lastSyncError ? 503 : 200, snap);
        }
        case '/livez':
          return send(200, { ok: true });
        case '/connections': {
          if (wantsWatch(url)) {
            return serveConnStream(req, res, (sink) => lb.connEvents.subscribe(sink), (item) => (item.type === 'error' ? item : { ...item, backendNode: lb.nodeByIP(item.endpoint.split(':')[0] ?? '') ?? '' }));
          }
          const limit = Math.max(0, Math.min(4096, Number(url.searchParams.get('limit') ?? 100) || 0));
          lb.dataPlane.connections(limit).then(
            (r) => send(200, { mode: lb.mode, total: r.total, items: r.items.map((c) => ({ ...c, backendNode: lb.nodeByIP(c.endpoint.split(':')[0] ?? '') ?? '' })) }),
            (e: Error) => send(503, { error: e.message }),
          );
          return;
        }
        default:
          return send(404, { error: `no such endpoint ${url.pathname}; try /healthz, /livez or /connections` });
      }
    });
    this.#server.on('error', (e) => log.warn({ err: e.message }, 'health server error'));
    this.#server.keepAliveTimeout = 1000;
  }

  listen(bind: string): Promise<void> {
    const i = bind.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: bind.slice(0, i), port: Number(bind.slice(i + 1)) }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
