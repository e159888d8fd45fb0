/**
 * `kubemu trace --watch service/NAME`: subscribes to every node's
 * kube-proxy stream (`:10256/connections?watch=1`) and the load balancer's
 * (`:10257`), and prints each event of that Service as one line (text or
 * one JSON object per line) until stopped. The nodes are listed again every
 * few seconds: a new node is subscribed to, a gone one dropped; a stream
 * that breaks is opened again (said once on stderr per outage).
 */
import http from 'node:http';
import type { Node, Pod, Service } from '@kubemu/api';
import type { ChaosRuntime } from '../chaos/runtime.js';
import { RestError, type RestClient } from '../rest-client.js';
import { TraceError } from './gather.js';
import { renderWatchText, watchLine, type StreamEvent, type WatchContext } from './watch-render.js';

const KUBE_PROXY_PORT = 10256;
const LB_PORT = 10257;

export interface WatchOptions {
  rt: ChaosRuntime;
  api: RestClient;
  namespace: string;
  name: string;
  output: 'text' | 'json';
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** How often nodes, pods and the Service are listed again. */
  refreshMs?: number;
  reconnectMs?: number;
  /** kube-proxy's and the LB's ports (tests). */
  proxyPort?: number;
  lbPort?: number;
}

interface Source {
  url: string;
  req?: http.ClientRequest;
  timer?: NodeJS.Timeout;
  /** Said it is down (once per outage). */
  down: boolean;
  connected: boolean;
}

const internalIP = (n: Node) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';

export class ServiceWatch {
  readonly #o: WatchOptions;
  readonly #sources = new Map<string, Source>();
  readonly #ctx: WatchContext = { ports: new Map(), podByIP: new Map(), nodeByIP: new Map() };
  #refresh?: NodeJS.Timeout;
  #stopped = false;
  readonly #prefix: string;

  constructor(o: WatchOptions) {
    this.#o = o;
    this.#prefix = `${o.namespace}/${o.name}:`;
  }

  /** Lists what it needs and subscribes; throws TraceError for an unknown Service. */
  async start(): Promise<void> {
    await this.#list(true);
    const every = this.#o.refreshMs ?? 3000;
    const tick = () => {
      this.#refresh = setTimeout(() => {
        void this.#list(false).catch((e: Error) => this.#err(`listing the cluster failed: ${e.message}`)).finally(() => !this.#stopped && tick());
      }, every);
    };
    tick();
  }

  /** Resolves once every source listed first is connected, or after `timeoutMs`; with the sources connected then. */
  async ready(timeoutMs = 5000): Promise<string[]> {
    const t0 = Date.now();
    while (!this.#stopped && Date.now() - t0 < timeoutMs && [...this.#sources.values()].some((s) => !s.connected)) await new Promise((r) => setTimeout(r, 25));
    return this.connected;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#refresh);
    for (const s of this.#sources.values()) this.#close(s);
    this.#sources.clear();
  }

  /** Sources connected now (tests). */
  get connected(): string[] {
    return [...this.#sources.entries()].filter(([, s]) => s.connected).map(([k]) => k);
  }

  async #list(first: boolean): Promise<void> {
    const { api, namespace, name } = this.#o;
    let svc: Service;
    try {
      svc = await api.call<Service>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`);
    } catch (e) {
      if (e instanceof RestError && e.code === 404) {
        if (first) throw new TraceError(`service "${name}" not found in namespace "${namespace}"`);
        return;
      }
      throw e;
    }
    const [nodes, pods] = await Promise.all([api.call<{ items: Node[] }>('GET', '/api/v1/nodes'), api.call<{ items: Pod[] }>('GET', '/api/v1/pods')]);
    this.#ctx.ports = new Map((svc.spec.ports ?? []).map((p) => [p.name ?? '', { port: p.port, nodePort: p.nodePort }]));
    this.#ctx.podByIP = new Map(pods.items.filter((p) => p.status?.podIP && !p.spec.hostNetwork).map((p) => [p.status!.podIP!, `${p.metadata.namespace}/${p.metadata.name}`]));
    this.#ctx.nodeByIP = new Map(nodes.items.map((n) => [internalIP(n), n.metadata.name ?? '']));
    if (this.#stopped) return;
    const want = new Map<string, string>();
    for (const n of nodes.items) if (internalIP(n)) want.set(n.metadata.name ?? '', `http://${internalIP(n)}:${this.#o.proxyPort ?? KUBE_PROXY_PORT}/connections?watch=1`);
    const lb = this.#o.rt.machines().find((m) => m.role === 'load-balancer');
    if (lb) want.set('load-balancer', `http://${lb.ip}:${this.#o.lbPort ?? LB_PORT}/connections?watch=1`);
    for (const [k, s] of this.#sources) {
      if (want.get(k) === s.url) continue;
      this.#close(s);
      this.#sources.delete(k);
    }
    for (const [k, url] of want) {
      if (this.#sources.has(k)) continue;
      const s: Source = { url, down: false, connected: false };
      this.#sources.set(k, s);
      this.#connect(k, s);
    }
  }

  #connect(key: string, s: Source): void {
    if (this.#stopped || this.#sources.get(key) !== s) return;
    let buf = '';
    const again = (why: string) => {
      if (s.req === undefined) return;
      s.req = undefined;
      s.connected = false;
      if (this.#stopped || this.#sources.get(key) !== s) return;
      if (!s.down) this.#err(`${key}: connection stream lost (${why}); reconnecting`);
      s.down = true;
      s.timer = setTimeout(() => this.#connect(key, s), this.#o.reconnectMs ?? 1000);
    };
    const req = http.get(s.url, { agent: false, timeout: 5000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return again(`HTTP ${res.statusCode}`);
      }
      req.setTimeout(0);
      s.connected = true;
      if (s.down) this.#err(`${key}: connection stream back`);
      s.down = false;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.#onLine(key, line);
        }
      });
      res.on('close', () => again('closed by the server'));
      res.on('error', (e) => again(e.message));
    });
    s.req = req;
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', (e) => again(e.message));
  }

  #onLine(key: string, line: string): void {
    let e: StreamEvent | { type: 'error'; message: string };
    try {
      e = JSON.parse(line) as StreamEvent | { type: 'error'; message: string };
    } catch {
      return;
    }
    if (e.type === 'error') return this.#err(`${key}: ${e.message}`);
    if (e.type !== 'open' && e.type !== 'close') return;
    if (!e.service?.startsWith(this.#prefix)) return;
    const at = e.type === 'open' ? e.start : e.start + e.durationMs;
    this.#out(this.#o.output === 'json' ? JSON.stringify(watchLine(e, this.#ctx, at)) : renderWatchText(e, this.#ctx, at));
  }

  #close(s: Source): void {
    clearTimeout(s.timer);
    const r = s.req;
    s.req = undefined;
    s.connected = false;
    r?.destroy();
  }

  #out(l: string): void {
    (this.#o.out ?? ((x: string) => process.stdout.write(x + '\n')))(l);
  }

  #err(l: string): void {
    (this.#o.err ?? ((x: string) => process.stderr.write(`! ${x}\n`)))(l);
  }
}
