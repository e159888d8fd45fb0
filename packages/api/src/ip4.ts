/**
 * IPv4 arithmetic for the address plan, the one copy every package uses:
 * addresses as unsigned 32-bit numbers, CIDRs as { network, prefix }. Enough
 * to validate configuration, allocate from a range, check that an address
 * lies in a network this cluster owns and detect overlapping routes.
 * Malformed input throws an AddressError (code ERR_INVALID_ADDRESS); the
 * `try…` forms return undefined instead. Pure: no I/O.
 */

/** A malformed IPv4 address or CIDR. */
export class AddressError extends Error {
  readonly code = 'ERR_INVALID_ADDRESS' as const;
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export interface Cidr {
  /** Network address as an unsigned 32-bit number (host bits cleared). */
  readonly network: number;
  readonly prefix: number;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

function invalid(what: string, value: string, why: string): AddressError {
  return new AddressError(`invalid ${what} ${JSON.stringify(value)}: ${why}`);
}

export function isIPv4(s: string): boolean {
  return IPV4_RE.test(s);
}

export function parseIPv4(s: string): number {
  const m = IPV4_RE.exec(s);
  if (!m) throw invalid('IPv4 address', s, 'expected a.b.c.d');
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** parseIPv4, or undefined for anything that is not a dotted IPv4 address. */
export function tryParseIPv4(s: string): number | undefined {
  return typeof s === 'string' && IPV4_RE.test(s) ? parseIPv4(s) : undefined;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/len`; host bits must be zero (like Kubernetes' CIDR fields). */
export function parseCidr(s: string): Cidr {
  return cidrOf(s, true);
}

/** The network `a.b.c.d/len` lies in; with `strict`, host bits must be zero. */
export function cidrOf(s: string, strict = false): Cidr {
  const [addr, len, extra] = s.split('/');
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,2}$/.test(len)) {
    throw invalid('CIDR', s, 'expected a.b.c.d/len');
  }
  const prefix = Number(len);
  if (prefix > 32) throw invalid('CIDR', s, 'prefix length must be 0..32');
  const ip = parseIPv4(addr);
  const network = (ip & mask(prefix)) >>> 0;
  if (strict && network !== ip) throw invalid('CIDR', s, `host bits set (network is ${formatIPv4(network)}/${prefix})`);
  return { network, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.network)}/${c.prefix}`;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.prefix)) >>> 0) === c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.network & mask(p)) >>> 0) === ((b.network & mask(p)) >>> 0);
}

/** True when `inner` lies entirely within `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.network);
}

/** The number of addresses in the network. */
export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The n-th address of the network (n = 1 is the conventional gateway). */
export function hostAt(c: Cidr, n: number): number {
  return (c.network + n) >>> 0;
}

export function broadcastOf(c: Cidr): number {
  return (c.network | (~mask(c.prefix) >>> 0)) >>> 0;
}
