/**
 * metadata.managedFields: who owns which fields of an object, kept as
 * kube-apiserver's field manager keeps it (k8s.io/apimachinery
 * pkg/util/managedfields/internal + sigs.k8s.io/structured-merge-diff merge).
 *
 * - Update (create, update, non-apply patch): the fields the write added or
 *   changed become its manager's (taken from whoever had them); removed
 *   fields leave every manager; the manager's time moves only when it
 *   changed something.
 * - Apply: the configuration is merged into the live object; fields the
 *   manager applied before and omits now are removed unless another manager
 *   owns them; a change to a field another manager owns is a conflict unless
 *   forced, which moves the field to the applier.
 * - Fields of the object's identity and bookkeeping (apiVersion, kind, name,
 *   namespace, uid, resourceVersion, generation, creationTimestamp,
 *   managedFields) are never tracked; a write through the main resource of a
 *   kind with a status subresource owns nothing under status, a status write
 *   nothing else (the strategies' reset fields).
 */
import type { KubeObject } from '@kubemu/api';
import { field, FieldSet, pathString, type Path } from './fieldpath.js';
import { goRoot, shapeForKind, type Shape } from './shape.js';
import { compare, deepEqual, isObject, merge, removePath, toFieldSet, type Comparison } from './typed.js';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** BuildManagerIdentifier: everything but fields and time; appliers without apiVersion. */
export function managerId(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  const id: Record<string, string> = { manager: m.manager, operation: m.operation };
  if (m.operation !== 'Apply' && m.apiVersion) id.apiVersion = m.apiVersion;
  if (m.subresource) id.subresource = m.subresource;
  return JSON.stringify(id);
}

export type Managers = Map<string, Manager>;

/** Decodes metadata.managedFields; throws with the reason when an entry is malformed. */
export function decodeManagedFields(entries: unknown): Managers {
  const out: Managers = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  for (const raw of entries as unknown[]) {
    if (!isObject(raw)) throw new Error('managedFields entries must be objects');
    const e = raw as ManagedFieldsEntry;
    for (const k of ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'subresource'] as const) {
      if (e[k] !== undefined && e[k] !== null && typeof e[k] !== 'string') throw new Error(`${k} must be a string`);
    }
    if (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1' && (e.fieldsType as string) !== '') throw new Error(`invalid fieldsType "${e.fieldsType}"`);
    if (e.operation !== undefined && e.operation !== 'Apply' && e.operation !== 'Update' && (e.operation as string) !== '') throw new Error(`invalid operation "${e.operation}"`);
    const m: Manager = {
      manager: e.manager ?? '',
      operation: (e.operation || 'Update') as 'Apply' | 'Update',
      apiVersion: e.apiVersion ?? '',
      subresource: e.subresource || undefined,
      time: e.time,
      set: e.fieldsV1 === undefined ? new FieldSet() : FieldSet.fromFieldsV1(e.fieldsV1),
    };
    if (e.operation === undefined && e.manager === undefined) m.operation = 'Update';
    out.set(managerId(m), m);
  }
  return out;
}

/** Encodes managers sorted as kube-apiserver sorts them: Apply before Update, then by time, manager, apiVersion, subresource. */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] {
  const list = [...managers.values()].filter((m) => !m.set.empty());
  const secs = (t?: string) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  list.sort((p, q) => cmp(p.operation, q.operation) || secs(p.time) - secs(q.time) || cmp(p.manager, q.manager) || cmp(p.apiVersion, q.apiVersion) || cmp(p.subresource ?? '', q.subresource ?? ''));
  return list.map((m) => {
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
    if (m.time) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
}

/**
 * The manager name of a request without ?fieldManager: the User-Agent up to
 * its first "/", printable characters only, at most 128 of them
 * (kube-apiserver's prefixFromUserAgent).
 */
export function managerFromUserAgent(userAgent: string | undefined): string {
  const prefix = (userAgent ?? '').split('/')[0];
  let out = '';
  for (const ch of prefix) {
    if (!isPrintable(ch)) continue;
    if (out.length >= 128) break;
    out += ch;
  }
  return out;
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

// ---- the tracked part of an object -------------------------------------------------

const IDENTITY_META = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'selfLink', 'managedFields', 'clusterName'];

export type Scope = 'main' | 'main-without-status' | 'status';

/** The object as the field manager sees it: identity and bookkeeping gone, and status or all but status (reset fields). */
export function trackedView(obj: KubeObject | Record<string, unknown> | undefined, scope: Scope): Record<string, unknown> | undefined {
  if (!obj) return undefined;
  const o = obj as Record<string, unknown>;
  if (scope === 'status') return o.status === undefined ? {} : { status: o.status };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && scope === 'main-without-status') continue;
    if (k === 'metadata' && isObject(v)) {
      const meta: Record<string, unknown> = {};
      for (const [mk, mv] of Object.entries(v)) if (!IDENTITY_META.includes(mk)) meta[mk] = mv;
      if (Object.keys(meta).length) out.metadata = meta;
      continue;
    }
    out[k] = v;
  }
  return out;
}

export interface TrackContext {
  kind: string;
  apiVersion: string;
  scope: Scope;
  subresource?: string;
  now: string;
}

function shapeOf(ctx: TrackContext): Shape {
  return shapeForKind(ctx.kind);
}

/** Fields under identity metadata never belong to anyone (also cleans up sets sent by clients). */
function stripIdentity(set: FieldSet, scope: Scope): FieldSet {
  const strip = new FieldSet();
  for (const k of ['apiVersion', 'kind']) strip.insert([field(k)]);
  strip.insert([field('metadata')]);
  for (const k of IDENTITY_META) strip.insert([field('metadata'), field(k)]);
  let out = set.difference(strip);
  for (const k of IDENTITY_META) out.children.get('f:metadata')?.children.delete(`f:${k}`);
  if (scope === 'main-without-status') out.children.delete('f:status');
  if (scope === 'status') {
    const only = new FieldSet();
    const st = out.children.get('f:status');
    if (st) only.children.set('f:status', st);
    out = only;
  }
  return out;
}

/** The objects' difference restricted to what a write through this scope may own. */
function diff(live: unknown, next: unknown, ctx: TrackContext): Comparison {
  // A create compares with the kind's zero value, which exists (an empty object).
  const c = compare(trackedView(live as KubeObject, ctx.scope) ?? {}, trackedView(next as KubeObject, ctx.scope), shapeOf(ctx), goRoot(ctx.kind, ctx.apiVersion));
  return { added: stripIdentity(c.added, ctx.scope), modified: stripIdentity(c.modified, ctx.scope), removed: stripIdentity(c.removed, ctx.scope) };
}

/** Managers with `taken` taken from all but `except`, and `removed` taken from all; empty ones dropped. */
function reassign(managers: Managers, except: string | undefined, taken: FieldSet, removed: FieldSet): void {
  for (const [id, m] of managers) {
    let set = m.set;
    if (id !== except) set = set.difference(taken);
    set = set.difference(removed);
    if (set.empty()) managers.delete(id);
    else m.set = set;
  }
}

/**
 * An Update by `manager`: the managed fields after `live` (undefined on
 * create) became `next`. `base` is the managed fields to start from: the
 * request's own when it sent some, else the live object's.
 */
export function trackUpdate(base: Managers, live: unknown, next: unknown, manager: string, ctx: TrackContext): Managers {
  const managers: Managers = new Map([...base].map(([k, m]) => [k, { ...m }]));
  const c = diff(live, next, ctx);
  const changed = c.added.union(c.modified);
  reassign(managers, undefined, changed, c.removed);
  if (changed.empty()) return managers;
  const id = managerId({ manager, operation: 'Update', apiVersion: ctx.apiVersion, subresource: ctx.subresource });
  const prev = managers.get(id);
  managers.set(id, { manager, operation: 'Update', apiVersion: ctx.apiVersion, subresource: ctx.subresource, time: ctx.now, set: prev ? prev.set.union(changed) : changed });
  return managers;
}

// ---- apply ------------------------------------------------------------------------

export interface Conflict {
  /** The manager's identifier (managerId). */
  manager: string;
  path: Path;
}

export class ApplyConflicts extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(conflictMessage(conflicts));
  }
}

/** printManager: `"name"`, with `with subresource "s"` and, for updaters, `using apiVersion`. */
export function printManager(id: string): string {
  let m: { manager?: string; operation?: string; apiVersion?: string; subresource?: string; time?: string };
  try {
    m = JSON.parse(id);
  } catch {
    return JSON.stringify(id);
  }
  let s = JSON.stringify(m.manager ?? '');
  if (m.subresource) s = `${s} with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') return m.time ? `${s} using ${m.apiVersion ?? ''} at ${m.time}` : `${s} using ${m.apiVersion ?? ''}`;
  return s;
}

/** The conflict Status message kube-apiserver writes. */
export function conflictMessage(conflicts: readonly Conflict[]): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0].manager)}: ${pathString(conflicts[0].path)}`;
  const byManager = new Map<string, Path[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${printManager(m)}:`);
    for (const p of byManager.get(m)!) lines.push(`- ${pathString(p)}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

export interface ApplyResult {
  /** The object to store (the live one unchanged when nothing changed). */
  object: Record<string, unknown>;
  managers: Managers;
  /** Nothing to write: the object and its managed fields are as they were. */
  noop: boolean;
}

export interface ApplyOptions extends TrackContext {
  force: boolean;
  /** Conflicts on these paths are forced anyway (client-side apply's fields on the upgrade to server-side apply). */
  allowedConflicts?: (live: Record<string, unknown>) => FieldSet | undefined;
}

/**
 * An Apply by `manager` of `config` to `live` (an empty object when the
 * object does not exist yet). Throws ApplyConflicts, or TypedError for a
 * configuration that does not fit the kind.
 */
export function applyConfig(live: Record<string, unknown>, liveManagers: Managers, config: Record<string, unknown>, manager: string, opts: ApplyOptions): ApplyResult {
  const s = shapeOf(opts);
  const tracked = trackedView(config as KubeObject, opts.scope) ?? {};
  const applied = stripIdentity(toFieldSet(tracked, s), opts.scope);
  const selfId = managerId({ manager, operation: 'Apply', apiVersion: opts.apiVersion, subresource: opts.subresource });
  const attempt = (force: boolean): ApplyResult => {
    const managers: Managers = new Map([...liveManagers].map(([k, m]) => [k, { ...m }]));
    const lastSet = managers.get(selfId)?.set ?? new FieldSet();
    managers.set(selfId, { manager, operation: 'Apply', apiVersion: opts.apiVersion, subresource: opts.subresource, time: managers.get(selfId)?.time, set: applied });
    const merged = merge(live, mergeable(config, opts.scope), s) as Record<string, unknown>;
    // Fields this manager applied before and omits now go, unless someone still owns them (or something under them).
    const owned = [...managers.values()].reduce((acc, m) => acc.union(m.set), new FieldSet());
    for (const p of lastSet.difference(applied).paths()) {
      if (owned.has(p) || owned.hasDescendants(p)) continue;
      removePath(merged, p, s);
    }
    const c = diff(live, merged, opts);
    const changed = c.added.union(c.modified);
    const conflicts: Conflict[] = [];
    const taken = new Map<string, FieldSet>();
    for (const [id, m] of managers) {
      if (id === selfId) continue;
      const clash = m.set.intersection(changed);
      if (clash.empty()) continue;
      taken.set(id, clash);
      for (const p of clash.paths()) conflicts.push({ manager: id, path: p });
    }
    if (conflicts.length && !force) throw new ApplyConflicts(conflicts);
    for (const [id, clash] of taken) {
      const m = managers.get(id)!;
      m.set = m.set.difference(clash);
    }
    reassign(managers, selfId, new FieldSet(), c.removed);
    const objectChanged = !deepEqual(trackedView(live as KubeObject, 'main'), trackedView(merged as KubeObject, 'main'));
    if (objectChanged && managers.has(selfId)) managers.get(selfId)!.time = opts.now;
    const noop = !objectChanged && sameManagers(liveManagers, managers);
    return { object: objectChanged ? merged : live, managers, noop };
  };
  try {
    return attempt(opts.force);
  } catch (e) {
    if (!(e instanceof ApplyConflicts) || !opts.allowedConflicts) throw e;
    const allowed = opts.allowedConflicts(live);
    if (!allowed) throw e;
    const rest = e.conflicts.filter((c) => !allowed.has(c.path));
    if (rest.length) throw new ApplyConflicts(rest);
    return attempt(true);
  }
}

/** The part of an applied configuration that merges into this scope. */
function mergeable(config: Record<string, unknown>, scope: Scope): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    if (scope === 'main-without-status' && k === 'status') continue;
    if (scope === 'status' && k !== 'status') continue;
    out[k] = v;
  }
  if (scope !== 'status' && isObject(config.metadata)) {
    const meta: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config.metadata)) if (!IDENTITY_META.includes(k)) meta[k] = v;
    if (Object.keys(meta).length) out.metadata = meta;
  }
  return out;
}

function sameManagers(a: Managers, b: Managers): boolean {
  return JSON.stringify(encodeManagedFields(a)) === JSON.stringify(encodeManagedFields(b));
}

/**
 * Client-side apply's fields that server-side apply by `kubectl` may take
 * without a conflict: those of the last-applied-configuration annotation
 * whose values the live object still has (lastAppliedManager).
 */
export function lastAppliedFields(live: Record<string, unknown>, ctx: TrackContext): FieldSet | undefined {
  const meta = live.metadata as { annotations?: Record<string, string> } | undefined;
  const text = meta?.annotations?.[LAST_APPLIED];
  if (!text) return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(last) || last.apiVersion !== ctx.apiVersion) return undefined;
  const s = shapeOf(ctx);
  try {
    const set = toFieldSet(last, s);
    const c = compare(last, live, s);
    return set.difference(c.modified).difference(c.added).difference(c.removed);
  } catch {
    return undefined;
  }
}

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The last-applied-configuration kubectl's server-side apply keeps in sync: the applied object without that annotation, keys sorted. */
export function buildLastApplied(config: Record<string, unknown>): string {
  const copy = structuredClone(config);
  const meta = (isObject(copy.metadata) ? copy.metadata : undefined) as { annotations?: Record<string, unknown> } | undefined;
  if (meta?.annotations && isObject(meta.annotations)) delete meta.annotations[LAST_APPLIED];
  return `${sortedJSON(copy)}\n`;
}

function sortedJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJSON).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${sortedJSON(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
