/**
 * The DNS transport: UDP and TCP on one port. Every query, from either,
 * waits in a per-client fair queue (keyed by the client address) and is
 * answered in small batches between socket reads, so one client's flood
 * overflows its own queue instead of starving the others.
 *
 * TCP follows RFC 7766: 2-byte length-prefixed messages, several queries
 * per connection (pipelined, answered in order), idle timeout, a cap on
 * connections and on queries waiting per connection (the socket is paused
 * beyond it). Nothing a client sends can throw out of a handler.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { FairQueue } from './fair-queue.js';
import type { Responder } from './responder.js';

export interface DnsServerOptions {
  /** Port for UDP and TCP (53; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 0.0.0.0). */
  host?: string;
  /** A TCP connection with nothing to say for this long is closed (default 8 s, as miekg/dns). */
  idleTimeoutMs?: number;
  /** Open TCP connections at most (default 1000). */
  maxConnections?: number;
  /** Queries waiting per client (default 256) and in all (default 8192). */
  perClientQueue?: number;
  totalQueue?: number;
  /** Queries answered before reading the sockets again (default 16). */
  batch?: number;
  log?: Logger;
}

export class DnsServerError extends Error {
  readonly code = 'ERR_DNS_LISTEN';
}

interface Job {
  msg: Buffer;
  /** UDP: reply address and port. */
  address?: string;
  port?: number;
  /** TCP: the connection. */
  conn?: Connection;
}

interface Connection {
  socket: Socket;
  waiting: number;
  ended: boolean;
  paused: boolean;
}

/** Queries a TCP connection may have waiting before its socket is paused. */
const TCP_PIPELINE = 32;

export class DnsServer {
  readonly #responder: Responder;
  readonly #opts: Required<Omit<DnsServerOptions, 'log' | 'port' | 'host'>> & { port: number; host: string };
  readonly #log?: Logger;
  readonly #queue: FairQueue<Job>;
  readonly #conns = new Set<Socket>();
  #udp?: UdpSocket;
  #tcp?: TcpServer;
  #scheduled = false;
  #closed = false;
  #dropTimer?: NodeJS.Timeout;

  constructor(responder: Responder, opts: DnsServerOptions = {}) {
    this.#responder = responder;
    this.#log = opts.log;
    this.#opts = {
      port: opts.port ?? 53,
      host: opts.host ?? '0.0.0.0',
      idleTimeoutMs: opts.idleTimeoutMs ?? 8000,
      maxConnections: opts.maxConnections ?? 1000,
      perClientQueue: opts.perClientQueue ?? 256,
      totalQueue: opts.totalQueue ?? 8192,
      batch: opts.batch ?? 4,
    };
    this.#queue = new FairQueue({ perSource: this.#opts.perClientQueue, total: this.#opts.totalQueue });
  }

  /** Binds UDP then TCP on the same port; resolves with that port. */
  async start(): Promise<number> {
    const udp = createSocket({ type: this.#opts.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
    this.#udp = udp;
    udp.on('message', (msg, rinfo) => this.#enqueue(rinfo.address, { msg, address: rinfo.address, port: rinfo.port }));
    udp.on('error', (e) => this.#log?.warn({ err: e }, 'udp socket error'));
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', (e: NodeJS.ErrnoException) => reject(new DnsServerError(`cannot bind udp ${this.#opts.host}:${this.#opts.port}: ${e.code ?? e.message}`)));
      udp.bind(this.#opts.port, this.#opts.host, () => resolve(udp.address().port));
    });
    const tcp = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#accept(s));
    tcp.maxConnections = this.#opts.maxConnections;
    tcp.on('error', (e) => this.#log?.warn({ err: e }, 'tcp server error'));
    this.#tcp = tcp;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', (e: NodeJS.ErrnoException) => reject(new DnsServerError(`cannot listen on tcp ${this.#opts.host}:${port}: ${e.code ?? e.message}`)));
      tcp.listen(port, this.#opts.host, () => resolve());
    });
    this.#dropTimer = setInterval(() => {
      const d = this.#queue.takeDropped();
      if (d > 0) this.#log?.warn({ dropped: d }, 'queries dropped: a client exceeded its share');
    }, 10_000);
    this.#dropTimer.unref();
    return port;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#dropTimer);
    for (const s of this.#conns) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.#udp ? this.#udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.#tcp ? this.#tcp.close(() => r()) : r())),
    ]);
  }

  #enqueue(source: string, job: Job): boolean {
    if (this.#closed) return false;
    if (!this.#queue.push(source, job)) return false;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
    return true;
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    if (this.#closed) return;
    for (let n = 0; n < this.#opts.batch; n++) {
      const job = this.#queue.shift();
      if (!job) break;
      this.#serve(job);
    }
    if (this.#queue.size > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  };

  #serve(job: Job): void {
    if (job.conn) {
      const c = job.conn;
      c.waiting--;
      if (!c.socket.destroyed) {
        const reply = this.#responder.respond(job.msg, 'tcp');
        if (reply) {
          const framed = Buffer.allocUnsafe(reply.length + 2);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          c.socket.write(framed);
        }
        if (c.paused && c.waiting < TCP_PIPELINE / 2) {
          c.paused = false;
          c.socket.resume();
        }
        if (c.ended && c.waiting === 0) c.socket.end();
      }
      return;
    }
    const reply = this.#responder.respond(job.msg, 'udp');
    if (!reply || !this.#udp || this.#closed) return;
    try {
      this.#udp.send(reply, job.port!, job.address!, noop);
    } catch (e) {
      this.#log?.warn({ err: e }, 'udp send failed');
    }
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#conns.add(socket);
    const conn: Connection = { socket, waiting: 0, ended: false, paused: false };
    const source = socket.remoteAddress ?? '';
    let buf: Buffer = Buffer.alloc(0);
    socket.setTimeout(this.#opts.idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#conns.delete(socket));
    socket.on('end', () => {
      conn.ended = true;
      if (conn.waiting === 0) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len < 12) {
          // Not even a header: the stream cannot be trusted to be framed any more.
          socket.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        conn.waiting++;
        if (!this.#enqueue(source, { msg, conn })) conn.waiting--;
      }
      if (conn.waiting >= TCP_PIPELINE && !conn.paused) {
        conn.paused = true;
        socket.pause();
      }
    });
  }
}

function noop(): void {}
