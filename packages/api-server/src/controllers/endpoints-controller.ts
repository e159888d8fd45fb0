/**
 * The Endpoints controller (Kubernetes' pkg/controller/endpoint, syncService).
 *
 * Model: one key per Service ("namespace/name"). Service events enqueue the
 * Service; pod events enqueue every Service the pod matches now or matched
 * before; a deleted Endpoints re-enqueues its Service so it is recreated.
 * Syncing a key:
 *   - Service gone ⇒ delete Endpoints/<name>.
 *   - ExternalName, or no selector ⇒ leave the Endpoints alone (user-managed).
 *   - Otherwise every pod of the namespace matching the selector, with an IP,
 *     not Succeeded/Failed, and not terminating (unless publishNotReadyAddresses)
 *     becomes an address: ready (or publishNotReadyAddresses) ⇒ `addresses`,
 *     else `notReadyAddresses`. Each Service port resolves per pod (a named
 *     targetPort by name and protocol; a pod without it is left out of that
 *     port). Subsets are then repacked: addresses offering exactly the same
 *     ports share a subset, sorted deterministically. A headless Service
 *     without ports gets a subset without ports.
 *   - Labels: the Service's labels, `endpoints.kubernetes.io/managed-by:
 *     endpoint-controller`, and `service.kubernetes.io/headless: ""` when the
 *     Service has no cluster IP. More than 1000 addresses ⇒ truncated (ready
 *     first, proportionally per subset) and annotated over-capacity.
 *   - Written only when subsets, labels or the capacity annotation differ
 *     from what is stored. A selector matching no pods still gets an Endpoints
 *     object, with no subsets.
 * At start, Endpoints carrying the managed-by label whose Service is gone are
 * deleted (Kubernetes' checkLeftoverEndpoints).
 */
import type { Logger } from 'pino';
import { ObjectIndex } from './object-index.js';
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import {
  BaseController,
  type BaseControllerOptions,
  type Clock,
  isNotFound,
  isPodReady,
  keyOf,
  podIPv4s,
  semanticEqual,
  splitKey,
  systemClock,
} from './controller-utils.js';
import {
  ANNOTATION_OVER_CAPACITY,
  ANNOTATION_TRIGGER_TIME,
  ENDPOINTS_CONTROLLER_NAME,
  LABEL_ENDPOINTS_MANAGED_BY,
  LABEL_HEADLESS,
  ServiceMembership,
  findPort,
  isServiceIPSet,
  rfc3339Nano,
  selectorOf,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpoint-utils.js';
import { EventRecorder } from './event-recorder.js';
import { R } from './resources.js';

export const ENDPOINTS_MAX_CAPACITY = 1000;

export interface EndpointsControllerOptions extends BaseControllerOptions {
  clock?: Clock;
  /** Addresses kept per Endpoints object before truncation (default 1000). */
  maxCapacity?: number;
}

export class EndpointsController extends BaseController {
  readonly #membership: ServiceMembership;
  readonly #events: EventRecorder;
  readonly #clock: Clock;
  readonly #max: number;

  constructor(client: ObjectClient, log: Logger, opts: EndpointsControllerOptions = {}) {
    super(client, log, 'endpoints-controller', opts);
    this.#membership = new ServiceMembership(client, (ns) => (this.#services.filled ? this.#services.list(ns) : undefined));
    this.#clock = opts.clock ?? systemClock;
    this.#max = opts.maxCapacity ?? ENDPOINTS_MAX_CAPACITY;
    this.#events = new EventRecorder(client, this.log, { component: ENDPOINTS_CONTROLLER_NAME, clock: this.#clock });
  }

  readonly #pods = new ObjectIndex<Pod>();
  readonly #services = new ObjectIndex<Service>();

  protected setupWatches(): void {
    this.watchIndexed<Service>(R.services, this.#services, (ev) => this.queue.add(keyOf(ev.object)));
    this.watchIndexed<Pod>(R.pods, this.#pods, (ev) => {
      for (const k of this.#membership.servicesToSync(ev.object)) this.queue.add(k);
    });
    this.watch<Endpoints>(R.endpoints, {}, (ev) => {
      if (ev.type === 'DELETED') this.queue.add(keyOf(ev.object));
    });
  }

  #leftoversChecked = false;

  protected resync(): void {
    for (const svc of this.client.list<Service>(R.services).items) this.queue.add(keyOf(svc));
    if (!this.#leftoversChecked) {
      this.#leftoversChecked = true;
      const managed = this.client.list<Endpoints>(R.endpoints, { labelSelector: `${LABEL_ENDPOINTS_MANAGED_BY}=${ENDPOINTS_CONTROLLER_NAME}` }).items;
      for (const ep of managed) this.queue.add(keyOf(ep));
    }
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const svc = this.client.get<Service>(R.services, namespace, name);
    if (!svc) {
      this.#membership.forgetService(key);
      try {
        this.client.delete(R.endpoints, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    if (svc.spec?.type === 'ExternalName' || !svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) {
      this.#membership.forgetService(key);
      return;
    }
    const selector = selectorOf(svc);
    const inNamespace = this.#pods.filled ? this.#pods.list(namespace ?? 'default') : this.client.list<Pod>(R.pods, { namespace }).items;
    const pods = inNamespace.filter((p) => selector.matches(p.metadata.labels));
    this.#membership.record(key, pods.map(keyOf));
    const subsets = buildSubsets(svc, pods);

    const current = this.client.get<Endpoints>(R.endpoints, namespace, name);
    const labels = desiredLabels(svc);
    const total = countAddresses(subsets);
    const overCapacity = total > this.#max;
    const finalSubsets = overCapacity ? truncateSubsets(subsets, this.#max) : subsets;
    const wantCapacityNote = overCapacity ? 'truncated' : undefined;
    if (
      current &&
      semanticEqual(current.subsets ?? [], finalSubsets) &&
      semanticEqual(current.metadata.labels ?? {}, labels) &&
      current.metadata.annotations?.[ANNOTATION_OVER_CAPACITY] === wantCapacityNote
    ) {
      return;
    }
    const annotations: Record<string, string> = { ...(current?.metadata.annotations ?? {}) };
    annotations[ANNOTATION_TRIGGER_TIME] = rfc3339Nano(this.#clock.now());
    if (wantCapacityNote) annotations[ANNOTATION_OVER_CAPACITY] = wantCapacityNote;
    else delete annotations[ANNOTATION_OVER_CAPACITY];

    const next: Endpoints = current
      ? { ...current, metadata: { ...current.metadata, labels, annotations } }
      : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels, annotations } };
    if (finalSubsets.length > 0) next.subsets = finalSubsets;
    else delete next.subsets;
    try {
      if (current) this.client.update(R.endpoints, next);
      else this.client.create(R.endpoints, next);
    } catch (err) {
      const what = current ? 'FailedToUpdateEndpoint' : 'FailedToCreateEndpoint';
      const msg = current
        ? `Failed to update endpoint ${namespace}/${name}: ${(err as Error).message}`
        : `Failed to create endpoint for service ${namespace}/${name}: ${(err as Error).message}`;
      this.#events.event(next, 'Warning', what, msg);
      throw err;
    }
    this.log.debug({ service: key, addresses: total }, 'endpoints updated');
  }
}

function desiredLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  labels[LABEL_ENDPOINTS_MANAGED_BY] = ENDPOINTS_CONTROLLER_NAME;
  if (isServiceIPSet(svc)) delete labels[LABEL_HEADLESS];
  else labels[LABEL_HEADLESS] = '';
  return labels;
}

function endpointAddress(svc: Service, pod: Pod): EndpointAddress {
  const addr: EndpointAddress = { ip: podIPv4s(pod)[0]! };
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  addr.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  return addr;
}

interface Entry {
  addr: EndpointAddress;
  ready: boolean;
}

/** syncService's pod loop followed by RepackSubsets. */
export function buildSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const pnra = svc.spec?.publishNotReadyAddresses === true;
  // port identity ⇒ addresses offering it (sentinel "" for port-less headless entries)
  const byPort = new Map<string, { port: EndpointPort | undefined; entries: Map<string, Entry> }>();
  const add = (port: EndpointPort | undefined, e: Entry): void => {
    const pk = port ? JSON.stringify([port.name ?? '', port.port, port.protocol ?? 'TCP', port.appProtocol ?? '']) : '';
    let slot = byPort.get(pk);
    if (!slot) byPort.set(pk, (slot = { port, entries: new Map() }));
    slot.entries.set(`${e.addr.ip}|${e.addr.targetRef?.uid ?? ''}`, e);
  };
  const ports = svc.spec?.ports ?? [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, pnra)) continue;
    const e: Entry = { addr: endpointAddress(svc, pod), ready: pnra || isPodReady(pod) };
    if (ports.length === 0) {
      if (svc.spec?.clusterIP === 'None') add(undefined, e);
      continue;
    }
    for (const sp of ports) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const ep: EndpointPort = { port: num, protocol: sp.protocol ?? 'TCP' };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      add(ep, e);
    }
  }
  // Group ports by identical address sets (readiness included).
  const groups = new Map<string, { entries: Entry[]; ports: EndpointPort[] }>();
  for (const { port, entries } of byPort.values()) {
    const list = [...entries.values()].sort(compareEntries);
    const gk = list.map((e) => `${e.addr.ip}|${e.addr.targetRef?.uid ?? ''}|${e.ready}`).join(',');
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { entries: list, ports: [] }));
    if (port) g.ports.push(port);
  }
  const subsets: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const s: EndpointSubset = {};
    const ready = g.entries.filter((e) => e.ready).map((e) => e.addr);
    const notReady = g.entries.filter((e) => !e.ready).map((e) => e.addr);
    if (ready.length) s.addresses = ready;
    if (notReady.length) s.notReadyAddresses = notReady;
    if (g.ports.length) s.ports = g.ports.sort(comparePorts);
    subsets.push(s);
  }
  return subsets.sort(compareSubsets);
}

function compareEntries(a: Entry, b: Entry): number {
  return cmp(a.addr.ip, b.addr.ip) || cmp(a.addr.targetRef?.uid ?? '', b.addr.targetRef?.uid ?? '');
}
function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return cmp(a.name ?? '', b.name ?? '') || a.port - b.port || cmp(a.protocol ?? '', b.protocol ?? '');
}
function compareSubsets(a: EndpointSubset, b: EndpointSubset): number {
  const fa = (a.addresses ?? a.notReadyAddresses ?? [])[0]?.ip ?? '';
  const fb = (b.addresses ?? b.notReadyAddresses ?? [])[0]?.ip ?? '';
  return cmp(fa, fb) || cmp(JSON.stringify(a.ports ?? []), JSON.stringify(b.ports ?? []));
}
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function countAddresses(subsets: EndpointSubset[]): number {
  return subsets.reduce((n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);
}

/** truncateEndpoints: keep `max` addresses, ready ones first, spread in proportion over the subsets. */
export function truncateSubsets(subsets: EndpointSubset[], max: number): EndpointSubset[] {
  const totalReady = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
  const totalNotReady = subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0);
  if (totalReady + totalNotReady <= max) return subsets;
  const truncateReady = totalReady > max;
  const budget = truncateReady ? max : max - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = budget;
  return subsets.map((s) => {
    const inSubset = truncateReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    const toBeAdded = Math.min(Math.ceil((inSubset / numTotal) * budget), canBeAdded);
    const out: EndpointSubset = { ...s };
    if (truncateReady) {
      out.addresses = (s.addresses ?? []).slice(0, toBeAdded);
      delete out.notReadyAddresses;
      canBeAdded -= out.addresses.length;
      if (out.addresses.length === 0) delete out.addresses;
    } else {
      out.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, toBeAdded);
      canBeAdded -= out.notReadyAddresses.length;
      if (out.notReadyAddresses.length === 0) delete out.notReadyAddresses;
    }
    return out;
  });
}
