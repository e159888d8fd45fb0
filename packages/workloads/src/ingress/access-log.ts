/**
 * One JSON line per request (pino, child {component: "ingress"}): what came
 * in, where it went, how long the backend took and how much was sent back.
 */
import type { Logger } from 'pino';

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
}

export type AccessLog = (r: AccessRecord) => void;

export function pinoAccessLog(logger: Logger): AccessLog {
  const log = logger.child({ component: 'ingress' });
  return (r) => log.info(r, 'access');
}

export const noAccessLog: AccessLog = () => {};
