/**
 * Which endpoint answers a request: round robin, or cookie affinity as
 * ingress-nginx does it (nginx.ingress.kubernetes.io/affinity: cookie).
 *
 * Our cookie values (opaque to clients, like ingress-nginx's hashes):
 *
 *   persistent   "<token>"        token = salted hash of the endpoint's ip:port
 *                                 (ingress-nginx's persistent mode stores a
 *                                 hash of the endpoint too). The client stays
 *                                 on that endpoint while it is ready.
 *   balanced     "<key>.<token>"  key = random; the endpoint is the key's
 *                                 rendezvous-hash winner among the ready
 *                                 endpoints (ingress-nginx keeps a random key
 *                                 on a consistent-hash ring), so scaling moves
 *                                 only some sessions. <token> records where the
 *                                 key pointed when the cookie was set.
 *
 * No cookie, or one naming an endpoint that left (or, balanced, a key that
 * now hashes elsewhere): pick an endpoint and send a new Set-Cookie.
 */
import { randomBytes } from 'node:crypto';
import type { AffinityConfig } from './annotations.js';
import type { Backend, Endpoint } from './endpoints.js';

/** What became of the client's affinity cookie: none came (new), it was followed (honoured), it named an endpoint no longer there / no longer its key's (reissued). */
export type CookieState = 'new' | 'honoured' | 'reissued';

/** The affinity cookie after this request: its value (sent, or set) and the endpoint that value pins. */
export interface CookiePin {
  state: CookieState;
  value: string;
  endpoint: Endpoint;
}

export interface Pick {
  endpoint: Endpoint;
  /** A Set-Cookie header value to add to the response. */
  setCookie?: string;
  /** With cookie affinity: the cookie's fate (for the access log). */
  cookie?: CookiePin;
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let i = 0;
  while (i < header.length) {
    while (header.charCodeAt(i) === 32) i++;
    const semi = header.indexOf(';', i);
    const end = semi < 0 ? header.length : semi;
    const eq = header.indexOf('=', i);
    if (eq > 0 && eq < end && header.slice(i, eq).trim() === name) {
      let v = header.slice(eq + 1, end).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
    i = end + 1;
  }
  return undefined;
}

/** 32-bit FNV-1a with a murmur3 finaliser: cheap and well mixed, enough for rendezvous hashing. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The endpoint with the highest hash(key, endpoint): stable while the set is, and moves only ~1/n keys when it changes. */
export function rendezvous(key: string, endpoints: readonly Endpoint[]): Endpoint | undefined {
  let best: Endpoint | undefined;
  let bestScore = -1;
  for (const e of endpoints) {
    const score = hash32(`${key}|${e.key}`);
    if (score > bestScore) {
      bestScore = score;
      best = e;
    }
  }
  return best;
}

export function setCookieHeader(cfg: AffinityConfig, value: string, routePath: string, secure: boolean, now = Date.now()): string {
  let c = `${cfg.cookieName}=${value}; Path=${cfg.path ?? routePath}`;
  if (cfg.expiresSeconds !== undefined) c += `; Expires=${new Date(now + cfg.expiresSeconds * 1000).toUTCString()}`;
  if (cfg.maxAgeSeconds !== undefined) c += `; Max-Age=${cfg.maxAgeSeconds}`;
  if (secure) c += '; Secure';
  return `${c}; HttpOnly`;
}

/**
 * Picks the endpoint for a request. Without affinity: round robin. With it:
 * the cookie's endpoint while it is ready, else a new one and a new cookie.
 */
export function pickEndpoint(backend: Backend, affinity: AffinityConfig | undefined, cookieHeader: string | undefined, routePath: string, secure: boolean): Pick | undefined {
  if (!affinity) {
    const endpoint = backend.next();
    return endpoint && { endpoint };
  }
  const value = readCookie(cookieHeader, affinity.cookieName);
  const state: CookieState = value ? 'reissued' : 'new';
  if (affinity.mode === 'persistent') {
    const pinned = value ? backend.byToken(value) : undefined;
    if (pinned) return { endpoint: pinned, cookie: { state: 'honoured', value: value!, endpoint: pinned } };
    const endpoint = backend.next();
    return endpoint && { endpoint, setCookie: setCookieHeader(affinity, endpoint.token, routePath, secure), cookie: { state, value: endpoint.token, endpoint } };
  }
  const dot = value ? value.indexOf('.') : -1;
  const key = value && dot > 0 ? value.slice(0, dot) : randomBytes(8).toString('hex');
  const endpoint = rendezvous(key, backend.endpoints);
  if (!endpoint) return undefined;
  if (value && value.slice(dot + 1) === endpoint.token) return { endpoint, cookie: { state: 'honoured', value, endpoint } };
  const fresh = `${key}.${endpoint.token}`;
  return { endpoint, setCookie: setCookieHeader(affinity, fresh, routePath, secure), cookie: { state, value: fresh, endpoint } };
}

/**
 * The pick when a request had to move to `endpoint` after its first one
 * failed to connect: persistent mode pins the client to where it landed (a
 * new cookie); balanced mode keeps its key and cookie (it still names a ring
 * position, not a pod).
 */
export function movePick(affinity: AffinityConfig | undefined, pick: Pick, endpoint: Endpoint, routePath: string, secure: boolean): Pick {
  if (endpoint === pick.endpoint) return pick;
  if (affinity?.mode !== 'persistent') return { ...pick, endpoint };
  const state: CookieState = pick.cookie && pick.cookie.state !== 'new' ? 'reissued' : 'new';
  return { endpoint, setCookie: setCookieHeader(affinity, endpoint.token, routePath, secure), cookie: { state, value: endpoint.token, endpoint } };
}
