/**
 * Request → route, on the hot path: one map lookup for the host (exact, then
 * the one-label wildcard, then any-host), then a scan of that host's routes,
 * already ordered so the first match is the best one.
 */
import type { HostRoutes, Route, RoutingTable } from './config.js';
import { pathMatches } from './match.js';

/** The host's routes: exact name, else "*.<rest>" covering exactly one label, else host-less rules. */
export function hostRoutes(table: RoutingTable, host: string): HostRoutes {
  const exact = table.exact.get(host);
  if (exact) return exact;
  const dot = host.indexOf('.');
  if (dot > 0) {
    const wild = table.wildcard.get(host.slice(dot));
    if (wild) return wild;
  }
  return table.any;
}

/** The route for host (normalised) and path (no query), or undefined (→ 404). */
export function matchRoute(table: RoutingTable, host: string, path: string): Route | undefined {
  const hr = hostRoutes(table, host);
  for (const r of hr.routes) if (pathMatches(r.pathType, r.matchKey, path)) return r;
  return hr.fallback ?? table.any.fallback;
}
