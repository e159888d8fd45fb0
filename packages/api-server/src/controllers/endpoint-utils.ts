/**
 * What the Endpoints and EndpointSlice controllers share, after Kubernetes'
 * `staging/src/k8s.io/endpointslice/util` and `pkg/api/v1/pod`:
 *
 * - which pods belong in a Service's endpoints (ShouldPodBeInEndpoints);
 * - how a Service port's targetPort resolves on one pod (FindPort: a number is
 *   used as is, a name is looked up per pod by name AND protocol);
 * - when an endpoint carries the pod's hostname (ShouldSetHostname);
 * - which Services a pod belongs to, remembering the last answer per pod so a
 *   pod whose labels stop matching (or that is deleted) still re-syncs the
 *   Services it used to be in.
 */
import { serviceSelector, type LabelMatcher, type Pod, type Service, type ServicePort, rfc3339Nano } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import { isPodTerminal, keyOf, podIPv4s } from './controller-utils.js';
import { R } from './resources.js';

export { LABEL_SERVICE_NAME } from '@kubemu/api';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const LABEL_ENDPOINTS_MANAGED_BY = 'endpoints.kubernetes.io/managed-by';
export const ENDPOINTS_CONTROLLER_NAME = 'endpoint-controller';
export const SLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const MIRRORING_CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
export const ANNOTATION_LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** ShouldPodBeInEndpoints: has an IP, not terminal, and (not terminating or terminating is tolerated). */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (podIPv4s(pod).length === 0) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

/** ShouldSetHostname: the pod names a hostname and its subdomain is this Service. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace;
}

/** podutil.FindPort: the container port a Service port targets on this pod, or undefined. */
export function findPort(pod: Pod, svcPort: ServicePort): number | undefined {
  const tp = svcPort.targetPort;
  if (typeof tp === 'number') return tp > 0 ? tp : svcPort.port;
  if (tp === undefined || tp === null || tp === '') return svcPort.port;
  const proto = svcPort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

/** IsServiceIPSet: a cluster IP other than "" and "None". */
export function isServiceIPSet(svc: Service): boolean {
  return !!svc.spec?.clusterIP && svc.spec.clusterIP !== 'None';
}

export { rfc3339Nano };

/**
 * Pod ⇒ Services index for one controller. `record(svcKey, podKeys)` is called
 * after each Service sync with the pods it selected; `servicesToSync(pod)`
 * returns the Services the pod matches now plus those whose last sync
 * selected it, so a pod whose labels stop matching, or that is deleted, still
 * re-syncs the Services it was in.
 */
export class ServiceMembership {
  readonly #client: ObjectClient;
  readonly #podServices = new Map<string, Set<string>>();
  readonly #servicePods = new Map<string, Set<string>>();

  constructor(
    client: ObjectClient,
    /** The Services of a namespace as the controller's own index has them; undefined: read the store. */
    readonly servicesIn?: (namespace: string) => Service[] | undefined,
  ) {
    this.#client = client;
  }

  servicesToSync(pod: Pod): Set<string> {
    const out = new Set<string>(this.#podServices.get(keyOf(pod)) ?? []);
    const ns = pod.metadata.namespace ?? 'default';
    const services = this.servicesIn?.(ns) ?? this.#client.list<Service>(R.services, { namespace: ns }).items;
    for (const svc of services) {
      if (selectorOf(svc).matches(pod.metadata.labels)) out.add(keyOf(svc));
    }
    return out;
  }

  record(svcKey: string, podKeys: Iterable<string>): void {
    const next = new Set(podKeys);
    for (const p of this.#servicePods.get(svcKey) ?? []) {
      if (next.has(p)) continue;
      const s = this.#podServices.get(p);
      s?.delete(svcKey);
      if (s && s.size === 0) this.#podServices.delete(p);
    }
    for (const p of next) {
      let s = this.#podServices.get(p);
      if (!s) this.#podServices.set(p, (s = new Set()));
      s.add(svcKey);
    }
    if (next.size) this.#servicePods.set(svcKey, next);
    else this.#servicePods.delete(svcKey);
  }

  forgetService(svcKey: string): void {
    this.record(svcKey, []);
  }
}

/** The Service's pod selector (nil or {} ⇒ matches nothing). */
export function selectorOf(svc: Service): LabelMatcher {
  return serviceSelector(svc.spec?.selector);
}
