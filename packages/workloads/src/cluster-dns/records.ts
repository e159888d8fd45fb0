/**
 * Answers one question from the zone index (pure, no I/O), as CoreDNS's
 * kubernetes plugin does for the cluster zone and the reverse zones of the
 * cluster's networks:
 *
 * - a name outside those zones → REFUSED (nothing is forwarded);
 * - an unknown name inside → NXDOMAIN with the zone's SOA in authority
 *   (SERVFAIL until the caches have synced, as CoreDNS does);
 * - a name that exists without records of the asked type → NOERROR/NODATA
 *   with the SOA;
 * - an ExternalName (CNAME) answers every type but SRV, and a target in
 *   the zone is followed (the chained records follow the CNAME);
 * - `<a-b-c-d>.<ns>.pod.<zone>` answers for any address ("pods insecure").
 *
 * Answer owner names echo the question's spelling; lookups ignore case.
 * ClusterRecords keeps the index current over two object caches.
 */
import type { Answer, SoaAnswer } from 'dns-packet';
import type { EndpointSlice, Service } from '@kubemu/api';
import type { KubeObjectLike, ObjectCache } from '../kube/index.js';
import { addressFromDashed, canonicalName, inZone } from './names.js';
import { buildZoneIndex, DNS_VERSION_TTL, reverseZoneOf, type NameEntry, type ZoneIndex, type ZoneOptions } from './zone-index.js';

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';

export interface Resolution {
  rcode: Rcode;
  /** Set for answers from a zone we serve (AA bit). */
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/** Longest CNAME chain followed inside the zone (CoreDNS stops at 10 too). */
const MAX_CHAIN = 10;

const REFUSED: Resolution = Object.freeze({ rcode: 'REFUSED', authoritative: false, answers: [], authorities: [], additionals: [] }) as Resolution;

/**
 * Resolves `qname`/`qtype` (dns-packet type names: "A", "SRV", "UNKNOWN_65"…).
 * `synced` false turns NXDOMAIN into SERVFAIL: the caches may not know the name yet.
 */
export function resolve(index: ZoneIndex, qname: string, qtype: string, synced = true): Resolution {
  const name = canonicalName(qname);
  const zone = inZone(name, index.zone) ? index.zone : reverseZoneOf(name, index.reverseZones);
  if (zone === undefined) return REFUSED;
  if (qtype === 'AXFR' || qtype === 'IXFR') return REFUSED;
  // The zone as the question spells it (CoreDNS keeps the query's case).
  const zoneAsAsked = trimDot(qname).slice(-zone.length) || zone;

  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  let owner = trimDot(qname);
  let current = name;
  const seen = new Set<string>();
  for (let hop = 0; ; hop++) {
    const entry = index.names.get(current) ?? podEntry(current, index.zone);
    if (!entry) {
      if (answers.length === 0 && !synced) return { rcode: 'SERVFAIL', authoritative: false, answers, authorities: [], additionals };
      return { rcode: 'NXDOMAIN', authoritative: true, answers, authorities: [soa(index, zone, zoneAsAsked)], additionals };
    }
    if (entry.cname !== undefined && qtype !== 'CNAME' && qtype !== 'SRV') {
      answers.push({ name: owner, type: 'CNAME', class: 'IN', ttl: index.ttl, data: entry.cname });
      const next = canonicalName(entry.cname);
      seen.add(current);
      if (hop + 1 >= MAX_CHAIN || seen.has(next) || !inZone(next, index.zone)) break;
      owner = entry.cname;
      current = next;
      continue;
    }
    addRecords(index, entry, owner, qtype, current === zone, answers, additionals);
    break;
  }
  if (answers.length === 0) return { rcode: 'NOERROR', authoritative: true, answers, authorities: [soa(index, zone, zoneAsAsked)], additionals };
  return { rcode: 'NOERROR', authoritative: true, answers, authorities: [], additionals };
}

function addRecords(index: ZoneIndex, e: NameEntry, owner: string, qtype: string, isApex: boolean, answers: Answer[], additionals: Answer[]): void {
  const ttl = index.ttl;
  switch (qtype) {
    case 'A':
      for (const ip of e.a ?? []) answers.push({ name: owner, type: 'A', class: 'IN', ttl, data: ip });
      return;
    case 'AAAA':
      for (const ip of e.aaaa ?? []) answers.push({ name: owner, type: 'AAAA', class: 'IN', ttl, data: ip });
      return;
    case 'SRV': {
      const targets = new Set<string>();
      for (const s of e.srv ?? []) {
        answers.push({ name: owner, type: 'SRV', class: 'IN', ttl, data: { priority: s.priority, weight: s.weight, port: s.port, target: s.target } });
        if (targets.has(s.target)) continue;
        targets.add(s.target);
        const t = index.names.get(s.target);
        for (const ip of t?.a ?? []) additionals.push({ name: s.target, type: 'A', class: 'IN', ttl, data: ip });
        for (const ip of t?.aaaa ?? []) additionals.push({ name: s.target, type: 'AAAA', class: 'IN', ttl, data: ip });
      }
      return;
    }
    case 'PTR':
      for (const t of e.ptr ?? []) answers.push({ name: owner, type: 'PTR', class: 'IN', ttl, data: t });
      return;
    case 'TXT':
      if (e.txt !== undefined) answers.push({ name: owner, type: 'TXT', class: 'IN', ttl: DNS_VERSION_TTL, data: e.txt });
      return;
    case 'CNAME':
      if (e.cname !== undefined) answers.push({ name: owner, type: 'CNAME', class: 'IN', ttl, data: e.cname });
      return;
    case 'SOA':
      if (e.apex) answers.push(soa(index, canonicalName(owner), owner));
      return;
    case 'NS':
      if (e.apex && isApex) {
        const seen = new Set<string>();
        for (const ns of index.nameServers) {
          if (!seen.has(ns.name)) {
            seen.add(ns.name);
            answers.push({ name: owner, type: 'NS', class: 'IN', ttl, data: ns.name });
          }
          additionals.push({ name: ns.name, type: ns.ip.includes(':') ? 'AAAA' : 'A', class: 'IN', ttl, data: ns.ip });
        }
      }
      return;
    default:
      return;
  }
}

/** `<a-b-c-d>.<ns>.pod.<zone>` answers for any address; `<ns>.pod.<zone>` exists for any namespace. */
function podEntry(name: string, zone: string): NameEntry | undefined {
  const suffix = `.pod.${zone}`;
  if (!name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split('.');
  if (labels.length === 1) return labels[0] ? {} : undefined;
  if (labels.length !== 2 || !labels[1]) return undefined;
  const ip = addressFromDashed(labels[0]);
  if (!ip) return undefined;
  return ip.includes(':') ? { aaaa: [ip] } : { a: [ip] };
}

function soa(index: ZoneIndex, zone: string, asAsked: string): SoaAnswer {
  return {
    name: asAsked,
    type: 'SOA',
    class: 'IN',
    ttl: Math.min(index.ttl, 300),
    data: {
      mname: `ns.dns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: index.serial,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: index.ttl,
    },
  };
}

function trimDot(s: string): string {
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

/**
 * The records over live caches: rebuilds the index when asked (the caller
 * decides when: on each cache change, throttled) and resolves against the
 * latest one. `generation` changes with every rebuild, for answer caches.
 */
export class ClusterRecords {
  #index: ZoneIndex;
  #generation = 0;
  synced = false;

  constructor(
    readonly services: ObjectCache<Service & KubeObjectLike>,
    readonly slices: ObjectCache<EndpointSlice & KubeObjectLike>,
    readonly options: ZoneOptions = {},
  ) {
    this.#index = buildZoneIndex([], [], options);
  }

  get index(): ZoneIndex {
    return this.#index;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Rebuilds the name index from the caches; returns the new index. */
  rebuild(now = Date.now()): ZoneIndex {
    this.#index = buildZoneIndex(this.services.items(), this.slices.items(), this.options, now);
    this.#generation++;
    return this.#index;
  }

  resolve(qname: string, qtype: string): Resolution {
    return resolve(this.#index, qname, qtype, this.synced);
  }
}
