/**
 * The ingress-nginx annotations kubemu understands, parsed once per Ingress
 * when the routing table is built (never on the request path).
 *
 *   nginx.ingress.kubernetes.io/ssl-redirect            "false" turns off the 308 to HTTPS
 *   nginx.ingress.kubernetes.io/affinity                "cookie" turns on sticky sessions
 *   nginx.ingress.kubernetes.io/affinity-mode           balanced (default) | persistent
 *   nginx.ingress.kubernetes.io/session-cookie-name     default INGRESSCOOKIE
 *   nginx.ingress.kubernetes.io/session-cookie-path     default: the matched rule path
 *   nginx.ingress.kubernetes.io/session-cookie-max-age  seconds → Max-Age
 *   nginx.ingress.kubernetes.io/session-cookie-expires  seconds from now → Expires
 *   nginx.ingress.kubernetes.io/proxy-read-timeout      seconds (default: the controller's, 60)
 *   nginx.ingress.kubernetes.io/proxy-connect-timeout   seconds (default: the controller's, 5)
 */
import type { Ingress } from '@kubemu/api';

const P = 'nginx.ingress.kubernetes.io/';

export type AffinityMode = 'balanced' | 'persistent';

export interface AffinityConfig {
  cookieName: string;
  mode: AffinityMode;
  /** Cookie Path; undefined = the matched rule path. */
  path?: string;
  maxAgeSeconds?: number;
  expiresSeconds?: number;
}

export interface IngressOptions {
  sslRedirect: boolean;
  affinity?: AffinityConfig;
  readTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export const DEFAULT_COOKIE_NAME = 'INGRESSCOOKIE';

function seconds(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

/** A cookie name must be an RFC 6265 token; anything else falls back to the default. */
function cookieName(v: string | undefined): string {
  return v && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v) ? v : DEFAULT_COOKIE_NAME;
}

export function ingressOptions(ing: Ingress): IngressOptions {
  const a = ing.metadata.annotations ?? {};
  const opts: IngressOptions = { sslRedirect: a[`${P}ssl-redirect`] !== 'false' };
  if (a[`${P}affinity`] === 'cookie') {
    const path = a[`${P}session-cookie-path`];
    opts.affinity = {
      cookieName: cookieName(a[`${P}session-cookie-name`]),
      mode: a[`${P}affinity-mode`] === 'persistent' ? 'persistent' : 'balanced',
      path: path && /^\/[^;\s]*$/.test(path) ? path : undefined,
      maxAgeSeconds: seconds(a[`${P}session-cookie-max-age`]),
      expiresSeconds: seconds(a[`${P}session-cookie-expires`]),
    };
  }
  const read = seconds(a[`${P}proxy-read-timeout`]);
  if (read) opts.readTimeoutMs = read * 1000;
  const connect = seconds(a[`${P}proxy-connect-timeout`]);
  if (connect) opts.connectTimeoutMs = connect * 1000;
  return opts;
}
