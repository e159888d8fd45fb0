/**
 * Names of everything a cluster creates in the kernel, derived from the
 * cluster name alone so that teardown can find it all after a crash.
 *
 *   host bridge            km-<cluster>                  (≤ 11 chars)
 *   namespace (node, CP)   km-<cluster>-<name>           e.g. km-demo-node-1
 *   host end of its veth   kmv-<cluster>-<xx>            xx = hex of the IP's host
 *                                                        index in the node subnet
 *   pod namespace          km-<cluster>-p-<uid12>        first 12 hex of the pod UID
 *   pod veth (node end)    kp<hash10>                    lives inside the node namespace
 *
 * Linux interface names are at most 15 characters (IFNAMSIZ - 1). A cluster
 * name is ^[a-z][a-z0-9]{0,7}$, so `kmv-` + 8 + `-` + 2 hex = 15 exactly.
 * Names are collision-free: the host veth suffix is the namespace's own
 * address (unique in the subnet, which is a /24 or smaller), the pod netns
 * suffix is 48 bits of a random UUID, and the pod veth hash only has to be
 * unique among the pods of one node namespace. Cluster names contain no '-',
 * so `km-ab-…` can never be mistaken for a name of cluster `abc`.
 *
 * Namespace and interface names never leave this module as anything other
 * than arguments (no shell), but they are still restricted to [a-z0-9-].
 */
import { createHash } from 'node:crypto';
import { NetnsError } from './errors.js';

export const CLUSTER_NAME_RE = /^[a-z][a-z0-9]{0,7}$/;
/** A namespace's short name: a DNS-1123 label, e.g. `node-1`, `control-plane`, `load-balancer`. */
export const SHORT_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const POD_SUFFIX_RE = /^p-[0-9a-f]{12}$/;

/** Inside every namespace: the veth end towards the host bridge (nodes) or the node (pods). */
export const NS_ETH = 'eth0';
export const IFNAME_MAX = 15;
export const HOSTNAME_MAX = 63;

function invalidName(what: string, value: string, rule: string): NetnsError {
  return new NetnsError('ERR_INVALID_NAME', `invalid ${what} ${JSON.stringify(value)}: ${rule}`);
}

export function validateClusterName(cluster: string): string {
  if (!CLUSTER_NAME_RE.test(cluster)) {
    throw invalidName('cluster name', cluster, 'must match ^[a-z][a-z0-9]{0,7}$ (a letter, then up to 7 letters or digits)');
  }
  return cluster;
}

/** Validates a namespace short name such as `node-1` (DNS-1123 label, not shaped like a pod suffix). */
export function validateShortName(name: string): string {
  if (name.length > 63 || !SHORT_NAME_RE.test(name)) {
    throw invalidName('namespace name', name, 'must be a DNS-1123 label (lower-case letters, digits, "-", at most 63)');
  }
  if (POD_SUFFIX_RE.test(name)) throw invalidName('namespace name', name, '"p-<12 hex>" is reserved for pod namespaces');
  return name;
}

export function bridgeName(cluster: string): string {
  return `km-${validateClusterName(cluster)}`;
}

/** The prefix every namespace of the cluster (nodes, control plane, LB, pods) starts with. */
export function netnsPrefix(cluster: string): string {
  return `km-${validateClusterName(cluster)}-`;
}

export function netnsName(cluster: string, shortName: string): string {
  return netnsPrefix(cluster) + validateShortName(shortName);
}

/**
 * Accepts either a short name (`node-1`) or a full netns name of this cluster
 * (`km-demo-node-1`) and returns the full netns name.
 */
export function resolveNetns(cluster: string, nameOrNs: string): string {
  const prefix = netnsPrefix(cluster);
  if (nameOrNs.startsWith(prefix)) {
    const rest = nameOrNs.slice(prefix.length);
    if (!SHORT_NAME_RE.test(rest)) throw invalidName('netns name', nameOrNs, `must be ${prefix}<DNS-1123 label>`);
    return nameOrNs;
  }
  return netnsName(cluster, nameOrNs);
}

/** The short name back from a full netns name of this cluster (`km-demo-node-1` → `node-1`). */
export function shortNameOf(cluster: string, ns: string): string {
  const prefix = netnsPrefix(cluster);
  return ns.startsWith(prefix) ? ns.slice(prefix.length) : ns;
}

/** Host end of a namespace's veth; `hostIndex` is the address's offset in the node subnet (0..255). */
export function hostVethName(cluster: string, hostIndex: number): string {
  if (!Number.isInteger(hostIndex) || hostIndex < 0 || hostIndex > 255) {
    throw invalidName('host index', String(hostIndex), 'must be 0..255 (the node subnet is at most a /24)');
  }
  return `kmv-${validateClusterName(cluster)}-${hostIndex.toString(16).padStart(2, '0')}`;
}

function sha256hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** 12 hex characters identifying a pod: the UUID's first 12 hex digits, or a hash of a non-UUID uid. */
export function podUidKey(podUid: string): string {
  if (podUid.length === 0) throw invalidName('pod UID', podUid, 'must be non-empty');
  const hex = podUid.toLowerCase().replace(/-/g, '');
  return /^[0-9a-f]{12,}$/.test(hex) ? hex.slice(0, 12) : sha256hex(podUid).slice(0, 12);
}

export function podNetnsName(cluster: string, podUid: string): string {
  return `${netnsPrefix(cluster)}p-${podUidKey(podUid)}`;
}

/** Node end of a pod's veth (inside the node namespace): `kp` + 10 hex = 12 chars. */
export function podVethName(cluster: string, podUid: string): string {
  return `kp${sha256hex(`${validateClusterName(cluster)}/${podUid}`).slice(0, 10)}`;
}

export function isPodNetns(ns: string, cluster: string): boolean {
  return ns.startsWith(netnsPrefix(cluster)) && POD_SUFFIX_RE.test(ns.slice(netnsPrefix(cluster).length));
}

/**
 * True for every host-visible name (netns or host interface) the cluster
 * created: its bridge, its namespaces (nodes, control plane, LB, pods) and the
 * host ends of their veths. Pod veths (`kp…`) live inside node namespaces and
 * disappear with them, so they are not host-visible.
 */
export function isOurs(name: string, cluster: string): boolean {
  validateClusterName(cluster);
  return name === `km-${cluster}` || name.startsWith(`km-${cluster}-`) || name.startsWith(`kmv-${cluster}-`);
}

/** The cluster a host-visible name belongs to, or null when it is not a kubemu name. */
export function clusterOf(name: string): string | null {
  const m = /^kmv?-([a-z][a-z0-9]{0,7})(?:-|$)/.exec(name);
  if (!m || m[1] === undefined) return null;
  if (name.startsWith('kmv-') && !name.startsWith(`kmv-${m[1]}-`)) return null;
  return m[1];
}

/** A pod name: a DNS-1123 subdomain (lower-case letters, digits, '-', '.'), at most 253 characters. */
export function validatePodName(podName: string): string {
  if (podName.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(podName)) {
    throw invalidName('pod name', podName, 'must be a DNS-1123 subdomain');
  }
  return podName;
}

/**
 * A pod's hostname, as Kubernetes makes it: the pod name cut to 63
 * characters, without trailing '-' or '.'.
 */
export function podHostname(podName: string): string {
  return validatePodName(podName).slice(0, HOSTNAME_MAX).replace(/[-.]+$/, '');
}
