/**
 * The proxy of one service port on this node: its balancers and listeners.
 *
 *   ServicePortState ─▶ RoundRobin (cluster set) ─┐
 *                    └▶ RoundRobin (local set)  ──┼─ pick ◀─ listeners:
 *                                                 │     clusterIP:port     (ITP picks the set)
 *                                                 │     0.0.0.0:nodePort   (ETP picks the set)
 *                                                 └──   externalIP:port    (ETP)
 *
 * Listeners exist only while some endpoint anywhere can serve (ready, else
 * serving+terminating): with none, nothing listens and the kernel refuses
 * (TCP RST / ICMP port unreachable). A Local policy with no local endpoint
 * here while some exist elsewhere is a DROP, done by drop-rules: the
 * listener stays open but new connections never reach it.
 */
import type { Logger } from 'pino';
import { RoundRobin } from './round-robin.js';
import { hasAnyEndpoints, usableEndpoints, type ServicePortState } from '../service-state.js';
import { TcpProxy } from './tcp-proxy.js';
import { UdpProxy } from './udp-proxy.js';
import type { ConnLog } from './conn-log.js';

export interface ListenerSpec {
  host: string;
  port: number;
  via: 'cluster-ip' | 'node-port' | 'external-ip' | 'load-balancer-ip';
  local: boolean;
}

export interface ServicePortContext {
  node: string;
  log: Logger;
  connLog: ConnLog;
  udpIdleMs?: number;
  /** True for clients on this node (its pods, the node itself): ETP Local treats them as Cluster. */
  isInternalClient: (ip: string) => boolean;
  /** This node's own addresses (not the service addresses on kube-ipvs0), loopback included. */
  nodeAddresses: () => string[];
  /** External IPs this node serves (its own addresses or bound ones). */
  servesExternalIP: (ip: string) => boolean;
  /** Reports a listener that could not be opened. */
  onListenError: (state: ServicePortState, spec: ListenerSpec, err: Error) => void;
}

type Listener = TcpProxy | UdpProxy;

export class ServicePort {
  state: ServicePortState;
  readonly cluster = new RoundRobin();
  readonly local = new RoundRobin();
  readonly #ctx: ServicePortContext;
  readonly #listeners = new Map<string, Listener>();
  /** Listeners that failed to open, retried on the next sync. */
  readonly failed = new Map<string, string>();
  #closed = false;

  constructor(state: ServicePortState, ctx: ServicePortContext) {
    this.state = state;
    this.#ctx = ctx;
  }

  /** Applies new state: balancers at once (synchronously), listeners after. */
  apply(state: ServicePortState): Promise<void> {
    this.update(state);
    return this.#syncListeners();
  }

  /** The synchronous part of apply: balancers, affinity, UDP flows to endpoints that left. No listener changes. */
  update(state: ServicePortState): void {
    this.state = state;
    this.cluster.setEndpoints(usableEndpoints(state.endpoints).map((e) => e.addr));
    this.local.setEndpoints(usableEndpoints(state.endpoints, this.#ctx.node).map((e) => e.addr));
    this.cluster.setAffinity(state.affinitySeconds);
    this.local.setAffinity(state.affinitySeconds);
    const keep = new Set(state.endpoints.filter((e) => e.ready || e.serving).map((e) => e.addr));
    for (const l of this.#listeners.values()) if (l instanceof UdpProxy) l.flushFlowsNotIn(keep);
  }

  /** The endpoint a new connection from `clientIP` to listener `w` would get now. */
  pick(w: ListenerSpec, clientIP: string, attempt = 0): string | undefined {
    return this.#pickFor(w)(clientIP, attempt);
  }

  /** The listeners this port wants now. */
  wanted(): ListenerSpec[] {
    const s = this.state;
    if (!hasAnyEndpoints(s.endpoints)) return [];
    const out: ListenerSpec[] = [];
    if (s.clusterIP) out.push({ host: s.clusterIP, port: s.port, via: 'cluster-ip', local: s.internalLocal });
    if (s.nodePort && s.protocol === 'UDP') {
      // One socket per node address: a reply from a wildcard socket takes the address routing picks towards the
      // client (the pod bridge's, for this node's pods), which a client that sent to the node's address rejects.
      for (const host of this.#ctx.nodeAddresses()) out.push({ host, port: s.nodePort, via: 'node-port', local: s.externalLocal });
    } else if (s.nodePort) {
      out.push({ host: '0.0.0.0', port: s.nodePort, via: 'node-port', local: s.externalLocal });
    }
    for (const ip of s.externalIPs) if (this.#ctx.servesExternalIP(ip)) out.push({ host: ip, port: s.port, via: 'external-ip', local: s.externalLocal });
    for (const ip of s.loadBalancerIPs) if (this.#ctx.servesExternalIP(ip)) out.push({ host: ip, port: s.port, via: 'load-balancer-ip', local: s.externalLocal });
    return out;
  }

  #pickFor(w: ListenerSpec) {
    if (!w.local) return (clientIP: string, attempt: number) => this.cluster.next(clientIP, Date.now(), attempt > 0);
    if (w.via === 'cluster-ip') return (clientIP: string, attempt: number) => this.local.next(clientIP, Date.now(), attempt > 0);
    // ETP Local: external clients get local endpoints only; this node's pods and the node itself get Cluster.
    const internal = this.#ctx.isInternalClient;
    return (clientIP: string, attempt: number) => (internal(clientIP) ? this.cluster : this.local).next(clientIP, Date.now(), attempt > 0);
  }

  async #syncListeners(): Promise<void> {
    if (this.#closed) return;
    const want = new Map(this.wanted().map((w) => [`${w.via}|${w.host}:${w.port}|${w.local}`, w]));
    for (const [k, l] of this.#listeners) {
      if (!want.has(k)) {
        l.close();
        this.#listeners.delete(k);
      }
    }
    for (const k of this.failed.keys()) if (!want.has(k)) this.failed.delete(k);
    const opening: Promise<void>[] = [];
    for (const [k, w] of want) {
      if (this.#listeners.has(k)) continue;
      opening.push(this.#open(k, w));
    }
    await Promise.all(opening);
  }

  async #open(k: string, w: ListenerSpec): Promise<void> {
    const s = this.state;
    const common = { host: w.host, port: w.port, pick: this.#pickFor(w), service: s.key, via: w.via, node: this.#ctx.node, log: this.#ctx.log, connLog: this.#ctx.connLog };
    const l: Listener = s.protocol === 'UDP' ? new UdpProxy({ ...common, idleMs: this.#ctx.udpIdleMs }) : new TcpProxy(common);
    this.#listeners.set(k, l);
    try {
      await l.listen();
      this.failed.delete(k);
      if (this.#closed || !this.#listeners.has(k)) l.close();
    } catch (err) {
      if (this.#listeners.get(k) === l) this.#listeners.delete(k);
      const msg = (err as Error).message;
      if (this.failed.get(k) !== msg) {
        this.failed.set(k, msg);
        this.#ctx.onListenError(s, w, err as Error);
      }
    }
  }

  /** Retries listeners that failed to open. */
  retry(): Promise<void> {
    return this.failed.size ? this.#syncListeners() : Promise.resolve();
  }

  close(): void {
    this.#closed = true;
    for (const l of this.#listeners.values()) l.close();
    this.#listeners.clear();
  }
}
