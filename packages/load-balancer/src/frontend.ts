/**
 * A frontend is one address:port/protocol the load balancer answers, and the
 * nodes (node address + node port) it may send a new connection to now.
 * Both data planes (nftables/, userspace/) are given the full list on every
 * change and make the kernel or their listeners match it.
 */
import type { ConnRecord } from '@kubemu/kube-proxy';

export interface Backend {
  node: string;
  ip: string;
  port: number;
}

export interface Frontend {
  /** `ns/name:portName/PROTO`, the key kube-proxy uses for the same service port. */
  key: string;
  /** `ns/name` */
  service: string;
  ip: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  /** Local policy: keep the client's address (no SNAT here); Cluster: masquerade as the LB. */
  local: boolean;
  affinitySeconds: number;
  /** Allowed client CIDRs; empty = all. */
  sourceRanges: string[];
  /** Healthy nodes, sorted by node name. Empty: connections are refused. */
  backends: Backend[];
}

export type LbMode = 'nftables' | 'userspace';
export const LB_MODES: readonly LbMode[] = ['nftables', 'userspace'];

export interface LbDataPlane {
  readonly mode: LbMode;
  /** Makes the data plane serve exactly `frontends`; rejects (changing nothing) if it cannot. */
  sync(frontends: Frontend[]): Promise<void>;
  /** Recent connections, newest last. */
  connections(limit: number): Promise<{ total: number; items: ConnRecord[] }>;
  stop(): Promise<void>;
}
