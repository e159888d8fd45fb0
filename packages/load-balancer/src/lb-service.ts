/**
 * What the load balancer needs from a Service (pure): whether it is ours,
 * which address it asks for, and its frontends (one per service port).
 */
import { cidrOf, cidrWithin, formatCidr, type Cidr, type Service } from '@kubemu/api';

/** MetalLB's annotation for a requested address (a comma list; the first IPv4 one is used). */
export const METALLB_IPS_ANNOTATION = 'metallb.universe.tf/loadBalancerIPs';
/** Kubernetes' label that keeps a node out of every load balancer's backends. */
export const EXCLUDE_NODE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
const DEFAULT_AFFINITY_SECONDS = 10800;

export interface LbPort {
  name: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  nodePort?: number;
}

export interface LbService {
  /** `ns/name` */
  key: string;
  /** The address asked for (annotation, then spec.loadBalancerIP), if any. */
  requestedIP?: string;
  /** The addresses its status shows now. */
  statusIPs: string[];
  ports: LbPort[];
  /** externalTrafficPolicy: Local (health-check healthCheckNodePort, keep the client's address). */
  local: boolean;
  healthCheckNodePort?: number;
  affinitySeconds: number;
  /** loadBalancerSourceRanges as CIDRs; empty = everyone. */
  sourceRanges: string[];
  /** A problem that stops traffic (no node ports, bad source range); the address is still assigned. */
  problem?: string;
}

const svcKey = (s: Service) => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;

/** True when this load balancer serves `s`: type LoadBalancer and no other loadBalancerClass. */
export function isOurs(s: Service, lbClass?: string): boolean {
  if (s.spec?.type !== 'LoadBalancer') return false;
  const cls = s.spec.loadBalancerClass;
  return !cls || (lbClass !== undefined && cls === lbClass);
}

export function lbService(s: Service): LbService {
  const spec = s.spec ?? {};
  const ann = s.metadata.annotations?.[METALLB_IPS_ANNOTATION];
  const fromAnn = ann?.split(',').map((x) => x.trim()).find((x) => /^\d+\.\d+\.\d+\.\d+$/.test(x));
  const requestedIP = fromAnn ?? (spec.loadBalancerIP || undefined);
  const ports: LbPort[] = (spec.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol === 'UDP' ? 'UDP' : 'TCP', port: p.port, nodePort: p.nodePort || undefined }));
  let problem: string | undefined;
  if (ports.length && ports.every((p) => !p.nodePort)) {
    problem = spec.allocateLoadBalancerNodePorts === false
      ? 'the Service has no node ports (allocateLoadBalancerNodePorts: false); this load balancer forwards to node ports, so it cannot reach the Service'
      : 'the Service has no node ports yet';
  }
  const ranges: Cidr[] = [];
  for (const r of spec.loadBalancerSourceRanges ?? []) {
    try {
      ranges.push(cidrOf(r.trim()));
    } catch {
      problem ??= `loadBalancerSourceRanges: "${r}" is not a CIDR`;
    }
  }
  // Ranges inside another are dropped (nft refuses overlapping intervals in one set).
  ranges.sort((a, b) => a.prefix - b.prefix || a.network - b.network);
  const kept: Cidr[] = [];
  for (const c of ranges) if (!kept.some((k) => cidrWithin(c, k))) kept.push(c);
  const sourceRanges = kept.map(formatCidr);
  return {
    key: svcKey(s),
    requestedIP,
    statusIPs: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip),
    ports,
    local: spec.externalTrafficPolicy === 'Local',
    healthCheckNodePort: spec.externalTrafficPolicy === 'Local' ? spec.healthCheckNodePort || undefined : undefined,
    affinitySeconds: spec.sessionAffinity === 'ClientIP' ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds || DEFAULT_AFFINITY_SECONDS : 0,
    sourceRanges,
    problem,
  };
}

