/**
 * Kubernetes strategic merge patch, `application/strategic-merge-patch+json` —
 * what kubectl apply/edit/patch/label/annotate/scale send for built-in kinds.
 *
 * The model (after k8s.io/apimachinery/pkg/util/strategicpatch, server side):
 *  - Objects merge key by key; `null` deletes a key.
 *  - A list whose field has `patchStrategy: merge` (see smp-schema.ts) merges:
 *    maps by their merge key (matching elements merge recursively, new ones are
 *    added), primitives as a set. Every other list is replaced.
 *  - Merged lists are ordered like the server does: patch items in patch order,
 *    interleaved with server-only items kept in their live order; a
 *    `$setElementOrder/<list>` directive fixes the order of the items it names.
 *  - Directives: `$patch: replace` (object: replace it by the rest of the patch;
 *    list element: replace the whole list by the other elements), `$patch:
 *    delete` (object: becomes {}; list element: remove the elements with that
 *    merge key), `$patch: merge` (object: an ordinary merge), `$retainKeys`
 *    (drop live keys not listed), `$deleteFromPrimitiveList/<list>` (remove those
 *    primitives), `$setElementOrder/<list>`.
 *  - Directives never reach the result: a value stored fresh from the patch is
 *    "materialized" (merged onto nothing), and unknown `$`-keys are stripped.
 *
 * Errors are 400 BadRequest with the apimachinery message, except lists of lists
 * (422, as kube-apiserver answers). Inputs are never mutated.
 */
import { cloneJson, getOwn, goFormat, goJsonKind, hasOwn, isMap, setOwn, type JsonMap } from './json-value.js';
import { badPatch, unprocessable } from './patch-errors.js';
import { schemaForKind, type PatchMeta, type Schema } from './smp-schema.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder';
const DELETE_FROM = '$deleteFromPrimitiveList';

/** Marks a materialized value that must not be stored (`{$patch: delete}` where nothing existed). */
const DROP: unique symbol = Symbol('drop');
type Materialized = unknown | typeof DROP;

export function applyStrategicMergePatch(target: unknown, patch: unknown, kind: string): unknown {
  return strategicMergeWithSchema(target, patch, schemaForKind(kind));
}

/** The same, against an explicit schema (for kinds kubemu does not know, and for tests). */
export function strategicMergeWithSchema(target: unknown, patch: unknown, schema: Schema): unknown {
  if (!isMap(patch)) {
    throw badPatch(`json: cannot unmarshal ${goJsonKind(patch)} into Go value of type map[string]interface {}`);
  }
  const original = isMap(target) ? cloneJson(target) : {};
  return mergeMap(original, cloneJson(patch), schema);
}

// ---- objects ------------------------------------------------------------------

/** Merges `patch` into `original` (both private copies, both mutated) and returns the result. */
function mergeMap(original: JsonMap, patch: JsonMap, schema: Schema | undefined): JsonMap {
  if (hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    delete patch[DIRECTIVE];
    switch (directive) {
      case 'replace':
        return mergeMap({}, patch, schema);
      case 'delete':
        return {};
      case 'merge':
        break;
      default:
        throw badPatch(`unknown patch type: ${goFormat(directive)} in map: ${goFormat({ ...patch, [DIRECTIVE]: directive })}`);
    }
  }
  applyRetainKeys(original, patch);
  applySetElementOrders(original, patch, schema);

  const deletions: [string, unknown][] = [];
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (key.startsWith(DELETE_FROM)) {
      deletions.push([listField(key, DELETE_FROM), value]);
    } else if (key.startsWith(SET_ORDER)) {
      listField(key, SET_ORDER); // malformed: applySetElementOrders only consumes well-formed keys
    } else if (!key.startsWith('$')) {
      mergeField(original, key, value, metaOf(schema, key));
    }
    // any other `$` key is a directive we do not know: stripped, never stored
  }
  for (const [field, values] of deletions) deleteFromPrimitiveList(original, field, values);
  return original;
}

function mergeField(original: JsonMap, key: string, value: unknown, meta: PatchMeta | undefined): void {
  if (value === null) {
    delete original[key];
    return;
  }
  const current = getOwn(original, key);
  if (current === undefined || shapeOf(current) !== shapeOf(value)) {
    store(original, key, materialize(value, meta));
  } else if (isMap(value)) {
    const merged = meta?.strategy === 'replace' ? materialize(value, meta) : mergeMap(current as JsonMap, value, meta?.fields);
    store(original, key, merged);
  } else if (Array.isArray(value)) {
    store(original, key, meta?.strategy === 'merge' ? mergeList(current as unknown[], value, meta) : materializeList(value, meta));
  } else {
    setOwn(original, key, value);
  }
}

function metaOf(schema: Schema | undefined, field: string): PatchMeta | undefined {
  return schema && Object.prototype.hasOwnProperty.call(schema, field) ? schema[field] : undefined;
}

function store(obj: JsonMap, key: string, value: Materialized): void {
  if (value === DROP) delete obj[key];
  else setOwn(obj, key, value);
}

function shapeOf(v: unknown): 'map' | 'list' | 'scalar' {
  return Array.isArray(v) ? 'list' : isMap(v) ? 'map' : 'scalar';
}

/** A patch value as it is stored where there was nothing to merge with: directives applied and stripped, nulls dropped. */
function materialize(value: unknown, meta: PatchMeta | undefined): Materialized {
  if (isMap(value)) {
    if (getOwn(value, DIRECTIVE) === 'delete') return DROP;
    return mergeMap({}, value, meta?.fields);
  }
  if (Array.isArray(value)) return meta?.strategy === 'merge' ? mergeList([], value, meta) : materializeList(value, meta);
  return value;
}

/** A replacing list: each element materialized; elements carrying `$patch: delete` are dropped. */
function materializeList(list: unknown[], meta: PatchMeta | undefined): unknown[] {
  const element: PatchMeta | undefined = meta?.fields ? { fields: meta.fields } : undefined;
  const out: unknown[] = [];
  for (const item of list) {
    const v = materialize(item, element);
    if (v !== DROP) out.push(v);
  }
  return out;
}

/** `$retainKeys: [...]`: live keys not listed are cleared; every key the patch sets must be listed. */
function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw badPatch('invalid patch format of retainKeys');
  const keep = new Set(list);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(DELETE_FROM) || key.startsWith(SET_ORDER)) continue;
    if (!keep.has(key)) throw badPatch('invalid patch format of retainKeys');
  }
  for (const key of Object.keys(original)) if (!keep.has(key)) delete original[key];
}

/** `$deleteFromPrimitiveList/<field>` → `<field>`; a malformed key is a 400. */
function listField(key: string, prefix: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    throw badPatch(prefix === DELETE_FROM ? 'invalid patch format of primitive list' : 'invalid patch format of setElementOrder list');
  }
  return key.slice(slash + 1);
}

function deleteFromPrimitiveList(original: JsonMap, field: string, values: unknown): void {
  if (values === null) return;
  if (!Array.isArray(values)) throw badPatch('invalid patch format of primitive list');
  const current = getOwn(original, field);
  if (!Array.isArray(current)) return;
  setOwn(
    original,
    field,
    current.filter((item) => isMap(item) || !values.some((v) => v === item)),
  );
}

// ---- lists --------------------------------------------------------------------

type KeyOf = (item: unknown) => unknown;

function keyFn(mergeKey: string | undefined): KeyOf {
  return mergeKey ? (item) => (isMap(item) ? getOwn(item, mergeKey) : undefined) : (item) => item;
}

function noMergeKey(m: JsonMap, mergeKey: string) {
  return badPatch(`map: ${goFormat(m)} does not contain declared merge key: ${mergeKey}`);
}

/** All elements must be of one kind, and not lists; returns whether they are objects. */
function elementsAreMaps(...lists: unknown[][]): boolean {
  let kind: string | undefined;
  for (const list of lists) {
    for (const item of list) {
      if (item === null) continue;
      if (Array.isArray(item)) throw unprocessable('lists of lists are not supported');
      const k = isMap(item) ? 'map' : typeof item;
      if (kind === undefined) kind = k;
      else if (kind !== k) throw badPatch(`list element types are not identical: ${goFormat(lists)}`);
    }
  }
  return kind === 'map';
}

/** Merges a `patchStrategy: merge` list; `original` and `patch` are private copies. */
function mergeList(original: unknown[], patch: unknown[], meta: PatchMeta): unknown[] {
  return mergeListWithWindow(original, patch, meta).merged;
}

/**
 * The merged list, and the "live window" a `$setElementOrder` directive then
 * orders server-only items by. Upstream computes that window from the live
 * list's storage after deletions were compacted into it and additions appended
 * (the first len(live) slots of "live minus deleted, plus added"); reproducing
 * it keeps our ordering identical to kube-apiserver's when one patch both
 * deletes and adds elements (as kubectl apply does).
 */
function mergeListWithWindow(original: unknown[], patch: unknown[], meta: PatchMeta): { merged: unknown[]; window: unknown[] } {
  if (original.length === 0 && patch.length === 0) return { merged: original, window: original };
  if (!elementsAreMaps(original, patch)) {
    const merged: unknown[] = [];
    for (const item of [...original, ...patch]) if (!merged.includes(item)) merged.push(item);
    return { merged: normalizeOrder(merged, patch, original, keyFn(undefined)), window: original };
  }

  const mergeKey = meta.mergeKey;
  if (!mergeKey) throw badPatch('cannot merge lists without merge key');
  const keyOf = keyFn(mergeKey);

  // Special elements first: `$patch: delete` removes, `$patch: replace` replaces the list.
  let base = original;
  let replace = false;
  const plain: JsonMap[] = [];
  for (const item of patch) {
    if (!isMap(item)) continue; // a null element: nothing to merge
    if (!hasOwn(item, DIRECTIVE)) {
      plain.push(item);
      continue;
    }
    switch (item[DIRECTIVE]) {
      case 'delete': {
        if (!hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
        const doomed = item[mergeKey];
        base = base.filter((x) => keyOf(x) !== doomed);
        break;
      }
      case 'replace':
        replace = true;
        break;
      case 'merge':
        throw badPatch('merging lists cannot yet be specified in the patch');
      default:
        throw badPatch(`unknown patch type: ${goFormat(item[DIRECTIVE])} in map: ${goFormat(item)}`);
    }
  }
  if (replace) return { merged: plain.map((item) => mergeMap({}, item, meta.fields)), window: base };

  const merged = base.slice();
  for (const item of plain) {
    if (!hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
    const value = item[mergeKey];
    const at = merged.findIndex((x) => isMap(x) && hasOwn(x, mergeKey) && x[mergeKey] === value);
    if (at >= 0) merged[at] = mergeMap(merged[at] as JsonMap, item, meta.fields);
    else merged.push(mergeMap({}, item, meta.fields));
  }
  return { merged: normalizeOrder(merged, plain, base, keyOf), window: merged.slice(0, original.length) };
}

/**
 * `$setElementOrder/<field>: [...]`: merges `<field>` (if the patch has it) and
 * then orders the list so the named items follow the given order, with the
 * server-only items interleaved in their live order.
 */
function applySetElementOrders(original: JsonMap, patch: JsonMap, schema: Schema | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(`${SET_ORDER}/`)) continue;
    const order = patch[key];
    delete patch[key];
    const field = listField(key, SET_ORDER);
    if (!Array.isArray(order)) throw badPatch('invalid patch format of setElementOrder list');
    const meta = metaOf(schema, field);
    // Only merging lists are ordered; any other list is replaced as usual.
    if (meta?.strategy !== 'merge') continue;

    const current = getOwn(original, field);
    const originalList = Array.isArray(current) ? current : undefined;
    const patched = getOwn(patch, field);
    if (patched !== undefined && !Array.isArray(patched)) continue; // null (delete) or a non-list: the main loop handles it
    const patchList = patched;
    const keyOf = keyFn(meta.mergeKey);
    if (patchList) validateOrder(patchList, order, meta.mergeKey, keyOf);

    let merged: unknown[];
    let live: unknown[] = [];
    if (originalList && patchList) ({ merged, window: live } = mergeListWithWindow(originalList, patchList, meta));
    else if (patchList) merged = mergeList([], patchList, meta);
    else if (originalList) merged = live = originalList;
    else continue;

    setOwn(original, field, normalizeOrder(merged, order, live, keyOf));
    delete patch[field];
  }
}

/** The non-deleting items of the patch list must appear in the `$setElementOrder` list, in the same relative order. */
function validateOrder(patchList: unknown[], order: unknown[], mergeKey: string | undefined, keyOf: KeyOf): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = mergeKey ? patchList.filter((x) => !(isMap(x) && x[DIRECTIVE] === 'delete')) : patchList;
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    const item = items[p];
    if (isMap(item) && hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKey) {
      for (const m of [item, order[s]]) if (!isMap(m) || !hasOwn(m, mergeKey)) throw noMergeKey(isMap(m) ? m : {}, mergeKey);
    }
    if (keyOf(item) === keyOf(order[s])) p++;
    s++;
  }
  if (p < items.length) {
    throw badPatch(`The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ORDER} list:\n${goFormat(order)}\n`);
  }
}

/**
 * Orders `merged` as the server does: the items named by `patchOrder` in that
 * order, the others (server-only) in `serverOrder` order, and the two
 * interleaved — a server-only item goes before a patch item only when both are
 * live and it came first.
 */
function normalizeOrder(merged: unknown[], patchOrder: unknown[], serverOrder: unknown[], keyOf: KeyOf): unknown[] {
  const indexIn = (list: unknown[], item: unknown): number => {
    const k = keyOf(item);
    return list.findIndex((x) => keyOf(x) === k);
  };
  const patchItems = merged.filter((x) => indexIn(patchOrder, x) >= 0);
  const serverOnly = merged.filter((x) => indexIn(patchOrder, x) < 0);
  sortByIndex(patchItems, (x) => indexIn(patchOrder, x));
  sortByIndex(serverOnly, (x) => indexIn(serverOrder, x));

  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (i >= serverOnly.length) out.push(patchItems[j++]);
    else if (j >= patchItems.length) out.push(serverOnly[i++]);
    else {
      const li = indexIn(serverOrder, serverOnly[i]);
      const ri = indexIn(serverOrder, patchItems[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(patchItems[j++]);
    }
  }
  return out;
}

/** Stable sort by a position; items without one (-1) keep their relative order at the end. */
function sortByIndex(list: unknown[], position: (item: unknown) => number): void {
  const ranked = list.map((item, at) => ({ item, at, pos: position(item) }));
  ranked.sort((a, b) => (a.pos < 0 ? Infinity : a.pos) - (b.pos < 0 ? Infinity : b.pos) || a.at - b.at);
  ranked.forEach((r, k) => (list[k] = r.item));
}
