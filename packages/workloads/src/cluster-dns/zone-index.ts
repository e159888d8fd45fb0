/**
 * The cluster DNS name index (pure, no I/O): every name the kubernetes zone
 * answers for, built once per change of Services and EndpointSlices so that
 * a query is one map lookup. Follows CoreDNS's kubernetes plugin:
 *
 * - `<svc>.<ns>.svc.<zone>`: the cluster IPs (A/AAAA); for a headless
 *   Service the ready endpoint addresses; for an ExternalName Service a
 *   CNAME to spec.externalName. SRV there lists every port.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>`: SRV per named port, targets
 *   the Service name (cluster IP) or each endpoint's name (headless).
 * - `<hostname-or-dashed-ip>.<svc>.<ns>.svc.<zone>`: an endpoint's
 *   addresses (A/AAAA) and its ports (SRV).
 * - PTR for cluster IPs (the first Service holding the IP) and otherwise
 *   for ready endpoint addresses (every Service that lists them).
 * - `dns-version.<zone>` TXT, the zone's SOA and NS (`ns.dns.<zone>`), and
 *   empty non-terminals (`svc.<zone>`, `<ns>.svc.<zone>`, …) so a name that
 *   exists without records answers NODATA rather than NXDOMAIN.
 *
 * "Ready" is the EndpointSlice condition (absent counts as ready), or every
 * endpoint when the Service publishes not-ready addresses.
 */
import { isIP } from 'node:net';
import type { EndpointSlice, Service } from '@kubemu/api';
import { ancestors, canonicalName, dashedAddress, inZone, reverseName, reverseZones } from './names.js';

/** The schema version CoreDNS reports at dns-version.<zone> (kubernetes/dns docs/specification.md). */
export const DNS_SCHEMA_VERSION = '1.1.0';
/** CoreDNS answers dns-version with this TTL; every other record uses the zone TTL. */
export const DNS_VERSION_TTL = 28800;

export interface SrvTarget {
  priority: number;
  weight: number;
  port: number;
  /** Canonical (lower-case) target name. */
  target: string;
}

/** What one name holds; an entry with nothing set is an empty non-terminal. */
export interface NameEntry {
  a?: string[];
  aaaa?: string[];
  srv?: SrvTarget[];
  ptr?: string[];
  /** ExternalName target as the Service spells it (no trailing dot). */
  cname?: string;
  txt?: string;
  /** The apex of a zone we serve: answers SOA (and NS for the cluster zone). */
  apex?: boolean;
}

export interface ZoneOptions {
  /** Cluster domain (default cluster.local). */
  zone?: string;
  /** Networks whose reverse zones are ours (e.g. the service and pod CIDRs). */
  reverseCidrs?: string[];
  /** Record TTL in seconds (default 5). */
  ttl?: number;
  /** This server's own addresses (POD_IP): the NS records point at the Services that select it. */
  selfIPs?: string[];
}

export interface ZoneIndex {
  readonly zone: string;
  readonly ttl: number;
  /** Reverse zone apexes, canonical. */
  readonly reverseZones: ReadonlySet<string>;
  readonly names: ReadonlyMap<string, NameEntry>;
  /** Name servers for the apex NS answer: target name and address. */
  readonly nameServers: ReadonlyArray<{ name: string; ip: string }>;
  /** SOA serial: seconds since the epoch at build time. */
  readonly serial: number;
}

interface Endpoint {
  ip: string;
  host: string;
  ports: Array<{ name: string; protocol: string; port: number }>;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function buildZoneIndex(services: Iterable<Service>, slices: Iterable<EndpointSlice>, opts: ZoneOptions = {}, now = Date.now()): ZoneIndex {
  const zone = canonicalName(opts.zone ?? 'cluster.local');
  const ttl = opts.ttl ?? 5;
  const rz = new Set<string>();
  for (const c of opts.reverseCidrs ?? []) for (const z of reverseZones(c)) rz.add(z);
  const names = new Map<string, NameEntry>();

  const entry = (name: string): NameEntry => {
    let e = names.get(name);
    if (!e) {
      e = {};
      names.set(name, e);
      const top = inZone(name, zone) ? zone : reverseZoneOf(name, rz);
      if (top !== undefined) for (const p of ancestors(name, top)) if (!names.has(p)) names.set(p, {});
    }
    return e;
  };
  // Address lists stay small per name except a headless Service's, whose endpoints are already unique.
  const push = (list: string[] | undefined, v: string, unique = false): string[] => {
    if (!list) return [v];
    if (unique || !list.includes(v)) list.push(v);
    return list;
  };
  const addAddress = (name: string, ip: string, unique = false) => {
    const e = entry(name);
    if (isIP(ip) === 6) e.aaaa = push(e.aaaa, ip, unique);
    else e.a = push(e.a, ip, unique);
  };
  const srvSeen = new Map<NameEntry, Set<string>>();
  const addSrv = (name: string, port: number, target: string) => {
    const e = entry(name);
    let seen = srvSeen.get(e);
    if (!seen) srvSeen.set(e, (seen = new Set()));
    const k = `${port} ${target}`;
    if (seen.has(k)) return;
    seen.add(k);
    (e.srv ??= []).push({ priority: 0, weight: 100, port, target });
  };

  entry(zone).apex = true;
  entry(`svc.${zone}`);
  entry(`pod.${zone}`);
  entry(`dns-version.${zone}`).txt = DNS_SCHEMA_VERSION;
  for (const z of rz) entry(z).apex = true;

  // Ready endpoints per Service, merged over its slices and de-duplicated by address.
  const svcByKey = new Map<string, Service>();
  for (const s of services) {
    if (s.metadata?.name && s.metadata.namespace) svcByKey.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
  }
  const endpointsByKey = new Map<string, Endpoint[]>();
  const seenByKey = new Map<string, Set<string>>();
  for (const sl of slices) {
    if (sl.addressType !== 'IPv4' && sl.addressType !== 'IPv6') continue;
    const svcName = sl.metadata?.labels?.[SERVICE_NAME_LABEL];
    const ns = sl.metadata?.namespace;
    if (!svcName || !ns) continue;
    const key = `${ns}/${svcName}`;
    const svc = svcByKey.get(key);
    if (!svc) continue;
    const pnra = svc.spec?.publishNotReadyAddresses === true;
    const ports = (sl.ports ?? [])
      .filter((p) => typeof p?.port === 'number')
      .map((p) => ({ name: (p.name ?? '').toLowerCase(), protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port }));
    let list = endpointsByKey.get(key);
    let seen = seenByKey.get(key);
    for (const ep of sl.endpoints ?? []) {
      if (!pnra && ep?.conditions?.ready === false) continue;
      for (const ip of ep.addresses ?? []) {
        if (isIP(ip) === 0) continue;
        if (!list || !seen) {
          endpointsByKey.set(key, (list = []));
          seenByKey.set(key, (seen = new Set()));
        }
        if (seen.has(ip)) continue;
        seen.add(ip);
        list.push({ ip, host: (ep.hostname || dashedAddress(ip)).toLowerCase(), ports });
      }
    }
  }

  const endpointPtrs: Array<[string, string]> = [];
  const selfIPs = new Set(opts.selfIPs ?? []);
  const nameServers: Array<{ name: string; ip: string }> = [];

  for (const [key, svc] of svcByKey) {
    const ns = svc.metadata.namespace!.toLowerCase();
    const base = `${svc.metadata.name!.toLowerCase()}.${ns}.svc.${zone}`;
    entry(`${ns}.svc.${zone}`);
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName') {
      const target = (spec.externalName ?? '').trim().replace(/\.$/, '');
      // An IP is not a name: CoreDNS gives such a Service no record.
      if (target && isIP(target) === 0) entry(base).cname = target;
      continue;
    }
    const endpoints = endpointsByKey.get(key) ?? [];
    const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => isIP(ip) !== 0);
    const headless = clusterIPs.length === 0;

    if (!headless) {
      for (const ip of clusterIPs) addAddress(base, ip);
      for (const p of spec.ports ?? []) {
        addSrv(base, p.port, base);
        if (p.name) addSrv(`_${p.name.toLowerCase()}._${(p.protocol ?? 'TCP').toLowerCase()}.${base}`, p.port, base);
      }
      for (const ip of clusterIPs) {
        const r = reverseName(ip);
        if (r && !names.get(r)?.ptr) entry(r).ptr = [base];
      }
    } else {
      for (const ep of endpoints) {
        const target = `${ep.host}.${base}`;
        addAddress(base, ep.ip, true);
        for (const p of ep.ports) {
          addSrv(base, p.port, target);
          if (p.name) addSrv(`_${p.name}._${p.protocol}.${base}`, p.port, target);
        }
      }
    }
    // Endpoint names answer for every Service with a selector, as CoreDNS's endpoint queries do.
    for (const ep of endpoints) {
      const name = `${ep.host}.${base}`;
      addAddress(name, ep.ip);
      for (const p of ep.ports) addSrv(name, p.port, name);
      const r = reverseName(ep.ip);
      if (r) endpointPtrs.push([r, name]);
      if (selfIPs.has(ep.ip)) {
        if (headless) nameServers.push({ name, ip: ep.ip });
        else for (const ip of clusterIPs) nameServers.push({ name: base, ip });
      }
    }
  }

  // Endpoint PTRs only where no cluster IP claimed the address.
  const claimed = new Set<string>();
  for (const [r] of endpointPtrs) if (names.get(r)?.ptr) claimed.add(r);
  for (const [r, name] of endpointPtrs) {
    if (claimed.has(r)) continue;
    const e = entry(r);
    e.ptr = push(e.ptr, name);
  }

  // SRV weights as CoreDNS computes them: equal shares of 100 within one priority.
  for (const e of names.values()) {
    if (!e.srv) continue;
    const w = Math.max(1, Math.floor(100 / e.srv.length));
    for (const s of e.srv) s.weight = w;
  }

  if (nameServers.length === 0) for (const ip of selfIPs) nameServers.push({ name: `ns.dns.${zone}`, ip });
  const seenNs = new Set<string>();
  for (const n of nameServers) {
    if (seenNs.has(`${n.name} ${n.ip}`)) continue;
    seenNs.add(`${n.name} ${n.ip}`);
    addAddress(`ns.dns.${zone}`, n.ip);
  }

  return { zone, ttl, reverseZones: rz, names, nameServers, serial: Math.floor(now / 1000) >>> 0 };
}

/** The reverse zone (of `zones`) holding `name`, or undefined. */
export function reverseZoneOf(name: string, zones: ReadonlySet<string>): string | undefined {
  if (!name.endsWith('in-addr.arpa')) return undefined;
  let s = name;
  for (;;) {
    if (zones.has(s)) return s;
    const dot = s.indexOf('.');
    if (dot < 0) return undefined;
    s = s.slice(dot + 1);
  }
}
