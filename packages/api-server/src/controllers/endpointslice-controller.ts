/**
 * The EndpointSlice controller (Kubernetes' pkg/controller/endpointslice).
 *
 * Model: one key per Service. Service events enqueue it; pod events enqueue
 * the Services the pod matches now or matched at their last sync; any event
 * on a slice this controller manages enqueues its Service (so a deleted slice
 * is recreated and a hand-edited one is put back). Syncing a key:
 *   - Service gone ⇒ its managed slices are deleted (the garbage collector
 *     would too, through the ownerReference).
 *   - ExternalName or no selector ⇒ its managed slices are deleted (selector-less
 *     Services get mirrored slices instead, see the mirroring controller).
 *   - Otherwise each selected pod with an IPv4 address and not Succeeded/Failed
 *     becomes an endpoint — terminating pods included — with conditions
 *     serving = pod Ready, terminating = deletionTimestamp set,
 *     ready = publishNotReadyAddresses || (serving && !terminating);
 *     plus nodeName, zone (from the node's topology.kubernetes.io/zone label),
 *     hostname (hostname + subdomain rule) and targetRef to the pod.
 *     Service ports resolve per pod (named targetPort by name and protocol; a
 *     port that does not resolve is missing from that pod's port set);
 *     endpoints with the same resolved port set share slices of at most
 *     `maxEndpointsPerSlice` (100); no endpoints ⇒ one slice with no endpoints
 *     and no ports.
 *   - Slices: generateName `<service>-`, addressType IPv4, ownerReferences →
 *     the Service (controller, blockOwnerDeletion), labels = the Service's
 *     labels + kubernetes.io/service-name + endpointslice.kubernetes.io/managed-by
 *     (+ service.kubernetes.io/headless when there is no cluster IP).
 */
import type { Logger } from 'pino';
import { ObjectIndex } from './object-index.js';
import type { EndpointPort, EndpointSlice, Node, Pod, Service, SliceEndpoint } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import { BaseController, type BaseControllerOptions, isPodReady, keyOf, podIPv4s, splitKey } from './controller-utils.js';
import {
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  SLICE_CONTROLLER_NAME,
  ServiceMembership,
  findPort,
  isServiceIPSet,
  selectorOf,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpoint-utils.js';
import { R } from './resources.js';
import { deleteSlices, portsKey, reconcileSlices, type DesiredGroup } from './slice-reconciler.js';

export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;
const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface EndpointSliceControllerOptions extends BaseControllerOptions {
  /** kube-controller-manager --max-endpoints-per-slice (default 100). */
  maxEndpointsPerSlice?: number;
}

export class EndpointSliceController extends BaseController {
  readonly #membership: ServiceMembership;
  readonly #max: number;

  constructor(client: ObjectClient, log: Logger, opts: EndpointSliceControllerOptions = {}) {
    super(client, log, 'endpointslice-controller', opts);
    this.#membership = new ServiceMembership(client, (ns) => (this.#services.filled ? this.#services.list(ns) : undefined));
    this.#max = Math.max(1, opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE);
  }

  readonly #pods = new ObjectIndex<Pod>();
  readonly #services = new ObjectIndex<Service>();

  protected setupWatches(): void {
    this.watchIndexed<Service>(R.services, this.#services, (ev) => this.queue.add(keyOf(ev.object)));
    this.watchIndexed<Pod>(R.pods, this.#pods, (ev) => {
      for (const k of this.#membership.servicesToSync(ev.object)) this.queue.add(k);
    });
    this.watch<EndpointSlice>(R.endpointSlices, { labelSelector: `${LABEL_MANAGED_BY}=${SLICE_CONTROLLER_NAME}` }, (ev) => {
      const svc = ev.object.metadata.labels?.[LABEL_SERVICE_NAME];
      if (svc) this.queue.add(`${ev.object.metadata.namespace}/${svc}`);
    });
  }

  protected resync(): void {
    const keys = new Set<string>();
    for (const svc of this.client.list<Service>(R.services).items) keys.add(keyOf(svc));
    // Slices whose Service is gone (missed deletions while stopped).
    for (const s of this.client.list<EndpointSlice>(R.endpointSlices, { labelSelector: `${LABEL_MANAGED_BY}=${SLICE_CONTROLLER_NAME}` }).items) {
      const svc = s.metadata.labels?.[LABEL_SERVICE_NAME];
      if (svc) keys.add(`${s.metadata.namespace}/${svc}`);
    }
    for (const k of keys) this.queue.add(k);
  }

  #managedSlices(namespace: string, name: string): EndpointSlice[] {
    return this.client
      .list<EndpointSlice>(R.endpointSlices, {
        namespace,
        labelSelector: `${LABEL_SERVICE_NAME}=${name},${LABEL_MANAGED_BY}=${SLICE_CONTROLLER_NAME}`,
      })
      .items.filter((s) => !s.metadata.deletionTimestamp);
  }

  protected sync(key: string): void {
    const { namespace = 'default', name } = splitKey(key);
    const svc = this.client.get<Service>(R.services, namespace, name);
    const existing = this.#managedSlices(namespace, name);
    if (!svc || svc.spec?.type === 'ExternalName' || !svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) {
      this.#membership.forgetService(key);
      const n = deleteSlices(this.client, existing);
      if (n) this.log.debug({ service: key, deleted: n }, 'endpoint slices removed');
      return;
    }
    const selector = selectorOf(svc);
    const inNamespace = this.#pods.filled ? this.#pods.list(namespace ?? 'default') : this.client.list<Pod>(R.pods, { namespace }).items;
    const pods = inNamespace.filter((p) => selector.matches(p.metadata.labels));
    this.#membership.record(key, pods.map(keyOf));

    const groups = desiredGroups(svc, pods, (n) => this.client.get<Node>(R.nodes, undefined, n));
    // Slices owned by an older Service of the same name are replaced.
    const owned = existing.filter((s) => s.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid));
    const foreign = existing.filter((s) => !owned.includes(s));
    const res = reconcileSlices(this.client, owned, groups, sliceMeta(svc), { maxPerSlice: this.#max, placeholder: true });
    res.deleted += deleteSlices(this.client, foreign);
    if (res.created || res.updated || res.deleted) this.log.debug({ service: key, ...res }, 'endpoint slices reconciled');
  }
}

function sliceMeta(svc: Service) {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) {
    if (k !== LABEL_SERVICE_NAME && k !== LABEL_MANAGED_BY && k !== LABEL_HEADLESS) labels[k] = v;
  }
  if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata.name ?? '';
  labels[LABEL_MANAGED_BY] = SLICE_CONTROLLER_NAME;
  return {
    namespace: svc.metadata.namespace ?? 'default',
    generateName: `${svc.metadata.name}-`,
    labels,
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
  };
}

/** podToEndpoint for every pod, grouped by resolved port set. */
export function desiredGroups(svc: Service, pods: Pod[], getNode: (name: string) => Node | undefined): Map<string, DesiredGroup> {
  const pnra = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, DesiredGroup>();
  const zones = new Map<string, string | undefined>();
  const zoneOf = (node: string): string | undefined => {
    if (!zones.has(node)) zones.set(node, getNode(node)?.metadata.labels?.[ZONE_LABEL]);
    return zones.get(node);
  };
  const sorted = [...pods].sort((a, b) => (podIPv4s(a)[0] ?? '').localeCompare(podIPv4s(b)[0] ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const pod of sorted) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const p: EndpointPort = { name: sp.name ?? '', port: num, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol) p.appProtocol = sp.appProtocol;
      ports.push(p);
    }
    // As Kubernetes: a pod resolving none of the ports still gets an endpoint, in a slice without
    // ports (kube-proxy then sends it nothing, since no slice port matches the Service's).
    const serving = isPodReady(pod);
    const terminating = !!pod.metadata.deletionTimestamp;
    const ep: SliceEndpoint = {
      addresses: [podIPv4s(pod)[0]!],
      conditions: { ready: pnra || (serving && !terminating), serving, terminating },
    };
    if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec.hostname;
    if (pod.spec?.nodeName) {
      ep.nodeName = pod.spec.nodeName;
      const zone = zoneOf(pod.spec.nodeName);
      if (zone) ep.zone = zone;
    }
    ep.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
    const pk = portsKey(ports);
    let g = groups.get(pk);
    if (!g) groups.set(pk, (g = { ports, endpoints: [] }));
    g.endpoints.push(ep);
  }
  return groups;
}
