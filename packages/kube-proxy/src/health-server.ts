/**
 * kube-proxy's HTTP health endpoints:
 *
 * - ServiceHealthServer: one per Service with externalTrafficPolicy Local on
 *   its `healthCheckNodePort` (every node address, any path), answering as
 *   k8s pkg/proxy/healthcheck/service_health.go does: 200 when this node has
 *   ready local endpoints, else 503, with
 *   `{"service":{"namespace","name"},"localEndpoints":N,"serviceProxyHealthy":true}`
 *   and the header `X-Load-Balancing-Endpoint-Weight: N`.
 * - ProxyHealthServer: `:10256/healthz` (200 when the proxy is healthy and
 *   its node eligible, else 503; see proxy-health.ts) and `/livez` (health
 *   only), with lastUpdated / currentTime / nodeEligible, plus kubemu's
 *   `/connections` (the connection log; `?watch=1`: the live stream as
 *   NDJSON, see conn-events.ts), `/affinity` (the clients ClientIP affinity
 *   holds to an endpoint now, with the time left) and `/applied` (which
 *   version of each Service this proxy has applied, and when).
 */
import http from 'node:http';
import type { HealthState } from './proxy-health.js';
import type { ConnSink } from './conn-events.js';
import { serveConnStream, wantsWatch } from './conn-stream-http.js';

export function serviceHealthBody(namespace: string, name: string, localEndpoints: number, proxyHealthy = true): { status: number; body: string } {
  return {
    status: localEndpoints > 0 && proxyHealthy ? 200 : 503,
    body: JSON.stringify({ service: { namespace, name }, localEndpoints, serviceProxyHealthy: proxyHealthy }),
  };
}

export class ServiceHealthServer {
  readonly #server: http.Server;
  /** Ready local endpoints right now (updated by the proxy). */
  localEndpoints = 0;

  constructor(
    readonly port: number,
    readonly namespace: string,
    readonly name: string,
    /** The proxy's own health: an unhealthy proxy fails every Service's check, as in Kubernetes. */
    readonly proxyHealthy: () => boolean = () => true,
  ) {
    this.#server = http.createServer((_req, res) => {
      const { status, body } = serviceHealthBody(this.namespace, this.name, this.localEndpoints, this.proxyHealthy());
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'X-Content-Type-Options': 'nosniff',
        'X-Load-Balancing-Endpoint-Weight': String(this.localEndpoints),
      });
      res.end(body);
    });
    this.#server.keepAliveTimeout = 1000;
  }

  get boundPort(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : this.port;
  }

  listen(host = '0.0.0.0'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port: this.port, exclusive: true }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  close(): void {
    this.#server.close();
    this.#server.closeAllConnections();
  }
}

export interface ProxyStatus {
  health: () => HealthState;
  /** `userspace` or `nftables`, for /proxyMode. */
  mode: string;
  connections: (limit: number) => unknown;
  /** ClientIP affinity held now (/affinity). */
  affinity: () => Promise<unknown>;
  /** Subscribes to the live connection stream (/connections?watch=1); returns the unsubscribe. */
  watch?: (sink: ConnSink) => () => void;
  /** Applied state of one Service (`ns/name`), or of all when omitted. */
  applied: (service?: string) => unknown;
  /** Resolves when `service` has applied a slice/service resourceVersion ≥ `rv`. */
  waitApplied: (service: string, rv: number, timeoutMs: number) => Promise<unknown>;
}

export class ProxyHealthServer {
  readonly #server: http.Server;

  constructor(readonly status: ProxyStatus) {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
      res.end(JSON.stringify(body));
    };
    const s = this.status;
    switch (url.pathname) {
      case '/healthz':
      case '/livez': {
        const h = s.health();
        const ok = h.healthy && (url.pathname === '/livez' || h.nodeEligible);
        const times = { lastUpdated: new Date(h.lastUpdated).toISOString(), currentTime: new Date(h.currentTime).toISOString() };
        const why = h.reason ? { reason: h.reason } : {};
        return json(ok ? 200 : 503, url.pathname === '/livez' ? { ...times, ...why } : { ...times, nodeEligible: h.nodeEligible, ...why });
      }
      case '/proxyMode':
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return void res.end(s.mode);
      case '/connections':
        if (wantsWatch(url)) {
          if (!s.watch) return json(501, { error: 'this proxy has no connection stream' });
          return serveConnStream(req, res, s.watch);
        }
        try {
          return json(200, await s.connections(Number(url.searchParams.get('limit') ?? 1000)));
        } catch (err) {
          return json(503, { error: (err as Error).message });
        }
      case '/affinity':
        try {
          return json(200, { items: await s.affinity() });
        } catch (err) {
          return json(503, { error: (err as Error).message });
        }
      case '/applied': {
        const svc = url.searchParams.get('service') ?? undefined;
        const rv = url.searchParams.get('rv');
        if (svc && rv) return json(200, await s.waitApplied(svc, Number(rv), Number(url.searchParams.get('timeoutMs') ?? 10_000)));
        return json(200, s.applied(svc));
      }
      default:
        return json(404, { error: 'not found' });
    }
  }

  get boundPort(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  close(): void {
    this.#server.close();
    this.#server.closeAllConnections();
  }
}
