/**
 * Small helpers shared by the patch engines: JSON value predicates, deep
 * copies, and Go-style formatting of values for error messages (so our
 * messages read like the ones kube-apiserver prints, e.g. `map[name:web]`).
 */

export type JsonMap = Record<string, unknown>;

/** A JSON object (not null, not an array). */
export function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Own-property access. Plain `obj[key]` would read or replace the prototype
 * for a key named `__proto__` (a legal ConfigMap data key), so every engine
 * reads and writes object members through these two.
 */
export function getOwn(obj: JsonMap, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

export function hasOwn(obj: JsonMap, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

export function setOwn(obj: JsonMap, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A deep copy of a JSON value; the patch engines mutate only copies. */
export function cloneJson<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** A value printed the way Go's `%v` prints decoded JSON: `map[a:1 b:[x y]]`. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isMap(v)) {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goFormat(v[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

/** The Go type name encoding/json reports for a JSON value ("array", "string", ...). */
export function goJsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}
