/**
 * Unknown and duplicate fields in request bodies, as kube-apiserver finds
 * them when it decodes a built-in kind into its Go struct.
 *
 * Kubernetes never stores a field its Go types do not declare: decoding
 * drops it. With `?fieldValidation=Strict` the request fails instead
 * (`strict decoding error: unknown field "spec.replicass"`), with `Warn` (the
 * default) each one comes back as a `Warning` header, with `Ignore` it just
 * disappears. Duplicate keys in a JSON body are reported the same way
 * (`duplicate field "x"`).
 *
 * The Go structs are described by the protobuf schema table
 * (protobuf/schema.generated.ts), whose field names are the Go JSON names:
 *  - every object also takes TypeMeta's apiVersion and kind at the top;
 *  - embedded (inline) structs contribute their fields to the parent;
 *  - map-valued fields take any key; Time, MicroTime, Duration,
 *    IntOrString, Quantity, RawExtension and FieldsV1 decode themselves and
 *    take anything;
 *  - json:"-" fields are unknown, as in Go.
 * Matching is case-sensitive, as Kubernetes' decoder is. Values of the wrong
 * JSON type are left to the rest of the server.
 *
 * Paths are Go's strict-decoding paths: `spec.template.spec.containers[0].x`,
 * map keys joined with a dot.
 */
import type { KubeObject } from '@kubemu/api';
import { messageForKind } from './protobuf/to-json.js';
import { type FieldSchema, MESSAGES } from './protobuf/schema.generated.js';

/** Messages with their own JSON decoding: they accept whatever they are given. */
const OPAQUE = new Set(['meta.v1.Time', 'meta.v1.MicroTime', 'meta.v1.Duration', 'intstr.IntOrString', 'resource.Quantity', 'runtime.RawExtension', 'meta.v1.FieldsV1']);

/** The top-level TypeMeta, which the protobuf messages leave out. */
const TYPE_META: FieldSchema[] = [
  { no: 0, jsonName: 'apiVersion', kind: 'string', omitempty: true },
  { no: 0, jsonName: 'kind', kind: 'string', omitempty: true },
];

/** Kubernetes' decoder keeps at most this many strict errors. */
export const MAX_STRICT_ERRORS = 100;

const fieldTables = new Map<string, Map<string, FieldSchema>>();

/** JSON name → field of a message, embedded structs flattened (the outer struct's own fields win, as in Go). */
function fieldsOf(message: string, top = false): Map<string, FieldSchema> {
  const key = top ? `${message}#top` : message;
  let t = fieldTables.get(key);
  if (t) return t;
  t = new Map();
  const embedded: FieldSchema[] = [];
  for (const f of [...(top ? TYPE_META : []), ...(MESSAGES[message] ?? [])]) {
    if (f.skip) continue;
    if (f.inline && Object.hasOwn(MESSAGES, f.kind)) embedded.push(f);
    else t.set(f.jsonName, f);
  }
  for (const e of embedded) for (const [name, f] of fieldsOf(e.kind)) if (!t.has(name)) t.set(name, f);
  fieldTables.set(key, t);
  return t;
}

/** The message a kind decodes into, or undefined for kinds kubemu has no schema for. */
export function messageFor(kind: string, apiVersion: string): string | undefined {
  return messageForKind(apiVersion, kind);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const MAP_VALUE = /^map<\w+,([\w.]+)>$/;

/** The message a field's values are, if they are structs that need checking. */
function structKind(kind: string): string | undefined {
  return Object.hasOwn(MESSAGES, kind) && !OPAQUE.has(kind) ? kind : undefined;
}

// ---- parsed objects -----------------------------------------------------------------

type Visit = (path: string, key: string) => void;

/**
 * Walks `value` as a `message`, calling `unknown` for each unknown key and
 * returning the value with those keys removed when `prune` is set (a copy;
 * the input is never modified).
 */
function walk(value: unknown, message: string, path: string, top: boolean, unknown: Visit | undefined, prune: boolean): unknown {
  if (!isObject(value)) return value;
  const fields = fieldsOf(message, top);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const f = fields.get(k);
    if (!f) {
      unknown?.(path, k);
      continue;
    }
    setKey(out, k, walkField(v, f, child(path, k), unknown, prune));
  }
  return prune ? out : value;
}

function walkField(v: unknown, f: FieldSchema, path: string, unknown: Visit | undefined, prune: boolean): unknown {
  const mapValue = MAP_VALUE.exec(f.kind)?.[1];
  if (mapValue !== undefined) {
    const m = structKind(mapValue);
    if (!m || !isObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setKey(out, k, walk(x, m, child(path, k), false, unknown, prune));
    return prune ? out : v;
  }
  const m = structKind(f.kind);
  if (!m) return v;
  if (f.repeated) {
    if (!Array.isArray(v)) return v;
    const out = v.map((x, i) => walk(x, m, `${path}[${i}]`, false, unknown, prune));
    return prune ? out : v;
  }
  return walk(v, m, path, false, unknown, prune);
}

/** Sets a key without ever touching the prototype ("__proto__" becomes an own property, as JSON.parse does). */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * The paths of the fields of `obj` that its kind's Go type does not declare,
 * in document order, e.g. `spec.replicass`, `spec.template.spec.containers[0].imagePullPolicyy`.
 * Kinds without a schema have none.
 */
export function unknownFields(obj: unknown, kind: string, apiVersion: string): string[] {
  const message = messageFor(kind, apiVersion);
  if (!message) return [];
  const out: string[] = [];
  walk(obj, message, '', true, (path, key) => out.push(child(path, key)), false);
  return out;
}

/** A copy of `obj` without the fields `unknownFields` reports. */
export function pruneUnknownFields<T = KubeObject>(obj: T, kind: string, apiVersion: string): T {
  const message = messageFor(kind, apiVersion);
  if (!message || !isObject(obj)) return obj;
  return walk(obj, message, '', true, undefined, true) as T;
}

// ---- raw JSON -----------------------------------------------------------------------

/** What a JSON value is decoded into, for the strict checks. */
type Shape =
  | { t: 'struct'; message: string; top?: boolean }
  | { t: 'map'; value: Shape }
  | { t: 'list'; elem: Shape }
  /** interface{} / map[string]interface{}: any keys, duplicates still reported */
  | { t: 'any' }
  /** scalars, and types that unmarshal themselves: not looked into */
  | { t: 'opaque' };

const ANY: Shape = { t: 'any' };
const ANY_KIND = '#any';
const OPAQUE_SHAPE: Shape = { t: 'opaque' };

function valueShape(kind: string): Shape {
  if (kind === ANY_KIND) return ANY;
  const mapValue = MAP_VALUE.exec(kind)?.[1];
  if (mapValue !== undefined) return { t: 'map', value: valueShape(mapValue) };
  const m = structKind(kind);
  return m ? { t: 'struct', message: m } : OPAQUE_SHAPE;
}

function fieldShape(f: FieldSchema): Shape {
  const v = valueShape(f.kind);
  return f.repeated && !MAP_VALUE.test(f.kind) ? { t: 'list', elem: v } : v;
}

class Scanner {
  i = 0;
  readonly errors: string[] = [];
  readonly #seen = new Set<string>();
  constructor(readonly s: string) {}

  report(type: 'unknown field' | 'duplicate field', path: string): void {
    if (this.errors.length >= MAX_STRICT_ERRORS) return;
    const e = `${type} ${goQuote(path)}`;
    if (this.#seen.has(e)) return;
    this.#seen.add(e);
    this.errors.push(e);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  /** A string literal at i; returns its value. */
  string(): string {
    const s = this.s;
    const start = this.i;
    if (s[this.i] !== '"') throw new SyntaxError('expected a string');
    this.i++;
    let escaped = false;
    for (; this.i < s.length; this.i++) {
      const c = s.charCodeAt(this.i);
      if (c === 0x5c) {
        escaped = true;
        this.i++;
      } else if (c === 0x22) break;
    }
    this.i++;
    const raw = s.slice(start, this.i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  value(shape: Shape, path: string): void {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object(shape, path);
    if (c === '[') {
      this.i++;
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return;
      }
      const elem: Shape = shape.t === 'list' ? shape.elem : shape.t === 'any' ? ANY : OPAQUE_SHAPE;
      for (let n = 0; ; n++) {
        this.value(elem, `${path}[${n}]`);
        this.ws();
        if (this.s[this.i++] === ']') return;
      }
    }
    if (c === '"') {
      this.string();
      return;
    }
    // number, true, false, null
    while (this.i < this.s.length && !',}] \n\r\t'.includes(this.s[this.i])) this.i++;
  }

  object(shape: Shape, path: string): void {
    this.i++; // {
    const fields = shape.t === 'struct' ? fieldsOf(shape.message, shape.top) : undefined;
    // Only structs, maps and interface{} values are checked; anything else (a
    // type error, or a type that decodes itself) is skipped.
    const checked = shape.t === 'struct' || shape.t === 'map' || shape.t === 'any';
    const seen = new Set<string>();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.ws();
      this.i++; // :
      let sub: Shape = OPAQUE_SHAPE;
      if (checked) {
        if (fields) {
          const f = fields.get(key);
          if (!f) this.report('unknown field', child(path, key));
          else {
            if (seen.has(key)) this.report('duplicate field', child(path, key));
            seen.add(key);
            sub = fieldShape(f);
          }
        } else {
          if (seen.has(key)) this.report('duplicate field', child(path, key));
          seen.add(key);
          sub = shape.t === 'map' ? shape.value : ANY;
        }
      }
      this.value(sub, fields && !fields.has(key) ? '' : child(path, key));
      this.ws();
      if (this.s[this.i++] === '}') return;
    }
  }
}

/**
 * Kubernetes' strict-decoding complaints about a JSON body decoded as `kind`:
 * `unknown field "spec.x"` and `duplicate field "metadata.name"`, in document
 * order, deduplicated, at most 100. The text must be valid JSON (parse it
 * first); kinds without a schema only get duplicate keys reported.
 */
export function strictDecodingErrors(json: string, kind: string, apiVersion: string): string[] {
  const message = messageFor(kind, apiVersion);
  const sc = new Scanner(json);
  try {
    sc.value(message ? { t: 'struct', message, top: true } : ANY, '');
  } catch {
    // Not JSON after all: the caller's parser has the say.
  }
  return sc.errors;
}

/** Strict errors for the operations of a JSON patch: only op, path, from and value are known. */
export function jsonPatchStrictErrors(json: string): string[] {
  const sc = new Scanner(json);
  try {
    sc.value({ t: 'list', elem: { t: 'struct', message: JSON_PATCH_OP } }, '');
  } catch {
    // ignore, as above
  }
  return sc.errors.map((e) => `json patch ${e}`);
}

const JSON_PATCH_OP = '#jsonPatchOp';
fieldTables.set(
  JSON_PATCH_OP,
  new Map(['op', 'path', 'from', 'value'].map((n) => [n, { no: 0, jsonName: n, kind: n === 'value' ? ANY_KIND : 'string' }])),
);

/** `unknown field "spec.x"` for each path. */
export function unknownFieldErrors(paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => `unknown field ${goQuote(p)}`))].slice(0, MAX_STRICT_ERRORS);
}

/** `strict decoding error: unknown field "spec.a", unknown field "spec.b"` */
export function strictDecodingMessage(errs: readonly string[]): string {
  return `strict decoding error: ${errs.join(', ')}`;
}

// ---- fieldValidation ----------------------------------------------------------------

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

const DIRECTIVES = ['', 'Ignore', 'Strict', 'Warn'];

/**
 * The `fieldValidation` query parameter: Warn when absent or empty, as
 * kube-apiserver defaults it; undefined for a value it would refuse.
 */
export function parseFieldValidation(q: URLSearchParams): FieldValidation | undefined {
  const v = q.get('fieldValidation') ?? '';
  if (!DIRECTIVES.includes(v)) return undefined;
  return v === '' ? 'Warn' : (v as FieldValidation);
}

/** The message of the 422 for an unsupported fieldValidation value (kind CreateOptions, UpdateOptions or PatchOptions). */
export function fieldValidationNotSupported(value: string): string {
  return `fieldValidation: Unsupported value: ${goQuote(value)}: supported values: ${DIRECTIVES.map((d) => goQuote(d)).join(', ')}`;
}

/**
 * `299 - "text"` with `"` and `\` escaped, as Kubernetes writes a warning;
 * the text's UTF-8 bytes are carried as they are (Node sends header strings
 * as latin1, so they are handed over one byte per character).
 */
export function warningHeader(text: string): string {
  const quoted = `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return Buffer.from(`299 - ${quoted}`, 'utf8').toString('latin1');
}

// ---- Go formatting ------------------------------------------------------------------

/** strconv.Quote: Go's double-quoted string literal. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd'; // a lone surrogate: Go's string holds U+FFFD
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad || c === 0x2028 || c === 0x2029 || (c >= 0xfff9 && c <= 0xfffb) || c === 0xfeff) {
      out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** fmt's %v of a float64 (%g with the shortest digits). */
function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, ex] = n.toExponential().split('e'); // shortest round-trip digits
  const x = Number(ex);
  // strconv's %g with the shortest digits switches to %e below 1e-4 and from 1e6 on.
  if (x < -4 || x >= 6) return `${mant}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  return String(n);
}

/**
 * fmt's %+v of a decoded JSON value (map[string]interface{} with sorted keys,
 * []interface{}, int64 for integers, float64 otherwise), as Kubernetes prints
 * a strategic merge patch in its errors: `map[spec:map[replicass:3]]`.
 */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `map[${keys.map((k) => `${k}:${goFormat((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : goFloat(v);
  return String(v);
}
