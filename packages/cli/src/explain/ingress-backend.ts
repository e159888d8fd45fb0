/**
 * One Ingress backend (Service name + port number or name) resolved as the
 * ingress controller resolves it (@kubemu/workloads resolveBackend): the
 * Service, its port, and the ready endpoints of that port from the Service's
 * EndpointSlices — the pods the controller would send to. Pure.
 */
import type { IngressBackend, ServicePort } from '@kubemu/api';
import { resolveBackend, type BackendRef } from '@kubemu/workloads';
import type { CheckStatus } from './checks.js';
import type { IngressFacts } from './facts.js';

export interface BackendVerdict {
  status: Exclude<CheckStatus, 'skip'>;
  /** "Service kubia:80" */
  target: string;
  /** What was found: "ready pods a, b (10.244.1.3:8080, …)", or what is wrong. */
  text: string;
  /** For a failure: the fix in one sentence. */
  fix?: string;
  /** The ready pods the controller sends to. */
  pods: string[];
}

const portText = (p: ServicePort) => `${p.port}${p.name ? ` (${p.name})` : ''}`;

/** Judges a backend given as a BackendRef (from the routing table) or as the Ingress's IngressBackend. */
export function judgeBackend(f: IngressFacts, b: IngressBackend | BackendRef | undefined): BackendVerdict {
  const ns = f.ingress.metadata.namespace ?? 'default';
  const ing = f.ingress.metadata.name ?? '';
  const nsFlag = ns === 'default' ? '' : ` -n ${ns}`;
  const svcName = b && 'id' in b ? b.service : b?.service?.name;
  const port = b && 'id' in b ? b.port : (b?.service?.port?.number ?? b?.service?.port?.name);
  if (!svcName || port === undefined || port === '') {
    const what = b && !('id' in b) && b.resource ? `a resource backend (${b.resource.kind}/${b.resource.name}), which kubemu's controller does not support` : 'no Service name and port';
    return { status: 'fail', target: 'no Service', text: `the backend names ${what}`, fix: `give the backend service.name and service.port (kubectl edit ingress ${ing}${nsFlag}).`, pods: [] };
  }
  const target = `Service ${svcName}:${port}`;
  const svc = f.services.find((s) => s.metadata.name === svcName);
  if (!svc) {
    const there = f.services.map((s) => s.metadata.name ?? '').filter((n) => n && n !== 'kubernetes');
    return { status: 'fail', target, text: `Service ${svcName} does not exist in namespace ${ns}${there.length ? ` (Services there: ${there.slice(0, 8).join(', ')})` : ''}`, fix: `create Service ${svcName} in ${ns}, or point the backend at an existing Service (kubectl edit ingress ${ing}${nsFlag}).`, pods: [] };
  }
  const ports = svc.spec.ports ?? [];
  if (svc.spec.type !== 'ExternalName' && !(typeof port === 'number' ? ports.some((p) => p.port === port) : ports.some((p) => p.name === port))) {
    const has = ports.map(portText).join(', ') || 'none';
    const suggestion = typeof port === 'number' ? (ports.length === 1 ? `port.number: ${ports[0]!.port}` : 'one of its port numbers') : ports.some((p) => p.name) ? `port.name: ${ports.find((p) => p.name)!.name}` : `port.number: ${ports[0]?.port ?? 80}`;
    return { status: 'fail', target, text: `Service ${svcName} has no port ${typeof port === 'number' ? port : `named "${port}"`} (its ports: ${has})`, fix: `set the backend's ${suggestion} (kubectl edit ingress ${ing}${nsFlag}), or add that port to Service ${svcName}.`, pods: [] };
  }
  const ref: BackendRef = { namespace: ns, service: svcName, port, id: `${ns}/${svcName}:${port}` };
  const mine = f.slices.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svcName);
  const r = resolveBackend(ref, svc, mine);
  if (!r.endpoints.length) {
    const why = svc.spec.type === 'ExternalName' ? r.problem : `Service ${svcName} port ${port} has no ready endpoints, so the controller answers 503 Service Temporarily Unavailable`;
    return { status: 'fail', target, text: why, fix: svc.spec.type === 'ExternalName' ? `point the backend at a Service with a selector (kubemu's controller does not proxy ExternalName).` : `find out why with kubemu explain service ${svcName}${nsFlag}.`, pods: [] };
  }
  const pods = [...new Set(r.endpoints.map((e) => e.pod))];
  const eps = r.endpoints.map((e) => e.key);
  return { status: 'ok', target, text: `ready ${pods.length === 1 ? 'pod' : 'pods'} ${pods.join(', ')} (${eps.length <= 4 ? eps.join(', ') : `${eps.slice(0, 4).join(', ')}, …`})`, pods };
}
