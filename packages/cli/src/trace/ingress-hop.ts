/**
 * `kubemu trace`: the ingress controller's hop, from the traced request's
 * line in the controller's access log (found by its X-Request-ID): the rule
 * that matched, the Service port, the upstream pod and how long it took,
 * and with cookie affinity what became of the cookie (new, honoured,
 * reissued) and the pod it pins, as the controller itself decided. Pure.
 */
import type { Hop, TraceFacts, TracePod } from './facts.js';
import { setCookiePair, type IngressAccessLine } from './ingress-log.js';

export interface IngressView {
  /** "namespace/name" of the controller pod, and its node. */
  controllerPod: string;
  node: string;
  requestId: string;
  /** The controller's answer to this request (its access log's status). */
  status?: number;
  /** "namespace/name" of the Ingress whose rule matched. */
  ingress?: string;
  rule?: IngressAccessLine['rule'];
  /** "namespace/service:port" */
  service?: string;
  upstream?: { pod: string; addr: string };
  upstreamMs?: number;
  /** Cookie affinity, as the controller logged it, with the cookie the client sent and the Set-Cookie it answered. */
  affinity?: NonNullable<IngressAccessLine['affinity']> & { sent?: string; setCookie?: string };
}

export interface IngressHop {
  view: IngressView;
  hop: Hop;
  /** The upstream endpoint (ip:port) the controller sent the request to. */
  upstream?: string;
  problems: string[];
}

function ruleText(l: IngressAccessLine): string {
  const r = l.rule;
  if (!r) return 'no rule';
  if (r.defaultBackend) return `default backend of ${l.ingress}${r.host ? ` (host ${r.host})` : ''}`;
  return `rule ${l.ingress}: ${r.host || '*'}${r.path} (${r.pathType})`;
}

/** What the cookie did, in one line. */
function cookieLine(a: NonNullable<IngressView['affinity']>): string {
  const head = `cookie affinity (${a.cookie}, ${a.mode})`;
  const pins = `pins pod ${a.pod} ${a.addr}`;
  if (a.state === 'honoured') return `${head}: the client sent ${a.sent ?? `${a.cookie}=${a.value}`}: honoured, it ${pins}`;
  const set = `the controller set ${a.cookie}=${a.value}, which ${pins}`;
  if (a.state === 'reissued') return `${head}: the client sent ${a.sent ?? `a ${a.cookie} cookie`}, which pins no ready pod (reissued): ${set}`;
  return `${head}: the client sent no ${a.cookie} cookie (new): ${set}`;
}

/** `arrived`: how the request reached the controller pod (its node, the client it sees), first in the hop's details. */
export function ingressHop(f: TraceFacts, entered: TracePod, arrived: string[] = []): IngressHop {
  const requestId = f.request?.requestId ?? '';
  const ing = f.ingress;
  // The pod whose log has the line (the node hop's endpoint, unless the hops were matched wrongly).
  const controller = (ing?.pod && ing.pod !== entered.name && f.pods.find((p) => p.ingressController && p.name === ing.pod)) || entered;
  const who = `${controller.namespace}/${controller.name}`;
  const view: IngressView = { controllerPod: who, node: controller.node, requestId };
  const problems: string[] = [];
  if (controller !== entered) problems.push(`the request's access line is in ${controller.name}'s log, not in that of ${entered.name} (the pod the node hop names)`);
  const line = ing?.line;
  if (!line) {
    problems.push(`no line with X-Request-ID ${requestId} in the access log of ${ing?.searched.join(', ') || 'no controller pod'}${ing?.error ? ` (${ing.error})` : ''}`);
    return { view, problems, hop: { kind: 'ingress', title: `ingress controller ${who} on ${controller.node}: its access log has no record of this request`, details: arrived } };
  }
  view.status = line.status;
  if (line.ingress) view.ingress = line.ingress;
  if (line.rule) view.rule = line.rule;
  if (line.service) view.service = line.service;
  if (line.upstream && line.upstreamAddr) view.upstream = { pod: line.upstream, addr: line.upstreamAddr };
  if (line.upstreamMs !== undefined) view.upstreamMs = line.upstreamMs;

  let title = `ingress controller ${who} on ${controller.node}: `;
  if (!line.rule) title += `no rule matches ${line.host}${line.path} → ${line.status}`;
  else {
    title += `${ruleText(line)} → Service ${line.service ?? '?'}`;
    title += view.upstream ? ` → upstream pod ${view.upstream.pod} ${view.upstream.addr}${line.upstreamMs !== undefined ? `, ${line.upstreamMs} ms` : ''}` : ` → no upstream (${line.status})`;
  }
  const details = [...arrived, `its access log, X-Request-ID ${requestId}: ${line.method} ${line.host}${line.path} over ${line.proto} → ${line.status}, ${line.bytes} bytes`];
  if (view.upstream) details.push(`the controller connects to the pod IP itself (the Service's endpoints, not its cluster IP)`);
  if (line.affinity) {
    const sent = f.request?.cookie && f.request.cookie.startsWith(`${line.affinity.cookie}=`) ? f.request.cookie : undefined;
    const setCookie = f.request?.setCookies.find((c) => setCookiePair(c)?.name === line.affinity!.cookie);
    view.affinity = { ...line.affinity, ...(sent ? { sent } : {}), ...(setCookie ? { setCookie } : {}) };
    details.push(cookieLine(view.affinity));
    if (setCookie) details.push(`Set-Cookie: ${setCookie}`);
    if (line.affinity.state !== 'honoured') details.push(`send it again with --cookie ${line.affinity.cookie}=${line.affinity.value} to land on ${line.affinity.pod}`);
  }
  return { view, hop: { kind: 'ingress', title, details }, upstream: view.upstream?.addr, problems };
}
