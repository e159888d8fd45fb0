/**
 * `--host` / `--path`: which rule answers that request, matched exactly as
 * the controller matches it (its routing table over every Ingress it serves:
 * exact host, then a one-label wildcard, then host-less rules; longest path
 * first, Exact before Prefix), and whether it reaches a ready pod of this
 * Ingress. Pure.
 */
import { PROXY_ERRORS, hostRoutes, matchRoute, normalizeHost, requestPath, type Route, type RoutingTable } from '@kubemu/workloads';
import type { Check } from './checks.js';
import type { IngressFacts } from './facts.js';
import { judgeBackend } from './ingress-backend.js';

const notFound = `${PROXY_ERRORS.NO_ROUTE.status} ${PROXY_ERRORS.NO_ROUTE.title}`;
const routeText = (r: Route) => `${r.host || '(any host)'}${r.path} (${r.pathType})`;

export function requestCheck(f: IngressFacts, table: RoutingTable | undefined, address: string | undefined): Check {
  const req = f.request!;
  const host = normalizeHost(req.host);
  const path = requestPath(req.path);
  const head = `request Host: ${host || '(none)'}, path ${path}`;
  const ns = f.ingress.metadata.namespace ?? 'default';
  const name = f.ingress.metadata.name ?? '';
  const ours = `${ns}/${name}`;
  if (!table) return { id: 'request', status: 'fail', text: `${head}: no ingress controller serves this Ingress, so nothing answers it as the Ingress says`, fix: 'make a controller serve the Ingress (see the class check above).' };
  const myHosts = [...new Set((f.ingress.spec?.rules ?? []).map((r) => (r.host ?? '').toLowerCase()).filter(Boolean))];
  const myPaths = (h: string) => (f.ingress.spec?.rules ?? []).filter((r) => (r.host ?? '').toLowerCase() === h).flatMap((r) => (r.http?.paths ?? []).map((p) => `${p.path || '/'} (${p.pathType === 'Exact' ? 'Exact' : 'Prefix'})`));
  const at = address ?? '<address>';
  const hr = hostRoutes(table, host);
  const route = matchRoute(table, host, path);
  // Whether some rule of this Ingress is for that host (exact, a one-label wildcard, or any host), as the controller compares.
  const dot = host.indexOf('.');
  const covers = (h: string) => !h || h === host || (h.startsWith('*.') && dot > 0 && host.slice(dot) === h.slice(1));
  const hostMatched = (f.ingress.spec?.rules ?? []).some((r) => covers((r.host ?? '').toLowerCase()));
  const owner = route ? `${route.ingress.namespace}/${route.ingress.name}` : undefined;

  if (!route || owner !== ours) {
    const instead = route ? `the controller sends it to ${hr.routes.includes(route) ? `rule ${routeText(route)}` : 'the default backend'} of Ingress ${owner} (Service ${route.backend.service}:${route.backend.port}) instead` : `the controller answers ${notFound}`;
    if (!hostMatched) {
      const others = [...table.exact.keys(), ...[...table.wildcard.keys()].map((s) => `*${s}`)].filter((h) => !myHosts.includes(h));
      return {
        id: 'request',
        status: 'fail',
        text: `${head}: no rule of Ingress ${name} matches host ${host || '(none)'}, so ${instead}`,
        details: [myHosts.length ? `Ingress ${name} has rules for ${myHosts.join(', ')}` : `Ingress ${name} has no host rules`, ...(others.length ? [`other Ingresses have rules for ${others.slice(0, 8).join(', ')}`] : [])],
        fix: myHosts.length ? `send Host: ${myHosts[0]} (curl -H 'Host: ${myHosts[0]}' http://${at}${path}), or add a rule for host ${host || '(none)'} to Ingress ${name}.` : `add a rule for host ${host || '(none)'} to Ingress ${name}.`,
      };
    }
    const paths = myPaths(host);
    return {
      id: 'request',
      status: 'fail',
      text: `${head}: ${host ? `host ${host} has rules, but ` : ''}no path of Ingress ${name} matches ${path}, so ${instead}`,
      details: paths.length ? [`paths for ${host || '(any host)'}: ${paths.join(', ')}`] : undefined,
      fix: `request one of those paths, or add a path for ${path} (pathType Prefix) to the rule for ${host || 'any host'} in Ingress ${name}.`,
    };
  }
  const fallback = !hr.routes.includes(route);
  const via = fallback ? `no rule path matches, so the default backend answers: Service ${route.backend.service}:${route.backend.port}` : `rule ${routeText(route)} → Service ${route.backend.service}:${route.backend.port}`;
  const b = judgeBackend(f, route.backend);
  const details = route.sslRedirect ? [`plain HTTP gets 308 Permanent Redirect to https://${host}${path} (the host has TLS; the annotation nginx.ingress.kubernetes.io/ssl-redirect: "false" turns that off): use https, or curl -L`] : undefined;
  if (b.status === 'fail') return { id: 'request', status: 'fail', text: `${head}: ${via}, but ${b.text}`, details, fix: b.fix };
  return { id: 'request', status: 'ok', text: `${head}: ${via} → ${b.text}`, details };
}
