/**
 * The userspace data plane, as Kubernetes' old userspace proxy: this
 * process accepts every connection on the Service's addresses and relays it
 * to an endpoint it picks (round robin, ClientIP affinity, a failed dial
 * retried on another endpoint), accounting each connection as it ends.
 *
 *   setPort ─▶ ServicePort (balancers at once; listeners: TcpProxy / UdpProxy) ─▶ relay ─▶ endpoint
 *
 * Nothing here touches the kernel: kube-ipvs0 and the filter table (the
 * Local-policy drops, refusals on ports a Service does not have) are
 * KubeProxy's, the same for every mode.
 */
import type { Logger } from 'pino';
import type { ServicePortState } from '../service-state.js';
import type { AffinityRecord, ConnRecord, Proxier, ProxierContext } from '../proxier.js';
import { ConnLog } from './conn-log.js';
import { ServicePort } from './service-port.js';

/** Connections remembered for /connections. */
const CONN_LOG_SIZE = 4096;

export interface UserspaceOptions {
  log: Logger;
  /** Idle time after which a UDP flow is closed. */
  udpIdleMs?: number;
}

export class UserspaceProxier implements Proxier {
  readonly mode = 'userspace' as const;
  readonly connLog: ConnLog;
  readonly #ctx: ProxierContext;
  readonly #opts: UserspaceOptions;
  readonly #ports = new Map<string, ServicePort>();

  constructor(ctx: ProxierContext, opts: UserspaceOptions) {
    this.connLog = new ConnLog(CONN_LOG_SIZE, ctx.connEvents);
    this.#ctx = ctx;
    this.#opts = opts;
  }

  async start(): Promise<void> {}

  setPort(key: string, state: ServicePortState | undefined): Promise<void> {
    let p = this.#ports.get(key);
    if (!state) {
      p?.close();
      this.#ports.delete(key);
      return Promise.resolve();
    }
    if (!p) {
      const ctx = this.#ctx;
      p = new ServicePort(state, {
        node: ctx.node,
        log: this.#opts.log,
        connLog: this.connLog,
        udpIdleMs: this.#opts.udpIdleMs,
        servesExternalIP: ctx.servesExternalIP,
        isInternalClient: ctx.isInternalClient,
        nodeAddresses: ctx.nodeAddresses,
        onListenError: (s, w, err) => ctx.onPortError(s, `listener ${w.host}:${w.port}/${s.protocol}`, err),
      });
      this.#ports.set(key, p);
    }
    return p.apply(state);
  }

  /** The port's balancers and listeners (tests). */
  port(key: string): ServicePort | undefined {
    return this.#ports.get(key);
  }

  setServiceAddrs(): void {}

  get pending(): boolean {
    return false;
  }

  async sync(): Promise<void> {}

  async retry(): Promise<void> {
    for (const p of this.#ports.values()) await p.retry();
  }

  async connections(limit: number): Promise<{ total: number; items: ConnRecord[] }> {
    return { total: this.connLog.total, items: this.connLog.recent(limit) };
  }

  async affinity(): Promise<AffinityRecord[]> {
    const now = Date.now();
    const out: AffinityRecord[] = [];
    for (const [service, p] of this.#ports) {
      for (const rr of [p.cluster, p.local]) for (const s of rr.stickies(now)) out.push({ service, client: s.client, endpoint: s.endpoint, secondsLeft: Math.ceil(s.msLeft / 1000) });
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const p of this.#ports.values()) p.close();
    this.#ports.clear();
  }
}
