/**
 * The traffic generator: HTTP GETs on a steady schedule (open loop: `rate`
 * per second whatever the answers do), at most `concurrency` in flight, over
 * keep-alive connections or a new connection per request, each with a
 * deadline. Every request becomes one record: due time, status or error
 * code, latency, and which pod answered (read from the reply) with that
 * pod's node and readiness from the pod tracker.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RecordSink, RequestRecord } from './record.js';
import type { TrafficMode } from './schema.js';

export interface PodLookup {
  /** The pod's node and whether it is Ready now (undefined: the tracker does not know it). */
  lookup(pod: string): { node?: string; ready: boolean } | undefined;
}

export interface TrafficOptions {
  url: string;
  /** Host header (an Ingress rule's host). */
  host?: string;
  rate: number;
  concurrency: number;
  mode: TrafficMode;
  timeoutMs: number;
  sink: RecordSink;
  pods?: PodLookup;
  /** No request is due at or after this offset (the scenario's duration). */
  durationMs?: number;
}

const MAX_BODY = 64 * 1024;
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Who answered, from a reply body: kubia's "You've hit POD", the echo
 * image's JSON {pod, node}, or a body that is just a hostname (agnhost
 * serve-hostname, netexec /hostname).
 */
export function parseAnswer(body: string): { pod?: string; node?: string } {
  const kubia = /You've hit (\S+)/.exec(body);
  if (kubia) return { pod: kubia[1] };
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as { pod?: unknown; node?: unknown };
      if (typeof j.pod === 'string' && j.pod) return { pod: j.pod, node: typeof j.node === 'string' && j.node ? j.node : undefined };
    } catch {
      // not JSON after all
    }
    return {};
  }
  return DNS_NAME.test(text) ? { pod: text } : {};
}

const errorCode = (e: unknown): string => {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code ? code : 'EUNKNOWN';
};

/** What one request came to (a record without its time and target). */
export type Outcome = Omit<RequestRecord, 't' | 'at' | 'target'>;

/**
 * One GET with a deadline; never rejects. `agent`: a keep-alive agent, or
 * false for a new connection (Connection: close).
 */
export function sendRequest(o: { url: URL; host?: string; agent: Agent | false; timeoutMs: number; pods?: PodLookup }): Promise<Outcome> {
  const t0 = performance.now();
  const latency = () => Math.round((performance.now() - t0) * 10) / 10;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      resolve(r);
    };
    const headers: Record<string, string> = { 'User-Agent': 'kubemu-chaos' };
    if (o.host) headers.Host = o.host;
    if (!o.agent) headers.Connection = 'close';
    const req = request({ host: o.url.hostname, port: o.url.port || 80, path: `${o.url.pathname}${o.url.search}`, method: 'GET', agent: o.agent, headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const who = parseAnswer(Buffer.concat(chunks).toString('utf8'));
        const known = who.pod ? o.pods?.lookup(who.pod) : undefined;
        const node = who.node ?? known?.node;
        finish({
          status: res.statusCode,
          latencyMs: latency(),
          ...(o.agent ? { reused: req.reusedSocket } : {}),
          ...(who.pod ? { pod: who.pod } : {}),
          ...(node ? { node } : {}),
          ...(known ? { podReady: known.ready } : {}),
        });
      });
      res.on('error', (e) => finish({ error: errorCode(e), latencyMs: latency() }));
    });
    const deadline = setTimeout(() => {
      finish({ error: 'ETIMEDOUT', latencyMs: latency() });
      req.destroy(Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, o.timeoutMs);
    req.on('error', (e) => finish({ error: errorCode(e), latencyMs: latency() }));
    req.end();
  });
}

export class TrafficGenerator {
  private readonly agent: Agent | false;
  private readonly intervalMs: number;
  private readonly u: URL;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private k = 0;
  /** performance.now() and Date.now() when traffic started. */
  private origin = 0;
  private wallOrigin = 0;
  sent = 0;

  constructor(private readonly o: TrafficOptions) {
    this.u = new URL(o.url);
    this.intervalMs = 1000 / o.rate;
    this.agent = o.mode === 'keepalive' ? new Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency }) : false;
  }

  /** Starts sending; returns performance.now() at the start (offsets in records count from it). */
  start(): number {
    this.running = true;
    this.origin = performance.now();
    this.wallOrigin = Date.now();
    this.tick();
    return this.origin;
  }

  /** Stops scheduling and waits for the requests in flight (each ends by its deadline). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.inFlight > 0) await new Promise<void>((r) => (this.idle = r));
    if (this.agent) this.agent.destroy();
  }

  private tick = (): void => {
    if (!this.running) return;
    const now = performance.now() - this.origin;
    const end = this.o.durationMs ?? Infinity;
    while (this.k * this.intervalMs <= now && this.k * this.intervalMs < end) {
      this.fire(this.k * this.intervalMs);
      this.k++;
    }
    if (this.k * this.intervalMs >= end) return;
    this.timer = setTimeout(this.tick, Math.max(0, this.k * this.intervalMs - (performance.now() - this.origin)));
  };

  private fire(dueMs: number): void {
    const base = { t: Math.round(this.wallOrigin + dueMs), at: Math.round(dueMs), target: this.o.url };
    if (this.inFlight >= this.o.concurrency) {
      this.o.sink.write({ ...base, error: 'SKIPPED', latencyMs: 0 });
      return;
    }
    this.inFlight++;
    this.sent++;
    void sendRequest({ url: this.u, host: this.o.host, agent: this.agent, timeoutMs: this.o.timeoutMs, pods: this.o.pods }).then((r) => {
      this.o.sink.write({ ...base, ...r });
      if (--this.inFlight === 0 && this.idle) this.idle();
    });
  }
}
