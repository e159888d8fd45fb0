/**
 * The cluster's defaults, in one place: the address plan of DESIGN.md §5,
 * the well-known ports and the interface names every process agrees on.
 * Every process and flag takes its default from here; what a user can
 * change is a flag of `kubemu up` or of the process itself.
 */
import { cidrOf, formatCidr, formatIPv4, hostAt, cidrSize } from './ip4.js';

/** The machines' segment: bridge .1, control plane .2, load balancer .3, nodes .11+. */
export const DEFAULT_NODE_SUBNET = '172.30.0.0/24';
/** Pods' addresses; each node gets a /24 of it. */
export const DEFAULT_POD_CIDR = '10.244.0.0/16';
/** Cluster IPs (`kubernetes` is the first address, cluster DNS the tenth). */
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';
/** LoadBalancer addresses handed out by the load balancer. */
export const DEFAULT_LB_POOL = '172.30.0.200-172.30.0.250';

/** The API server's HTTPS port. */
export const API_SERVER_PORT = 6443;
/** kube-proxy's health and status server (/healthz, /applied, /connections). */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
/** kube-proxy's /healthz turns 503 when an update waits this long: twice its 5 s retry period, as Kubernetes allows twice its sync period. */
export const KUBE_PROXY_HEALTH_TIMEOUT_MS = 10_000;

/** The bridge a node's pods hang off (their gateway is its first address). */
export const POD_BRIDGE = 'cbr0';
/** The dummy interface holding a node's service addresses. */
export const SERVICE_INTERFACE = 'kube-ipvs0';

/** The `n`-th address of a CIDR, e.g. the `kubernetes` Service's (1) or cluster DNS's (10). */
export function addressInCidr(cidr: string, n: number): string {
  return formatIPv4(hostAt(cidrOf(cidr), n));
}

/** Cluster DNS's Service IP in `serviceCIDR` (10.96.0.10 by default). */
export function clusterDNSIP(serviceCIDR = DEFAULT_SERVICE_CIDR): string {
  return addressInCidr(serviceCIDR, 10);
}

/** Node `i`'s pod CIDR: the i-th /24 of `podCIDR` (node-1 → 10.244.1.0/24). Throws when the CIDR has no such /24. */
export function nodePodCIDR(podCIDR: string, i: number): string {
  const c = cidrOf(podCIDR, true);
  if (c.prefix > 24 || !Number.isInteger(i) || i < 0 || (i + 1) * 256 > cidrSize(c)) {
    throw new RangeError(`pod CIDR ${podCIDR} has no /24 for node ${i} (it needs a /24 per node)`);
  }
  return formatCidr({ network: hostAt(c, i * 256), prefix: 24 });
}
