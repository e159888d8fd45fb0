/**
 * Kubernetes objects → the dashboard's compact views (view.ts). Pure
 * functions: the page gets what it draws and nothing else, so 3,000 pods
 * stay small on the wire.
 */
import { builtinImage, type CoreEvent, type EndpointSlice, type Ingress, type IngressBackend, type KubeObject, type Node, type Pod, type Service } from '@kubemu/api';
import type { EventView, IngressView, Kind, NodeView, PodView, ServiceView, SliceView } from './view.js';

/** `ns/name` for namespaced objects, `name` for nodes. */
export function keyOf(o: { metadata: { namespace?: string; name?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata.name ?? '');
}

export function nodeView(n: Node): NodeView {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    name: n.metadata.name ?? '',
    ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    ready: ready?.status === 'True',
    reason: ready?.status === 'True' ? '' : (ready?.reason ?? 'NotReady'),
    podCIDR: n.spec?.podCIDR ?? '',
  };
}

export function podView(p: Pod): PodView {
  const owner = p.metadata.ownerReferences?.find((r) => r.controller) ?? p.metadata.ownerReferences?.[0];
  return {
    namespace: p.metadata.namespace ?? '',
    name: p.metadata.name ?? '',
    node: p.spec.nodeName ?? '',
    ip: p.status?.podIP ?? '',
    phase: p.status?.phase ?? 'Pending',
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    terminating: !!p.metadata.deletionTimestamp,
    hostNetwork: !!p.spec.hostNetwork,
    labels: p.metadata.labels ?? {},
    owner: owner ? `${owner.kind}/${owner.name}` : '',
    ...(p.spec.containers.some((c) => builtinImage(c.image)?.workload === 'ingress-controller') ? { ingressController: true } : {}),
  };
}

export function serviceView(s: Service): ServiceView {
  const type = s.spec.type ?? 'ClusterIP';
  const lbIPs = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean);
  return {
    namespace: s.metadata.namespace ?? '',
    name: s.metadata.name ?? '',
    type,
    clusterIP: s.spec.clusterIP ?? '',
    ports: (s.spec.ports ?? []).map((p) => ({
      name: p.name ?? '',
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      targetPort: String(p.targetPort ?? p.port),
      ...(p.nodePort ? { nodePort: p.nodePort } : {}),
    })),
    ...(s.spec.selector && Object.keys(s.spec.selector).length ? { selector: s.spec.selector } : {}),
    lbIPs,
    externalTrafficPolicy: s.spec.externalTrafficPolicy ?? (type === 'NodePort' || type === 'LoadBalancer' ? 'Cluster' : ''),
    sessionAffinity: s.spec.sessionAffinity ?? 'None',
    affinitySeconds: s.spec.sessionAffinity === 'ClientIP' ? (s.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : 0,
    ...(s.spec.healthCheckNodePort ? { healthCheckNodePort: s.spec.healthCheckNodePort } : {}),
    lbPending: type === 'LoadBalancer' && lbIPs.length === 0,
  };
}

export function sliceView(e: EndpointSlice): SliceView {
  return {
    namespace: e.metadata.namespace ?? '',
    name: e.metadata.name ?? '',
    service: e.metadata.labels?.['kubernetes.io/service-name'] ?? '',
    ports: (e.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol ?? 'TCP' })),
    endpoints: (e.endpoints ?? []).flatMap((ep) =>
      ep.addresses.map((ip) => ({
        ip,
        node: ep.nodeName ?? '',
        pod: ep.targetRef?.kind === 'Pod' ? `${ep.targetRef.namespace ?? e.metadata.namespace}/${ep.targetRef.name}` : '',
        // As EndpointSlice consumers must: nil ready means ready, nil serving means ready, nil terminating means false.
        ready: ep.conditions?.ready ?? true,
        serving: ep.conditions?.serving ?? ep.conditions?.ready ?? true,
        terminating: ep.conditions?.terminating ?? false,
      })),
    ),
  };
}

function backendName(b: IngressBackend | undefined): { service: string; port: string } {
  if (!b) return { service: '', port: '' };
  if (b.resource) return { service: `${b.resource.kind}/${b.resource.name}`, port: '' };
  return { service: b.service?.name ?? '', port: String(b.service?.port?.number ?? b.service?.port?.name ?? '') };
}

export function ingressView(i: Ingress): IngressView {
  const d = backendName(i.spec.defaultBackend);
  return {
    namespace: i.metadata.namespace ?? '',
    name: i.metadata.name ?? '',
    className: i.spec.ingressClassName ?? i.metadata.annotations?.['kubernetes.io/ingress.class'] ?? '',
    lbIPs: (i.status?.loadBalancer?.ingress ?? []).map((x) => x.ip ?? x.hostname ?? '').filter(Boolean),
    rules: (i.spec.rules ?? []).flatMap((r) =>
      (r.http?.paths ?? []).map((p) => ({ host: r.host ?? '*', path: p.path ?? '/', pathType: p.pathType, ...backendName(p.backend) })),
    ),
    defaultBackend: d.service ? `${d.service}:${d.port}` : '',
    tls: (i.spec.tls ?? []).map((t) => ({ hosts: t.hosts ?? [], secretName: t.secretName ?? '' })),
  };
}

export function eventView(e: CoreEvent): EventView {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
  const o = e.involvedObject;
  return {
    time: t ? Date.parse(t) : 0,
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    object: `${o.kind ?? ''}/${o.namespace ? `${o.namespace}/` : ''}${o.name ?? ''}`,
    message: e.message ?? '',
    count: e.count ?? 1,
  };
}

/** The view of an object of a watched kind. */
export function viewOf(kind: Kind, o: KubeObject): NodeView | PodView | ServiceView | SliceView | IngressView {
  switch (kind) {
    case 'nodes':
      return nodeView(o as Node);
    case 'pods':
      return podView(o as Pod);
    case 'services':
      return serviceView(o as Service);
    case 'slices':
      return sliceView(o as EndpointSlice);
    case 'ingresses':
      return ingressView(o as Ingress);
  }
}
