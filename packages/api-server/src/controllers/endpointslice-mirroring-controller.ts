/**
 * The EndpointSlice mirroring controller (Kubernetes'
 * pkg/controller/endpointslicemirroring): kube-proxy reads only slices, so
 * the Endpoints users write by hand for selector-less Services are mirrored
 * into slices.
 *
 * Model: one key per Endpoints/Service name. Endpoints and Service events
 * enqueue it, as do events on slices this controller manages. Syncing:
 *   - Mirror when a Service of that name exists, has no selector, and the
 *     Endpoints exist without `endpointslice.kubernetes.io/skip-mirror: "true"`
 *     (nor a leader-election annotation); otherwise delete the mirrored
 *     slices. As in Kubernetes, Endpoints the endpoints controller wrote
 *     before a Service lost its selector are mirrored like hand-written ones.
 *   - Each subset's addresses become endpoints (ready: addresses ⇒ ready and
 *     serving, notReadyAddresses ⇒ neither; never terminating) with the
 *     subset's ports (protocol TCP by default); subsets with the same ports
 *     share slices; at most 1000 addresses per subset are mirrored (ready
 *     first) and a slice holds up to 1000 endpoints. IPv6 and non-IP
 *     addresses are skipped (IPv4 only). No addresses ⇒ no slices.
 *   - Slices: generateName `<name>-`, ownerReferences → the Service, labels =
 *     the Endpoints' labels + kubernetes.io/service-name + managed-by
 *     endpointslicemirroring-controller.k8s.io; annotations = the Endpoints'
 *     minus last-change-trigger-time and last-applied-configuration.
 */
import type { Logger } from 'pino';
import type { EndpointAddress, EndpointPort, EndpointSlice, Endpoints, Service, SliceEndpoint } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import { BaseController, type BaseControllerOptions, keyOf, splitKey } from './controller-utils.js';
import {
  ANNOTATION_LAST_APPLIED,
  ANNOTATION_TRIGGER_TIME,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_SKIP_MIRROR,
  MIRRORING_CONTROLLER_NAME,
} from './endpoint-utils.js';
import { R } from './resources.js';
import { deleteSlices, portsKey, reconcileSlices, type DesiredGroup } from './slice-reconciler.js';

export const MIRRORING_MAX_ENDPOINTS_PER_SUBSET = 1000;
/** Leader-election records stored on Endpoints are never mirrored. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export interface EndpointSliceMirroringControllerOptions extends BaseControllerOptions {
  /** --mirroring-max-endpoints-per-subset (default 1000). */
  maxEndpointsPerSubset?: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export class EndpointSliceMirroringController extends BaseController {
  readonly #max: number;

  constructor(client: ObjectClient, log: Logger, opts: EndpointSliceMirroringControllerOptions = {}) {
    super(client, log, 'endpointslicemirroring-controller', opts);
    this.#max = Math.max(1, opts.maxEndpointsPerSubset ?? MIRRORING_MAX_ENDPOINTS_PER_SUBSET);
  }

  protected setupWatches(): void {
    this.watch<Service>(R.services, {}, (ev) => this.queue.add(keyOf(ev.object)));
    this.watch<Endpoints>(R.endpoints, {}, (ev) => this.queue.add(keyOf(ev.object)));
    this.watch<EndpointSlice>(R.endpointSlices, { labelSelector: `${LABEL_MANAGED_BY}=${MIRRORING_CONTROLLER_NAME}` }, (ev) => {
      const name = ev.object.metadata.labels?.[LABEL_SERVICE_NAME];
      if (name) this.queue.add(`${ev.object.metadata.namespace}/${name}`);
    });
  }

  protected resync(): void {
    const keys = new Set<string>();
    for (const ep of this.client.list<Endpoints>(R.endpoints).items) keys.add(keyOf(ep));
    for (const s of this.client.list<EndpointSlice>(R.endpointSlices, { labelSelector: `${LABEL_MANAGED_BY}=${MIRRORING_CONTROLLER_NAME}` }).items) {
      const name = s.metadata.labels?.[LABEL_SERVICE_NAME];
      if (name) keys.add(`${s.metadata.namespace}/${name}`);
    }
    for (const k of keys) this.queue.add(k);
  }

  protected sync(key: string): void {
    const { namespace = 'default', name } = splitKey(key);
    const existing = this.client
      .list<EndpointSlice>(R.endpointSlices, { namespace, labelSelector: `${LABEL_SERVICE_NAME}=${name},${LABEL_MANAGED_BY}=${MIRRORING_CONTROLLER_NAME}` })
      .items.filter((s) => !s.metadata.deletionTimestamp);
    const svc = this.client.get<Service>(R.services, namespace, name);
    const ep = this.client.get<Endpoints>(R.endpoints, namespace, name);
    const mirror =
      !!svc &&
      !!ep &&
      (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) &&
      ep.metadata.labels?.[LABEL_SKIP_MIRROR] !== 'true' &&
      ep.metadata.annotations?.[LEADER_ANNOTATION] === undefined;
    if (!mirror) {
      const n = deleteSlices(this.client, existing);
      if (n) this.log.debug({ endpoints: key, deleted: n }, 'mirrored slices removed');
      return;
    }
    const groups = mirroredGroups(ep!, this.#max);
    const owned = existing.filter((s) => s.metadata.ownerReferences?.some((r) => r.uid === svc!.metadata.uid));
    const res = reconcileSlices(this.client, owned, groups, mirrorMeta(svc!, ep!), { maxPerSlice: this.#max, placeholder: false });
    res.deleted += deleteSlices(this.client, existing.filter((s) => !owned.includes(s)));
    if (res.created || res.updated || res.deleted) this.log.debug({ endpoints: key, ...res }, 'mirrored slices reconciled');
  }
}

function mirrorMeta(svc: Service, ep: Endpoints) {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(ep.metadata.labels ?? {})) if (k !== LABEL_MANAGED_BY && k !== LABEL_SERVICE_NAME) labels[k] = v;
  labels[LABEL_SERVICE_NAME] = ep.metadata.name ?? '';
  labels[LABEL_MANAGED_BY] = MIRRORING_CONTROLLER_NAME;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(ep.metadata.annotations ?? {})) if (k !== ANNOTATION_TRIGGER_TIME && k !== ANNOTATION_LAST_APPLIED) annotations[k] = v;
  return {
    namespace: ep.metadata.namespace ?? 'default',
    generateName: `${ep.metadata.name}-`,
    labels,
    annotations,
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
  };
}

function toEndpoint(a: EndpointAddress, ready: boolean): SliceEndpoint {
  const e: SliceEndpoint = { addresses: [a.ip], conditions: { ready, serving: ready, terminating: false } };
  if (a.hostname) e.hostname = a.hostname;
  if (a.nodeName) e.nodeName = a.nodeName;
  if (a.targetRef) e.targetRef = { ...a.targetRef };
  return e;
}

export function mirroredGroups(ep: Endpoints, maxPerSubset: number): Map<string, DesiredGroup> {
  const groups = new Map<string, DesiredGroup>();
  for (const subset of ep.subsets ?? []) {
    const ports: EndpointPort[] = (subset.ports ?? []).map((p) => {
      const out: EndpointPort = { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' };
      if (p.appProtocol) out.appProtocol = p.appProtocol;
      return out;
    });
    const pk = portsKey(ports);
    let g = groups.get(pk);
    if (!g) groups.set(pk, (g = { ports, endpoints: [] }));
    const seen = new Set(g.endpoints.map((e) => e.addresses[0]));
    let budget = maxPerSubset;
    for (const [list, ready] of [
      [subset.addresses ?? [], true],
      [subset.notReadyAddresses ?? [], false],
    ] as const) {
      for (const a of list) {
        if (budget <= 0) break;
        if (!a?.ip || !IPV4.test(a.ip) || seen.has(a.ip)) continue;
        seen.add(a.ip);
        g.endpoints.push(toEndpoint(a, ready));
        budget--;
      }
    }
    if (g.endpoints.length === 0) groups.delete(pk);
  }
  return groups;
}
