/**
 * The garbage collector (Kubernetes' pkg/controller/garbagecollector), for
 * background propagation: when an owner goes, its dependents go.
 *
 * Model: watches on every kind kubemu serves (Events excepted) keep an index
 * owner uid ⇒ dependents and uid ⇒ object. When an object is deleted, each
 * of its dependents is enqueued; a dependent that appears (or whose
 * ownerReferences change) is enqueued too, so one created pointing at an owner
 * that does not exist is collected. Checking a dependent reads each owner
 * from the store by name and compares uids:
 *   - no owner left (all absent, or all being deleted in the foreground) ⇒ the
 *     dependent is deleted (propagationPolicy Background, uid precondition);
 *   - some owners absent, others alive ⇒ the dangling ownerReferences are removed;
 *   - owners of kinds kubemu does not serve count as alive (never guess).
 * Owners deleted with `propagationPolicy: Foreground` (deletionTimestamp plus
 * the `foregroundDeletion` finalizer) get their dependents deleted, and the
 * finalizer removed once no dependent with blockOwnerDeletion remains; the
 * `orphan` finalizer gets the owner's references stripped from dependents,
 * then removed (the registry normally orphans itself; this is a safety net).
 * A full resync (index rebuild + check of every object with owners) runs at
 * start and every `resyncPeriodMs` (default 60 s).
 */
import type { Logger } from 'pino';
import { RESOURCES, resourceForKind, resourceKey, type KubeObject, type ResourceInfo } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import { BaseController, type BaseControllerOptions, clone, isConflict, isNotFound } from './controller-utils.js';
import { EventRecorder } from './event-recorder.js';

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

export type GarbageCollectorOptions = BaseControllerOptions;

interface Entry {
  key: string;
  owners: string[];
}

export class GarbageCollector extends BaseController {
  readonly #byKey = new Map<string, ResourceInfo>();
  readonly #resources: ResourceInfo[];
  /** owner uid ⇒ dependent keys */
  readonly #dependents = new Map<string, Set<string>>();
  /** object key ⇒ its uid and owner uids */
  readonly #objects = new Map<string, Entry & { uid: string }>();
  /** uid ⇒ object key */
  readonly #uids = new Map<string, string>();
  readonly #events: EventRecorder;

  constructor(client: ObjectClient, log: Logger, opts: GarbageCollectorOptions = {}) {
    super(client, log, 'garbage-collector', { resyncPeriodMs: 60_000, ...opts });
    this.#resources = RESOURCES.filter((r) => r.plural !== 'events');
    for (const r of this.#resources) this.#byKey.set(resourceKey(r), r);
    this.#events = new EventRecorder(client, this.log, { component: 'garbage-collector-controller' });
  }

  #objKey(r: ResourceInfo, obj: KubeObject): string {
    return `${resourceKey(r)}|${r.namespaced ? (obj.metadata.namespace ?? '') : ''}|${obj.metadata.name ?? ''}`;
  }

  protected setupWatches(): void {
    for (const r of this.#resources) {
      this.watch<KubeObject>(r, {}, (ev) => {
        const key = this.#objKey(r, ev.object);
        if (ev.type === 'DELETED') {
          const uid = ev.object.metadata.uid ?? '';
          this.#forget(key);
          for (const dep of this.#dependents.get(uid) ?? []) this.queue.add(`dep:${dep}`);
          // Owners waiting in the foreground for this dependent to go.
          for (const ref of ev.object.metadata.ownerReferences ?? []) {
            const ownerKey = this.#uids.get(ref.uid);
            if (ownerKey) this.queue.add(`owner:${ownerKey}`);
          }
          return;
        }
        const changed = this.#index(key, ev.object);
        if (changed && ev.object.metadata.ownerReferences?.length) this.queue.add(`dep:${key}`);
        const fin = ev.object.metadata.finalizers ?? [];
        if (ev.object.metadata.deletionTimestamp && (fin.includes(FOREGROUND) || fin.includes(ORPHAN))) this.queue.add(`owner:${key}`);
      });
    }
  }

  /** Records `obj` in the index; true when its owner list changed. */
  #index(key: string, obj: KubeObject): boolean {
    const uid = obj.metadata.uid ?? '';
    const owners = (obj.metadata.ownerReferences ?? []).map((r) => r.uid).filter(Boolean);
    const prev = this.#objects.get(key);
    const same = prev && prev.uid === uid && prev.owners.join(',') === owners.join(',');
    if (same) return false;
    if (prev) this.#forget(key);
    this.#objects.set(key, { key, uid, owners });
    if (uid) this.#uids.set(uid, key);
    for (const o of owners) {
      let s = this.#dependents.get(o);
      if (!s) this.#dependents.set(o, (s = new Set()));
      s.add(key);
    }
    return true;
  }

  #forget(key: string): void {
    const prev = this.#objects.get(key);
    if (!prev) return;
    this.#objects.delete(key);
    if (this.#uids.get(prev.uid) === key) this.#uids.delete(prev.uid);
    for (const o of prev.owners) {
      const s = this.#dependents.get(o);
      s?.delete(key);
      if (s && s.size === 0) this.#dependents.delete(o);
    }
  }

  protected resync(): void {
    for (const r of this.#resources) {
      let items: KubeObject[];
      try {
        items = this.client.list<KubeObject>(r).items;
      } catch (err) {
        this.log.debug({ err, resource: r.plural }, 'list failed during resync');
        continue;
      }
      for (const obj of items) {
        const key = this.#objKey(r, obj);
        this.#index(key, obj);
        if (obj.metadata.ownerReferences?.length) this.queue.add(`dep:${key}`);
        const fin = obj.metadata.finalizers ?? [];
        if (obj.metadata.deletionTimestamp && (fin.includes(FOREGROUND) || fin.includes(ORPHAN))) this.queue.add(`owner:${key}`);
      }
    }
  }

  #parse(key: string): { r: ResourceInfo; namespace: string | undefined; name: string } | undefined {
    const [rk, ns, name] = key.split('|');
    const r = rk ? this.#byKey.get(rk) : undefined;
    if (!r || name === undefined) return undefined;
    return { r, namespace: ns || undefined, name };
  }

  protected sync(key: string): void {
    if (key.startsWith('dep:')) return this.#syncDependent(key.slice(4));
    if (key.startsWith('owner:')) return this.#syncOwner(key.slice(6));
  }

  #syncDependent(key: string): void {
    const at = this.#parse(key);
    if (!at) return;
    const obj = this.client.get<KubeObject>(at.r, at.namespace, at.name);
    if (!obj) return;
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    let solid = 0;
    let waiting = 0;
    const dangling = new Set<string>();
    for (const ref of refs) {
      const state = this.#ownerState(at.r, obj, ref);
      if (state === 'absent') dangling.add(ref.uid);
      else if (state === 'foreground') waiting++;
      else solid++;
    }
    if (solid === 0) {
      if (obj.metadata.deletionTimestamp) return; // already going
      this.log.debug({ object: key, owners: refs.map((r) => `${r.kind}/${r.name}`) }, 'deleting dependent whose owners are gone');
      try {
        this.client.delete(at.r, at.namespace, at.name, { propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid } });
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) return;
        throw err;
      }
      return;
    }
    if (dangling.size > 0 && waiting === 0) {
      const next = clone(obj);
      next.metadata.ownerReferences = refs.filter((r) => !dangling.has(r.uid));
      this.client.update(at.r, next);
    }
  }

  #ownerState(depRes: ResourceInfo, dep: KubeObject, ref: { apiVersion: string; kind: string; name: string; uid: string }): 'alive' | 'absent' | 'foreground' {
    const ownerRes = resourceForKind(ref.apiVersion, ref.kind) ?? this.#byGroupKind(ref.apiVersion, ref.kind);
    if (!ownerRes) return 'alive';
    if (ownerRes.namespaced && !depRes.namespaced) {
      this.#events.event(dep, 'Warning', 'OwnerRefInvalidNamespace', `ownerRef ${JSON.stringify(ref)} does not resolve to a valid object: a cluster-scoped object cannot have a namespaced owner`);
      return 'absent';
    }
    const owner = this.client.get<KubeObject>(ownerRes, ownerRes.namespaced ? dep.metadata.namespace : undefined, ref.name);
    if (!owner || owner.metadata.uid !== ref.uid) return 'absent';
    if (owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND)) return 'foreground';
    return 'alive';
  }

  /** Same group and kind at another version (apps/v1beta2 ⇒ apps/v1). */
  #byGroupKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    return this.#resources.find((r) => r.kind === kind && r.group === group);
  }

  #syncOwner(key: string): void {
    const at = this.#parse(key);
    if (!at) return;
    const owner = this.client.get<KubeObject>(at.r, at.namespace, at.name);
    if (!owner?.metadata.deletionTimestamp) return;
    const fin = owner.metadata.finalizers ?? [];
    const uid = owner.metadata.uid ?? '';
    const deps = [...(this.#dependents.get(uid) ?? [])];
    if (fin.includes(ORPHAN)) {
      for (const dk of deps) {
        const d = this.#parse(dk);
        const obj = d && this.client.get<KubeObject>(d.r, d.namespace, d.name);
        if (!d || !obj) continue;
        const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        const next = clone(obj);
        if (refs.length) next.metadata.ownerReferences = refs;
        else delete next.metadata.ownerReferences;
        this.client.update(d.r, next);
      }
      this.#removeFinalizer(at.r, owner, ORPHAN);
      return;
    }
    if (fin.includes(FOREGROUND)) {
      let blocking = 0;
      for (const dk of deps) {
        const d = this.#parse(dk);
        const obj = d && this.client.get<KubeObject>(d.r, d.namespace, d.name);
        if (!d || !obj) continue;
        const ref = obj.metadata.ownerReferences?.find((r) => r.uid === uid);
        if (!ref) continue;
        if (ref.blockOwnerDeletion) blocking++;
        if (!obj.metadata.deletionTimestamp) {
          try {
            this.client.delete(d.r, d.namespace, d.name, { propagationPolicy: 'Foreground', preconditions: { uid: obj.metadata.uid } });
          } catch (err) {
            if (!isNotFound(err) && !isConflict(err)) throw err;
          }
        }
      }
      if (blocking === 0) this.#removeFinalizer(at.r, owner, FOREGROUND);
      else this.queue.addAfter(`owner:${key}`, 1000);
    }
  }

  #removeFinalizer(r: ResourceInfo, owner: KubeObject, finalizer: string): void {
    const next = clone(owner);
    next.metadata.finalizers = (owner.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      this.client.update(r, next);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
