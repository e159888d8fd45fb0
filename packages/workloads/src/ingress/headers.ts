/**
 * Header rewriting between client and backend, in both directions:
 *   - hop-by-hop headers (RFC 9110 §7.6.1, plus those the Connection header
 *     lists, plus HTTP/2 pseudo-headers) never cross the proxy;
 *   - the request gains X-Forwarded-For (appended), -Proto, -Host, -Port,
 *     X-Real-IP and X-Request-ID (kept if the client sent one).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'http2-settings', 'expect']);

function connectionTokens(v: string | string[] | undefined): string[] | undefined {
  if (!v) return undefined;
  const s = (Array.isArray(v) ? v.join(',') : v).toLowerCase();
  if (s === 'keep-alive' || s === 'close') return undefined;
  return s.split(',').map((t) => t.trim());
}

/** Copies `headers` without hop-by-hop ones (and without pseudo-headers). */
export function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const extra = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const k in headers) {
    if (k.charCodeAt(0) === 58 /* : */ || HOP_BY_HOP.has(k)) continue;
    if (extra && extra.includes(k)) continue;
    out[k] = headers[k];
  }
  return out;
}

// 32 hex digits like ingress-nginx's $req_id: a random per-process prefix and a counter (no entropy per request).
const ID_PREFIX = randomBytes(8).toString('hex');
let idSeq = 0;

export function newRequestId(): string {
  idSeq = (idSeq + 1) % Number.MAX_SAFE_INTEGER;
  return ID_PREFIX + idSeq.toString(16).padStart(16, '0');
}

/** The client's X-Request-ID, else a new one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && given ? given : newRequestId();
}

export interface ForwardContext {
  clientIp: string;
  secure: boolean;
  /** The port the client connected to. */
  port: number;
  /** The Host header (or :authority) as the client sent it. */
  hostHeader: string;
}

/** The headers sent to the backend; returns them and the request id. */
export function forwardHeaders(headers: IncomingHttpHeaders, ctx: ForwardContext): { headers: OutgoingHttpHeaders; requestId: string } {
  const out = endToEnd(headers);
  if (ctx.hostHeader) out.host = ctx.hostHeader;
  const prior = headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${ctx.clientIp}` : ctx.clientIp;
  out['x-real-ip'] = ctx.clientIp;
  out['x-forwarded-proto'] = ctx.secure ? 'https' : 'http';
  if (ctx.hostHeader) out['x-forwarded-host'] = ctx.hostHeader;
  out['x-forwarded-port'] = String(ctx.port);
  const requestId = requestIdOf(headers);
  out['x-request-id'] = requestId;
  return { headers: out, requestId };
}

/** Serialises a status line and raw header pairs, for answers written straight to a socket (upgrades). */
export function rawHead(status: number, message: string, rawHeaders: readonly string[], skipHopByHop: boolean, extra: readonly string[] = []): string {
  let s = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (skipHopByHop && HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) continue;
    s += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  }
  for (let i = 0; i + 1 < extra.length; i += 2) s += `${extra[i]}: ${extra[i + 1]}\r\n`;
  return `${s}\r\n`;
}
