/**
 * An in-memory ObjectClient for controller unit tests, honouring the parts of
 * the registry contract controllers depend on: a global resourceVersion bumped
 * on every write, 409 on a stale resourceVersion, generateName, uid and
 * creationTimestamp, status kept on update (for kinds with a status
 * subresource), generation bumped on spec change, graceful pod deletion
 * (scheduled pods get deletionTimestamp; unscheduled ones go at once),
 * finalizers, Orphan propagation, label/field selectors, and watches delivered
 * asynchronously in order, never re-entrantly.
 *
 * It does no defaulting and no validation.
 */
import { randomUUID } from 'node:crypto';
import { errors, parseLabelSelector, resourceKey, type KubeObject, type Pod, type ResourceInfo } from '@kubemu/api';
import type { DeleteOptions, ListOptions, ObjectClient, ObjectEvent, WatchOptions } from '../../registry/object-client.js';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += ALPHANUMS[Math.floor(Math.random() * ALPHANUMS.length)];
  return s;
}

function fieldValue(obj: KubeObject, path: string): string {
  let v: unknown = obj;
  for (const p of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v === undefined || v === null ? '' : String(v);
}

function fieldMatcher(sel: string | undefined): (o: KubeObject) => boolean {
  if (!sel) return () => true;
  const reqs = sel.split(',').map((part) => {
    const m = /^\s*([^!=]+?)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw errors.badRequest(`invalid field selector: ${part}`);
    return { path: m[1]!, neg: m[2] === '!=', value: m[3]! };
  });
  return (o) => reqs.every((r) => (fieldValue(o, r.path) === r.value) !== r.neg);
}

interface Watcher {
  resource: string;
  namespace?: string;
  label: (labels: Record<string, string> | undefined) => boolean;
  field: (o: KubeObject) => boolean;
  fn: (ev: ObjectEvent) => void;
  pending: ObjectEvent[];
  scheduled: boolean;
  closed: boolean;
}

export interface FakeClientOptions {
  /** Clock for timestamps (ms). */
  now?: () => number;
}

export class FakeClient implements ObjectClient {
  #rv = 0;
  #objects = new Map<string, Map<string, KubeObject>>();
  #watchers = new Set<Watcher>();
  #now: () => number;
  /** Every write, for assertions: [verb, resource, key]. */
  readonly writes: [string, string, string][] = [];
  /** When set, the next write of this verb/resource throws this error (once). */
  failNext: { verb: string; resource: string; error: Error } | undefined;

  constructor(opts: FakeClientOptions = {}) {
    this.#now = opts.now ?? Date.now;
  }

  #table(r: ResourceInfo): Map<string, KubeObject> {
    const k = resourceKey(r);
    let t = this.#objects.get(k);
    if (!t) this.#objects.set(k, (t = new Map()));
    return t;
  }

  #key(r: ResourceInfo, ns: string | undefined, name: string): string {
    return r.namespaced ? `${ns ?? 'default'}/${name}` : name;
  }

  #target(r: ResourceInfo, name?: string) {
    return { group: r.group, resource: r.plural, name };
  }

  #time(): string {
    return new Date(this.#now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  #maybeFail(verb: string, r: ResourceInfo): void {
    if (this.failNext && this.failNext.verb === verb && this.failNext.resource === r.plural) {
      const e = this.failNext.error;
      this.failNext = undefined;
      throw e;
    }
  }

  get<T extends KubeObject = KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): T | undefined {
    const o = this.#table(r).get(this.#key(r, namespace, name));
    return o ? (structuredClone(o) as T) : undefined;
  }

  list<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: ListOptions = {}): { items: T[]; resourceVersion: string } {
    const label = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    const field = fieldMatcher(opts.fieldSelector);
    const items: T[] = [];
    for (const o of this.#table(r).values()) {
      if (r.namespaced && opts.namespace && o.metadata.namespace !== opts.namespace) continue;
      if (label && !label.matches(o.metadata.labels)) continue;
      if (!field(o)) continue;
      items.push(structuredClone(o) as T);
    }
    items.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    return { items, resourceVersion: String(this.#rv) };
  }

  create<T extends KubeObject = KubeObject>(r: ResourceInfo, input: T): T {
    this.#maybeFail('create', r);
    const obj = structuredClone(input);
    const meta = obj.metadata ?? (obj.metadata = {});
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (!meta.name) throw errors.invalid(r.kind, r.group, '', [{ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' }]);
    if (r.namespaced) meta.namespace ??= 'default';
    else delete meta.namespace;
    const t = this.#table(r);
    const key = this.#key(r, meta.namespace, meta.name);
    if (t.has(key)) throw errors.alreadyExists(this.#target(r, meta.name));
    meta.uid = randomUUID();
    meta.creationTimestamp = this.#time();
    meta.resourceVersion = String(++this.#rv);
    delete meta.deletionTimestamp;
    if (obj.spec !== undefined) meta.generation = 1;
    // Services get a cluster IP, as the registry allocates one.
    if (r.plural === 'services' && obj.spec && obj.spec.type !== 'ExternalName' && !obj.spec.clusterIP) {
      obj.spec.clusterIP = `10.96.${Math.floor(this.#rv / 250) % 250}.${(this.#rv % 250) + 2}`;
      obj.spec.clusterIPs = [obj.spec.clusterIP];
    }
    t.set(key, obj);
    this.writes.push(['create', r.plural, key]);
    this.#emit(r, 'ADDED', obj);
    return structuredClone(obj);
  }

  update<T extends KubeObject = KubeObject>(r: ResourceInfo, input: T): T {
    this.#maybeFail('update', r);
    const t = this.#table(r);
    const key = this.#key(r, input.metadata.namespace, input.metadata.name ?? '');
    const old = t.get(key);
    if (!old) throw errors.notFound(this.#target(r, input.metadata.name));
    if (input.metadata.resourceVersion && input.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflict(this.#target(r, input.metadata.name), 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const next = structuredClone(input);
    if (r.plural === 'pods' && old.spec?.nodeName && next.spec?.nodeName !== old.spec.nodeName) {
      throw errors.invalid('Pod', '', input.metadata.name ?? '', [{ type: 'FieldValueForbidden', field: 'spec.nodeName', detail: 'pod updates may not change fields other than ...' }]);
    }
    next.metadata = {
      ...next.metadata,
      uid: old.metadata.uid,
      namespace: old.metadata.namespace,
      creationTimestamp: old.metadata.creationTimestamp,
      deletionTimestamp: old.metadata.deletionTimestamp,
      deletionGracePeriodSeconds: old.metadata.deletionGracePeriodSeconds,
      generation: old.metadata.generation,
    };
    if (r.subresources.includes('status')) next.status = structuredClone(old.status);
    if (old.spec !== undefined && JSON.stringify(old.spec) !== JSON.stringify(next.spec)) next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    for (const k of Object.keys(next.metadata)) if (next.metadata[k] === undefined) delete next.metadata[k];
    if (old.metadata.deletionTimestamp && !(next.metadata.finalizers?.length) && old.metadata.finalizers?.length && r.plural !== 'pods') {
      t.delete(key);
      next.metadata.resourceVersion = String(++this.#rv);
      this.writes.push(['delete', r.plural, key]);
      this.#emit(r, 'DELETED', next);
      return structuredClone(next);
    }
    next.metadata.resourceVersion = String(++this.#rv);
    t.set(key, next);
    this.writes.push(['update', r.plural, key]);
    this.#emit(r, 'MODIFIED', next);
    return structuredClone(next);
  }

  updateStatus<T extends KubeObject = KubeObject>(r: ResourceInfo, input: T): T {
    this.#maybeFail('updateStatus', r);
    const t = this.#table(r);
    const key = this.#key(r, input.metadata.namespace, input.metadata.name ?? '');
    const old = t.get(key);
    if (!old) throw errors.notFound(this.#target(r, input.metadata.name));
    if (input.metadata.resourceVersion && input.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflict(this.#target(r, input.metadata.name), 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const next = structuredClone(old);
    next.status = structuredClone(input.status);
    next.metadata.resourceVersion = String(++this.#rv);
    t.set(key, next);
    this.writes.push(['updateStatus', r.plural, key]);
    this.#emit(r, 'MODIFIED', next);
    return structuredClone(next) as T;
  }

  delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject | undefined {
    this.#maybeFail('delete', r);
    const t = this.#table(r);
    const key = this.#key(r, namespace, name);
    const obj = t.get(key);
    if (!obj) throw errors.notFound(this.#target(r, name));
    if (opts.preconditions?.uid && opts.preconditions.uid !== obj.metadata.uid) {
      throw errors.conflict(this.#target(r, name), `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${obj.metadata.uid}`);
    }
    if (opts.propagationPolicy === 'Orphan') this.#orphan(obj);
    let grace = 0;
    if (r.plural === 'pods') {
      const pod = obj as Pod;
      grace = opts.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      if (!pod.spec?.nodeName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') grace = 0;
    }
    if ((grace > 0 || obj.metadata.finalizers?.length) && !(r.plural === 'pods' && grace === 0 && !obj.metadata.finalizers?.length)) {
      if (obj.metadata.deletionTimestamp) return structuredClone(obj);
      const next = structuredClone(obj);
      next.metadata.deletionTimestamp = this.#time();
      if (r.plural === 'pods') next.metadata.deletionGracePeriodSeconds = grace;
      next.metadata.resourceVersion = String(++this.#rv);
      t.set(key, next);
      this.writes.push(['delete', r.plural, key]);
      this.#emit(r, 'MODIFIED', next);
      return structuredClone(next);
    }
    t.delete(key);
    const final = structuredClone(obj);
    final.metadata.resourceVersion = String(++this.#rv);
    this.writes.push(['delete', r.plural, key]);
    this.#emit(r, 'DELETED', final);
    return structuredClone(final);
  }

  /** Removes a terminating pod for good (what the node agent does after the grace period). */
  finishPodDeletion(r: ResourceInfo, namespace: string, name: string): void {
    const t = this.#table(r);
    const key = this.#key(r, namespace, name);
    const obj = t.get(key);
    if (!obj) return;
    t.delete(key);
    obj.metadata.resourceVersion = String(++this.#rv);
    this.#emit(r, 'DELETED', obj);
  }

  #orphan(owner: KubeObject): void {
    for (const [rk, table] of this.#objects) {
      for (const [k, o] of table) {
        const refs = o.metadata.ownerReferences;
        if (!refs?.some((x) => x.uid === owner.metadata.uid)) continue;
        const next = structuredClone(o);
        next.metadata.ownerReferences = refs.filter((x) => x.uid !== owner.metadata.uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        next.metadata.resourceVersion = String(++this.#rv);
        table.set(k, next);
        this.#emitKey(rk, next.metadata.namespace, 'MODIFIED', next);
      }
    }
  }

  watch<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: WatchOptions, onEvent: (ev: ObjectEvent<T>) => void): () => void {
    const label = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    const w: Watcher = {
      resource: resourceKey(r),
      namespace: r.namespaced ? opts.namespace : undefined,
      label: (l) => (label ? label.matches(l) : true),
      field: fieldMatcher(opts.fieldSelector),
      fn: onEvent as (ev: ObjectEvent) => void,
      pending: [],
      scheduled: false,
      closed: false,
    };
    this.#watchers.add(w);
    return () => {
      w.closed = true;
      this.#watchers.delete(w);
    };
  }

  #emit(r: ResourceInfo, type: ObjectEvent['type'], obj: KubeObject): void {
    this.#emitKey(resourceKey(r), obj.metadata.namespace, type, obj);
  }

  #emitKey(resource: string, namespace: string | undefined, type: ObjectEvent['type'], obj: KubeObject): void {
    for (const w of this.#watchers) {
      if (w.resource !== resource) continue;
      if (w.namespace && w.namespace !== namespace) continue;
      if (!w.label(obj.metadata.labels) || !w.field(obj)) continue;
      w.pending.push({ type, object: structuredClone(obj) });
      if (!w.scheduled) {
        w.scheduled = true;
        setImmediate(() => {
          w.scheduled = false;
          const batch = w.pending;
          w.pending = [];
          for (const ev of batch) {
            if (w.closed) return;
            try {
              w.fn(ev);
            } catch {
              /* a watcher's failure is its own */
            }
          }
        });
      }
    }
  }

  /** Number of stored objects of a kind (tests). */
  count(r: ResourceInfo): number {
    return this.#table(r).size;
  }
}
