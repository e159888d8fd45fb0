/**
 * One JSON line per request (pino, child {component: "ingress"}): what came
 * in, where it went, how long the backend took and how much was sent back.
 */
import { pino, type Logger } from 'pino';

export interface AccessRecord {
  host: string;
  path: string;
  method: string;
  status: number;
  /** The upstream pod's name, when one was chosen. */
  upstream?: string;
  /** "ip:port" of the upstream. */
  upstreamAddr?: string;
  /** Milliseconds from sending the request upstream to the end of its response. */
  upstreamMs?: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  requestId?: string;
  client: string;
  proto: string;
  /** "namespace/name" of the Ingress whose rule matched (absent: no rule matched). */
  ingress?: string;
  /** The rule that matched: host as written ("" = any host, "*.foo.com"), path, pathType; defaultBackend when it was an Ingress's spec.defaultBackend. */
  rule?: { host: string; path: string; pathType: string; defaultBackend?: boolean };
  /** The backend Service port: "namespace/service:port" (port number or name, as the Ingress names it). */
  service?: string;
  /**
   * Cookie affinity (only on routes that have it): the cookie's name and mode;
   * state new (the client sent none: Set-Cookie), honoured (it was followed),
   * reissued (it named an endpoint that left or is no longer its key's:
   * Set-Cookie with a new value); value: the cookie value that now pins the
   * client (the one sent when honoured, else the one set); pod / addr: the
   * endpoint that value pins.
   */
  affinity?: { cookie: string; mode: 'balanced' | 'persistent'; state: 'new' | 'honoured' | 'reissued'; value: string; pod: string; addr: string };
}

export type AccessLog = (r: AccessRecord) => void;

export function pinoAccessLog(logger: Logger): AccessLog {
  const log = logger.child({ component: 'ingress' });
  return (r) => log.info(r, 'access');
}

export const noAccessLog: AccessLog = () => {};

/**
 * The access log as the controller writes it in a pod: its own pino instance
 * on `fd` (stdout), buffered (2 KiB or 1 s, whichever comes first) so a busy
 * ingress makes one write per many requests instead of one per request.
 */
export function bufferedAccessLog(fd: number | string = 1, bindings: Record<string, unknown> = {}): { log: AccessLog; flush: () => void; close: () => void } {
  const dest = pino.destination({ dest: fd, minLength: 2048, sync: false });
  const logger = pino({ base: bindings }, dest);
  const timer = setInterval(() => dest.flush(), 1000);
  timer.unref();
  const flush = () => {
    try {
      dest.flushSync();
    } catch {
      // Not ready yet, or already closed: nothing to lose.
    }
  };
  const write = pinoAccessLog(logger);
  let open = true;
  return {
    // Requests cut off by a shutdown still finish (and log) after close: those lines are dropped, not thrown.
    log: (r) => {
      if (!open) return;
      try {
        write(r);
      } catch {
        // A log sink failure must not fail the request path.
      }
    },
    flush,
    close: () => {
      if (!open) return;
      open = false;
      clearInterval(timer);
      flush();
      dest.end();
    },
  };
}
