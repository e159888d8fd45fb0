/**
 * One data plane of kube-proxy, behind one small interface (as Kubernetes'
 * proxy.Provider): KubeProxy owns the watches, applied versions, health,
 * kube-ipvs0 and the filter table, and hands every service port's state to
 * its Proxier. A new mode is a new folder beside `nftables/` and
 * `userspace/` with a class implementing this, and one line in
 * `createProxier` (kube-proxy.ts).
 *
 *   setPort(key, state)   a port's new state (undefined: gone); resolves once
 *                         new connections get it (userspace: listeners open;
 *                         nftables: at once, the kernel part waits for sync)
 *   setServiceAddrs(set)  the addresses on kube-ipvs0
 *   pending / sync()      kernel work waiting / push it (throws when refused;
 *                         the next sync retries)
 *   retry()               what could not be set up (listeners that failed)
 *   connections(limit)    /connections
 *   affinity()            /affinity (ClientIP affinity held now)
 *   stop(clean)           stop serving; with clean, remove kernel state
 */
import type { ServicePortState } from './service-state.js';
import type { ConnFanout } from './conn-events.js';

export type ProxyMode = 'nftables' | 'userspace';
export const PROXY_MODES: readonly ProxyMode[] = ['nftables', 'userspace'];

/** One connection as /connections lists it. */
export interface ConnRecord {
  /** ms since the epoch when the connection was accepted. */
  start: number;
  durationMs: number;
  protocol: 'TCP' | 'UDP';
  /** Service port key, `ns/name:port/PROTO`. */
  service: string;
  /** What the client dialled: `cluster-ip`, `node-port`, `external-ip`. */
  via: string;
  client: string;
  node: string;
  /** `ip:port` chosen, or '' when none could be reached. */
  endpoint: string;
  bytesIn: number;
  bytesOut: number;
  /** The counters were not read (too many connections closing to list them within the watch's budget). */
  bytesUnknown?: boolean;
  /**
   * How it ended: `ok`, `no-endpoints` (refused: the Service has none),
   * `connect-failed` (every endpoint tried refused or did not answer),
   * `reset`, `timeout` (nftables: the endpoint never answered the SYN);
   * UDP: `ok`, `idle`, `evicted`, `no-reply`, `endpoint-unreachable`.
   * Live states: `open` (the stream's open events; nftables listings),
   * `connecting` (nftables listings).
   */
  result: string;
  attempts: number;
}
/** A client held to an endpoint by ClientIP affinity, as /affinity lists it. */
export interface AffinityRecord {
  /** Service port key, `ns/name:port/PROTO`. */
  service: string;
  client: string;
  endpoint: string;
  /** Seconds until the client is free again (-1: unknown). */
  secondsLeft: number;
}

export interface Proxier {
  readonly mode: ProxyMode;
  start(): Promise<void>;
  setPort(key: string, state: ServicePortState | undefined): Promise<void>;
  setServiceAddrs(addrs: Set<string>): void;
  readonly pending: boolean;
  sync(): Promise<void>;
  retry(): Promise<void>;
  connections(limit: number): Promise<{ total: number; items: ConnRecord[] }>;
  /** The clients ClientIP affinity holds to an endpoint now. */
  affinity(): Promise<AffinityRecord[]>;
  stop(clean: boolean): Promise<void>;
}

/** What a proxier may ask of KubeProxy about this node. */
export interface ProxierContext {
  node: string;
  /** The bridge this node's pods hang off. */
  podBridge: string;
  /** This node's own addresses (not the service addresses on kube-ipvs0), loopback included. */
  nodeAddresses: () => string[];
  /** True for clients on this node (its pods, the node itself): ETP Local treats them as Cluster. */
  isInternalClient: (ip: string) => boolean;
  /** External IPs this node answers for (its own addresses or bound ones). */
  servesExternalIP: (ip: string) => boolean;
  /** A port could not be served here (e.g. a listener could not open): KubeProxy reports it as an Event. */
  onPortError: (state: ServicePortState, what: string, err: Error) => void;
  /** The live connection stream: a data plane that sees connections itself (the relays) emits into it while watched. */
  connEvents?: ConnFanout;
}
