/**
 * Objects walked with their Shape, as structured-merge-diff's typed values:
 *   toFieldSet  the fields an applied configuration sets (what its manager owns)
 *   compare     what changed between two versions (added / modified / removed)
 *   merge       an applied configuration merged into the live object
 *   removeItems the live object without some paths
 */
import { field, FieldSet, keyElement, pathString, valueElement, type Path, type PathElement } from './fieldpath.js';
import { type GoType, type Shape, fieldShape, goChild, goItem, presentInZeroValue } from './shape.js';

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** A malformed value, reported with the SMD path of where it is. */
export class TypedError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

const listKind = (s: Shape | undefined) => s?.list ?? 'atomic';

/** The path element of an item of a map or set list; throws TypedError when a key is missing. */
export function itemElement(s: Shape, item: unknown, index: number, at: Path): PathElement {
  if (s.list === 'set') return valueElement(item);
  if (!isObject(item)) throw new TypedError(pathString(at), `element ${index}: associative list with keys may not have non-map elements`);
  const keys: Record<string, unknown> = {};
  for (const k of s.keys ?? []) {
    if (item[k] !== undefined && item[k] !== null) keys[k] = item[k];
    else if (s.keyDefaults && k in s.keyDefaults) keys[k] = s.keyDefaults[k];
    else throw new TypedError(pathString(at), `element ${index}: associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)`);
  }
  return keyElement(keys);
}

function indexItems(s: Shape, list: unknown[], at: Path, strict: boolean): Map<PathElement, unknown> {
  const out = new Map<PathElement, unknown>();
  list.forEach((item, i) => {
    const pe = itemElement(s, item, i, at);
    if (out.has(pe) && strict) throw new TypedError(pathString(at), `duplicate entries for key ${pathString([pe])}`);
    if (!out.has(pe)) out.set(pe, item);
  });
  return out;
}

// ---- toFieldSet ---------------------------------------------------------------

/** The set of an applied configuration: leaves, atomic nodes, list items, empty maps. */
export function toFieldSet(v: unknown, s: Shape | undefined): FieldSet {
  const set = new FieldSet();
  walkSet(v, s, [], set);
  return set;
}

function walkSet(v: unknown, s: Shape | undefined, path: PathElement[], set: FieldSet): void {
  if (isObject(v)) {
    if (s?.atomic) return set.insert(path);
    for (const [k, child] of Object.entries(v)) {
      if (child === undefined) continue;
      const p = [...path, field(k)];
      walkSet(child, fieldShape(s, k), p, set);
      if (child === null || (isObject(child) && Object.keys(child).length === 0)) set.insert(p);
    }
    return;
  }
  if (Array.isArray(v)) {
    const kind = listKind(s);
    if (kind === 'atomic') return set.insert(path);
    const items = indexItems(s!, v, path, true);
    for (const [pe, item] of items) {
      const p = [...path, pe];
      if (kind === 'map') walkSet(item, s!.elem ?? {}, p, set);
      set.insert(p);
    }
    return;
  }
  set.insert(path);
}

// ---- compare ------------------------------------------------------------------

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * lhs → rhs. A struct or list that appears is itself "added" unless the Go
 * zero value of its parent already had it (a non-pointer struct, a list
 * without omitempty), as Kubernetes compares the typed objects.
 */
export function compare(lhs: unknown, rhs: unknown, s: Shape | undefined, go?: GoType): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(lhs, rhs, s, go, [], c, true, true);
  return c;
}

/** `lParent`/`rParent`: whether the node's parent exists on that side (only then can its Go zero value hold the node). */
function walkCompare(l: unknown, r: unknown, s: Shape | undefined, go: GoType | undefined, path: PathElement[], c: Comparison, lParent: boolean, rParent: boolean): void {
  if (l === undefined && r === undefined) return;
  const leaf = () => {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
    else if (!deepEqual(l, r)) c.modified.insert(path);
  };
  // Whether the node exists on each side, counting the Go zero value of an existing parent.
  const zero = path.length > 0 && presentInZeroValue(go);
  const lHas = l !== undefined || (lParent && zero);
  const rHas = r !== undefined || (rParent && zero);
  const lObj = l === undefined || isObject(l);
  const rObj = r === undefined || isObject(r);
  const lArr = l === undefined || Array.isArray(l);
  const rArr = r === undefined || Array.isArray(r);
  if (lObj && rObj && !s?.atomic && !(l === undefined && r === undefined)) {
    const lo = (l ?? {}) as Obj;
    const ro = (r ?? {}) as Obj;
    for (const k of new Set([...Object.keys(lo), ...Object.keys(ro)])) {
      walkCompare(lo[k], ro[k], fieldShape(s, k), goChild(go, k), [...path, field(k)], c, lHas, rHas);
    }
  } else if (lArr && rArr && listKind(s) !== 'atomic') {
    const li = indexItems(s!, (l ?? []) as unknown[], path, false);
    const ri = indexItems(s!, (r ?? []) as unknown[], path, false);
    for (const pe of new Set([...li.keys(), ...ri.keys()])) {
      const p = [...path, pe];
      if (s!.list === 'set') {
        if (!li.has(pe)) c.added.insert(p);
        else if (!ri.has(pe)) c.removed.insert(p);
      } else walkCompare(li.get(pe), ri.get(pe), s!.elem ?? {}, goItem(go), p, c, l !== undefined, r !== undefined);
    }
  } else {
    leaf();
    return;
  }
  if (path.length === 0) return;
  if (!lHas) c.added.insert(path);
  else if (!rHas) c.removed.insert(path);
}

// ---- merge --------------------------------------------------------------------

/** The applied configuration merged into the live object (SMD TypedValue.Merge). */
export function merge(live: unknown, config: unknown, s: Shape | undefined): unknown {
  if (config === undefined) return live;
  if (live === undefined || live === null) return structuredClone(config);
  if (isObject(live) && isObject(config) && !s?.atomic) {
    const out: Obj = { ...live };
    for (const [k, v] of Object.entries(config)) {
      if (v === undefined) continue;
      out[k] = merge(live[k], v, fieldShape(s, k));
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(config) && listKind(s) !== 'atomic') {
    const at: PathElement[] = [];
    const li = indexItems(s!, live, at, false);
    const ci = indexItems(s!, config, at, true);
    const out: unknown[] = [];
    for (const [pe, item] of li) out.push(ci.has(pe) && s!.list === 'map' ? merge(item, ci.get(pe), s!.elem ?? {}) : item);
    for (const [pe, item] of ci) if (!li.has(pe)) out.push(structuredClone(item));
    return out;
  }
  return structuredClone(config);
}

// ---- removal --------------------------------------------------------------------

/** Removes `path` from `obj` in place; returns whether something was there. */
export function removePath(obj: unknown, path: Path, s: Shape | undefined): boolean {
  if (path.length === 0) return false;
  const [pe, ...rest] = path;
  if (pe.startsWith('f:') && isObject(obj)) {
    const k = pe.slice(2);
    if (!(k in obj)) return false;
    if (rest.length === 0) {
      delete obj[k];
      return true;
    }
    const done = removePath(obj[k], rest, fieldShape(s, k));
    if (done && isEmptyContainer(obj[k])) delete obj[k];
    return done;
  }
  if ((pe.startsWith('k:') || pe.startsWith('v:')) && Array.isArray(obj) && s && s.list !== 'atomic' && s.list !== undefined) {
    for (let i = 0; i < obj.length; i++) {
      let ipe: PathElement;
      try {
        ipe = itemElement(s, obj[i], i, []);
      } catch {
        continue;
      }
      if (ipe !== pe) continue;
      if (rest.length === 0) {
        obj.splice(i, 1);
        return true;
      }
      return removePath(obj[i], rest, s.elem ?? {});
    }
  }
  return false;
}

function isEmptyContainer(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** Drops nulls an applied configuration left in the merged object (null removes a field). */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isObject(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
    return out;
  }
  return v;
}
