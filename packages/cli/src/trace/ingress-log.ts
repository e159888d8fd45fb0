/**
 * `kubemu trace` through an Ingress: the traced request carries its own
 * X-Request-ID, and the ingress controller writes one JSON line per request
 * on its pod's stdout (access-log.ts in the controller). This module finds
 * that request's line in a controller pod's log text, and reads the cookies
 * on either side (the one the client sends, the Set-Cookie the controller
 * answers). Pure: unit-tested on log text.
 */
import { randomBytes } from 'node:crypto';
import type { AccessRecord } from '@kubemu/workloads';

/** The controller's access record, with the bindings of its pod (pino `base`). */
export type IngressAccessLine = AccessRecord & { pod?: string; node?: string; time?: number };

/** The X-Request-ID a trace sends: it is how the controller's log line is found. */
export function traceRequestId(): string {
  return `kubemu-trace-${randomBytes(8).toString('hex')}`;
}

/** The access line of `requestId` in a pod's log (JSON lines; other lines are skipped), or undefined. */
export function findAccessLine(logText: string, requestId: string): IngressAccessLine | undefined {
  for (const line of logText.split('\n')) {
    if (!line.includes(requestId)) continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    if (o && typeof o === 'object' && (o as { msg?: unknown }).msg === 'access' && (o as { requestId?: unknown }).requestId === requestId) return o as IngressAccessLine;
  }
  return undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `--cookie NAME=VALUE` → its parts; undefined when it is not one cookie. */
export function parseCookieOption(s: string): { name: string; value: string } | undefined {
  const eq = s.indexOf('=');
  if (eq <= 0) return undefined;
  const name = s.slice(0, eq).trim();
  const value = s.slice(eq + 1).trim();
  if (!TOKEN.test(name) || /[;,\s\\"]/.test(value.replace(/^"(.*)"$/, '$1'))) return undefined;
  return { name, value };
}

/** The NAME=VALUE of a Set-Cookie header (attributes dropped). */
export function setCookiePair(header: string): { name: string; value: string } | undefined {
  const first = header.split(';')[0]!;
  return parseCookieOption(first);
}
