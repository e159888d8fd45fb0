/**
 * Name helpers for cluster DNS (pure): the reverse (in-addr.arpa) names of
 * addresses and networks, the dashed form of an address used as an endpoint
 * or pod label, and the zone a query name belongs to.
 */
import { isIP } from 'node:net';
import { parseCidr, formatIPv4 } from '@kubemu/api';

/** Lower-cased, without leading/trailing dots: "Cluster.Local." → "cluster.local". */
export function canonicalName(name: string): string {
  let s = name.toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.startsWith('.')) s = s.slice(1);
  return s;
}

/** "10.96.0.1" → "1.0.96.10.in-addr.arpa"; undefined for anything but IPv4. */
export function reverseName(ip: string): string | undefined {
  if (isIP(ip) !== 4) return undefined;
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/**
 * The reverse zones a network answers for, split on octet boundaries as
 * CoreDNS does for a CIDR zone: 10.244.0.0/16 → ["244.10.in-addr.arpa"],
 * 10.96.0.0/12 → the sixteen zones 96…111.10.in-addr.arpa. Throws an
 * AddressError for a malformed CIDR.
 */
export function reverseZones(cidr: string): string[] {
  const c = parseCidr(cidr);
  const octets = Math.ceil(c.prefix / 8);
  if (octets === 0) return ['in-addr.arpa'];
  const count = 2 ** (octets * 8 - c.prefix);
  const step = 2 ** (32 - octets * 8);
  const zones: string[] = [];
  for (let i = 0; i < count; i++) {
    const parts = formatIPv4((c.network + i * step) >>> 0).split('.').slice(0, octets);
    zones.push(`${parts.reverse().join('.')}.in-addr.arpa`);
  }
  return zones;
}

/** The label CoreDNS gives an endpoint without a hostname: "10.244.1.5" → "10-244-1-5". */
export function dashedAddress(ip: string): string {
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  const d = ip.replaceAll(':', '-');
  return d.endsWith('-') ? `${d}0` : d;
}

/** The address a dashed label names ("10-244-1-5" → "10.244.1.5"), or undefined. */
export function addressFromDashed(label: string): string | undefined {
  if (!label || label.length > 63) return undefined;
  let ip: string;
  if (label.split('-').length === 4 && !label.includes('--')) ip = label.replaceAll('-', '.');
  else ip = label.replaceAll('-', ':');
  if (isIP(ip) === 0) return undefined;
  // "010-0-0-1" parses nowhere; isIP rejects leading zeros and zone ids ("%") are not in the alphabet.
  return ip;
}

/** True when `name` is `zone` or lies under it (both canonical). */
export function inZone(name: string, zone: string): boolean {
  if (zone === '') return true;
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46);
}

/** The names between `name` (exclusive) and `zone` (inclusive): "a.b.z" under "z" → ["b.z", "z"]. */
export function ancestors(name: string, zone: string): string[] {
  const out: string[] = [];
  let s = name;
  while (s !== zone) {
    const dot = s.indexOf('.');
    if (dot < 0) break;
    s = s.slice(dot + 1);
    out.push(s);
    if (s.length < zone.length) break;
  }
  return out;
}

/**
 * Whether a decoded question name can be echoed back unchanged: printable
 * ASCII labels of 1–63 bytes, at most 253 characters. Binary labels (which
 * the decoder turns into replacement characters) or labels holding a dot
 * cannot be, and get FORMERR.
 */
export function isPresentableName(name: string): boolean {
  if (name === '.') return true;
  if (name.length > 253) return false;
  let labelLen = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      if (labelLen === 0) return false;
      labelLen = 0;
      continue;
    }
    if (c < 0x21 || c > 0x7e) return false;
    if (++labelLen > 63) return false;
  }
  return labelLen > 0;
}
