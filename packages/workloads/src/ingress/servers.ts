/**
 * The controller's listeners:
 *
 *   :80   node:http — HTTP/1.1 with keep-alive; 308 to HTTPS where an
 *         Ingress asks for it; requests the parser rejects get 400 / 431
 *         on that connection only
 *   :443  node:http2 secure server with allowHTTP1 — ALPN picks h2 or
 *         http/1.1; SNICallback picks the certificate from the CertStore
 *
 * Both hand requests to the IngressProxy and upgrades to proxyUpgrade.
 * `close()` ends every open connection, so tests and shutdown never hang.
 */
import { createServer, type Server } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CertStore, KeyPair } from './certs.js';
import { rawErrorResponse } from './errors.js';
import type { IngressProxy } from './proxy.js';
import { proxyUpgrade, type UpgradeOptions } from './upgrade.js';

export interface ServerOptions {
  /** Listen address (default 0.0.0.0). */
  host?: string;
  httpPort: number;
  httpsPort: number;
  /** Largest request head accepted (default 16 KiB); larger → 431. */
  maxHeaderSize?: number;
  /** Client keep-alive idle time (default 75 s, nginx's keepalive_timeout). */
  keepAliveTimeoutMs?: number;
}

/** Answers a request the HTTP parser rejected, on that socket only. */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST';
  const detail = code === 'HEADERS_TOO_LARGE' ? 'the request headers are larger than the controller accepts' : `malformed request (${err.code ?? err.message})`;
  socket.end(rawErrorResponse(code, detail));
  socket.destroy();
}

/** A bug in request handling costs that one request (its connection is closed), never the process. */
function guard(fn: () => void, conn: { destroy(): unknown }): void {
  try {
    fn();
  } catch {
    conn.destroy();
  }
}

export class IngressServers {
  readonly http: Server;
  readonly https: Http2SecureServer;
  readonly #sockets = new Set<Socket>();
  readonly #opts: ServerOptions;

  constructor(proxy: IngressProxy, certs: CertStore, defaultCert: KeyPair, upgrade: UpgradeOptions, opts: ServerOptions) {
    this.#opts = opts;
    const keepAliveTimeout = opts.keepAliveTimeoutMs ?? 75_000;
    this.http = createServer({ maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024, requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout }, (req, res) => guard(() => proxy.handle(req, res, false), res));
    this.http.keepAliveTimeout = keepAliveTimeout;
    this.http.on('upgrade', (req, socket, head) => guard(() => proxyUpgrade(proxy, upgrade, req, socket, head, false), socket));
    this.http.on('clientError', onClientError);
    this.https = createSecureServer(
      { allowHTTP1: true, cert: defaultCert.cert, key: defaultCert.key, SNICallback: certs.sniCallback, maxSessionMemory: 64 },
      (req, res) => guard(() => proxy.handle(req, res, true), res),
    );
    this.https.on('upgrade', (req, socket, head) => guard(() => proxyUpgrade(proxy, upgrade, req, socket, head, true), socket));
    this.https.on('clientError', onClientError);
    // Handshake failures and broken h2 sessions concern one client only.
    this.https.on('tlsClientError', () => {});
    this.https.on('sessionError', () => {});
    for (const s of [this.http, this.https] as const) {
      s.on('connection', (sock: Socket) => {
        this.#sockets.add(sock);
        sock.once('close', () => this.#sockets.delete(sock));
      });
    }
  }

  async listen(): Promise<{ httpPort: number; httpsPort: number }> {
    const host = this.#opts.host ?? '0.0.0.0';
    const one = (s: Server | Http2SecureServer, port: number) =>
      new Promise<number>((resolve, reject) => {
        const onErr = (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`));
        s.once('error', onErr);
        s.listen(port, host, () => {
          s.off('error', onErr);
          const a = s.address();
          resolve(typeof a === 'object' && a ? a.port : port);
        });
      });
    const httpPort = await one(this.http, this.#opts.httpPort);
    const httpsPort = await one(this.https, this.#opts.httpsPort);
    return { httpPort, httpsPort };
  }

  close(): Promise<void> {
    const done = Promise.all([this.http, this.https].map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
    for (const s of this.#sockets) s.destroy();
    return done.then(() => undefined);
  }
}
