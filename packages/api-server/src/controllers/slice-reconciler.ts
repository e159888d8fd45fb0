/**
 * Turns one Service's desired endpoints into EndpointSlice writes, for both the
 * EndpointSlice controller and the mirroring controller (after Kubernetes'
 * endpointslice reconciler, simplified but with the same visible shape).
 *
 * Model: desired endpoints come grouped by their exact port set (one group
 * per distinct list of ports). Existing slices are matched by port set; each
 * keeps the endpoints it already holds that are still desired (refreshed to
 * their new content), new endpoints fill kept slices up to `maxPerSlice` and
 * then go into new slices; slices left empty or with a port set nobody wants
 * are recycled for new slices (an update instead of delete+create) or deleted.
 * So slices change as little as possible and a slice is only written when its
 * endpoints, ports, labels, annotations or owner references differ.
 * With `placeholder`, a Service with no endpoints keeps exactly one slice with
 * no endpoints and no ports. Writes go creates, then updates, then deletes, so
 * readers never see fewer endpoints than before or after.
 */
import type { EndpointPort, EndpointSlice, OwnerReference, SliceEndpoint } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import { clone, isNotFound, semanticEqual } from './controller-utils.js';
import { R } from './resources.js';

export interface DesiredGroup {
  ports: EndpointPort[];
  endpoints: SliceEndpoint[];
}

export interface SliceMeta {
  namespace: string;
  generateName: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences: OwnerReference[];
}

export interface ReconcileResult {
  created: number;
  updated: number;
  deleted: number;
}

export function portsKey(ports: EndpointPort[] | null | undefined): string {
  return JSON.stringify(
    (ports ?? [])
      .map((p) => [p.name ?? '', p.port ?? 0, p.protocol ?? 'TCP', p.appProtocol ?? ''])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  );
}

export function endpointId(ep: SliceEndpoint): string {
  return `${ep.addresses?.[0] ?? ''}|${ep.targetRef?.uid ?? ep.targetRef?.name ?? ''}`;
}

interface Plan {
  slice: EndpointSlice;
  original: EndpointSlice | undefined;
}

/** Reconciles `existing` (this owner's slices) towards `groups`; returns what it wrote. */
export function reconcileSlices(
  client: ObjectClient,
  existing: EndpointSlice[],
  groups: Map<string, DesiredGroup>,
  meta: SliceMeta,
  opts: { maxPerSlice: number; placeholder: boolean },
): ReconcileResult {
  const total = [...groups.values()].reduce((n, g) => n + g.endpoints.length, 0);
  const keep: Plan[] = [];
  const spare: EndpointSlice[] = [];

  if (total === 0) {
    if (!opts.placeholder) {
      spare.push(...existing);
    } else {
      const idx = existing.findIndex((s) => (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0);
      const chosen = idx >= 0 ? existing[idx]! : existing[0];
      for (const s of existing) if (s !== chosen) spare.push(s);
      const slice = chosen ? clone(chosen) : newSlice(meta);
      slice.endpoints = [];
      slice.ports = [];
      keep.push({ slice, original: chosen });
    }
    return apply(client, keep, spare, meta);
  }

  const placed = new Set<string>();
  const desiredById = new Map<string, Map<string, SliceEndpoint>>();
  for (const [pk, g] of groups) desiredById.set(pk, new Map(g.endpoints.map((e) => [endpointId(e), e])));

  // 1. Existing slices keep what is still wanted in their port group.
  for (const s of existing) {
    const pk = portsKey(s.ports);
    const want = desiredById.get(pk);
    if (!want) {
      spare.push(s);
      continue;
    }
    const kept: SliceEndpoint[] = [];
    for (const e of s.endpoints ?? []) {
      const id = endpointId(e);
      const d = want.get(id);
      if (d && !placed.has(`${pk}#${id}`) && kept.length < opts.maxPerSlice) {
        kept.push(d);
        placed.add(`${pk}#${id}`);
      }
    }
    if (kept.length === 0) {
      spare.push(s);
      continue;
    }
    const slice = clone(s);
    slice.endpoints = kept;
    slice.ports = groups.get(pk)!.ports;
    keep.push({ slice, original: s });
  }

  // 2. New endpoints fill kept slices, then new (or recycled) slices.
  for (const [pk, g] of groups) {
    const fresh = g.endpoints.filter((e) => !placed.has(`${pk}#${endpointId(e)}`));
    if (fresh.length === 0) continue;
    for (const plan of keep) {
      if (fresh.length === 0) break;
      if (portsKey(plan.slice.ports) !== pk) continue;
      const room = opts.maxPerSlice - (plan.slice.endpoints ?? []).length;
      if (room > 0) plan.slice.endpoints = [...(plan.slice.endpoints ?? []), ...fresh.splice(0, room)];
    }
    while (fresh.length > 0) {
      const recycled = spare.shift();
      const slice = recycled ? clone(recycled) : newSlice(meta);
      slice.ports = g.ports;
      slice.endpoints = fresh.splice(0, opts.maxPerSlice);
      keep.push({ slice, original: recycled });
    }
  }
  return apply(client, keep, spare, meta);
}

function newSlice(meta: SliceMeta): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { generateName: meta.generateName, namespace: meta.namespace },
    addressType: 'IPv4',
    endpoints: [],
    ports: [],
  };
}

function apply(client: ObjectClient, keep: Plan[], spare: EndpointSlice[], meta: SliceMeta): ReconcileResult {
  const res: ReconcileResult = { created: 0, updated: 0, deleted: 0 };
  const updates: EndpointSlice[] = [];
  for (const { slice, original } of keep) {
    slice.metadata.labels = { ...meta.labels };
    if (meta.annotations && Object.keys(meta.annotations).length) slice.metadata.annotations = { ...meta.annotations };
    else delete slice.metadata.annotations;
    slice.metadata.ownerReferences = meta.ownerReferences.map((r) => ({ ...r }));
    slice.addressType = 'IPv4';
    if (!original) {
      client.create(R.endpointSlices, slice);
      res.created++;
    } else if (!sameSlice(original, slice)) {
      updates.push(slice);
    }
  }
  for (const s of updates) {
    client.update(R.endpointSlices, s);
    res.updated++;
  }
  for (const s of spare) {
    try {
      client.delete(R.endpointSlices, s.metadata.namespace, s.metadata.name ?? '');
      res.deleted++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return res;
}

function sameSlice(a: EndpointSlice, b: EndpointSlice): boolean {
  return (
    semanticEqual(a.endpoints ?? [], b.endpoints ?? []) &&
    semanticEqual(a.ports ?? [], b.ports ?? []) &&
    a.addressType === b.addressType &&
    semanticEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {}) &&
    semanticEqual(a.metadata.annotations ?? {}, b.metadata.annotations ?? {}) &&
    semanticEqual(a.metadata.ownerReferences ?? [], b.metadata.ownerReferences ?? [])
  );
}

/** Deletes every slice in `slices`; NotFound is fine. */
export function deleteSlices(client: ObjectClient, slices: EndpointSlice[]): number {
  let n = 0;
  for (const s of slices) {
    try {
      client.delete(R.endpointSlices, s.metadata.namespace, s.metadata.name ?? '');
      n++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return n;
}
