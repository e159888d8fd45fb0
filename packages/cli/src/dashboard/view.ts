/**
 * What the dashboard page is told: compact views of the cluster's objects
 * (not whole Kubernetes objects) and the messages that carry them over the
 * WebSocket. Shared by the server (packages/cli/src/dashboard) and the page
 * (./web), so it holds types only.
 */

export interface NodeView {
  name: string;
  ip: string;
  ready: boolean;
  /** Why not ready (the Ready condition's reason), '' when ready. */
  reason: string;
  podCIDR: string;
}

export interface PodView {
  namespace: string;
  name: string;
  node: string;
  ip: string;
  phase: string;
  ready: boolean;
  restarts: number;
  terminating: boolean;
  hostNetwork: boolean;
  labels: Record<string, string>;
  /** The pod's owner (`ReplicaSet/kubia-7d…`), '' when none. */
  owner: string;
  /** It runs the ingress controller (the dashboard follows its access log for cookie affinity). */
  ingressController?: boolean;
}

export interface ServicePortView {
  name: string;
  protocol: string;
  port: number;
  targetPort: string;
  nodePort?: number;
}

export interface ServiceView {
  namespace: string;
  name: string;
  type: string;
  clusterIP: string;
  ports: ServicePortView[];
  /** undefined: no selector (hand-written Endpoints). */
  selector?: Record<string, string>;
  lbIPs: string[];
  externalTrafficPolicy: string;
  sessionAffinity: string;
  affinitySeconds: number;
  healthCheckNodePort?: number;
  /** Pending LoadBalancer (no address yet). */
  lbPending: boolean;
}

export interface EndpointView {
  ip: string;
  node: string;
  /** `ns/name` of the pod behind it, '' when none. */
  pod: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface SliceView {
  namespace: string;
  name: string;
  /** The Service it belongs to (kubernetes.io/service-name). */
  service: string;
  ports: { name: string; port: number; protocol: string }[];
  endpoints: EndpointView[];
}

export interface IngressView {
  namespace: string;
  name: string;
  className: string;
  lbIPs: string[];
  rules: { host: string; path: string; pathType: string; service: string; port: string }[];
  defaultBackend: string;
  tls: { hosts: string[]; secretName: string }[];
}

export interface EventView {
  /** ms since the epoch. */
  time: number;
  type: string;
  reason: string;
  /** `Kind/ns/name`. */
  object: string;
  message: string;
  count: number;
}

/** What the load balancer says about itself (/healthz), trimmed. */
export interface LbView {
  ip: string;
  mode: string;
  reachable: boolean;
  error?: string;
  nodes: { node: string; key: string; healthy: boolean; detail: string }[];
  frontends: { ip: string; port: number; protocol: string; service: string; backends: string[]; local: boolean; affinitySeconds: number }[];
}

/** One node's answer on a Local Service's healthCheckNodePort. */
export interface HealthCheckView {
  service: string;
  node: string;
  port: number;
  /** HTTP status, 0 when no answer. */
  status: number;
  localEndpoints: number;
  error?: string;
}

/** Connections per second to one endpoint of one Service, over the last window. */
export interface TrafficView {
  /** `ns/name` */
  service: string;
  endpoint: string;
  /** New connections per second (last 5 s). */
  cps: number;
  /** Connections open now. */
  open: number;
  /** Refused / failed connections per second. */
  failedPerSecond: number;
}

/** One connection as a node or the LB reported it (kube-proxy's ConnRecord, plus where it was seen). */
export interface ConnectionView {
  id: string;
  /** `node-2` or `load-balancer`. */
  seenOn: string;
  type: 'open' | 'close';
  start: number;
  durationMs: number;
  protocol: string;
  service: string;
  via: string;
  client: string;
  endpoint: string;
  bytesIn: number;
  bytesOut: number;
  /** The node did not read the counters (too many connections closing at once). */
  bytesUnknown?: boolean;
  result: string;
}

/** ClientIP affinity held by a proxy: this client goes to this endpoint for `secondsLeft` more. */
export interface AffinityView {
  seenOn: string;
  service: string;
  client: string;
  endpoint: string;
  secondsLeft: number;
}

/** An ingress affinity cookie as the controller's access log tells it: the value and the pod it pins. */
export interface CookieView {
  /** `ns/name` of the Ingress. */
  ingress: string;
  host: string;
  cookie: string;
  value: string;
  mode: string;
  /** new (Set-Cookie sent), honoured (followed), reissued (it named a pod that left). */
  state: string;
  /** `ns/name` of the pod the cookie pins. */
  pod: string;
  addr: string;
  /** ms since the epoch of the last request that carried or got it. */
  time: number;
  requests: number;
}

/** One step of a rollout as the dashboard saw it happen. */
export interface TimelineEntry {
  time: number;
  /** `ns/name` of the Service or pod. */
  subject: string;
  what: 'pod-terminating' | 'pod-created' | 'pod-ready' | 'pod-unready' | 'endpoint-added' | 'endpoint-removed' | 'endpoint-ready' | 'endpoint-unready' | 'proxy-applied';
  detail: string;
}

export type Kind = 'nodes' | 'pods' | 'services' | 'slices' | 'ingresses';
export interface ViewOf {
  nodes: NodeView;
  pods: PodView;
  services: ServiceView;
  slices: SliceView;
  ingresses: IngressView;
}

export interface Snapshot {
  cluster: string;
  nodes: NodeView[];
  pods: PodView[];
  services: ServiceView[];
  slices: SliceView[];
  ingresses: IngressView[];
  events: EventView[];
  lb?: LbView;
  healthChecks: HealthCheckView[];
  traffic: TrafficView[];
  connections: ConnectionView[];
  affinity: AffinityView[];
  cookies: CookieView[];
  timeline: TimelineEntry[];
}

/** Server → page. */
export type ServerMessage =
  | { type: 'snapshot'; snapshot: Snapshot }
  | {
      type: 'changes';
      /** Objects added or changed, by kind, keyed `ns/name` (or `name`). */
      upserts: { [K in Kind]?: ViewOf[K][] };
      deletes: { [K in Kind]?: string[] };
      events: EventView[];
      timeline: TimelineEntry[];
    }
  | { type: 'probes'; lb?: LbView; healthChecks: HealthCheckView[]; affinity: AffinityView[] }
  | { type: 'traffic'; traffic: TrafficView[]; connections: ConnectionView[] }
  | { type: 'cookies'; cookies: CookieView[] }
  | { type: 'error'; message: string };
