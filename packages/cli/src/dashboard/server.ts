/**
 * `kubemu dashboard`'s server: watches the cluster through the API, asks the
 * machines what only they know (probes.ts, traffic.ts), and serves the page
 * and its WebSocket on 127.0.0.1. The page gets a snapshot when it connects
 * and then only what changed, at most every `flushMs` (200 ms), so a change
 * in the cluster is on screen well within a second.
 *
 * Access: the static page is public (it holds no data); the WebSocket and
 * /api/* need the cluster's bearer token, which `kubemu dashboard` puts in
 * the URL it prints (after `#`, so it never reaches a server log).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ClusterAccess } from '../kubeconfig.js';
import { IngressCookies } from './ingress-cookies.js';
import { ClusterProbes } from './probes.js';
import { DashboardState, KINDS } from './state.js';
import { ConnectionStreams, streamSources, TrafficCounter } from './traffic.js';
import type { ServerMessage, Snapshot } from './view.js';
import { ResourceWatch } from './watch.js';
import type { CoreEvent } from '@kubemu/api';
import type { Kind } from './view.js';

const PATHS: Record<Kind, string> = {
  nodes: '/api/v1/nodes',
  pods: '/api/v1/pods',
  services: '/api/v1/services',
  slices: '/apis/discovery.k8s.io/v1/endpointslices',
  ingresses: '/apis/networking.k8s.io/v1/ingresses',
};

/** Where the page's files are: the sources folder (html, css) and the compiled modules. */
const HERE = fileURLToPath(new URL('.', import.meta.url));
const DEFAULT_STATIC = join(HERE, '..', '..', 'src', 'dashboard', 'web');
const DEFAULT_MODULES = join(HERE, '..', '..', 'dist-web');

export interface DashboardOptions {
  cluster: string;
  access: ClusterAccess;
  /** What the page must present; defaults to the API token. */
  token?: string;
  lbIP?: string;
  /** `kubemu explain service` for one Service, as JSON (injected: it needs the runtime). */
  explainService?: (namespace: string, name: string) => Promise<unknown>;
  host?: string;
  port?: number;
  flushMs?: number;
  log: Logger;
  staticDir?: string;
  modulesDir?: string;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.map': 'application/json' };

export class DashboardServer {
  readonly state: DashboardState;
  readonly probes: ClusterProbes;
  readonly traffic = new TrafficCounter();
  readonly cookies: IngressCookies;
  #cookiesChanged = false;
  readonly #watches: ResourceWatch[] = [];
  readonly #streams: ConnectionStreams;
  readonly #server: http.Server;
  readonly #wss: WebSocketServer;
  readonly #clients = new Set<WebSocket>();
  readonly #token: Buffer;
  #timers: NodeJS.Timeout[] = [];
  #apiTrouble = '';
  /** Kinds listed at least once; a page gets its snapshot only when every kind is (not an empty map first). */
  readonly #listed = new Set<string>();
  #whenListed!: () => void;
  readonly #allListed = new Promise<void>((r) => (this.#whenListed = r));

  constructor(readonly o: DashboardOptions) {
    this.state = new DashboardState(o.cluster);
    this.probes = new ClusterProbes({ state: this.state, lbIP: o.lbIP });
    this.#streams = new ConnectionStreams((on, e) => this.traffic.add(on, e));
    this.#token = Buffer.from(o.token ?? o.access.token ?? '');
    this.state.onSliceChange = (svc, rv) => {
      if (this.#clients.size) this.probes.followApplied(svc, rv, (e) => this.state.timeline(e));
    };
    this.probes.onUpdate = (r) => this.#broadcast({ type: 'probes', ...r });
    this.cookies = new IngressCookies(o.access, () => (this.#cookiesChanged = true));
    this.#server = http.createServer((req, res) => void this.#http(req, res));
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    this.#server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/ws') return socket.destroy();
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        if (!this.#allowed(url.searchParams.get('token') ?? '')) return ws.close(4401, 'wrong or missing token');
        void this.#join(ws);
      });
    });
  }

  /** Starts watching and serving; resolves with the page's address. */
  async start(): Promise<string> {
    for (const kind of KINDS) {
      const w = new ResourceWatch(this.o.access, PATHS[kind], {
        reset: (items) => {
          this.state.reset(kind, items);
          this.#listed.add(kind);
          if (this.#listed.size === KINDS.length) this.#whenListed();
        },
        change: (type, obj) => this.state.change(kind, type, obj),
        trouble: (m) => this.#trouble(m),
      });
      this.#watches.push(w);
      w.start();
    }
    const events = new ResourceWatch(this.o.access, '/api/v1/events', {
      reset: (items) => this.state.resetEvents(items as CoreEvent[]),
      change: (type, obj) => this.state.event(type, obj as CoreEvent),
    });
    this.#watches.push(events);
    events.start();
    this.#timers.push(setInterval(() => this.#flush(), this.o.flushMs ?? 200));
    this.#timers.push(setInterval(() => this.#trafficTick(), 1000));
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', () => resolve());
    });
    const a = this.#server.address() as { address: string; port: number };
    return `http://${a.address}:${a.port}/`;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    for (const w of this.#watches) w.stop();
    this.probes.stop();
    this.#streams.stop();
    this.cookies.stop();
    for (const c of this.#clients) c.terminate();
    this.#wss.close();
    await new Promise<void>((r) => this.#server.close(() => r()));
    this.#server.closeAllConnections();
  }

  get clients(): number {
    return this.#clients.size;
  }

  #allowed(token: string): boolean {
    const t = Buffer.from(token);
    return this.#token.length > 0 && t.length === this.#token.length && timingSafeEqual(t, this.#token);
  }

  #trouble(m: string): void {
    if (m === this.#apiTrouble) return;
    this.#apiTrouble = m;
    if (m) this.o.log.warn({ err: m }, 'lost the API; retrying');
    this.#broadcast({ type: 'error', message: m ? `cannot reach the API: ${m}` : '' });
  }

  #snapshot(): Snapshot {
    const p = this.probes.current;
    return { ...this.state.snapshot(), lb: p.lb, healthChecks: p.healthChecks, affinity: p.affinity, cookies: this.cookies.current(), traffic: this.traffic.rates(), connections: this.traffic.recent() };
  }

  async #join(ws: WebSocket): Promise<void> {
    // Until every kind is listed the page would draw an empty or partial map: it waits (changes meanwhile are in the snapshot).
    await this.#allListed;
    if (ws.readyState !== ws.OPEN) return;
    this.#clients.add(ws);
    if (this.#clients.size === 1) {
      // The machines are asked only while someone looks.
      this.probes.start();
      this.#followMachines();
    }
    ws.on('close', () => {
      this.#clients.delete(ws);
      if (!this.#clients.size) {
        this.probes.stop();
        this.#streams.set([]);
        this.cookies.follow([]);
      }
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', () => undefined);
    ws.send(JSON.stringify({ type: 'snapshot', snapshot: this.#snapshot() } satisfies ServerMessage));
  }

  #broadcast(m: ServerMessage): void {
    if (!this.#clients.size) return;
    const data = JSON.stringify(m);
    for (const c of this.#clients) {
      // A page that cannot keep up is dropped (it reconnects and gets a fresh snapshot) rather than buffered without end.
      if (c.bufferedAmount > 32 * 1024 * 1024) c.terminate();
      else c.send(data);
    }
  }

  #flush(): void {
    const c = this.state.flush();
    if (c) this.#broadcast(c);
  }

  #trafficTick(): void {
    if (!this.#clients.size) return;
    this.#followMachines();
    this.#broadcast({ type: 'traffic', traffic: this.traffic.rates(), connections: this.traffic.recent() });
    if (this.#cookiesChanged) {
      this.#cookiesChanged = false;
      this.#broadcast({ type: 'cookies', cookies: this.cookies.current() });
    }
  }

  /** The connection streams of the nodes and the LB, and the access logs of the ingress controllers (only while a page is open). */
  #followMachines(): void {
    this.#streams.set(streamSources(this.state.list('nodes'), this.o.lbIP));
    const ingresses = this.state.list('ingresses').length > 0;
    this.cookies.follow(ingresses ? this.state.list('pods').filter((p) => p.ingressController && p.phase === 'Running').map((p) => `${p.namespace}/${p.name}`) : []);
  }

  async #http(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'only GET' });
    if (url.pathname.startsWith('/api/')) {
      const auth = req.headers.authorization ?? '';
      if (!this.#allowed(auth.replace(/^Bearer /, ''))) return send(401, { error: 'wrong or missing token' });
      const m = /^\/api\/explain\/service\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (m && this.o.explainService) {
        try {
          return send(200, await this.o.explainService(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)));
        } catch (e) {
          return send(404, { error: (e as Error).message });
        }
      }
      if (url.pathname === '/api/snapshot') return send(200, this.#snapshot());
      return send(404, { error: `no such endpoint ${url.pathname}` });
    }
    const file = url.pathname === '/' ? join(this.o.staticDir ?? DEFAULT_STATIC, 'index.html')
      : url.pathname === '/style.css' ? join(this.o.staticDir ?? DEFAULT_STATIC, 'style.css')
      : url.pathname.startsWith('/app/') ? safeJoin(this.o.modulesDir ?? DEFAULT_MODULES, url.pathname.slice(5))
      : undefined;
    if (!file || !existsSync(file) || !statSync(file).isFile()) return send(404, { error: file ? 'not built: run npm run build' : 'not found' });
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    createReadStream(file).pipe(res);
  }
}

/** `root/rel` when it stays inside `root` and names a .js / .map file; undefined otherwise. */
function safeJoin(root: string, rel: string): string | undefined {
  if (!/^[\w./-]+\.(js|map)$/.test(rel)) return undefined;
  const p = normalize(join(root, rel));
  return p.startsWith(root + sep) ? p : undefined;
}
