/**
 * Validation plumbing: FieldError constructors worded as Kubernetes' field.Error,
 * Go-literal rendering for the values Kubernetes prints with %#v, and a typed
 * reader that turns wrong JSON types into FieldValueTypeInvalid errors instead
 * of exceptions.
 *
 * Model: validators read untrusted JSON through a `Reader`, which returns the
 * value when it has the expected type, `undefined` when it is absent (JSON null
 * counts as absent, as Go's decoder treats it), and otherwise records
 * `<path>: Invalid value: "<actual type>": must be of type <type>` and returns
 * `undefined`. Callers then apply Go's zero-value semantics (`?? 0`, `?? ''`).
 */
import type { FieldError } from '../errors.js';
import { scalarString } from '../names.js';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const child = (path: string, name: string): string => (path ? `${path}.${name}` : name);
export const index = (path: string, i: number): string => `${path}[${i}]`;
export const key = (path: string, k: string): string => `${path}[${k}]`;

// ---- constructors ------------------------------------------------------------------

export const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, ...(detail ? { detail } : {}) });
export const invalid = (field: string, badValue: unknown, detail?: string): FieldError => ({ type: 'FieldValueInvalid', field, badValue, ...(detail ? { detail } : {}) });
export const forbidden = (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail });
export const duplicate = (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, badValue });
/** field.NotFound: `Not found: "x"`. */
export const notFound = (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueNotFound', field, badValue });
export const tooLong = (field: string, max: number): FieldError => ({ type: 'FieldValueTooLong', field, detail: `may not be more than ${max} bytes` });
export const tooMany = (field: string, actual: number, max: number): FieldError => ({
  type: 'FieldValueTooMany',
  field,
  detail: `${actual}: must have at most ${max} items`,
});
export const internal = (field: string, detail: string): FieldError => ({ type: 'InternalError', field, detail });

/** field.NotSupported: `Unsupported value: "x": supported values: "a", "b"`. */
export const notSupported = (field: string, badValue: unknown, valid: readonly string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  badValue,
  ...(valid.length ? { detail: `supported values: ${valid.map((v) => JSON.stringify(v)).join(', ')}` } : {}),
});

/** An Invalid/Duplicate error whose value Kubernetes prints as a Go literal (%#v): the literal goes in the detail. */
export const invalidLit = (field: string, literal: string, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, detail: `${literal}: ${detail}` });
export const duplicateLit = (field: string, literal: string): FieldError => ({ type: 'FieldValueDuplicate', field, detail: literal });

export const FIELD_IMMUTABLE = 'field is immutable';
export const IS_NEGATIVE = 'must be greater than or equal to 0';

export function nonNegative(v: number, field: string): FieldError[] {
  return v < 0 ? [invalid(field, v, IS_NEGATIVE)] : [];
}

/** One FieldValueInvalid per message from a `check*` function. */
export function eachInvalid(field: string, value: unknown, msgs: string[]): FieldError[] {
  return msgs.map((m) => invalid(field, value, m));
}

// ---- Go literals -----------------------------------------------------------------------

const q = (s: string): string => JSON.stringify(s);

export function goStringSlice(v: unknown): string {
  if (!Array.isArray(v)) return '[]string(nil)';
  return `[]string{${v.map((s) => q(scalarString(s))).join(', ')}}`;
}

export function goStringMap(v: unknown): string {
  if (!isObj(v)) return 'map[string]string(nil)';
  const keys = Object.keys(v).sort();
  return `map[string]string{${keys.map((k) => `${q(k)}:${q(scalarString(v[k]))}`).join(', ')}}`;
}

export function goLabelSelector(v: unknown): string {
  const s = isObj(v) ? v : {};
  const ml = s.matchLabels === undefined || s.matchLabels === null ? 'map[string]string(nil)' : goStringMap(s.matchLabels);
  let me = '[]v1.LabelSelectorRequirement(nil)';
  if (Array.isArray(s.matchExpressions)) {
    const items = s.matchExpressions.map((e) => {
      const r = isObj(e) ? e : {};
      const vals = r.values === undefined || r.values === null ? '[]string(nil)' : goStringSlice(r.values);
      return `v1.LabelSelectorRequirement{Key:${q(scalarString(r.key))}, Operator:${q(scalarString(r.operator))}, Values:${vals}}`;
    });
    me = `[]v1.LabelSelectorRequirement{${items.join(', ')}}`;
  }
  return `v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`;
}

export function goIntOrString(v: unknown): string {
  if (typeof v === 'string') return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${q(v)}}`;
  const n = typeof v === 'number' ? v : 0;
  return `intstr.IntOrString{Type:0, IntVal:${n}, StrVal:""}`;
}

// ---- typed reader ----------------------------------------------------------------------------

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export class Reader {
  readonly errs: FieldError[] = [];

  push(...e: FieldError[]): void {
    for (const x of e) this.errs.push(x);
  }

  typeError(path: string, v: unknown, want: string): void {
    this.errs.push({ type: 'FieldValueTypeInvalid', field: path, badValue: jsonType(v), detail: `must be of type ${want}` });
  }

  /** An object at `o[k]`; `{}`-like fallback is the caller's job. */
  obj(o: Obj | undefined, k: string, path: string): Obj | undefined {
    const v = o?.[k];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.typeError(path, v, 'object');
      return undefined;
    }
    return v;
  }

  arr(o: Obj | undefined, k: string, path: string): unknown[] | undefined {
    const v = o?.[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.typeError(path, v, 'array');
      return undefined;
    }
    return v;
  }

  /** The elements of a list of objects; null elements read as `{}` (Go's zero struct), others are type errors. */
  objList(o: Obj | undefined, k: string, path: string): [Obj, string][] {
    const a = this.arr(o, k, path);
    if (!a) return [];
    const out: [Obj, string][] = [];
    a.forEach((e, i) => {
      if (e === null || e === undefined) out.push([{}, index(path, i)]);
      else if (isObj(e)) out.push([e, index(path, i)]);
      else this.typeError(index(path, i), e, 'object');
    });
    return out;
  }

  str(o: Obj | undefined, k: string, path: string): string | undefined {
    const v = o?.[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.typeError(path, v, 'string');
      return undefined;
    }
    return v;
  }

  bool(o: Obj | undefined, k: string, path: string): boolean | undefined {
    const v = o?.[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.typeError(path, v, 'boolean');
      return undefined;
    }
    return v;
  }

  /** An integer (int32 unless `wide`). */
  int(o: Obj | undefined, k: string, path: string, wide = false): number | undefined {
    const v = o?.[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.typeError(path, v, wide ? 'int64' : 'int32');
      return undefined;
    }
    if (!wide && (v < INT32_MIN || v > INT32_MAX)) {
      this.typeError(path, v, 'int32');
      return undefined;
    }
    if (wide && !Number.isSafeInteger(v)) {
      this.typeError(path, v, 'int64');
      return undefined;
    }
    return v;
  }

  /** IntOrString: an int32 or a string. */
  intOrStr(o: Obj | undefined, k: string, path: string): number | string | undefined {
    const v = o?.[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return v;
    this.typeError(path, v, 'int-or-string');
    return undefined;
  }

  strList(o: Obj | undefined, k: string, path: string): string[] | undefined {
    const a = this.arr(o, k, path);
    if (!a) return undefined;
    const out: string[] = [];
    a.forEach((e, i) => {
      if (typeof e === 'string') out.push(e);
      else if (e === null) out.push('');
      else this.typeError(index(path, i), e, 'string');
    });
    return out;
  }

  /** map[string]string; non-string values are type errors and dropped. */
  strMap(o: Obj | undefined, k: string, path: string): Record<string, string> | undefined {
    const m = this.obj(o, k, path);
    if (!m) return undefined;
    const out: Record<string, string> = {};
    for (const [mk, mv] of Object.entries(m)) {
      if (typeof mv === 'string') out[mk] = mv;
      else if (mv === null) out[mk] = '';
      else this.typeError(key(path, mk), mv, 'string');
    }
    return out;
  }
}

/** Go's sort.Strings order for ASCII (code unit order). */
export function sortedStrings(v: Iterable<string>): string[] {
  return [...v].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
