/**
 * Name and value format checks, as Kubernetes' apimachinery `util/validation`.
 *
 * Each `check*` returns the list of failure messages (empty when valid), worded
 * exactly like Kubernetes so they can be used as FieldError details. The `is*`
 * predicates are shorthands for "no messages".
 */
import { isIP } from 'node:net';

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const WILDCARD_DNS1123_SUBDOMAIN_FMT = `\\*\\.${DNS1123_SUBDOMAIN_FMT}`;
const ENV_VAR_NAME_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';

const whole = (fmt: string): RegExp => new RegExp(`^${fmt}$`);
const DNS1123_LABEL_RE = whole(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN_RE = whole(DNS1123_SUBDOMAIN_FMT);
const DNS1035_LABEL_RE = whole(DNS1035_LABEL_FMT);
const QNAME_RE = whole(QNAME_FMT);
const LABEL_VALUE_RE = whole(LABEL_VALUE_FMT);
const WILDCARD_RE = whole(WILDCARD_DNS1123_SUBDOMAIN_FMT);
const ENV_VAR_NAME_RE = whole(ENV_VAR_NAME_FMT);
const CONFIG_MAP_KEY_RE = whole(CONFIG_MAP_KEY_FMT);

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const DNS1035_LABEL_MAX = 63;
export const QUALIFIED_NAME_MAX = 63;
export const LABEL_VALUE_MAX = 63;

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}
export const EMPTY_ERROR = 'must be non-empty';

/** String(v) for scalars, '' for anything else (never throws, unlike String on hostile objects). */
export function scalarString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return '';
}

/** Kubernetes' RegexError: `msg (e.g. 'a',  or 'b', regex used for validation is 'fmt')` (the double space is theirs). */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((ex, i) => {
    if (i > 0) out += ' or ';
    out += `'${ex}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

// Lengths are in bytes in Go; for the ASCII-only formats below the regex already
// rejects non-ASCII, so a UTF-8 byte length only matters for the max-length message.
function byteLen(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function checkDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!DNS1123_LABEL_RE.test(v)) {
    if (DNS1123_SUBDOMAIN_RE.test(v)) errs.push('must not contain dots');
    else errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

export function checkDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN_RE.test(v)) {
    errs.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN_FMT, 'example.com'));
  }
  return errs;
}

export function checkWildcardDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!WILDCARD_RE.test(v)) {
    errs.push(regexError("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character", WILDCARD_DNS1123_SUBDOMAIN_FMT, '*.example.com'));
  }
  return errs;
}

export function checkDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1035_LABEL_MAX) errs.push(maxLenError(DNS1035_LABEL_MAX));
  if (!DNS1035_LABEL_RE.test(v)) {
    errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  }
  return errs;
}

const QNAME_ERR = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** Label keys, annotation keys, finalizers: `[prefix/]name`, prefix a DNS-1123 subdomain, name ≤63. */
export function checkQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(`prefix part ${EMPTY_ERROR}`);
    else for (const m of checkDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [`a qualified name ${regexError(QNAME_ERR, QNAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) errs.push(`name part ${EMPTY_ERROR}`);
  else if (byteLen(name) > QUALIFIED_NAME_MAX) errs.push(`name part ${maxLenError(QUALIFIED_NAME_MAX)}`);
  if (!QNAME_RE.test(name)) errs.push(`name part ${regexError(QNAME_ERR, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function checkLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > LABEL_VALUE_MAX) errs.push(maxLenError(LABEL_VALUE_MAX));
  if (!LABEL_VALUE_RE.test(v)) {
    errs.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

/** IANA_SVC_NAME: ≤15 chars, [-a-z0-9], at least one letter, no `--`, no leading/trailing `-`. */
export function checkPortName(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.length > 0 && (v.startsWith('-') || v.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function checkPortNum(v: number): string[] {
  return Number.isInteger(v) && v >= 1 && v <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

function hasChDirPrefix(v: string): string[] {
  if (v === '.') return ["must not be '.'"];
  if (v === '..') return ["must not be '..'"];
  if (v.startsWith('..')) return ["must not start with '..'"];
  return [];
}

export function checkEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (!ENV_VAR_NAME_RE.test(v)) {
    errs.push(regexError("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit", ENV_VAR_NAME_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  }
  return errs.concat(hasChDirPrefix(v));
}

/** Keys of ConfigMap data and Secret data. */
export function checkConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!CONFIG_MAP_KEY_RE.test(v)) {
    errs.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_MAP_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  }
  return errs.concat(hasChDirPrefix(v));
}

export const IP_ERROR = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
export const CIDR_ERROR = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

const SLOPPY_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * 4 or 6 when `v` is an IP address Kubernetes' netutils.ParseIPSloppy accepts
 * (IPv4 octets may have leading zeros; no zone), else 0.
 */
export function ipFamilyOf(v: string): 0 | 4 | 6 {
  if (typeof v !== 'string' || v.includes('%')) return 0;
  const m = SLOPPY_V4.exec(v);
  if (m) return m.slice(1).every((o) => Number(o) <= 255) ? 4 : 0;
  return isIP(v) === 6 ? 6 : 0;
}

/** The 16-byte form of an IP (IPv4 as ::ffff:a.b.c.d), or undefined. */
export function ipBytes(v: string): Uint8Array | undefined {
  const fam = ipFamilyOf(v);
  if (fam === 0) return undefined;
  const out = new Uint8Array(16);
  if (fam === 4) {
    out[10] = 0xff;
    out[11] = 0xff;
    v.split('.').forEach((o, i) => (out[12 + i] = Number(o)));
    return out;
  }
  let s = v;
  const lastColon = s.lastIndexOf(':');
  const v4 = s.slice(lastColon + 1);
  if (v4.includes('.')) {
    const b = ipBytes(v4);
    if (!b) return undefined;
    s = `${s.slice(0, lastColon + 1)}${((b[12]! << 8) | b[13]!).toString(16)}:${((b[14]! << 8) | b[15]!).toString(16)}`;
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const t = rest !== undefined && rest !== '' ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const groups = rest === undefined ? h : [...h, ...new Array(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  if (groups.length !== 8) return undefined;
  groups.forEach((g, i) => {
    out[i * 2] = (g >> 8) & 0xff;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

const isV4Mapped = (b: Uint8Array): boolean => b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/** Go's net.IP IsUnspecified/IsLoopback/IsLinkLocalUnicast/IsLinkLocalMulticast, for ValidateNonSpecialIP. */
export function specialIPKinds(v: string): ('unspecified' | 'loopback' | 'linkLocal' | 'linkLocalMulticast')[] {
  const b = ipBytes(v);
  if (!b) return [];
  const out: ('unspecified' | 'loopback' | 'linkLocal' | 'linkLocalMulticast')[] = [];
  if (isV4Mapped(b)) {
    if (b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15] === 0) out.push('unspecified');
    if (b[12] === 127) out.push('loopback');
    if (b[12] === 169 && b[13] === 254) out.push('linkLocal');
    if (b[12] === 224 && b[13] === 0 && b[14] === 0) out.push('linkLocalMulticast');
    return out;
  }
  if (b.every((x) => x === 0)) out.push('unspecified');
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) out.push('loopback');
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) out.push('linkLocal');
  if (b[0] === 0xff && (b[1]! & 0x0f) === 0x02) out.push('linkLocalMulticast');
  return out;
}

export function isValidIP(v: string): boolean {
  return ipFamilyOf(v) !== 0;
}

/** `a.b.c.d/n` or `v6/n` as Go's net.ParseCIDR accepts. */
export function isValidCIDR(v: string): boolean {
  if (typeof v !== 'string') return false;
  const slash = v.indexOf('/');
  if (slash < 0) return false;
  const ip = v.slice(0, slash);
  const bits = v.slice(slash + 1);
  const fam = ipFamilyOf(ip);
  if (fam === 0 || !/^[0-9]{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  return n <= (fam === 4 ? 32 : 128);
}

export const isDNS1123Label = (v: string): boolean => typeof v === 'string' && checkDNS1123Label(v).length === 0;
export const isDNS1123Subdomain = (v: string): boolean => typeof v === 'string' && checkDNS1123Subdomain(v).length === 0;
export const isDNS1035Label = (v: string): boolean => typeof v === 'string' && checkDNS1035Label(v).length === 0;
export const isQualifiedName = (v: string): boolean => typeof v === 'string' && checkQualifiedName(v).length === 0;
export const isValidLabelValue = (v: string): boolean => typeof v === 'string' && checkLabelValue(v).length === 0;
export const isValidPortName = (v: string): boolean => typeof v === 'string' && checkPortName(v).length === 0;
