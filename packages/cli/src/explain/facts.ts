/**
 * What `kubemu explain service` knows about one Service, gathered from the
 * API and from inside the cluster (gather.ts), and handed to the pure checks
 * (checks.ts). Everything here is plain data, so the checks run on fixtures.
 */
import type { CoreEvent, EndpointSlice, Endpoints, Ingress, IngressClass, Pod, Secret, Service } from '@kubemu/api';

/** One listening socket inside a pod's network namespace (from `ss -ltunH`). */
export interface Listener {
  proto: 'TCP' | 'UDP';
  /** `0.0.0.0`, `::`, `*`, `127.0.0.1`, `::1`, a pod IP, … */
  address: string;
  port: number;
}

/** What a node's kube-proxy answered on :10256/applied for the Service. */
export type ProxyApplied =
  /** It has applied resourceVersion `rv` (at `at`, ms since the epoch). */
  | { rv: number; at: number }
  /** It had not reached the current version within the wait; `rv`/`at` is what it has (rv 0: never). */
  | { behind: true; rv: number; at: number }
  /** It did not answer. */
  | { error: string };

/** The load balancer's /healthz, the parts explain reads. */
export interface LbHealth {
  assignments: Record<string, { ip?: string; pending?: string }>;
  nodes: { key: string; ip: string; port: number; healthy: boolean; checkedAt: number; error?: string }[];
}

export interface NodeFact {
  name: string;
  ip: string;
  ready: boolean;
}

export interface ServiceFacts {
  /** ms since the epoch, when the facts were read. */
  now: number;
  cluster: string;
  service: Service;
  /** Every pod of the Service's namespace. */
  pods: Pod[];
  /** The Endpoints object of the same name; undefined when there is none. */
  endpoints?: Endpoints;
  /** EndpointSlices labelled kubernetes.io/service-name=<name>. */
  slices: EndpointSlice[];
  /** Events of the namespace (pods' Unhealthy, the Service's LB events). */
  events: CoreEvent[];
  nodes: NodeFact[];
  /** Per pod name: its listening sockets, or why they could not be read. Only pods explain looked into. */
  listeners: Record<string, Listener[] | { error: string }>;
  /** Per node name: what its kube-proxy has applied of this Service. */
  proxies: Record<string, ProxyApplied>;
  /** The load balancer's view: undefined when the cluster has none. */
  lb?: LbHealth | { error: string };
  /** --node: the node whose node port the user connects to (its name). */
  via?: string;
  /** Cluster DNS: whether the addon runs, and what the Service's FQDN resolved to. */
  dns: { running: false; reason: string } | { running: true; server: string; fqdn: string; answers: string[]; error?: string };
}

/** What `kubemu explain pod` knows about one pod. */
export interface PodFacts {
  now: number;
  cluster: string;
  pod: Pod;
  /** Every Service of the pod's namespace. */
  services: Service[];
  /** Every Endpoints object of the namespace. */
  endpoints: Endpoints[];
  /** Events of the namespace. */
  events: CoreEvent[];
  /** The pod's listening sockets, or why they could not be read (undefined: not looked, e.g. not running). */
  listeners?: Listener[] | { error: string };
}

/** One ingress controller found in the cluster (a Deployment, or lone pods, running the kubemu/ingress-controller image). */
export interface IngressControllerFact {
  namespace: string;
  /** The Deployment's name, or the pod's when it has none. */
  name: string;
  /** Its --ingress-class (default "kubemu"). */
  ingressClass: string;
  /** Its --publish-service: the Service whose address it writes into Ingress status. */
  publishService?: { namespace: string; name: string };
  /** Its pods (not terminated). */
  pods: Pod[];
  /** The publish Service; undefined when it names none or it does not exist. */
  service?: Service;
}

/** What `kubemu explain ingress` knows about one Ingress, from the API. */
export interface IngressFacts {
  now: number;
  cluster: string;
  ingress: Ingress;
  /** Every Ingress of the cluster: the controller merges them into one routing table. */
  ingresses: Ingress[];
  ingressClasses: IngressClass[];
  controllers: IngressControllerFact[];
  /** Services and EndpointSlices of the Ingress's namespace (its backends). */
  services: Service[];
  slices: EndpointSlice[];
  /** Per TLS secretName of the Ingress: the Secret, or null when there is none. */
  secrets: Record<string, Secret | null>;
  nodes: NodeFact[];
  /** A request to judge (--host / --path): the Host header and the path. */
  request?: { host: string; path: string };
}
