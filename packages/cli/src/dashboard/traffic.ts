/**
 * Live traffic for the map: subscribes to every node's kube-proxy and the
 * load balancer (`GET /connections?watch=1`, one JSON line per connection
 * opened or closed) and turns the lines into connections per second per
 * endpoint and a short list of the latest connections. Nothing is collected
 * while no page is open: the streams run only between start() and stop().
 */
import http from 'node:http';
import type { ConnEvent } from '@kubemu/kube-proxy';
import type { ConnectionView, TrafficView } from './view.js';

const KUBE_PROXY_PORT = 10256;
const LB_PORT = 10257;
const WINDOW_MS = 5000;
/** Close results that mean the connection did not get through (kube-proxy's verdicts; UDP `idle` is a normal end). */
const FAILED = new Set(['no-endpoints', 'connect-failed', 'timeout', 'reset', 'endpoint-unreachable', 'dropped']);
const KEEP_CONNECTIONS = 200;

/** One line of a /connections?watch=1 stream (lines of type `error` are notes from the stream and skipped). */
export type { ConnEvent };

export interface StreamSource {
  /** `node-2` or `load-balancer`. */
  name: string;
  url: string;
}

/** `ns/name` of a Service port key `ns/name:port/PROTO`. */
export function serviceOfKey(key: string): string {
  const i = key.indexOf(':');
  return i < 0 ? key : key.slice(0, i);
}

/** Counts connections per Service endpoint over a sliding window (pure; fed by the streams). */
export class TrafficCounter {
  readonly #opens = new Map<string, number[]>();
  readonly #fails = new Map<string, number[]>();
  readonly #open = new Map<string, number>();
  readonly #recent: ConnectionView[] = [];
  #seq = 0;

  constructor(readonly now: () => number = Date.now) {}

  add(seenOn: string, e: ConnEvent): void {
    const t = this.now();
    const key = `${serviceOfKey(e.service)}\t${e.endpoint}`;
    const fromLb = seenOn === 'load-balancer';
    if (!fromLb) {
      if (e.type === 'open') {
        push(this.#opens, key, t);
        this.#open.set(key, (this.#open.get(key) ?? 0) + 1);
      } else {
        const n = (this.#open.get(key) ?? 0) - 1;
        if (n > 0) this.#open.set(key, n);
        else this.#open.delete(key);
        if (FAILED.has(e.result)) push(this.#fails, key, t);
      }
    }
    this.#recent.push({ id: `${seenOn}-${++this.#seq}`, seenOn, type: e.type, start: e.start, durationMs: e.durationMs, protocol: e.protocol, service: e.service, via: e.via, client: e.client, endpoint: e.endpoint, bytesIn: e.bytesIn, bytesOut: e.bytesOut, ...(e.bytesUnknown ? { bytesUnknown: true } : {}), result: e.result });
    if (this.#recent.length > KEEP_CONNECTIONS) this.#recent.splice(0, this.#recent.length - KEEP_CONNECTIONS);
  }

  /** Rates over the last window, for every endpoint that had traffic in it (or has connections open). */
  rates(): TrafficView[] {
    const cut = this.now() - WINDOW_MS;
    const keys = new Set([...this.#opens.keys(), ...this.#fails.keys(), ...this.#open.keys()]);
    const out: TrafficView[] = [];
    for (const key of keys) {
      const opens = trim(this.#opens, key, cut);
      const fails = trim(this.#fails, key, cut);
      const open = this.#open.get(key) ?? 0;
      if (!opens && !fails && !open) continue;
      const [service, endpoint] = key.split('\t') as [string, string];
      out.push({ service, endpoint, cps: round(opens / (WINDOW_MS / 1000)), open, failedPerSecond: round(fails / (WINDOW_MS / 1000)) });
    }
    return out.sort((a, b) => (a.service + a.endpoint).localeCompare(b.service + b.endpoint));
  }

  /** The latest connections, newest last. */
  recent(limit = 50): ConnectionView[] {
    return this.#recent.slice(-limit);
  }
}

function push(m: Map<string, number[]>, key: string, t: number): void {
  const a = m.get(key);
  if (a) a.push(t);
  else m.set(key, [t]);
}

/** Drops times before `cut`; returns how many are left. */
function trim(m: Map<string, number[]>, key: string, cut: number): number {
  const a = m.get(key);
  if (!a) return 0;
  let i = 0;
  while (i < a.length && a[i]! < cut) i++;
  if (i) a.splice(0, i);
  if (!a.length) m.delete(key);
  return a.length;
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The streams of the cluster's kube-proxies and LB, as sources. */
export function streamSources(nodes: { name: string; ip: string }[], lbIP?: string): StreamSource[] {
  const out = nodes.filter((n) => n.ip).map((n) => ({ name: n.name, url: `http://${n.ip}:${KUBE_PROXY_PORT}/connections?watch=1` }));
  if (lbIP) out.push({ name: 'load-balancer', url: `http://${lbIP}:${LB_PORT}/connections?watch=1` });
  return out;
}

/**
 * Keeps one NDJSON stream open per source, reconnecting when it ends (a
 * node restarting, a proxy without streams answers 404: retried slowly).
 */
export class ConnectionStreams {
  readonly #open = new Map<string, { url: string; req?: http.ClientRequest; timer?: NodeJS.Timeout }>();
  #stopped = false;

  constructor(readonly onEvent: (seenOn: string, e: ConnEvent) => void) {}

  /** Makes the open streams exactly `sources`. */
  set(sources: StreamSource[]): void {
    if (this.#stopped) return;
    const want = new Map(sources.map((s) => [s.name, s.url]));
    for (const [name, s] of this.#open) {
      if (want.get(name) !== s.url) {
        this.#close(name);
      }
    }
    for (const [name, url] of want) if (!this.#open.has(name)) this.#connect(name, url);
  }

  stop(): void {
    this.#stopped = true;
    for (const name of [...this.#open.keys()]) this.#close(name);
  }

  #close(name: string): void {
    const s = this.#open.get(name);
    if (!s) return;
    this.#open.delete(name);
    clearTimeout(s.timer);
    s.req?.destroy();
  }

  #connect(name: string, url: string): void {
    const s: { url: string; req?: http.ClientRequest; timer?: NodeJS.Timeout } = { url };
    this.#open.set(name, s);
    const again = (ms: number) => {
      if (this.#stopped || this.#open.get(name) !== s) return;
      s.timer = setTimeout(() => {
        if (this.#open.get(name) === s) {
          this.#open.delete(name);
          this.#connect(name, url);
        }
      }, ms);
    };
    let buf = '';
    const req = http.get(url, { agent: false, headers: { 'User-Agent': 'kubemu-dashboard' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return again(5000);
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          try {
            const e = JSON.parse(line) as ConnEvent;
            if (e.type === 'open' || e.type === 'close') this.onEvent(name, e);
          } catch {
            // a line that is not JSON (a stream's error note): skip it
          }
        }
      });
      res.on('error', () => undefined);
      res.on('close', () => again(1000));
    });
    req.on('socket', (sock) => sock.setKeepAlive(true, 5000));
    req.on('error', () => again(1000));
    s.req = req;
  }
}
