/**
 * Services + EndpointSlices → the desired state of each service port, as
 * kube-proxy sees it (pure; no I/O).
 *
 *   Service ns/name ──┬── port "http" TCP 80 ─▶ ServicePortState { clusterIP:80, nodePort, endpoints[] }
 *   EndpointSlices  ──┘   (matched by port name + protocol; each slice carries
 *   (kubernetes.io/service-name)   its own resolved port number)
 *
 * Skipped like kube-proxy does: Services labelled
 * `service.kubernetes.io/service-proxy-name`, headless (clusterIP None) and
 * ExternalName Services. Endpoints objects are never read.
 */
import { LABEL_SERVICE_NAME, type EndpointSlice, type Service } from '@kubemu/api';
import type { PortRef } from './drop-rules.js';

export interface EndpointInfo {
  ip: string;
  port: number;
  /** `ip:port`, the endpoint's identity for balancing and affinity. */
  addr: string;
  nodeName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** The pod it belongs to (targetRef), for tracing. */
  pod?: string;
}

export interface ServicePortState {
  /** `ns/name:portName/PROTO`, unique per service port. */
  key: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  clusterIP?: string;
  nodePort?: number;
  externalIPs: string[];
  /**
   * The load balancer's addresses for it (status.loadBalancer.ingress, ipMode VIP or unset):
   * traffic from this node and its pods to them short-circuits to the endpoints, as kube-proxy does.
   */
  loadBalancerIPs: string[];
  /** ClientIP affinity timeout; 0 = no affinity. */
  affinitySeconds: number;
  externalLocal: boolean;
  internalLocal: boolean;
  healthCheckNodePort?: number;
  endpoints: EndpointInfo[];
}

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
/** Set on Services whose endpoints are for discovery only: kube-proxy leaves them alone (as it watches `!service.kubernetes.io/headless`). */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** Kubernetes' default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_SECONDS = 10800;

/** Why kube-proxy ignores `svc`, or undefined when it serves it. */
export function skipReason(svc: Service): string | undefined {
  if (svc.metadata.labels?.[SERVICE_PROXY_NAME_LABEL] !== undefined) return 'labelled service.kubernetes.io/service-proxy-name';
  if (svc.metadata.labels?.[HEADLESS_LABEL] !== undefined) return 'labelled service.kubernetes.io/headless';
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return 'ExternalName';
  if (!spec.clusterIP || spec.clusterIP === 'None') return 'headless';
  return undefined;
}

/** The service key an EndpointSlice belongs to (`ns/name`), or undefined. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const svc = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  return svc ? `${slice.metadata.namespace ?? 'default'}/${svc}` : undefined;
}

/** Every service port of `svc` with its endpoints from `slices` (already filtered to this Service). */
export function servicePorts(svc: Service, slices: Iterable<EndpointSlice>): ServicePortState[] {
  if (skipReason(svc)) return [];
  const spec = svc.spec ?? {};
  const ns = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name ?? '';
  const sliceList = [...slices].filter((s) => s.addressType === 'IPv4');
  const affinitySeconds = spec.sessionAffinity === 'ClientIP' ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds || DEFAULT_AFFINITY_SECONDS : 0;
  const nodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const lbIPs = [...new Set((svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip && i.ipMode !== 'Proxy').map((i) => i.ip!))].filter((ip) => !(spec.externalIPs ?? []).includes(ip));
  return (spec.ports ?? []).map((p) => {
    const protocol = p.protocol === 'UDP' ? 'UDP' : 'TCP';
    const portName = p.name ?? '';
    return {
      key: `${ns}/${name}:${portName}/${protocol}`,
      namespace: ns,
      name,
      portName,
      protocol,
      port: p.port,
      clusterIP: spec.clusterIP,
      nodePort: nodePorts && p.nodePort ? p.nodePort : undefined,
      externalIPs: [...(spec.externalIPs ?? [])],
      loadBalancerIPs: spec.type === 'LoadBalancer' ? lbIPs : [],
      affinitySeconds,
      externalLocal: spec.externalTrafficPolicy === 'Local',
      internalLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort: spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort ? spec.healthCheckNodePort : undefined,
      endpoints: endpointsFor(sliceList, portName, protocol),
    } satisfies ServicePortState;
  });
}

function endpointsFor(slices: EndpointSlice[], portName: string, protocol: 'TCP' | 'UDP'): EndpointInfo[] {
  const byAddr = new Map<string, EndpointInfo>();
  for (const s of slices) {
    const sp = (s.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === protocol);
    if (!sp || !sp.port) continue;
    for (const e of s.endpoints ?? []) {
      const ip = e.addresses?.[0];
      if (!ip) continue;
      // Kubernetes: a nil ready means ready; a nil serving means "same as ready".
      const ready = e.conditions?.ready ?? true;
      const info: EndpointInfo = {
        ip,
        port: sp.port,
        addr: `${ip}:${sp.port}`,
        nodeName: e.nodeName,
        ready,
        serving: e.conditions?.serving ?? ready,
        terminating: e.conditions?.terminating ?? false,
        pod: e.targetRef?.name,
      };
      const prev = byAddr.get(info.addr);
      if (!prev || (!prev.ready && info.ready)) byAddr.set(info.addr, info);
    }
  }
  return [...byAddr.values()].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

/**
 * The endpoints traffic may go to (k8s pkg/proxy/topology.go
 * CategorizeEndpoints): the ready ones, else the serving-but-terminating
 * ones. `node` set ⇒ only endpoints on that node (Local policies).
 */
export function usableEndpoints(eps: EndpointInfo[], node?: string): EndpointInfo[] {
  const pool = node === undefined ? eps : eps.filter((e) => e.nodeName === node);
  const ready = pool.filter((e) => e.ready);
  return ready.length ? ready : pool.filter((e) => e.serving && e.terminating);
}

/** True when any endpoint anywhere could take traffic (decides refuse vs drop). */
export function hasAnyEndpoints(eps: EndpointInfo[]): boolean {
  return eps.some((e) => e.ready || (e.serving && e.terminating));
}

/** What a port needs from the kernel besides the proxy: its service-address ports and the DROPs its Local policies need on `node`. */
export interface PortKernelFacts {
  ports: PortRef[];
  dropAddr: PortRef[];
  dropExt: PortRef[];
  dropNode: Omit<PortRef, 'ip'>[];
}

export function portKernelFacts(s: ServicePortState, node: string): PortKernelFacts {
  const proto = s.protocol === 'UDP' ? 'udp' : 'tcp';
  const ports: PortRef[] = [];
  if (s.clusterIP) ports.push({ ip: s.clusterIP, proto, port: s.port });
  for (const ip of [...s.externalIPs, ...s.loadBalancerIPs]) ports.push({ ip, proto, port: s.port });
  const noLocal = hasAnyEndpoints(s.endpoints) && usableEndpoints(s.endpoints, node).length === 0;
  const facts: PortKernelFacts = { ports, dropAddr: [], dropExt: [], dropNode: [] };
  if (noLocal) {
    if (s.internalLocal && s.clusterIP) facts.dropAddr.push({ ip: s.clusterIP, proto, port: s.port });
    if (s.externalLocal) {
      if (s.nodePort) facts.dropNode.push({ proto, port: s.nodePort });
      for (const ip of [...s.externalIPs, ...s.loadBalancerIPs]) facts.dropExt.push({ ip, proto, port: s.port });
    }
  }
  return facts;
}
