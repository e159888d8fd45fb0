/**
 * Turns a Kubernetes protobuf message into the JSON object Kubernetes' own
 * JSON encoding would produce for the same Go object — what a client sending
 * JSON (kubectl ≤ 1.31) puts on the wire.
 *
 * That is Go's decode-then-encoding/json, simulated from the schema table:
 *  - pointer fields (ptr) appear when present on the wire;
 *  - value fields decode to their Go zero value when absent, and omitempty
 *    drops zero scalars and empty lists/maps — never structs, so an empty
 *    ObjectMeta still shows as {}, a zero metav1.Time as null;
 *  - embedded structs (inline) merge their fields into the parent;
 *  - lists/maps/pointers without omitempty show as null when empty/absent.
 * Well-known types have their Go JSON forms: Time/MicroTime → RFC 3339,
 * IntOrString → number or string, Quantity → string, Duration → "1h0m0s",
 * RawExtension/FieldsV1 → the embedded JSON, bytes → base64.
 * Unknown field numbers are skipped; a known field with the wrong wire type
 * is an error, as in Go.
 */
import { ANY_VERSION_KINDS, type FieldSchema, KINDS, MESSAGES } from './schema.generated.js';
import { protobufError, type Varint, varintToInt32, varintToInt64, varintToUint64, WireReader, WireType } from './wire.js';

/** Nested messages, including objects inside RawExtensions. */
export const MAX_DEPTH = 100;

/** Every Kubernetes protobuf object starts with "k8s\0". */
export const PROTOBUF_MAGIC: readonly number[] = [0x6b, 0x38, 0x73, 0x00];

type Scalar = string | number | boolean;

interface Compiled {
  fields: readonly FieldSchema[];
  byNo: Map<number, FieldSchema>;
}
const compiled = new Map<string, Compiled>();
function schemaOf(type: string): Compiled {
  let c = compiled.get(type);
  if (!c) {
    const fields = MESSAGES[type];
    if (!fields) throw protobufError(`no schema for message ${type}`);
    c = { fields, byNo: new Map(fields.map((f) => [f.no, f])) };
    compiled.set(type, c);
  }
  return c;
}

const utf8 = new TextDecoder('utf-8'); // invalid sequences → U+FFFD, as Go's JSON encoder does

function isMessageKind(kind: string): boolean {
  return kind in MESSAGES;
}

const mapKinds = new Map<string, [string, string] | undefined>();
function mapTypes(kind: string): [string, string] | undefined {
  if (!mapKinds.has(kind)) {
    const m = /^map<(\w+),([\w.]+)>$/.exec(kind);
    mapKinds.set(kind, m ? [m[1], m[2]] : undefined);
  }
  return mapKinds.get(kind);
}

/** Sets a key without ever touching the prototype ("__proto__" becomes an own property, as JSON.parse does). */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// ---- scalars ----------------------------------------------------------------------

const VARINT_KINDS = new Set(['int32', 'int64', 'uint32', 'uint64', 'bool', 'sint32', 'sint64']);
const FIXED32_KINDS = new Set(['fixed32', 'sfixed32', 'float']);
const FIXED64_KINDS = new Set(['fixed64', 'sfixed64', 'double']);

function expectedWire(kind: string): number {
  if (VARINT_KINDS.has(kind)) return WireType.VARINT;
  if (FIXED32_KINDS.has(kind)) return WireType.FIXED32;
  if (FIXED64_KINDS.has(kind)) return WireType.FIXED64;
  return WireType.LEN; // string, bytes, messages, map entries
}

function zigzag64(v: Varint): number {
  const big = (BigInt(v.hi >>> 0) << 32n) | BigInt(v.lo >>> 0);
  return Number((big >> 1n) ^ -(big & 1n));
}

function readScalar(r: WireReader, kind: string, field: string): Scalar {
  switch (kind) {
    case 'int32':
      return varintToInt32(r.varint());
    case 'int64':
      return varintToInt64(r.varint());
    case 'uint32':
      return r.varint().lo >>> 0;
    case 'uint64':
      return varintToUint64(r.varint());
    case 'sint32': {
      const lo = r.varint().lo >>> 0;
      return (lo >>> 1) ^ -(lo & 1);
    }
    case 'sint64':
      return zigzag64(r.varint());
    case 'bool': {
      const v = r.varint();
      return v.lo !== 0 || v.hi !== 0;
    }
    case 'fixed32':
      return r.fixed32();
    case 'sfixed32':
      return r.fixed32() | 0;
    case 'float': {
      const dv = new DataView(new ArrayBuffer(4));
      dv.setUint32(0, r.fixed32(), true);
      return finite(dv.getFloat32(0, true), field);
    }
    case 'fixed64':
      return varintToUint64(r.fixed64());
    case 'sfixed64':
      return varintToInt64(r.fixed64());
    case 'double': {
      const { lo, hi } = r.fixed64();
      const dv = new DataView(new ArrayBuffer(8));
      dv.setUint32(0, lo, true);
      dv.setUint32(4, hi, true);
      return finite(dv.getFloat64(0, true), field);
    }
    case 'string':
      return utf8.decode(r.bytes());
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    default:
      throw protobufError(`unsupported scalar type ${kind} for field ${field}`);
  }
}

/** Go's encoding/json refuses NaN and ±Inf. */
function finite(n: number, field: string): number {
  if (!Number.isFinite(n)) throw protobufError(`unsupported value ${n} for field ${field}`);
  return n;
}

function zeroScalar(kind: string): Scalar {
  if (kind === 'string' || kind === 'bytes') return '';
  if (kind === 'bool') return false;
  return 0;
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

// ---- messages ---------------------------------------------------------------------

/** What one pass over a message's bytes collected, per field number. */
type Collected = Map<number, { scalars?: Scalar[]; payloads?: Uint8Array[] }>;

function collect(type: string, segments: readonly Uint8Array[]): Collected {
  const { byNo } = schemaOf(type);
  const out: Collected = new Map();
  for (const seg of segments) {
    const r = new WireReader(seg);
    while (!r.eof()) {
      const { no, wire } = r.tag();
      const f = byNo.get(no);
      if (!f) {
        r.skip(wire, no);
        continue;
      }
      let slot = out.get(no);
      if (!slot) out.set(no, (slot = {}));
      const scalar = !isMessageKind(f.kind) && !mapTypes(f.kind);
      if (scalar && f.repeated && wire === WireType.LEN && expectedWire(f.kind) !== WireType.LEN) {
        // A packed repeated scalar: a run of values in one length-delimited field.
        const packed = r.bytes();
        const pr = new WireReader(packed);
        while (!pr.eof()) (slot.scalars ??= []).push(readScalar(pr, f.kind, `${type}.${f.jsonName}`));
        continue;
      }
      if (wire !== expectedWire(f.kind)) throw protobufError(`wrong wireType = ${wire} for field ${f.jsonName} of ${type}`);
      if (scalar) (slot.scalars ??= []).push(readScalar(r, f.kind, `${type}.${f.jsonName}`));
      else (slot.payloads ??= []).push(r.bytes());
    }
  }
  return out;
}

/**
 * A message's JSON. `segments` are its occurrences on the wire — protobuf
 * merges repeated occurrences of a singular message field, which is the same
 * as decoding them one after another. No segments: the Go zero value.
 */
export function messageToJSON(type: string, segments: readonly Uint8Array[], depth = 0): unknown {
  if (depth > MAX_DEPTH) throw protobufError(`message nesting exceeds ${MAX_DEPTH} levels`);
  const special = SPECIAL[type];
  if (special) return special(segments, depth);
  const { fields } = schemaOf(type);
  const got = collect(type, segments);
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.skip) continue;
    const slot = got.get(f.no);
    const mt = mapTypes(f.kind);
    if (mt) {
      const entries = slot?.payloads ?? [];
      if (entries.length === 0) {
        if (!f.omitempty) setKey(out, f.jsonName, null);
        continue;
      }
      setKey(out, f.jsonName, mapToJSON(type, f, mt, entries, depth));
    } else if (f.repeated) {
      const items: unknown[] = isMessageKind(f.kind) ? (slot?.payloads ?? []).map((p) => messageToJSON(f.kind, [p], depth + 1)) : (slot?.scalars ?? []);
      if (items.length === 0) {
        if (!f.omitempty) setKey(out, f.jsonName, null);
        continue;
      }
      setKey(out, f.jsonName, items);
    } else if (isMessageKind(f.kind)) {
      const payloads = slot?.payloads;
      if (f.ptr && !payloads) {
        if (!f.omitempty) setKey(out, f.jsonName, null);
        continue;
      }
      const v = messageToJSON(f.kind, payloads ?? [], depth + 1);
      if (f.inline) {
        if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (!Object.hasOwn(out, k)) setKey(out, k, x);
        continue;
      }
      setKey(out, f.jsonName, v);
    } else {
      const values = slot?.scalars;
      const present = values !== undefined && values.length > 0;
      if (f.kind === 'bytes' && !present) {
        // A nil []byte: omitted or null.
        if (!f.omitempty) setKey(out, f.jsonName, null);
        continue;
      }
      if (f.ptr && !present) {
        if (!f.omitempty) setKey(out, f.jsonName, null);
        continue;
      }
      const v = present ? values[values.length - 1] : zeroScalar(f.kind);
      if (!f.ptr && f.omitempty && isZero(v)) continue;
      setKey(out, f.jsonName, v);
    }
  }
  return out;
}

function mapToJSON(type: string, f: FieldSchema, [keyKind, valueKind]: [string, string], entries: readonly Uint8Array[], depth: number): Record<string, unknown> {
  if (keyKind !== 'string') throw protobufError(`unsupported map key type ${keyKind} for field ${f.jsonName} of ${type}`);
  const valueIsMessage = isMessageKind(valueKind);
  const valueWire = expectedWire(valueKind);
  const pairs: [string, unknown][] = [];
  for (const entry of entries) {
    const r = new WireReader(entry);
    let key = '';
    let valueSegs: Uint8Array[] | undefined;
    let value: Scalar | undefined;
    while (!r.eof()) {
      const { no, wire } = r.tag();
      if (no === 1) {
        if (wire !== WireType.LEN) throw protobufError(`wrong wireType = ${wire} for the key of ${f.jsonName} of ${type}`);
        key = utf8.decode(r.bytes());
      } else if (no === 2) {
        if (wire !== valueWire) throw protobufError(`wrong wireType = ${wire} for a value of ${f.jsonName} of ${type}`);
        if (valueIsMessage) (valueSegs ??= []).push(r.bytes());
        else value = readScalar(r, valueKind, `${type}.${f.jsonName}`);
      } else r.skip(wire, no);
    }
    const v = valueIsMessage ? messageToJSON(valueKind, valueSegs ?? [], depth + 1) : (value ?? zeroScalar(valueKind));
    pairs.push([key, v]);
  }
  // Go: a later duplicate key wins; encoding/json sorts map keys.
  const byKey = new Map(pairs);
  const out: Record<string, unknown> = {};
  for (const k of [...byKey.keys()].sort(goStringCompare)) setKey(out, k, byKey.get(k));
  return out;
}

/** Go compares strings bytewise (UTF-8), not by UTF-16 code units. */
function goStringCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---- well-known types ---------------------------------------------------------------

/** Reads the scalar fields of a small well-known message: number → last value. */
function readSmall(type: string, segments: readonly Uint8Array[], kinds: Record<number, string>): Map<number, Scalar> {
  const out = new Map<number, Scalar>();
  for (const seg of segments) {
    const r = new WireReader(seg);
    while (!r.eof()) {
      const { no, wire } = r.tag();
      const kind = kinds[no];
      if (!kind) {
        r.skip(wire, no);
        continue;
      }
      if (wire !== expectedWire(kind)) throw protobufError(`wrong wireType = ${wire} for field ${no} of ${type}`);
      out.set(no, readScalar(r, kind, `${type}.${no}`));
    }
  }
  return out;
}

function totalLength(segments: readonly Uint8Array[]): number {
  return segments.reduce((n, s) => n + s.length, 0);
}

/** Go's time.Unix(sec, nsec) formatted in UTC with `fracDigits` (0 or 6) fractional digits. */
function formatTime(seconds: number, nanos: number, fracDigits: 0 | 6, type: string): string {
  const totalNs = BigInt(Math.trunc(seconds)) * 1_000_000_000n + BigInt(Math.trunc(nanos));
  let sec = totalNs / 1_000_000_000n;
  let ns = totalNs % 1_000_000_000n;
  if (ns < 0n) {
    ns += 1_000_000_000n;
    sec -= 1n;
  }
  const ms = Number(sec) * 1000;
  const d = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999) {
    throw protobufError(`${type} out of range: ${seconds}s`);
  }
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return fracDigits ? `${base}.${String(ns / 1000n).padStart(6, '0')}Z` : `${base}Z`;
}

/** time.Duration.String(). */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    // Sub-second: ns, µs or ms with a fraction.
    let unit: string;
    let div: bigint;
    if (u < 1000n) return `${neg ? '-' : ''}${u}ns`;
    if (u < 1_000_000n) {
      unit = 'µs';
      div = 1000n;
    } else {
      unit = 'ms';
      div = 1_000_000n;
    }
    out = `${fraction(u, div)}${unit}`;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = `${fraction(u, 1_000_000_000n)}s`;
    if (h > 0n) out = `${h}h${m}m${out}`;
    else if (m > 0n) out = `${m}m${out}`;
  }
  return neg ? `-${out}` : out;
}

/** v/div with the fraction's trailing zeros dropped (Go's fmtFrac + fmtInt). */
function fraction(v: bigint, div: bigint): string {
  const whole = v / div;
  let frac = (v % div).toString().padStart(div.toString().length - 1, '0').replace(/0+$/, '');
  if (frac) frac = `.${frac}`;
  return `${whole}${frac}`;
}

/** resource.ParseQuantity's grammar: a signed decimal and a suffix (binary SI, decimal SI or exponent). */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

function rawJSON(type: string, raw: Uint8Array, depth: number): unknown {
  if (hasMagic(raw)) return envelopeToJSON(raw, depth + 1);
  const text = utf8.decode(raw);
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw protobufError(`${type} does not hold JSON: ${(e as Error).message}`);
  }
}

const SPECIAL: Record<string, (segments: readonly Uint8Array[], depth: number) => unknown> = {
  'meta.v1.Time': (segs) => {
    // An empty message is the zero Time (JSON null); nanoseconds are dropped, as metav1.Time does.
    if (totalLength(segs) === 0) return null;
    const v = readSmall('Time', segs, { 1: 'int64', 2: 'int32' });
    return formatTime(Number(v.get(1) ?? 0), 0, 0, 'Time');
  },
  'meta.v1.MicroTime': (segs) => {
    if (totalLength(segs) === 0) return null;
    const v = readSmall('MicroTime', segs, { 1: 'int64', 2: 'int32' });
    return formatTime(Number(v.get(1) ?? 0), Number(v.get(2) ?? 0), 6, 'MicroTime');
  },
  'meta.v1.Duration': (segs) => {
    const v = readSmall('Duration', segs, { 1: 'int64' });
    return goDuration(BigInt(v.get(1) ?? 0));
  },
  'intstr.IntOrString': (segs) => {
    const v = readSmall('IntOrString', segs, { 1: 'int64', 2: 'int32', 3: 'string' });
    const t = Number(v.get(1) ?? 0);
    if (t === 0) return v.get(2) ?? 0;
    if (t === 1) return v.get(3) ?? '';
    throw protobufError(`impossible IntOrString.Type ${t}`);
  },
  'resource.Quantity': (segs) => {
    const v = readSmall('Quantity', segs, { 1: 'string' });
    const s = v.get(1);
    if (s === undefined) return '0'; // the zero Quantity
    if (typeof s !== 'string' || !QUANTITY.test(s)) throw protobufError(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got ${JSON.stringify(s)}`);
    return s;
  },
  'runtime.RawExtension': (segs, depth) => rawField('RawExtension', segs, depth),
  'meta.v1.FieldsV1': (segs, depth) => rawField('FieldsV1', segs, depth),
};

function rawField(type: string, segs: readonly Uint8Array[], depth: number): unknown {
  let raw: Uint8Array | undefined;
  for (const seg of segs) {
    const r = new WireReader(seg);
    while (!r.eof()) {
      const { no, wire } = r.tag();
      if (no !== 1) {
        r.skip(wire, no);
        continue;
      }
      if (wire !== WireType.LEN) throw protobufError(`wrong wireType = ${wire} for field raw of ${type}`);
      raw = r.bytes();
    }
  }
  return raw === undefined ? null : rawJSON(type, raw, depth);
}

// ---- the envelope -------------------------------------------------------------------

export function hasMagic(buf: Uint8Array): boolean {
  return buf.length >= PROTOBUF_MAGIC.length && PROTOBUF_MAGIC.every((b, i) => buf[i] === b);
}

/** The message a kind is encoded with, or undefined when kubemu does not know it. */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  return KINDS[`${apiVersion}|${kind}`] ?? (Object.hasOwn(ANY_VERSION_KINDS, kind) ? ANY_VERSION_KINDS[kind] : undefined);
}

/**
 * "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw, contentEncoding,
 * contentType} → the object's JSON, kind and apiVersion first as Go prints them.
 */
export function envelopeToJSON(buf: Uint8Array, depth = 0): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw protobufError(`message nesting exceeds ${MAX_DEPTH} levels`);
  if (buf.length === 0) throw protobufError('empty data');
  if (!hasMagic(buf)) throw protobufError(`provided data does not appear to be a protobuf message, expected prefix [${PROTOBUF_MAGIC.join(' ')}]`);
  if (buf.length === PROTOBUF_MAGIC.length) throw protobufError('empty body');
  const r = new WireReader(buf, PROTOBUF_MAGIC.length);
  let apiVersion = '';
  let kind = '';
  const raws: Uint8Array[] = [];
  while (!r.eof()) {
    const { no, wire } = r.tag();
    if (no === 1 || no === 2) {
      if (wire !== WireType.LEN) throw protobufError(`wrong wireType = ${wire} for field ${no === 1 ? 'typeMeta' : 'raw'} of runtime.Unknown`);
      const payload = r.bytes();
      if (no === 2) {
        raws.length = 0; // bytes: the last occurrence wins
        raws.push(payload);
        continue;
      }
      const tm = new WireReader(payload);
      while (!tm.eof()) {
        const t = tm.tag();
        if ((t.no === 1 || t.no === 2) && t.wire === WireType.LEN) {
          const s = utf8.decode(tm.bytes());
          if (t.no === 1) apiVersion = s;
          else kind = s;
        } else if (t.no === 1 || t.no === 2) throw protobufError(`wrong wireType = ${t.wire} for field ${t.no === 1 ? 'apiVersion' : 'kind'} of runtime.TypeMeta`);
        else tm.skip(t.wire, t.no);
      }
    } else r.skip(wire, no); // contentEncoding, contentType (unused by Kubernetes too) and unknown fields
  }
  if (!kind) throw protobufError("Object 'Kind' is missing in the protobuf envelope");
  if (!apiVersion) throw protobufError("Object 'apiVersion' is missing in the protobuf envelope");
  const message = messageForKind(apiVersion, kind);
  if (!message) throw protobufError(`no kind "${kind}" is registered for version "${apiVersion}"`);
  const body = messageToJSON(message, raws, depth + 1) as Record<string, unknown>;
  const out: Record<string, unknown> = { kind, apiVersion };
  for (const [k, v] of Object.entries(body)) if (k !== 'kind' && k !== 'apiVersion') setKey(out, k, v);
  return out;
}
