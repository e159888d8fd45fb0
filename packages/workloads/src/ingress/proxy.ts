/**
 * The L7 data path: one request in, one request to a pod out.
 *
 *   client ──HTTP/1.1 | HTTP/2──▶ route (host, path) ──▶ backend ──▶ endpoint
 *                                                         │ round robin or cookie
 *   client ◀── streamed response ◀── pooled keep-alive HTTP/1.1 to the pod IP
 *
 * Bodies are streamed both ways (never buffered whole). Each backend has its
 * own keep-alive agent; a request that failed to connect (refused, or a
 * pooled socket the pod had closed) is retried on the next endpoint when it
 * has no body, up to 3 tries, as nginx's proxy_next_upstream does. The
 * failures the client sees are the rows of errors.ts. Upgrades live in
 * upgrade.ts; this module handles ordinary requests.
 */
import { Agent, request, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { movePick, pickEndpoint, type Pick } from './affinity.js';
import type { AccessLog, AccessRecord } from './access-log.js';
import type { Route, RoutingTable } from './config.js';
import type { Backend, BackendRegistry } from './endpoints.js';
import { errorBody, ProxyError, type ProxyErrorCode } from './errors.js';
import { endToEnd, forwardHeaders, requestIdOf } from './headers.js';
import { normalizeHost, requestPath } from './match.js';
import { matchRoute } from './router.js';

export type ClientRequestLike = IncomingMessage | Http2ServerRequest;
export type ClientResponseLike = ServerResponse | Http2ServerResponse;

export interface ProxyOptions {
  /** Upstream read timeout (nginx proxy-read-timeout), default 60 s. */
  readTimeoutMs?: number;
  /** Upstream connect timeout (nginx proxy-connect-timeout), default 5 s. */
  connectTimeoutMs?: number;
  /** The HTTPS port named in 308 redirects (default 443, left out of the URL). */
  redirectHttpsPort?: number;
  accessLog: AccessLog;
}

const MAX_TRIES = 3;
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** What one request needs on its way through (kept small: it lives per request). */
interface Exchange {
  req: ClientRequestLike;
  res: ClientResponseLike;
  secure: boolean;
  host: string;
  path: string;
  clientIp: string;
  route?: Route;
  pick?: Pick;
  requestId?: string;
  upstreamStart?: number;
  bytes: number;
  tries: number;
  /** The request to the pod now in flight, and whether its response has fully arrived. */
  up?: ClientRequest;
  done: boolean;
}

export function clientAddress(req: ClientRequestLike): string {
  const a = req.socket?.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class IngressProxy {
  #table: RoutingTable;
  #backends: BackendRegistry;
  readonly #agents = new Map<string, Agent>();
  readonly #opts: Required<Omit<ProxyOptions, 'accessLog'>> & { accessLog: AccessLog };

  constructor(table: RoutingTable, backends: BackendRegistry, opts: ProxyOptions) {
    this.#table = table;
    this.#backends = backends;
    this.#opts = {
      readTimeoutMs: opts.readTimeoutMs ?? 60_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      redirectHttpsPort: opts.redirectHttpsPort ?? 443,
      accessLog: opts.accessLog,
    };
  }

  /** Swaps in a new routing table; agents of backends no Ingress names any more are closed. */
  update(table: RoutingTable, goneBackends: readonly string[] = []): void {
    this.#table = table;
    if (!goneBackends.length) return;
    const gone = new Set(goneBackends);
    for (const [k, a] of this.#agents) {
      if (!gone.has(k.slice(0, k.lastIndexOf('\0')))) continue;
      a.destroy();
      this.#agents.delete(k);
    }
  }

  /** The HTTPS port redirects name (443 is left out of the URL). */
  get redirectHttpsPort(): number {
    return this.#opts.redirectHttpsPort;
  }

  set redirectHttpsPort(port: number) {
    this.#opts.redirectHttpsPort = port;
  }

  get table(): RoutingTable {
    return this.#table;
  }

  get backends(): BackendRegistry {
    return this.#backends;
  }

  /**
   * The pooled keep-alive agent of one backend (one per read timeout in use).
   * The agent's socket timeout is the read timeout: it fires on a request
   * that waits too long and expires idle pooled sockets, without arming a
   * timer per request.
   */
  agentFor(id: string, readTimeoutMs: number): Agent {
    const k = `${id}\0${readTimeoutMs}`;
    let a = this.#agents.get(k);
    if (!a) {
      a = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo', timeout: readTimeoutMs });
      this.#agents.set(k, a);
    }
    return a;
  }

  close(): void {
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
  }

  /** Routes a request: 404 / 308 / 503 here, else forwards it. */
  handle(req: ClientRequestLike, res: ClientResponseLike, secure: boolean): void {
    const hostHeader = (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? '';
    const x: Exchange = { req, res, secure, host: normalizeHost(hostHeader), path: requestPath(req.url), clientIp: clientAddress(req), bytes: 0, tries: 0, done: false };
    const route = matchRoute(this.#table, x.host, x.path);
    if (!route) return this.#fail(x, new ProxyError('NO_ROUTE', 'no Ingress rule matches this host and path'));
    x.route = route;
    if (!secure && route.sslRedirect) return this.#redirect(x);
    const backend = this.#backends.get(route.backend.id);
    const pick = backend && pickEndpoint(backend, route.affinity, req.headers.cookie, route.path, secure);
    if (!backend || !pick) return this.#fail(x, new ProxyError('NO_ENDPOINTS', backend?.problem || `service ${route.backend.namespace}/${route.backend.service} has no ready endpoints`));
    x.pick = pick;
    const fwd = forwardHeaders(req.headers, { clientIp: x.clientIp, secure, port: req.socket?.localPort ?? 0, hostHeader });
    x.requestId = fwd.requestId;
    const bodyless = isBodyless(req);
    if (bodyless) req.resume();
    // A client that goes away takes its upstream request with it.
    res.on('close', () => {
      if (!x.done) x.up?.destroy();
    });
    this.#forward(x, backend, fwd.headers, bodyless);
  }

  #forward(x: Exchange, backend: Backend, headers: OutgoingHttpHeaders, bodyless: boolean): void {
    const route = x.route!;
    const ep = x.pick!.endpoint;
    x.tries++;
    x.upstreamStart = Date.now();
    const readTimeout = route.readTimeoutMs ?? this.#opts.readTimeoutMs;
    let up: ClientRequest;
    try {
      up = request({ host: ep.ip, port: ep.port, method: x.req.method, path: x.req.url, headers, agent: this.agentFor(backend.id, readTimeout) });
    } catch (e) {
      // node:http refuses what it cannot send (say, an HTTP/2 :path with a space): the client's fault.
      return this.#fail(x, new ProxyError('BAD_REQUEST', `cannot forward this request: ${(e as Error).message}`));
    }
    x.up = up;
    let responded = false;
    let connectTimer: NodeJS.Timeout | undefined;
    up.on('socket', (s) => {
      if (!s.connecting) return;
      const ms = route.connectTimeoutMs ?? this.#opts.connectTimeoutMs;
      connectTimer = setTimeout(() => up.destroy(new ProxyError('UPSTREAM_TIMEOUT', `upstream ${ep.pod} (${ep.key}): no connection within ${ms} ms`)), ms);
      s.once('connect', () => clearTimeout(connectTimer));
    });
    up.on('timeout', () => up.destroy(new ProxyError('UPSTREAM_TIMEOUT', `upstream ${ep.pod} (${ep.key}) sent nothing for ${readTimeout} ms`)));
    up.on('response', (upRes) => {
      responded = true;
      clearTimeout(connectTimer);
      this.#respond(x, upRes);
    });
    up.on('error', (err) => {
      clearTimeout(connectTimer);
      if (responded || x.res.headersSent) return void destroyResponse(x.res);
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const reused = (up as ClientRequest & { reusedSocket?: boolean }).reusedSocket;
      if (bodyless && x.tries < MAX_TRIES && !x.res.destroyed && RETRYABLE.has(code) && (code === 'ECONNREFUSED' || reused)) {
        // A pooled socket the pod closed: same endpoint again. A refusal: the next endpoint.
        const next = reused && code !== 'ECONNREFUSED' ? x.pick : pickEndpoint(backend, undefined, undefined, route.path, x.secure);
        if (next) {
          x.pick = movePick(route.affinity, x.pick!, next.endpoint, route.path, x.secure);
          return this.#forward(x, backend, headers, bodyless);
        }
      }
      if (err instanceof ProxyError) return this.#fail(x, err);
      this.#fail(x, new ProxyError('UPSTREAM_FAILED', `upstream ${ep.pod} (${ep.key}): ${code || err.message}`));
    });
    if (bodyless) up.end();
    else {
      x.req.on('error', () => up.destroy());
      x.req.pipe(up);
    }
  }

  #respond(x: Exchange, upRes: IncomingMessage): void {
    const headers = endToEnd(upRes.headers);
    const cookie = x.pick?.setCookie;
    if (cookie) {
      const prior = headers['set-cookie'];
      headers['set-cookie'] = prior === undefined ? [cookie] : [...(Array.isArray(prior) ? prior : [String(prior)]), cookie];
    }
    const res = x.res as ServerResponse;
    try {
      res.writeHead(upRes.statusCode ?? 502, headers);
    } catch (e) {
      upRes.destroy();
      return this.#fail(x, new ProxyError('UPSTREAM_FAILED', `upstream response unusable: ${(e as Error).message}`));
    }
    // Streamed by hand (what pipe does, minus its bookkeeping): pause the pod while the client is slow.
    upRes.on('data', (c: Buffer) => {
      x.bytes += c.length;
      if (!res.write(c)) upRes.pause();
    });
    res.on('drain', () => upRes.resume());
    upRes.on('end', () => {
      x.done = true;
      res.end();
      this.#log(x, upRes.statusCode ?? 0);
    });
    upRes.on('error', () => destroyResponse(x.res));
    upRes.on('aborted', () => destroyResponse(x.res));
  }

  #redirect(x: Exchange): void {
    x.requestId = requestIdOf(x.req.headers);
    const location = httpsLocation(x.host, this.#opts.redirectHttpsPort, x.req.url);
    const body = `308 Permanent Redirect\n${location}\n`;
    x.bytes = Buffer.byteLength(body);
    x.res.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8', 'content-length': x.bytes });
    x.res.end(body);
    this.#log(x, 308);
  }

  #fail(x: Exchange, err: ProxyError): void {
    const res = x.res;
    if (res.headersSent || res.destroyed) {
      destroyResponse(res);
      this.#log(x, err.status);
      return;
    }
    const body = errorBody(err.code as ProxyErrorCode, x.host, x.path, err.detail);
    x.bytes = Buffer.byteLength(body);
    x.requestId ??= requestIdOf(x.req.headers);
    res.writeHead(err.status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': x.bytes, 'x-request-id': x.requestId });
    if (x.req.method === 'HEAD') res.end();
    else res.end(body);
    // The client may still be sending a body we will not read: drain it.
    if (!x.req.readableEnded) x.req.resume();
    this.#log(x, err.status);
  }

  #log(x: Exchange, status: number): void {
    const ep = x.pick?.endpoint;
    try {
      this.#opts.accessLog({
        ...routeFields(x.route, x.pick),
        host: x.host,
        path: x.path,
        method: x.req.method ?? '',
        status,
        upstream: ep?.pod,
        upstreamAddr: ep?.key,
        upstreamMs: x.upstreamStart === undefined ? undefined : Date.now() - x.upstreamStart,
        bytes: x.bytes,
        requestId: x.requestId,
        client: x.clientIp,
        proto: x.secure ? 'https' : 'http',
      });
    } catch {
      // Logging never fails a request.
    }
  }
}

/** What the access record says of the rule that matched and the affinity cookie (none without a route). */
export function routeFields(route: Route | undefined, pick: Pick | undefined): Partial<AccessRecord> {
  if (!route) return {};
  const f: Partial<AccessRecord> = {
    ingress: `${route.ingress.namespace}/${route.ingress.name}`,
    rule: { host: route.host, path: route.path, pathType: route.pathType, ...(route.defaultBackend ? { defaultBackend: true } : {}) },
    service: `${route.backend.namespace}/${route.backend.service}:${route.backend.port}`,
  };
  const c = pick?.cookie;
  if (route.affinity && c) f.affinity = { cookie: route.affinity.cookieName, mode: route.affinity.mode, state: c.state, value: c.value, pod: c.endpoint.pod, addr: c.endpoint.key };
  return f;
}

/** The https:// URL a 308 redirect names. */
export function httpsLocation(host: string, port: number, url: string | undefined): string {
  return `https://${host}${port === 443 ? '' : `:${port}`}${url ?? '/'}`;
}

function isBodyless(req: ClientRequestLike): boolean {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return false;
  const cl = h['content-length'];
  if (cl !== undefined) return cl === '0';
  // HTTP/2 has no framing headers: a stream that ended with its headers has no body.
  const stream = (req as Http2ServerRequest).stream;
  if (stream) return stream.endAfterHeaders;
  return true;
}

function destroyResponse(res: ClientResponseLike): void {
  if (!res.destroyed) res.destroy();
}
