/**
 * The registry: the one write path for every object, used by the REST API and
 * by the in-process controllers alike.
 *
 *   create:  meta (name, uid, timestamps) → defaults → kind prepare → validate
 *            → allocate (services) → store
 *   update:  load → resourceVersion check → keep server-owned fields → defaults
 *            → validate(new, old) → allocate diff → store (no-op updates keep
 *            their resourceVersion, as in Kubernetes)
 *   delete:  finalizers / graceful pods set deletionTimestamp; others go at once;
 *            allocations released; Orphan propagation strips ownerReferences
 *
 * Everything here is synchronous; watches are delivered asynchronously.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ApiError,
  DEFAULT_NODE_PORT_RANGE,
  DEFAULT_SERVICE_CIDR,
  errors,
  RESOURCES,
  applyDefaults,
  validateObject,
  validateEphemeralContainersUpdate,
  parseLabelSelector,
  parseFieldSelector,
  resourceKey,
  groupVersion,
  type FieldError,
  type KubeObject,
  type ResourceInfo,
  type Service,
  type Pod,
  metaTime,
} from '@kubemu/api';
import { INDEXED_LABELS, SqliteStore, StoreConflictError, StoreExistsError, StoreGoneError, StoreNotFoundError, type StoreEvent } from '../store/sqlite-store.js';
import type { DeleteOptions, ListOptions, ObjectClient, ObjectEvent, WatchOptions } from './object-client.js';
import { ServiceAllocations, type Taken } from './service-allocations.js';
import { WatchQueue } from './watch-queue.js';
import { decodeManagedFields, encodeManagedFields, trackUpdate, type Managers, type Scope } from '../managedfields/managers.js';

/** Options of a write. */
export interface WriteOptions {
  dryRun?: boolean;
  /**
   * Who writes, for metadata.managedFields (an Update entry with the fields
   * the write added or changed). Without it the managed fields stay as they
   * were (in-process writers that do not say who they are).
   */
  fieldManager?: string;
  /** The subresource the write came through (scale); status writes say so by calling updateStatus. */
  subresource?: string;
  /** The object's managedFields are final (server-side apply computed them). */
  applied?: boolean;
}

export interface RegistryOptions {
  serviceCIDR?: string;
  nodePortRange?: string;
  log?: Logger;
  /** Injectable clock (tests). */
  now?: () => Date;
  /**
   * The ServiceAccount admission plugin: pods without a service account get
   * `default`, and a pod whose service account does not exist is refused.
   * On in a control plane; off in bare registries of unit tests, which have
   * no service accounts controller.
   */
  serviceAccountAdmission?: boolean;
}

export const RES = Object.fromEntries(RESOURCES.map((r) => [r.plural, r])) as Record<string, ResourceInfo>;

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** JSON with object keys sorted: equal for values that differ only in key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

function target(r: ResourceInfo, name?: string) {
  return { group: r.group, resource: r.plural, name };
}

/** Managers decoded from managedFields; undefined when there are none or they do not decode. */
function requestManagers(entries: unknown): Managers | undefined {
  if (!Array.isArray(entries) || entries.length === 0) return undefined;
  try {
    return decodeManagedFields(entries);
  } catch {
    return undefined;
  }
}

function setManagedFields(obj: KubeObject, managers: Managers): void {
  const list = encodeManagedFields(managers);
  if (list.length) obj.metadata.managedFields = list as KubeObject['metadata']['managedFields'];
  else delete obj.metadata.managedFields;
}

export class Registry implements ObjectClient {
  readonly store: SqliteStore;
  readonly services: ServiceAllocations;
  readonly #now: () => Date;
  readonly #log?: Logger;
  readonly #serviceAccountAdmission: boolean;

  constructor(store: SqliteStore, opts: RegistryOptions = {}) {
    this.store = store;
    this.#serviceAccountAdmission = opts.serviceAccountAdmission ?? false;
    this.#now = opts.now ?? (() => new Date());
    this.#log = opts.log;
    this.services = new ServiceAllocations({
      serviceCIDR: opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR,
      nodePortRange: opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE,
    });
    this.services.rebuild(store.list(resourceKey(RES.services)) as Service[]);
  }

  /** A registry over a fresh in-memory store (tests). */
  static inMemory(opts: RegistryOptions = {}): Registry {
    return new Registry(new SqliteStore(':memory:', { durable: false }), opts);
  }

  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  #timestamp(): string {
    return metaTime(this.#now());
  }

  // ---- reads ---------------------------------------------------------------

  get<T extends KubeObject = KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): T | undefined {
    return this.store.get(resourceKey(r), r.namespaced ? namespace ?? '' : '', name) as T | undefined;
  }

  /** get() that throws 404. */
  mustGet<T extends KubeObject = KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): T {
    const obj = this.get<T>(r, namespace, name);
    if (!obj) throw errors.notFound(target(r, name));
    return obj;
  }

  list<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: ListOptions = {}): { items: T[]; resourceVersion: string } {
    const labels = parseLabelSelector(opts.labelSelector ?? '');
    const fields = parseFieldSelector(opts.fieldSelector ?? '', r.kind);
    const rv = this.resourceVersion;
    // an equality on an indexed label narrows the read; the full selector still filters
    const narrow = labels.requirements.find((q) => INDEXED_LABELS.includes(q.key) && q.values.length === 1 && (q.operator === '=' || q.operator === '==' || q.operator === 'in'));
    const all = this.store.list(resourceKey(r), r.namespaced ? opts.namespace : undefined, narrow && { key: narrow.key, value: narrow.values[0] });
    const items = all.filter((o) => labels.matches(o.metadata.labels) && fields.matches(o)) as T[];
    return { items, resourceVersion: rv };
  }

  // ---- create ----------------------------------------------------------------

  create<T extends KubeObject = KubeObject>(r: ResourceInfo, input: T, opts: WriteOptions = {}): T {
    const obj = clone(input) as KubeObject;
    this.#checkKind(r, obj);
    const meta = (obj.metadata ??= {});
    if (r.namespaced) {
      meta.namespace ||= 'default';
      this.#checkNamespaceWritable(meta.namespace);
    } else delete meta.namespace;
    if (!meta.name && meta.generateName && typeof meta.generateName === 'string') {
      meta.name = `${meta.generateName}${randomSuffix()}`.slice(0, 63);
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = this.#timestamp();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if ('spec' in obj || r.subresources.includes('status')) meta.generation = 1;
    applyDefaults(obj);
    if (opts.fieldManager !== undefined && !opts.applied) {
      const base = requestManagers(meta.managedFields) ?? new Map();
      this.#track(obj, () => trackUpdate(base, undefined, obj, opts.fieldManager!, this.#trackContext(r, 'main', opts.subresource)));
    }
    this.#prepareCreate(r, obj);
    this.#validate(r, obj);
    let taken: Taken | undefined;
    if (r.plural === 'services') taken = this.#allocate(obj as Service);
    if (opts.dryRun) {
      if (taken) this.services.giveBack(taken);
      return obj as T;
    }
    try {
      return this.store.create(resourceKey(r), obj) as T;
    } catch (e) {
      if (taken) this.services.giveBack(taken);
      if (e instanceof StoreExistsError) throw errors.alreadyExists(target(r, meta.name));
      throw e;
    }
  }

  #checkKind(r: ResourceInfo, obj: KubeObject): void {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw errors.badRequest('the body of the request must be a JSON object');
    if (obj.metadata !== undefined && (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
      throw errors.badRequest('metadata must be an object');
    }
    obj.apiVersion ||= groupVersion(r);
    obj.kind ||= r.kind;
    if (obj.kind !== r.kind || obj.apiVersion !== groupVersion(r)) {
      throw errors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${groupVersion(r)}) or kind (${String(obj.kind)} vs ${r.kind})`);
    }
  }

  #checkNamespaceWritable(ns: string): void {
    const nsObj = this.store.get('namespaces', '', ns);
    if (!nsObj) throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    if (nsObj.metadata.deletionTimestamp) {
      throw new ApiError(403, 'Forbidden', `unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  #prepareCreate(r: ResourceInfo, obj: KubeObject): void {
    switch (r.plural) {
      case 'pods': {
        if (this.#serviceAccountAdmission) this.#admitServiceAccount(obj as Pod);
        (obj as Pod).status = { phase: 'Pending', qosClass: 'BestEffort' };
        break;
      }
      case 'services':
      case 'deployments':
      case 'replicasets':
      case 'replicationcontrollers':
      case 'ingresses':
        obj.status = r.plural === 'services' || r.plural === 'ingresses' ? { loadBalancer: {} } : {};
        break;
      case 'namespaces':
        obj.status = { phase: 'Active' };
        break;
    }
  }

  /** plugin/pkg/admission/serviceaccount on pod create: default the name, refuse a service account that does not exist. */
  #admitServiceAccount(pod: Pod): void {
    const spec = pod.spec as unknown;
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return;
    if (typeof pod.spec.serviceAccountName !== 'string' || pod.spec.serviceAccountName === '') pod.spec.serviceAccountName = 'default';
    const name = pod.spec.serviceAccountName;
    pod.spec.serviceAccount = name;
    const ns = pod.metadata.namespace ?? 'default';
    if (!this.store.get(resourceKey(RES.serviceaccounts), ns, name)) {
      throw new ApiError(403, 'Forbidden', `pods "${pod.metadata.name ?? ''}" is forbidden: error looking up service account ${ns}/${name}: serviceaccount "${name}" not found`, {
        name: pod.metadata.name,
        kind: 'pods',
      });
    }
  }

  #validate(r: ResourceInfo, obj: KubeObject, old?: KubeObject): void {
    this.#validateWith(r, obj, () => validateObject(obj, old));
  }

  #validateWith(r: ResourceInfo, obj: KubeObject, validate: () => FieldError[]): void {
    let errs: FieldError[];
    try {
      errs = validate();
    } catch (e) {
      this.#log?.error({ err: e, kind: r.kind }, 'validation threw');
      throw errors.badRequest(`invalid ${r.kind}: ${(e as Error).message}`);
    }
    if (errs.length) throw errors.invalid(r.kind, r.group, String(obj.metadata?.name ?? ''), errs);
  }

  #allocate(svc: Service, old?: Service): Taken {
    const { errors: errs, taken } = this.services.allocate(svc, old);
    if (errs.length) throw errors.invalid('Service', '', svc.metadata.name ?? '', errs);
    return taken;
  }

  // ---- update ----------------------------------------------------------------

  update<T extends KubeObject = KubeObject>(r: ResourceInfo, input: T, opts: WriteOptions = {}): T {
    return this.#update(r, input, 'main', opts) as T;
  }

  updateStatus<T extends KubeObject = KubeObject>(r: ResourceInfo, input: T, opts: WriteOptions = {}): T {
    return this.#update(r, input, 'status', opts) as T;
  }

  /** This registry as an ObjectClient whose writes are recorded under `fieldManager` (controllers, agents). */
  withManager(fieldManager: string): ObjectClient {
    return {
      get: (r, ns, name) => this.get(r, ns, name),
      list: (r, o) => this.list(r, o),
      create: (r, obj) => this.create(r, obj, { fieldManager }),
      update: (r, obj) => this.update(r, obj, { fieldManager }),
      updateStatus: (r, obj) => this.updateStatus(r, obj, { fieldManager }),
      delete: (r, ns, name, o) => this.delete(r, ns, name, o),
      watch: (r, o, fn) => this.watch(r, o, fn),
    };
  }

  /**
   * Sets the managed fields `compute` gives; an object the field manager
   * cannot walk (a list item without its key, left for validation to refuse)
   * gets none, as kube-apiserver's UpdateNoErrors drops them rather than fail.
   */
  #track(obj: KubeObject, compute: () => Managers): void {
    try {
      setManagedFields(obj, compute());
    } catch (e) {
      this.#log?.debug({ err: e, kind: obj.kind }, 'managed fields not tracked');
      delete obj.metadata.managedFields;
    }
  }

  #trackContext(r: ResourceInfo, part: 'main' | 'status', subresource?: string) {
    const scope: Scope = part === 'status' ? 'status' : r.subresources.includes('status') ? 'main-without-status' : 'main';
    return { kind: r.kind, apiVersion: groupVersion(r), scope, subresource: part === 'status' ? 'status' : subresource, now: this.#timestamp() };
  }

  /**
   * pods/ephemeralcontainers: only `spec.ephemeralContainers` of `input` is
   * taken (every other change is dropped, as the subresource's strategy
   * does); existing ones may not be removed or changed (422).
   */
  updateEphemeralContainers(r: ResourceInfo, input: Pod, opts: WriteOptions = {}): Pod {
    if (r.plural !== 'pods') throw errors.notFound({ group: r.group, resource: `${r.plural}/ephemeralcontainers` });
    return this.#update(r, input, 'ephemeralcontainers', opts) as Pod;
  }

  #update(r: ResourceInfo, input: KubeObject, part: 'main' | 'status' | 'ephemeralcontainers', opts: WriteOptions): KubeObject {
    const obj = clone(input);
    this.#checkKind(r, obj);
    const meta = (obj.metadata ??= {});
    const ns = r.namespaced ? meta.namespace || 'default' : '';
    const name = meta.name ?? '';
    const old = this.get(r, ns, name);
    if (!old) throw errors.notFound(target(r, name));
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflict(target(r, name), 'the object has been modified; please apply your changes to the latest version and try again');
    }
    let next: KubeObject;
    if (part === 'status') {
      next = { ...clone(old), status: obj.status };
    } else if (part === 'ephemeralcontainers') {
      next = clone(old);
      const spec = obj.spec !== null && typeof obj.spec === 'object' && !Array.isArray(obj.spec) ? (obj.spec as Record<string, unknown>) : {};
      if (spec.ephemeralContainers === undefined || spec.ephemeralContainers === null) delete next.spec.ephemeralContainers;
      else next.spec.ephemeralContainers = clone(spec.ephemeralContainers);
      applyDefaults(next);
      // The same containers with their keys in another order (a patch that unsets then sets a field) are no change.
      if (canonical(next.spec.ephemeralContainers) === canonical(old.spec?.ephemeralContainers)) next.spec.ephemeralContainers = clone(old.spec.ephemeralContainers);
      if (JSON.stringify(next.spec) !== JSON.stringify(old.spec) && old.metadata.generation !== undefined) {
        next.metadata.generation = (old.metadata.generation ?? 0) + 1;
      }
    } else {
      next = obj;
      next.metadata = {
        ...meta,
        namespace: r.namespaced ? ns : undefined,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
        deletionTimestamp: old.metadata.deletionTimestamp,
        deletionGracePeriodSeconds: old.metadata.deletionGracePeriodSeconds,
        generation: old.metadata.generation,
      };
      if (!r.namespaced) delete next.metadata.namespace;
      for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (next.metadata[k] === undefined) delete next.metadata[k];
      }
      if (r.subresources.includes('status')) next.status = clone(old.status);
      else if (old.status !== undefined && next.status === undefined && r.plural === 'nodes') next.status = clone(old.status);
      applyDefaults(next);
      if (r.plural === 'services') this.services.dropTypeDependentFields(next as Service, old as Service);
      if (r.plural === 'services') this.services.keepAllocatedValues(next as Service, old as Service);
      if (JSON.stringify(next.spec) !== JSON.stringify(old.spec) && old.metadata.generation !== undefined) {
        next.metadata.generation = (old.metadata.generation ?? 0) + 1;
      }
    }
    if (opts.applied) {
      if (part === 'status') next.metadata.managedFields = meta.managedFields;
    } else if (opts.fieldManager !== undefined) {
      // The request's own managedFields replace the live ones when it sent some (kubectl's upgrade from client-side apply does).
      const base = (part === 'main' ? requestManagers(meta.managedFields) : undefined) ?? requestManagers(old.metadata.managedFields) ?? new Map();
      this.#track(next, () => trackUpdate(base, old, next, opts.fieldManager!, this.#trackContext(r, part === 'status' ? 'status' : 'main', part === 'ephemeralcontainers' ? 'ephemeralcontainers' : opts.subresource)));
    } else if (part === 'main') {
      if (old.metadata.managedFields) next.metadata.managedFields = old.metadata.managedFields;
      else delete next.metadata.managedFields;
    }
    // Binding: setting spec.nodeName once on an unbound pod (what the binding subresource does).
    const bindsPod = r.plural === 'pods' && part === 'main' && !old.spec?.nodeName && !!next.spec?.nodeName;
    if (part === 'ephemeralcontainers') this.#validateWith(r, next, () => validateEphemeralContainersUpdate(next, old));
    else this.#validate(r, next, bindsPod ? { ...old, spec: { ...old.spec, nodeName: next.spec.nodeName } } : old);
    let taken: Taken | undefined;
    if (r.plural === 'services' && part === 'main') taken = this.#allocate(next as Service, old as Service);
    // No-op writes keep their resourceVersion, as in Kubernetes.
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (JSON.stringify(next) === JSON.stringify(old) || opts.dryRun) {
      if (taken) this.services.giveBack(taken);
      return opts.dryRun ? next : old;
    }
    // A terminating object whose last finalizer went away is deleted now.
    if (old.metadata.deletionTimestamp && !(next.metadata.finalizers?.length) && old.metadata.finalizers?.length && r.plural !== 'pods') {
      return this.#remove(r, ns, name, old);
    }
    try {
      const stored = this.store.update(resourceKey(r), next, old.metadata.resourceVersion);
      if (r.plural === 'services') this.services.releaseUnused(old as Service, stored as Service);
      return stored;
    } catch (e) {
      if (taken) this.services.giveBack(taken);
      if (e instanceof StoreConflictError) throw errors.conflict(target(r, name), e.message);
      if (e instanceof StoreNotFoundError) throw errors.notFound(target(r, name));
      throw e;
    }
  }

  // ---- delete ------------------------------------------------------------------

  delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject | undefined {
    const ns = r.namespaced ? namespace || 'default' : '';
    const obj = this.get(r, ns, name);
    if (!obj) return undefined;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) {
      throw errors.conflict(target(r, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw errors.conflict(target(r, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`);
    }
    if (opts.propagationPolicy === 'Orphan') this.#orphanDependents(obj);
    if (r.plural === 'pods') {
      const grace = this.#podGrace(obj as Pod, opts.gracePeriodSeconds);
      if (grace > 0) return this.#markTerminating(r, obj, grace);
    }
    if (obj.metadata.finalizers?.length || r.plural === 'namespaces') {
      if (r.plural === 'namespaces' && ['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(name)) {
        throw errors.forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
      }
      return this.#markTerminating(r, obj, 0);
    }
    return this.#remove(r, ns, name, obj);
  }

  /** Seconds of grace a pod delete gets: 0 for pods never bound to a live node. */
  #podGrace(pod: Pod, requested?: number): number {
    if (!pod.spec?.nodeName) return 0;
    if (!this.store.get('nodes', '', pod.spec.nodeName)) return 0;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    const grace = requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    if (pod.metadata.deletionTimestamp) {
      // already terminating: only a shorter grace (e.g. --force, 0) changes anything
      return grace < (pod.metadata.deletionGracePeriodSeconds ?? 30) ? grace : -1;
    }
    return grace;
  }

  #markTerminating(r: ResourceInfo, obj: KubeObject, grace: number): KubeObject {
    if (grace < 0 || (obj.metadata.deletionTimestamp && grace === 0 && r.plural !== 'pods')) return obj;
    const next = clone(obj);
    const at = new Date(this.#now().getTime() + grace * 1000);
    next.metadata.deletionTimestamp = metaTime(at);
    next.metadata.deletionGracePeriodSeconds = grace;
    if (r.plural === 'namespaces') next.status = { ...(next.status ?? {}), phase: 'Terminating' };
    return this.store.update(resourceKey(r), next, obj.metadata.resourceVersion);
  }

  #remove(r: ResourceInfo, ns: string, name: string, obj: KubeObject): KubeObject {
    try {
      const gone = this.store.delete(resourceKey(r), ns, name);
      if (r.plural === 'services') this.services.releaseUnused(obj as Service);
      return gone;
    } catch (e) {
      if (e instanceof StoreNotFoundError) throw errors.notFound(target(r, name));
      throw e;
    }
  }

  /** Finishes a namespace's deletion once it holds nothing (the namespace controller calls this). */
  finalizeNamespace(name: string): boolean {
    const ns = this.store.get('namespaces', '', name);
    if (!ns?.metadata.deletionTimestamp) return false;
    for (const r of RESOURCES) if (r.namespaced && this.store.list(resourceKey(r), name).length) return false;
    this.store.delete('namespaces', '', name);
    return true;
  }

  #orphanDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const r of RESOURCES) {
      for (const dep of this.store.list(resourceKey(r), r.namespaced ? owner.metadata.namespace : undefined)) {
        const refs = dep.metadata.ownerReferences;
        if (!refs?.some((o) => o.uid === uid)) continue;
        const next = clone(dep);
        next.metadata.ownerReferences = refs.filter((o) => o.uid !== uid);
        if (!next.metadata.ownerReferences.length) delete next.metadata.ownerReferences;
        this.store.update(resourceKey(r), next);
      }
    }
  }

  // ---- watch -------------------------------------------------------------------

  /**
   * Watches a resource. `resourceVersion` resumes after that version (410 if
   * compacted); omitted means from now. Selectors follow Kubernetes: an object
   * that stops matching is reported DELETED, one that starts matching ADDED.
   */
  watch<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: WatchOptions, onEvent: (ev: ObjectEvent<T>) => void): () => void {
    const queue = new WatchQueue<ObjectEvent<T>>(onEvent);
    const stop = this.watchSync(r, opts, (ev) => queue.push(ev as ObjectEvent<T>));
    return () => {
      stop();
      queue.close();
    };
  }

  /** As watch(), but calls `fn` synchronously inside the writer (HTTP streams queue themselves). */
  watchSync(r: ResourceInfo, opts: WatchOptions, fn: (ev: ObjectEvent) => void): () => void {
    const labels = parseLabelSelector(opts.labelSelector ?? '');
    const fields = parseFieldSelector(opts.fieldSelector ?? '', r.kind);
    const matches = (o: KubeObject | undefined) => !!o && labels.matches(o.metadata.labels) && fields.matches(o);
    const fromRV = opts.resourceVersion !== undefined && opts.resourceVersion !== '' ? Number(opts.resourceVersion) : undefined;
    if (fromRV !== undefined && !Number.isFinite(fromRV)) throw errors.badRequest(`invalid resource version: ${opts.resourceVersion}`);
    const onStoreEvent = (ev: StoreEvent) => {
      const now = matches(ev.object);
      if (ev.type !== 'MODIFIED' || ev.prev === undefined) {
        if (now) fn({ type: ev.type, object: ev.object });
        return;
      }
      const before = matches(ev.prev);
      if (now && before) fn({ type: 'MODIFIED', object: ev.object });
      else if (now) fn({ type: 'ADDED', object: ev.object });
      else if (before) fn({ type: 'DELETED', object: ev.object });
    };
    try {
      return this.store.watch(resourceKey(r), { namespace: r.namespaced ? opts.namespace : undefined, fromRV }, onStoreEvent);
    } catch (e) {
      if (e instanceof StoreGoneError) throw errors.gone(e.message);
      throw e;
    }
  }
}
