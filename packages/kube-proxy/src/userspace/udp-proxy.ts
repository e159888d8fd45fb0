/**
 * One UDP listener of a service port, with a flow per client address:
 *
 *   client ip:port ──▶ listener ──flow table──▶ socket connected to endpoint
 *          ◀──────────── listener.send ◀───────── replies
 *
 * A flow is created on the first datagram (endpoint picked then, affinity
 * included), lives while datagrams pass either way and is closed after
 * `idleMs` of silence (a sweep, not a timer per packet). Flows to endpoints
 * that leave are flushed, as kube-proxy flushes conntrack for UDP. An ICMP
 * error from the endpoint (ECONNREFUSED on the connected socket) ends the flow.
 */
import dgram from 'node:dgram';
import type { RelayOptions } from './relay.js';

export interface UdpProxyOptions extends RelayOptions {
  /** Close a flow after this long without traffic (default 30 s, conntrack's UDP timeout). */
  idleMs?: number;
  /** At most this many flows (each holds a socket); the oldest is closed first. Default 4096. */
  maxFlows?: number;
}

interface Flow {
  sock: dgram.Socket;
  endpoint: string;
  client: string;
  start: number;
  last: number;
  bytesIn: number;
  bytesOut: number;
  result: string;
  /** Datagrams that arrived before the flow's socket connected (undefined once connected). */
  pending?: Buffer[];
}

export class UdpProxy {
  readonly #o: UdpProxyOptions;
  readonly #sock: dgram.Socket;
  readonly #flows = new Map<string, Flow>();
  readonly #idleMs: number;
  #sweeper?: NodeJS.Timeout;

  constructor(o: UdpProxyOptions) {
    this.#o = o;
    this.#idleMs = o.idleMs ?? 30_000;
    this.#sock = dgram.createSocket({ type: 'udp4' });
    this.#sock.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#sock.on('error', (err) => o.log.warn({ err: err.message, service: o.service }, 'udp listener error'));
  }

  /** The bound port (useful when listening on port 0). */
  get boundPort(): number {
    return this.#sock.address().port;
  }

  get flows(): number {
    return this.#flows.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onErr = (err: Error) => reject(err);
      this.#sock.once('error', onErr);
      this.#sock.bind({ address: this.#o.host, port: this.#o.port, exclusive: true }, () => {
        this.#sock.off('error', onErr);
        this.#sweeper = setInterval(() => this.#sweep(), Math.max(50, Math.min(5000, this.#idleMs / 2)));
        this.#sweeper.unref();
        resolve();
      });
    });
  }

  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const key of [...this.#flows.keys()]) this.#end(key, 'closed');
    try {
      this.#sock.close();
    } catch {
      /* already closed */
    }
  }

  /** Ends every flow whose endpoint is not in `keep`. */
  flushFlowsNotIn(keep: Set<string>): void {
    for (const [key, f] of this.#flows) if (!keep.has(f.endpoint)) this.#end(key, 'endpoint-removed');
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let f = this.#flows.get(key);
    const now = Date.now();
    if (!f) {
      const ep = this.#o.pick(rinfo.address, 0);
      if (!ep) return; // nothing to send to: dropped (the listener goes away when no endpoint is left)
      if (this.#flows.size >= (this.#o.maxFlows ?? 4096)) this.#end(this.#flows.keys().next().value!, 'evicted');
      const i = ep.lastIndexOf(':');
      const sock = dgram.createSocket('udp4');
      const flow: Flow = { sock, endpoint: ep, client: key, start: now, last: now, bytesIn: 0, bytesOut: 0, result: 'ok' };
      f = flow;
      this.#flows.set(key, flow);
      const log = this.#o.connLog;
      if (log?.watched) {
        log.opened({ start: now, durationMs: 0, protocol: 'UDP', service: this.#o.service, via: this.#o.via, client: key, node: this.#o.node, endpoint: ep, bytesIn: 0, bytesOut: 0, result: 'open', attempts: 1 });
      }
      sock.on('message', (reply) => {
        flow.last = Date.now();
        flow.bytesOut += reply.length;
        this.#sock.send(reply, rinfo.port, rinfo.address);
      });
      sock.on('error', () => this.#end(key, 'endpoint-unreachable'));
      flow.pending = [msg];
      flow.bytesIn += msg.length;
      sock.connect(Number(ep.slice(i + 1)), ep.slice(0, i), () => {
        const queued = flow.pending ?? [];
        flow.pending = undefined;
        for (const m of queued) sock.send(m);
      });
      return;
    }
    f.last = now;
    f.bytesIn += msg.length;
    if (f.pending) f.pending.push(msg);
    else f.sock.send(msg);
  }

  #end(key: string, result: string): void {
    const f = this.#flows.get(key);
    if (!f) return;
    this.#flows.delete(key);
    if (f.result === 'ok') f.result = result;
    try {
      f.sock.close();
    } catch {
      /* closed */
    }
    this.#o.connLog?.add({
      start: f.start, durationMs: f.last - f.start, protocol: 'UDP', service: this.#o.service, via: this.#o.via, client: f.client,
      node: this.#o.node, endpoint: f.endpoint, bytesIn: f.bytesIn, bytesOut: f.bytesOut, result: f.result, attempts: 1,
    });
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#idleMs;
    for (const [key, f] of this.#flows) if (f.last < cutoff) this.#end(key, 'idle');
  }
}
