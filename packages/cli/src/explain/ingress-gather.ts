/**
 * Gathers the facts of one Ingress (facts.ts IngressFacts) from the API: the
 * Ingress and every other one (the controller merges them), the
 * IngressClasses, the controllers (Deployments and pods running the
 * ingress-controller image) with their publish Services, the backends'
 * Services and EndpointSlices, and the TLS Secrets the Ingress names.
 */
import type { Deployment, EndpointSlice, Ingress, IngressClass, Node, Pod, Secret, Service } from '@kubemu/api';
import type { IngressFacts } from './facts.js';
import { ExplainError, getOr404, internalIP, type GatherOptions } from './gather.js';
import { findControllers } from './ingress-controllers.js';

const NET = '/apis/networking.k8s.io/v1';

export interface IngressGatherOptions extends GatherOptions {
  /** --host / --path; a path alone is sent with the Ingress's address as Host, as curl http://<address>/ does. */
  request?: { host?: string; path?: string };
}

export async function gatherIngressFacts(o: IngressGatherOptions): Promise<IngressFacts> {
  const { rt, api, namespace: ns, name } = o;
  const e = encodeURIComponent;
  const nsPath = `/api/v1/namespaces/${e(ns)}`;
  const [nsObj, ingress] = await Promise.all([getOr404(api, nsPath), getOr404<Ingress>(api, `${NET}/namespaces/${e(ns)}/ingresses/${e(name)}`)]);
  if (!nsObj) throw new ExplainError(`namespace "${ns}" not found`);
  if (!ingress) throw new ExplainError(`ingress "${name}" not found in namespace "${ns}"`);
  const items = <T>(path: string) => api.call<{ items: T[] }>('GET', path).then((l) => l.items);
  const secretNames = [...new Set((ingress.spec?.tls ?? []).map((t) => t.secretName).filter((s): s is string => !!s))];
  const [ingresses, ingressClasses, deployments, pods, services, slices, nodes, secrets] = await Promise.all([
    items<Ingress>(`${NET}/ingresses`),
    items<IngressClass>(`${NET}/ingressclasses`),
    items<Deployment>('/apis/apps/v1/deployments'),
    items<Pod>('/api/v1/pods'),
    items<Service>(`${nsPath}/services`),
    items<EndpointSlice>(`/apis/discovery.k8s.io/v1/namespaces/${e(ns)}/endpointslices`),
    items<Node>('/api/v1/nodes'),
    Promise.all(secretNames.map(async (s) => [s, (await getOr404<Secret>(api, `${nsPath}/secrets/${e(s)}`)) ?? null] as const)),
  ]);
  const controllers = await Promise.all(
    findControllers(deployments, pods).map(async (k) => ({
      ...k,
      service: k.publishService ? await getOr404<Service>(api, `/api/v1/namespaces/${e(k.publishService.namespace)}/services/${e(k.publishService.name)}`) : undefined,
    })),
  );
  const address = ingress.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
  const r = o.request;
  const request = r && (r.host !== undefined || r.path !== undefined) ? { host: r.host ?? address?.ip ?? address?.hostname ?? '', path: r.path ?? '/' } : undefined;
  return {
    now: (o.now ?? Date.now)(),
    cluster: rt.cluster,
    ingress,
    ingresses,
    ingressClasses,
    controllers,
    services,
    slices,
    secrets: Object.fromEntries(secrets),
    nodes: nodes.map((n) => ({ name: n.metadata.name ?? '', ip: internalIP(n), ready: n.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True') ?? false })),
    request,
  };
}
