/**
 * The routing table: every served Ingress merged into one set of virtual
 * hosts, built from scratch on every change (pure: objects in, table out).
 *
 *   exact hosts     "foo.com"   → HostRoutes
 *   wildcard hosts  ".foo.com"  → HostRoutes     (from "*.foo.com")
 *   any host        rules without host, and spec.defaultBackend (catch-all)
 *
 * Inside a host, routes are ordered longest path first, Exact before Prefix
 * at equal length, so the first match is the winner. A host's fallback (for
 * a request matching no path) is the defaultBackend of the oldest Ingress
 * naming that host, else the catch-all's default backend.
 *
 * Conflicts: two Ingresses claiming the same host + path + pathType (or the
 * catch-all default backend) — the oldest (creationTimestamp, then
 * namespace/name) wins; the loser gets a Warning event.
 */
import type { Ingress, IngressBackend, IngressClass } from '@kubemu/api';
import { ingressOptions, type AffinityConfig } from './annotations.js';
import { ingressRef, refKey, type IngressEvent, type IngressRef } from './events.js';
import { servesIngress } from './ingress-class.js';
import { prefixKey, wildcardSuffix, type PathType } from './match.js';

/** A Service port an Ingress sends traffic to. */
export interface BackendRef {
  namespace: string;
  service: string;
  /** Service port number or name. */
  port: number | string;
  /** "ns/svc:port", the key for endpoints and upstream pools. */
  id: string;
}

export interface Route {
  /** The rule host ("" = any host, "*.foo.com" for wildcards). */
  host: string;
  /** The rule path as written ("/" for default backends). */
  path: string;
  pathType: PathType;
  /** The path compared against requests (prefixKey for Prefix). */
  matchKey: string;
  backend: BackendRef;
  ingress: IngressRef;
  /** The route is an Ingress's spec.defaultBackend (no rule path matched). */
  defaultBackend?: boolean;
  /** Redirect plain HTTP to HTTPS: some served Ingress has TLS for this host, and this one's ssl-redirect is not "false". */
  sslRedirect: boolean;
  affinity?: AffinityConfig;
  readTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface HostRoutes {
  routes: Route[];
  /** Used when no path matches. */
  fallback?: Route;
}

export interface TlsEntry {
  /** Hosts, lower case (may include "*.foo.com"); an entry without hosts gets the Ingress's rule hosts. */
  hosts: string[];
  secretNamespace: string;
  secretName: string;
  ingress: IngressRef;
}

export interface RoutingTable {
  exact: Map<string, HostRoutes>;
  wildcard: Map<string, HostRoutes>;
  any: HostRoutes;
  tls: TlsEntry[];
  /** Every served Ingress, oldest first. */
  served: IngressRef[];
  backends: Map<string, BackendRef>;
  events: IngressEvent[];
}

export interface ConfigInput {
  ingresses: readonly Ingress[];
  ingressClasses: readonly IngressClass[];
}

/** Oldest first: creationTimestamp, then namespace/name. */
export function compareAge(a: Ingress, b: Ingress): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) {
    const da = Date.parse(ta);
    const db = Date.parse(tb);
    if (Number.isFinite(da) && Number.isFinite(db) && da !== db) return da - db;
    return ta < tb ? -1 : 1;
  }
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function normalizePathType(t: string | undefined): PathType {
  return t === 'Exact' ? 'Exact' : 'Prefix';
}

function routeOrder(a: Route, b: Route): number {
  if (a.matchKey.length !== b.matchKey.length) return b.matchKey.length - a.matchKey.length;
  if (a.pathType !== b.pathType) return a.pathType === 'Exact' ? -1 : 1;
  return 0;
}

class TableBuilder {
  readonly table: RoutingTable = {
    exact: new Map(),
    wildcard: new Map(),
    any: { routes: [] },
    tls: [],
    served: [],
    backends: new Map(),
    events: [],
  };
  /** host\0type\0key → owner */
  readonly #claims = new Map<string, IngressRef>();
  #catchAllOwner?: IngressRef;

  hostRoutes(host: string): HostRoutes {
    if (!host) return this.table.any;
    const suffix = wildcardSuffix(host);
    const map = suffix === undefined ? this.table.exact : this.table.wildcard;
    const k = suffix ?? host.toLowerCase();
    let hr = map.get(k);
    if (!hr) map.set(k, (hr = { routes: [] }));
    return hr;
  }

  backendRef(ing: Ingress, b: IngressBackend | undefined, where: string): BackendRef | undefined {
    const ref = ingressRef(ing);
    const svc = b?.service;
    const port = svc?.port?.number ?? svc?.port?.name;
    if (!svc?.name || port === undefined || port === '') {
      const what = b?.resource ? `resource backend ${b.resource.kind}/${b.resource.name} is not supported` : 'backend has no service name and port';
      this.warn(ref, 'UnsupportedBackend', `${where}: ${what}; ignored`);
      return undefined;
    }
    const id = `${ref.namespace}/${svc.name}:${port}`;
    let br = this.table.backends.get(id);
    if (!br) this.table.backends.set(id, (br = { namespace: ref.namespace, service: svc.name, port, id }));
    return br;
  }

  warn(ingress: IngressRef, reason: string, message: string): void {
    this.table.events.push({ ingress, type: 'Warning', reason, message });
  }

  claim(key: string, ref: IngressRef, what: string): boolean {
    const owner = this.#claims.get(key);
    if (!owner) {
      this.#claims.set(key, ref);
      return true;
    }
    if (refKey(owner) !== refKey(ref)) {
      this.warn(ref, 'Conflict', `${what} is already defined by the older Ingress ${refKey(owner)}; this rule is ignored`);
    }
    return false;
  }

  add(ing: Ingress): void {
    const ref = ingressRef(ing);
    this.table.served.push(ref);
    const opts = ingressOptions(ing);
    const spec = ing.spec ?? {};
    const ruleHosts = [...new Set((spec.rules ?? []).map((r) => (r.host ?? '').toLowerCase()).filter((h) => h))];
    for (const t of spec.tls ?? []) {
      // A TLS entry without hosts covers the Ingress's own rule hosts.
      const hosts = t.hosts?.length ? t.hosts.map((h) => h.toLowerCase()) : ruleHosts;
      if (t.secretName) this.table.tls.push({ hosts, secretNamespace: ref.namespace, secretName: t.secretName, ingress: ref });
    }
    const make = (host: string, path: string, pathType: PathType, backend: BackendRef, isDefault = false): Route => ({
      ...(isDefault ? { defaultBackend: true } : {}),
      host,
      path,
      pathType,
      matchKey: pathType === 'Exact' ? path : prefixKey(path),
      backend,
      ingress: ref,
      // Provisional: finish() keeps it only for hosts some TLS entry covers.
      sslRedirect: opts.sslRedirect && host !== '',
      affinity: opts.affinity,
      readTimeoutMs: opts.readTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
    });
    const defaultBackend = spec.defaultBackend ? this.backendRef(ing, spec.defaultBackend, 'spec.defaultBackend') : undefined;
    (spec.rules ?? []).forEach((rule, i) => {
      const host = (rule.host ?? '').toLowerCase();
      const hr = this.hostRoutes(host);
      (rule.http?.paths ?? []).forEach((p, j) => {
        const where = `spec.rules[${i}].http.paths[${j}]`;
        const path = p.path || '/';
        if (!path.startsWith('/')) return this.warn(ref, 'InvalidPath', `${where}.path "${path}" must begin with "/"; ignored`);
        const type = normalizePathType(p.pathType);
        const backend = this.backendRef(ing, p.backend, where);
        if (!backend) return;
        const route = make(host, path, type, backend);
        const what = `path ${type} ${host || '*'}${path}`;
        if (this.claim(`${host}\0${type}\0${route.matchKey}`, ref, what)) hr.routes.push(route);
      });
      if (defaultBackend && host && !hr.fallback) hr.fallback = make(host, '/', 'Prefix', defaultBackend, true);
    });
    if (defaultBackend) {
      if (!this.#catchAllOwner) {
        this.#catchAllOwner = ref;
        this.table.any.fallback = make('', '/', 'Prefix', defaultBackend, true);
      } else if (refKey(this.#catchAllOwner) !== refKey(ref)) {
        this.warn(ref, 'Conflict', `spec.defaultBackend: the default backend is already defined by the older Ingress ${refKey(this.#catchAllOwner)}; ignored for hosts without rules`);
      }
    }
  }

  finish(): RoutingTable {
    const t = this.table;
    // A host served over TLS (by any Ingress, as one nginx server block) redirects plain HTTP.
    const tlsHosts = new Set(t.tls.flatMap((e) => e.hosts));
    const covered = (host: string) => {
      if (tlsHosts.has(host)) return true;
      const dot = host.indexOf('.');
      return !host.startsWith('*.') && dot > 0 && tlsHosts.has(`*${host.slice(dot)}`);
    };
    for (const hr of [t.any, ...t.exact.values(), ...t.wildcard.values()]) {
      hr.routes.sort(routeOrder);
      for (const r of hr.fallback ? [...hr.routes, hr.fallback] : hr.routes) if (r.sslRedirect) r.sslRedirect = covered(r.host);
    }
    return t;
  }
}

/** Builds the routing table for the Ingresses of `ingressClass`. */
export function buildRoutingTable(input: ConfigInput, ingressClass: string): RoutingTable {
  const b = new TableBuilder();
  const served = input.ingresses.filter((i) => !i.metadata.deletionTimestamp && servesIngress(i, input.ingressClasses, ingressClass));
  for (const ing of [...served].sort(compareAge)) b.add(ing);
  return b.finish();
}
