/**
 * `Upgrade` requests (WebSocket and any other protocol): routed like any
 * request, sent to the pod on a connection of their own, and once the pod
 * answers 101 the two sockets are piped together until either side closes.
 *
 *   client ── GET /ws Upgrade: websocket ──▶ controller ──▶ pod
 *   client ◀── 101 (the pod's own headers) ◀──────────────── pod
 *   client ◀════════════ raw bytes both ways ═══════════════▶ pod
 *
 * An error on either socket destroys the other; a pod that declines the
 * upgrade has its answer relayed and the connection closed.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { pickEndpoint } from './affinity.js';
import type { AccessLog } from './access-log.js';
import { errorBody, PROXY_ERRORS, ProxyError } from './errors.js';
import { forwardHeaders, rawHead, requestIdOf } from './headers.js';
import { normalizeHost, requestPath } from './match.js';
import { clientAddress, httpsLocation, routeFields, type IngressProxy } from './proxy.js';
import { matchRoute } from './router.js';

export interface UpgradeOptions {
  accessLog: AccessLog;
  readTimeoutMs: number;
}

function writeError(socket: Duplex, err: ProxyError, host: string, path: string): void {
  const body = errorBody(err.code, host, path, err.detail);
  const head = `HTTP/1.1 ${err.status} ${PROXY_ERRORS[err.code].title}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  if (socket.writable) socket.end(head + body);
  else socket.destroy();
}

/** Joins two sockets: bytes both ways, and the end of either is the end of both. */
export function splice(a: Duplex, b: Duplex): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

export function proxyUpgrade(proxy: IngressProxy, opts: UpgradeOptions, req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
  socket.on('error', () => socket.destroy());
  const hostHeader = req.headers.host ?? '';
  const host = normalizeHost(hostHeader);
  const path = requestPath(req.url);
  const clientIp = clientAddress(req);
  const started = Date.now();
  let fields: ReturnType<typeof routeFields> = {};
  // The id sent upstream once forwarded; before that (a 404, a 503), the client's own if it sent one.
  let requestId: string | undefined;
  const log = (status: number, pod?: string, addr?: string) =>
    opts.accessLog({ ...fields, host, path, method: req.method ?? '', status, upstream: pod, upstreamAddr: addr, upstreamMs: pod ? Date.now() - started : undefined, bytes: 0, requestId: (requestId ??= requestIdOf(req.headers)), client: clientIp, proto: secure ? 'https' : 'http' });
  const fail = (err: ProxyError, pod?: string, addr?: string) => {
    writeError(socket, err, host, path);
    log(err.status, pod, addr);
  };

  const route = matchRoute(proxy.table, host, path);
  if (!route) return fail(new ProxyError('NO_ROUTE', 'no Ingress rule matches this host and path'));
  fields = routeFields(route, undefined);
  if (!secure && route.sslRedirect) {
    const location = httpsLocation(host, proxy.redirectHttpsPort, req.url);
    socket.end(`HTTP/1.1 308 Permanent Redirect\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    return log(308);
  }
  const backend = proxy.backends.get(route.backend.id);
  const pick = backend && pickEndpoint(backend, route.affinity, req.headers.cookie, route.path, secure);
  if (!backend || !pick) return fail(new ProxyError('NO_ENDPOINTS', backend?.problem || 'no ready endpoints'));
  fields = routeFields(route, pick);
  const ep = pick.endpoint;
  const fwd = forwardHeaders(req.headers, { clientIp, secure, port: req.socket.localPort ?? 0, hostHeader });
  requestId = fwd.requestId;
  fwd.headers.connection = 'Upgrade';
  fwd.headers.upgrade = req.headers.upgrade;
  const timeout = route.readTimeoutMs ?? opts.readTimeoutMs;
  let up: ClientRequest;
  try {
    up = request({ host: ep.ip, port: ep.port, method: req.method, path: req.url, headers: fwd.headers, agent: false, timeout });
  } catch (e) {
    return fail(new ProxyError('BAD_REQUEST', `cannot forward this request: ${(e as Error).message}`));
  }
  socket.once('close', () => up.destroy());
  up.on('timeout', () => up.destroy(new ProxyError('UPSTREAM_TIMEOUT', `upstream ${ep.pod} (${ep.key}) sent nothing for ${timeout} ms`)));
  up.on('error', (err) => {
    fail(err instanceof ProxyError ? err : new ProxyError('UPSTREAM_FAILED', `upstream ${ep.pod} (${ep.key}): ${(err as NodeJS.ErrnoException).code ?? err.message}`), ep.pod, ep.key);
  });
  up.on('upgrade', (upRes, upSocket, upHead) => {
    upSocket.setTimeout(0);
    const extra = pick.setCookie ? ['Set-Cookie', pick.setCookie] : [];
    socket.write(rawHead(upRes.statusCode ?? 101, upRes.statusMessage ?? 'Switching Protocols', upRes.rawHeaders, false, extra));
    if (upHead.length) socket.write(upHead);
    if (head.length) upSocket.write(head);
    splice(socket, upSocket);
    log(upRes.statusCode ?? 101, ep.pod, ep.key);
  });
  up.on('response', (upRes) => {
    // The pod declined the upgrade: relay its answer, then close (the body is close-delimited).
    socket.write(rawHead(upRes.statusCode ?? 502, upRes.statusMessage ?? '', upRes.rawHeaders, true, ['Connection', 'close']));
    upRes.on('error', () => socket.destroy());
    upRes.pipe(socket);
    log(upRes.statusCode ?? 502, ep.pod, ep.key);
  });
  up.end();
}
