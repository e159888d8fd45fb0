/**
 * The structure server-side apply needs to know about a kind: which lists are
 * associative (and by which keys), which are sets, and which structs and maps
 * are atomic. Kubernetes reads this from the OpenAPI extensions generated
 * from its Go tags (`+listType`, `+listMapKey`, `+mapType`, `+structType`);
 * kubemu derives it from the strategic-merge metadata it already has
 * (patchMergeKey → an associative list keyed by it, `patchStrategy:merge`
 * without a key → a set), corrected where the list-map keys differ from the
 * merge key (container and service ports are keyed by port *and* protocol),
 * plus the atomic types. Everything else is what SSA assumes of an untagged
 * Go type: lists atomic, structs and maps granular.
 *
 * The Go struct layout (schema.generated.ts: pointer, omitempty) tells which
 * nodes exist in an object's zero value, which decides whether a newly set
 * struct counts as "added" in an Update's diff, as it does in Kubernetes.
 */
import { type FieldSchema, MESSAGES } from '../http/protobuf/schema.generated.js';
import { messageForKind } from '../http/protobuf/to-json.js';
import { schemaForKind, type Schema } from '../patch/smp-schema.js';

export interface Shape {
  /** A struct or map replaced and owned as a whole. */
  atomic?: boolean;
  fields?: Readonly<Record<string, Shape>>;
  /** Lists: atomic unless said otherwise. */
  list?: 'atomic' | 'set' | 'map';
  keys?: readonly string[];
  /** Defaults of key fields an item may omit (`protocol: TCP`). */
  keyDefaults?: Readonly<Record<string, unknown>>;
  elem?: Shape;
}

const PORT_KEYS = { keys: ['containerPort', 'protocol'], keyDefaults: { protocol: 'TCP' } };
const SERVICE_PORT_KEYS = { keys: ['port', 'protocol'], keyDefaults: { protocol: 'TCP' } };

/** List-map keys that differ from the strategic-merge key, by field name under its parent. */
const KEY_OVERRIDES: Readonly<Record<string, { keys: string[]; keyDefaults?: Record<string, unknown> }>> = {
  'containers.ports': PORT_KEYS,
  'initContainers.ports': PORT_KEYS,
  'ephemeralContainers.ports': PORT_KEYS,
  'spec.ports': SERVICE_PORT_KEYS,
  'spec.topologySpreadConstraints': { keys: ['topologyKey', 'whenUnsatisfiable'] },
};

/** Atomic structs and maps (`+structType=atomic`, `+mapType=atomic`), by field name under its parent. */
const ATOMIC_BY_KIND: Readonly<Record<string, readonly string[]>> = {
  // metav1.LabelSelector is atomic
  Deployment: ['spec.selector'],
  ReplicaSet: ['spec.selector'],
  DaemonSet: ['spec.selector'],
  StatefulSet: ['spec.selector'],
  Job: ['spec.selector'],
  // ServiceSpec.Selector: +mapType=atomic
  Service: ['spec.selector'],
};
/** PodSpec.NodeSelector: +mapType=atomic. */
const ATOMIC_IN_POD_SPEC = ['nodeSelector'];

const cache = new Map<string, Shape>();

export function shapeForKind(kind: string): Shape {
  let s = cache.get(kind);
  if (!s) {
    s = convert(schemaForKind(kind), '');
    for (const p of ATOMIC_BY_KIND[kind] ?? []) markAtomic(s, p.split('.'));
    cache.set(kind, s);
  }
  return s;
}

function convert(schema: Schema, parent: string): Shape {
  const fields: Record<string, Shape> = {};
  for (const [name, meta] of Object.entries(schema)) {
    const inner = meta.fields ? convert(meta.fields, name) : undefined;
    if (meta.strategy === 'merge' && meta.mergeKey) {
      const o = KEY_OVERRIDES[`${parent}.${name}`];
      fields[name] = { list: 'map', keys: o?.keys ?? [meta.mergeKey], keyDefaults: o?.keyDefaults, elem: inner };
    } else if (meta.strategy === 'merge') fields[name] = { list: 'set' };
    else fields[name] = inner ?? {};
  }
  if (parent === 'spec' && 'containers' in fields) for (const a of ATOMIC_IN_POD_SPEC) fields[a] = { atomic: true };
  return { fields };
}

function markAtomic(s: Shape, path: string[]): void {
  let node = s as { fields?: Record<string, Shape> };
  for (let i = 0; i < path.length - 1; i++) {
    node = (node.fields?.[path[i]] ?? {}) as { fields?: Record<string, Shape> };
  }
  if (node.fields) (node.fields as Record<string, Shape>)[path[path.length - 1]] = { atomic: true };
}

/** The shape of a field of an object node (empty when unknown: granular, lists atomic). */
export function fieldShape(s: Shape | undefined, name: string): Shape | undefined {
  return s?.fields?.[name];
}

// ---- Go zero values ----------------------------------------------------------

const goFields = new Map<string, Map<string, FieldSchema>>();

function goFieldsOf(message: string): Map<string, FieldSchema> {
  let t = goFields.get(message);
  if (t) return t;
  t = new Map();
  const embedded: FieldSchema[] = [];
  for (const f of MESSAGES[message] ?? []) {
    if (f.skip) continue;
    if (f.inline && Object.hasOwn(MESSAGES, f.kind)) embedded.push(f);
    else t.set(f.jsonName, f);
  }
  for (const e of embedded) for (const [n, f] of goFieldsOf(e.kind)) if (!t.has(n)) t.set(n, f);
  goFields.set(message, t);
  return t;
}

/** A position in the Go type: a struct's message, a list's item message, or a map's value message, and the field it sits in. */
export interface GoType {
  message?: string;
  field?: FieldSchema;
  listItem?: string;
  /** Set on map nodes: the message of the values ('' when scalar). */
  mapValue?: string;
}

export function goRoot(kind: string, apiVersion: string): GoType {
  return { message: messageForKind(apiVersion, kind) };
}

const msg = (k: string): string | undefined => (Object.hasOwn(MESSAGES, k) ? k : undefined);

export function goChild(t: GoType | undefined, name: string): GoType | undefined {
  if (!t) return undefined;
  if (t.mapValue !== undefined) return { message: msg(t.mapValue) };
  if (!t.message) return undefined;
  const f = goFieldsOf(t.message).get(name);
  if (!f) return undefined;
  const map = /^map<\w+,([\w.]+)>$/.exec(f.kind);
  if (map) return { field: f, mapValue: msg(map[1]) ?? '' };
  if (f.repeated) return { field: f, listItem: msg(f.kind) };
  return { field: f, message: msg(f.kind) };
}

/** The element type of a list node. */
export function goItem(t: GoType | undefined): GoType | undefined {
  return t?.listItem ? { message: t.listItem } : undefined;
}

/**
 * Whether the Go zero value of the enclosing struct already has this node:
 * a non-pointer struct always serializes (omitempty never drops structs), and
 * a list or map without omitempty serializes as null.
 */
export function presentInZeroValue(t: GoType | undefined): boolean {
  const f = t?.field;
  if (!f || f.ptr) return false;
  const isMap = f.kind.startsWith('map<');
  if (f.repeated || isMap) return !f.omitempty;
  return Object.hasOwn(MESSAGES, f.kind) && !['meta.v1.Time', 'meta.v1.MicroTime', 'intstr.IntOrString', 'resource.Quantity', 'meta.v1.Duration'].includes(f.kind);
}
