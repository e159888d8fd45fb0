/**
 * What both userspace relays of a service-port listener (tcp-proxy.ts,
 * udp-proxy.ts) are given.
 */
import type { Logger } from 'pino';
import type { ConnLog } from './conn-log.js';

/** Picks an endpoint (`ip:port`) for a new connection; undefined = none. */
export type PickFn = (clientIP: string, attempt: number) => string | undefined;

export interface RelayOptions {
  host: string;
  port: number;
  pick: PickFn;
  /** Service port key, for logs and accounting. */
  service: string;
  /** What the client dialled: `cluster-ip`, `node-port`, `external-ip`. */
  via: string;
  node: string;
  log: Logger;
  connLog?: ConnLog;
}
