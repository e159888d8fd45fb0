/**
 * One TCP listener of a service port (cluster IP, node port or external IP)
 * and the splice of each accepted connection to an endpoint:
 *
 *   client ──▶ listener ─accept (paused)─▶ pick() ─dial─▶ endpoint
 *                 │                      ◀── retry: 250 ms, 500 ms, 1 s, 2 s ──┘
 *                 └─ client.pipe(upstream); upstream → client written per read
 *                    (onread, no stream pipe); half-close passes through
 *                    (allowHalfOpen); an error on one side resets the other.
 *
 * Like the userspace proxy: after a failed dial the next attempt ignores
 * affinity and takes the next endpoint; if all fail the client is reset.
 * The hot path does no per-byte work: counts come from bytesRead/bytesWritten
 * when the connection ends.
 */
import net from 'node:net';
import type { RelayOptions } from './relay.js';

export const DIAL_TIMEOUTS_MS = [250, 500, 1000, 2000];

/**
 * Stream buffer per direction. Node's 16 KiB default makes every 64 KiB read
 * overflow the writer, so pipe() pauses and resumes the reader on each chunk
 * (an epoll_ctl pair per chunk); 1 MiB keeps bulk transfers streaming.
 */
const HWM = 1024 * 1024;
const READ_CHUNK = 1024 * 1024;
const MIN_READ = 16 * 1024;
/** Reads up to this size are copied (pooled) rather than handed off. */
const COPY_MAX = 4 * 1024;

export interface TcpProxyOptions extends RelayOptions {
  dialTimeoutsMs?: number[];
}

export class TcpProxy {
  readonly #o: TcpProxyOptions;
  readonly #server: net.Server;

  constructor(o: TcpProxyOptions) {
    this.#o = o;
    this.#server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true, highWaterMark: HWM }, (c) => this.#onConn(c));
    this.#server.on('error', (err) => o.log.warn({ err: err.message, service: o.service }, 'listener error'));
  }

  get address(): string {
    return `${this.#o.host}:${this.#o.port}`;
  }

  /** The bound port (useful when listening on port 0). */
  get boundPort(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : this.#o.port;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onErr = (err: Error) => reject(err);
      this.#server.once('error', onErr);
      this.#server.listen({ host: this.#o.host, port: this.#o.port, backlog: 4096, exclusive: true }, () => {
        this.#server.off('error', onErr);
        resolve();
      });
    });
  }

  /** Stops accepting; open connections carry on (as the userspace proxy's TCP portals did). */
  close(): void {
    this.#server.close();
  }

  #onConn(client: net.Socket): void {
    const start = Date.now();
    const clientIP = client.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    const clientAddr = `${clientIP}:${client.remotePort}`;
    let attempt = 0;
    let endpoint = '';
    let upstream: net.Socket | undefined;
    let result = 'ok';
    client.on('error', () => {
      result = 'reset';
      upstream?.resetAndDestroy();
    });
    client.once('close', () => {
      this.#o.connLog?.add({
        start, durationMs: Date.now() - start, protocol: 'TCP', service: this.#o.service, via: this.#o.via, client: clientAddr, node: this.#o.node,
        endpoint, bytesIn: client.bytesRead, bytesOut: client.bytesWritten, result, attempts: attempt,
      });
    });
    const timeouts = this.#o.dialTimeoutsMs ?? DIAL_TIMEOUTS_MS;
    const dial = () => {
      if (client.destroyed) return;
      const ep = attempt < timeouts.length ? this.#o.pick(clientIP, attempt) : undefined;
      if (!ep) {
        result = attempt === 0 ? 'no-endpoints' : 'connect-failed';
        client.resetAndDestroy();
        return;
      }
      const timeout = timeouts[attempt++];
      // Upstream → client without a stream pipe: write each read; pause upstream while the client is full.
      // Reads land in `cur`. A small read is copied out (into Node's shared pool, cheap) and `cur` is
      // reused; a large one is handed to the client as is (no copy) and a new `cur` is made. Its size
      // adapts, so a bulk transfer reads up to READ_CHUNK per syscall while request/response traffic
      // allocates (almost) nothing per read, which keeps GC pauses out of the latency tail.
      let readSize = MIN_READ;
      let cur = Buffer.allocUnsafe(readSize);
      const toClient = (n: number, buf: Buffer): boolean => {
        if (n === buf.length) readSize = Math.min(READ_CHUNK, readSize * 2);
        else if (n < readSize >> 2) readSize = Math.max(MIN_READ, readSize >> 1);
        let chunk: Buffer;
        if (n <= COPY_MAX) {
          chunk = Buffer.from(buf.subarray(0, n));
          if (cur.length !== readSize) cur = Buffer.allocUnsafe(readSize);
        } else {
          chunk = n === buf.length ? buf : buf.subarray(0, n);
          cur = Buffer.allocUnsafe(readSize);
        }
        if (client.write(chunk)) return true;
        client.once('drain', () => up.resume());
        return false;
      };
      const i = ep.lastIndexOf(':');
      const up = net.connect({
        host: ep.slice(0, i),
        port: Number(ep.slice(i + 1)),
        allowHalfOpen: true,
        noDelay: true,
        onread: { buffer: () => cur, callback: (n: number, buf: Buffer) => toClient(n, buf) },
      } as net.NetConnectOpts);
      const timer = setTimeout(() => up.destroy(new Error('dial timeout')), timeout);
      const failed = (err: Error) => {
        clearTimeout(timer);
        this.#o.log.debug({ service: this.#o.service, endpoint: ep, attempt, err: err.message }, 'dial failed; trying another endpoint');
        dial();
      };
      up.once('error', failed);
      up.once('connect', () => {
        clearTimeout(timer);
        up.off('error', failed);
        if (client.destroyed) return void up.destroy();
        endpoint = ep;
        upstream = up;
        const log = this.#o.connLog;
        if (log?.watched) {
          log.opened({ start, durationMs: Date.now() - start, protocol: 'TCP', service: this.#o.service, via: this.#o.via, client: clientAddr, node: this.#o.node, endpoint, bytesIn: 0, bytesOut: 0, result: 'open', attempts: attempt });
        }
        up.on('error', () => {
          result = 'reset';
          client.resetAndDestroy();
        });
        up.once('close', () => {
          if (!client.destroyed && !client.writableEnded) client.destroySoon();
        });
        client.once('close', () => {
          if (!up.destroyed && !up.writableEnded) up.destroySoon();
        });
        client.pipe(up);
        up.once('end', () => client.end());
        client.resume();
      });
    };
    dial();
  }
}
