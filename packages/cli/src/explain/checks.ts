/**
 * The seed's "Troubleshooting services" list, as checks over the facts of
 * one Service (facts.ts). Pure: no I/O, no clock (facts.now), so each check
 * is tested on fixtures. Each check is one line: ok (✔), fail (✘, with a
 * one-sentence fix) or skip (–, with why), plus detail lines.
 */
import { serviceSelector, type Container, type CoreEvent, type IntOrString, type Pod, type Probe, type Service, type ServicePort } from '@kubemu/api';
import type { Listener, ServiceFacts } from './facts.js';
import { acceptsPodIP, isLoopback } from './listeners.js';
import { nearMisses } from './near-miss.js';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface Check {
  /** Stable id for scripts: selector, ready, endpoints, port:80, kube-proxy, node-port, lb-ip, lb-nodes, dns. */
  id: string;
  status: CheckStatus;
  /** The one line: what was found. */
  text: string;
  /** More lines of evidence (one pod, one node each). */
  details?: string[];
  /** For a failure: what to do, in one sentence. */
  fix?: string;
}

export interface Explanation {
  cluster: string;
  namespace: string;
  service: string;
  type: string;
  clusterIP?: string;
  /** No check failed. */
  reachable: boolean;
  checks: Check[];
  /** The seed's reminders that apply to this Service. */
  reminders: string[];
}

// ---- small helpers ---------------------------------------------------------------

const nameOf = (p: Pod) => p.metadata.name ?? '';
const ms = (t: string | undefined) => (t ? Date.parse(t) : NaN);

export function podReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** `12 s`, `3 min`, `2 h`. */
export function duration(msec: number): string {
  const s = Math.max(0, msec) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

const list = (names: string[], max = 6) => (names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (${names.length - max} more)`);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `HTTP GET :8080/healthz`, `TCP :8080`, `exec [ls /var/ready]`. */
export function describeProbe(p: Probe): string {
  if (p.httpGet) return `${p.httpGet.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP'} GET ${p.httpGet.host ?? ''}:${p.httpGet.port}${p.httpGet.path ?? '/'}`;
  if (p.tcpSocket) return `TCP ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port}`;
  if (p.grpc) return `gRPC :${p.grpc.port}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}]`;
  return 'a probe with no handler';
}

/** The pod's events with `reason`, newest last. */
function podEvents(events: CoreEvent[], pod: Pod, reason: string): CoreEvent[] {
  return events
    .filter((e) => e.reason === reason && e.involvedObject?.name === pod.metadata.name && (e.involvedObject?.kind ?? 'Pod') === 'Pod' && (!e.involvedObject?.uid || !pod.metadata.uid || e.involvedObject.uid === pod.metadata.uid))
    .sort((a, b) => (ms(a.lastTimestamp ?? a.eventTime ?? undefined) || 0) - (ms(b.lastTimestamp ?? b.eventTime ?? undefined) || 0));
}

/** A container port number for targetPort (a number, or a name looked up in the pod's containers). */
export function resolveTargetPort(sp: ServicePort, pod: Pod): { port: number } | { error: string } {
  const tp: IntOrString = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return { port: tp };
  if (/^\d+$/.test(tp)) return { port: Number(tp) };
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers as Container[]) for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === proto) return { port: p.containerPort };
  return { error: `has no ${proto} container port named "${tp}"` };
}

// ---- the checks --------------------------------------------------------------------

interface Ctx {
  f: ServiceFacts;
  ns: string;
  name: string;
  key: string;
  headless: boolean;
  external: boolean;
  selector?: Record<string, string>;
  matched: Pod[];
  ready: Pod[];
}

function selectorCheck(c: Ctx): Check {
  const { f, selector } = c;
  if (c.external) return { id: 'selector', status: 'skip', text: `type ExternalName: no pods, the name is an alias (CNAME) of ${f.service.spec.externalName}` };
  if (!selector) return { id: 'selector', status: 'skip', text: 'no selector: the endpoints are written by hand (see Endpoints below)' };
  const sel = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  if (c.matched.length) return { id: 'selector', status: 'ok', text: `selector ${sel} matches ${plural(c.matched.length, 'pod')}: ${list(c.matched.map(nameOf))}` };
  const others = f.pods.filter((p) => !p.metadata.deletionTimestamp);
  if (!others.length) {
    return { id: 'selector', status: 'fail', text: `selector ${sel} matches no pods: namespace ${c.ns} has no pods at all`, fix: `create the pods (a Deployment whose template has the labels ${sel}) in namespace ${c.ns}, or give -n the namespace they are in.` };
  }
  const misses = nearMisses(selector, others);
  const details = misses.slice(0, 5).map((m) =>
    m.kind === 'value'
      ? `near miss: ${plural(m.pods.length, 'pod')} (${list(m.pods, 3)}) ${m.pods.length === 1 ? 'has' : 'have'} ${m.podKey}=${m.podValue}, the selector wants ${m.key}=${m.value}`
      : `near miss: ${plural(m.pods.length, 'pod')} (${list(m.pods, 3)}) ${m.pods.length === 1 ? 'has' : 'have'} the label key ${m.podKey}=${m.podValue}, the selector wants ${m.key}=${m.value}`,
  );
  const best = misses[0];
  const fix = best
    ? `change the Service's selector ${best.key}=${best.value} to ${best.podKey}=${best.podValue} (kubectl edit svc ${c.name}), or relabel the pods.`
    : `no pod in namespace ${c.ns} carries labels close to ${sel}: fix the selector, or the pods' template labels.`;
  return { id: 'selector', status: 'fail', text: `selector ${sel} matches no pods in namespace ${c.ns} (${plural(others.length, 'pod')} there)`, details: details.length ? details : [`labels there: ${list([...new Set(others.flatMap((p) => Object.entries(p.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`)))], 8)}`], fix };
}

/** Why a pod is not ready, in one line (its failing probe, the last Unhealthy event, since when); and the fix. */
export function notReadyReason(f: Pick<ServiceFacts, 'events' | 'now'>, pod: Pod): { line: string; fix: string } {
  const n = nameOf(pod);
  if (pod.metadata.deletionTimestamp) return { line: `${n}: terminating`, fix: `wait for its replacement to become ready.` };
  const phase = pod.status?.phase ?? 'Pending';
  const waiting = pod.status?.containerStatuses?.find((s) => s.state?.waiting?.reason);
  if (phase !== 'Running') {
    const why = waiting ? `${waiting.state!.waiting!.reason}${waiting.state!.waiting!.message ? `: ${waiting.state!.waiting!.message}` : ''}` : pod.status?.reason ?? (pod.spec.nodeName ? 'starting' : 'not scheduled to a node yet');
    return { line: `${n}: ${phase} (${why})`, fix: `get pod ${n} running (kubectl describe pod ${n} shows why it is ${phase}).` };
  }
  if (waiting) return { line: `${n}: container ${waiting.name} ${waiting.state!.waiting!.reason}`, fix: `fix container ${waiting.name} of ${n} (kubectl logs ${n} --previous shows why it exits).` };
  const cond = pod.status?.conditions?.find((k) => k.type === 'Ready');
  const since = ms(cond?.lastTransitionTime);
  const sinceText = Number.isFinite(since) ? ` since ${new Date(since).toISOString().slice(11, 19)} (${duration(f.now - since)} ago)` : '';
  const unhealthy = podEvents(f.events, pod, 'Unhealthy').filter((e) => /^Readiness/i.test(e.message ?? ''));
  const last = unhealthy[unhealthy.length - 1];
  const lastText = last ? `; last: "${last.message}"${last.count && last.count > 1 ? ` (×${last.count})` : ''}` : '';
  const probeOf = (pod.spec.containers as Container[]).find((k) => k.readinessProbe && !pod.status?.containerStatuses?.find((s) => s.name === k.name)?.ready) ?? (pod.spec.containers as Container[]).find((k) => k.readinessProbe);
  if (probeOf?.readinessProbe) {
    const probe = describeProbe(probeOf.readinessProbe);
    return {
      line: `${n}: readiness probe ${probe} of container ${probeOf.name} failing${sinceText}${lastText}`,
      fix: `make the readiness probe ${probe} succeed in ${n} (or fix the probe), and the pod joins the endpoints.`,
    };
  }
  return { line: `${n}: not ready${sinceText}${lastText || ' (no readiness probe; a container is not ready)'}`, fix: `find out why ${n} is not ready (kubectl describe pod ${n}).` };
}

function readyCheck(c: Ctx): Check {
  if (c.external || !c.selector) return { id: 'ready', status: 'skip', text: c.external ? 'ExternalName: no pods to be ready' : 'no selector: readiness is not tracked for hand-written endpoints' };
  if (!c.matched.length) return { id: 'ready', status: 'skip', text: 'no pods match, so none can be ready' };
  const notReady = c.matched.filter((p) => !podReady(p));
  const reasons = notReady.map((p) => notReadyReason(c.f, p));
  const publish = c.f.service.spec.publishNotReadyAddresses === true;
  if (!notReady.length) return { id: 'ready', status: 'ok', text: c.matched.length === 1 ? `the pod is ready` : `all ${c.matched.length} pods ready` };
  if (c.ready.length || publish) {
    return { id: 'ready', status: 'ok', text: `${c.ready.length} of ${c.matched.length} pods ready${publish ? ' (publishNotReadyAddresses: not-ready pods get traffic too)' : `: traffic goes to ${list(c.ready.map(nameOf))} only`}`, details: reasons.map((r) => r.line) };
  }
  return { id: 'ready', status: 'fail', text: `${c.matched.length === 1 ? 'the only pod is not' : `none of the ${c.matched.length} pods is`} ready, so the Service has no endpoints (connections are refused)`, details: reasons.map((r) => r.line), fix: reasons[0]!.fix };
}

/** Ready addresses in the Endpoints object / in the slices. */
function endpointAddresses(f: ServiceFacts) {
  const ep = { ready: new Set<string>(), notReady: new Set<string>() };
  for (const s of f.endpoints?.subsets ?? []) {
    for (const a of s.addresses ?? []) ep.ready.add(a.ip);
    for (const a of s.notReadyAddresses ?? []) ep.notReady.add(a.ip);
  }
  const sl = new Set<string>();
  for (const s of f.slices) for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false) for (const a of e.addresses) sl.add(a);
  const ports = [...new Set((f.endpoints?.subsets ?? []).flatMap((s) => (s.ports ?? []).map((p) => p.port)))];
  return { ep, sl, ports };
}

const diff = (want: Set<string>, have: Set<string>) => ({ missing: [...want].filter((x) => !have.has(x)).sort(), extra: [...have].filter((x) => !want.has(x)).sort() });

function endpointsCheck(c: Ctx): Check {
  const { f } = c;
  if (c.external) return { id: 'endpoints', status: 'skip', text: 'ExternalName: no endpoints' };
  const { ep, sl, ports } = endpointAddresses(f);
  const portText = ports.length ? ` (port${ports.length > 1 ? 's' : ''} ${ports.join(', ')})` : '';
  if (!c.selector) {
    if (!f.endpoints) return { id: 'endpoints', status: 'fail', text: `no selector and no Endpoints object named ${c.name}: the Service has no backends`, fix: `write an Endpoints object named ${c.name} in ${c.ns} with the backends' addresses and ports (or give the Service a selector).` };
    if (!ep.ready.size) return { id: 'endpoints', status: 'fail', text: `hand-written Endpoints ${c.name} list no ready addresses`, fix: `put the backends' addresses under subsets[].addresses of Endpoints ${c.name}.` };
    return { id: 'endpoints', status: 'ok', text: `hand-written Endpoints ${c.name}: ${list([...ep.ready].sort())}${portText}` };
  }
  const publish = f.service.spec.publishNotReadyAddresses === true;
  const wantPods = publish ? c.matched.filter((p) => !p.metadata.deletionTimestamp) : c.ready;
  const want = new Set(wantPods.map((p) => p.status?.podIP).filter((x): x is string => !!x));
  const byIP = new Map(c.matched.map((p) => [p.status?.podIP, nameOf(p)]));
  const label = (ip: string) => (byIP.get(ip) ? `${ip} (${byIP.get(ip)})` : ip);
  const d1 = diff(want, ep.ready);
  const d2 = diff(want, sl);
  const details: string[] = [];
  if (!f.endpoints) details.push(`there is no Endpoints object named ${c.name}`);
  if (d1.missing.length) details.push(`Endpoints lack ${d1.missing.map(label).join(', ')}`);
  if (d1.extra.length) details.push(`Endpoints also hold ${d1.extra.map(label).join(', ')}, which ${d1.extra.length === 1 ? 'is' : 'are'} not a ready pod of the selector`);
  if (d2.missing.length) details.push(`EndpointSlices lack ${d2.missing.map(label).join(', ')}`);
  if (d2.extra.length) details.push(`EndpointSlices also hold ${d2.extra.map(label).join(', ')}`);
  if (details.length) {
    return { id: 'endpoints', status: 'fail', text: `Endpoints/EndpointSlices of ${c.name} do not hold exactly the ${publish ? '' : 'ready '}pods`, details, fix: `the endpoints controllers have not caught up: check the control plane (kubemu status) and that nothing else writes Endpoints ${c.name}.` };
  }
  if (!want.size) return { id: 'endpoints', status: 'fail', text: `Endpoints ${c.name} are empty (no ready pod), so connections to the Service are refused at once`, fix: c.matched.length ? 'make a pod ready (see above).' : 'make the selector match pods (see above).' };
  return { id: 'endpoints', status: 'ok', text: `Endpoints and EndpointSlices hold exactly the ${want.size} ready pod${want.size === 1 ? '' : 's'}: ${list([...want].sort())}${portText}` };
}

/** How one pod's sockets serve `port` for the pod IP. */
export function listenVerdict(ls: Listener[], proto: string, port: number, podIP: string | undefined): 'ok' | 'loopback' | 'none' {
  const on = ls.filter((l) => l.proto === proto && l.port === port);
  if (on.some((l) => acceptsPodIP(l.address, podIP))) return 'ok';
  if (on.some((l) => isLoopback(l.address))) return 'loopback';
  return 'none';
}

function portChecks(c: Ctx): Check[] {
  const { f } = c;
  const ports = f.service.spec.ports ?? [];
  if (c.external) return [];
  if (!ports.length) return [{ id: 'ports', status: 'fail', text: 'the Service has no ports', fix: 'add spec.ports (port and targetPort).' }];
  const pods = (c.ready.length ? c.ready : c.matched.filter((p) => p.status?.phase === 'Running' && p.status.podIP)).filter((p) => !p.metadata.deletionTimestamp);
  return ports.map((sp) => {
    const proto = sp.protocol ?? 'TCP';
    const tp = sp.targetPort ?? sp.port;
    const head = `port ${sp.port}/${proto}${sp.name ? ` (${sp.name})` : ''} → targetPort ${typeof tp === 'string' && !/^\d+$/.test(tp) ? `"${tp}"` : tp}`;
    const id = `port:${sp.name || sp.port}`;
    if (!c.selector) {
      const { ports: epPorts } = endpointAddresses(f);
      return { id, status: 'skip' as const, text: `${head}: hand-written Endpoints${epPorts.length ? ` use port ${epPorts.join(', ')}` : ''}; kubemu cannot look inside backends that are not pods` };
    }
    if (!pods.length) return { id, status: 'skip' as const, text: `${head}: no running pod to look into` };
    const okPods: string[] = [];
    const details: string[] = [];
    const fixes: string[] = [];
    let unknown = 0;
    const resolved = new Set<number>();
    for (const pod of pods) {
      const n = nameOf(pod);
      const r = resolveTargetPort(sp, pod);
      if ('error' in r) {
        details.push(`${n} ${r.error}: Kubernetes leaves it out of this port's endpoints`);
        fixes.push(`name a container port "${tp}" in ${n}'s template, or set targetPort to the port number.`);
        continue;
      }
      resolved.add(r.port);
      const ls = f.listeners[n];
      if (!ls || 'error' in ls) {
        unknown++;
        details.push(`${n}: could not read its sockets${ls ? ` (${ls.error})` : ''}`);
        continue;
      }
      const v = listenVerdict(ls, proto, r.port, pod.status?.podIP);
      if (v === 'ok') okPods.push(typeof tp === 'string' && !/^\d+$/.test(tp) ? `${n} (:${r.port})` : n);
      else if (v === 'loopback') {
        details.push(`${n}: the app listens on ${ls.find((l) => l.proto === proto && l.port === r.port)!.address}:${r.port} only, which the pod IP ${pod.status?.podIP ?? ''} does not reach`);
        fixes.push(`make the app in ${n} listen on 0.0.0.0 (all addresses) instead of localhost: the Service connects to the pod IP.`);
      } else {
        const others = [...new Set(ls.filter((l) => l.proto === proto && !isLoopback(l.address)).map((l) => l.port))].sort((a, b) => a - b);
        details.push(`${n}: nothing listens on ${proto} ${r.port}${others.length ? ` (it listens on ${others.join(', ')})` : ' (no listening sockets)'}`);
        fixes.push(others.length === 1 ? `set targetPort of port ${sp.port} to ${others[0]} (the port the app listens on), not ${r.port}.` : `point targetPort of port ${sp.port} at the port the app listens on, or make the app listen on ${r.port}.`);
      }
    }
    const via = [...resolved].join('/');
    if (fixes.length) return { id, status: 'fail' as const, text: `${head}${via && String(via) !== String(tp) ? ` (= ${via})` : ''}: ${plural(fixes.length, 'pod')} of ${pods.length} cannot take connections on it`, details: [...(okPods.length ? [`listening in ${list(okPods)}`] : []), ...details], fix: fixes[0]! };
    if (!okPods.length) return { id, status: 'skip' as const, text: `${head}: could not look inside the pods`, details };
    return { id, status: 'ok' as const, text: `${head}${via && String(via) !== String(tp) ? ` (= ${via})` : ''}: listening on the pod IP in ${list(okPods)}${unknown ? ` (${unknown} not read)` : ''}`, details: details.length ? details : undefined };
  });
}

/** The Service's current version as kube-proxy counts it: the newest of the Service and its slices. */
export function currentVersion(f: ServiceFacts): number {
  return Math.max(Number(f.service.metadata.resourceVersion ?? 0), ...f.slices.map((s) => Number(s.metadata.resourceVersion ?? 0)));
}

function proxyCheck(c: Ctx): Check {
  const { f } = c;
  if (c.external) return { id: 'kube-proxy', status: 'skip', text: 'ExternalName: kube-proxy has nothing to program (DNS answers with a CNAME)' };
  if (c.headless) return { id: 'kube-proxy', status: 'skip', text: 'headless Service (clusterIP: None): kube-proxy does not proxy it, clients connect to the pod IPs DNS returns' };
  const rv = currentVersion(f);
  const trigger = ms(f.endpoints?.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);
  const ok: string[] = [];
  const bad: string[] = [];
  let firstBad = '';
  for (const node of f.nodes) {
    const a = f.proxies[node.name];
    if (!a) continue;
    if ('error' in a) {
      bad.push(`${node.name}: kube-proxy does not answer on ${node.ip}:10256 (${a.error})`);
      firstBad ||= node.name;
    } else if ('behind' in a) {
      const waited = Number.isFinite(trigger) ? `, the change is ${duration(f.now - trigger)} old` : '';
      bad.push(a.rv ? `${node.name}: behind, has applied version ${a.rv} (${duration(f.now - a.at)} ago), not ${rv}${waited}` : `${node.name}: has never applied ${c.key}`);
      firstBad ||= node.name;
    } else {
      // The endpoints' last change (trigger time) vs when this proxy applied it: its lag. (Clocks of one machine: a few ms either way.)
      const lag = Number.isFinite(trigger) && a.at >= trigger - 1000 ? `, ${duration(a.at - trigger)} after the endpoints changed` : '';
      ok.push(`${node.name} (${duration(f.now - a.at)} ago${lag})`);
    }
  }
  if (bad.length) {
    return { id: 'kube-proxy', status: 'fail', text: `kube-proxy has not applied version ${rv} of ${c.key} on ${plural(bad.length, 'node')}`, details: [...bad, ...(ok.length ? [`applied on ${ok.join(', ')}`] : [])], fix: `check ${firstBad}'s kube-proxy (kubemu status --name ${f.cluster} shows whether it runs; its log is in the cluster's logs folder); pods on ${firstBad} get stale forwarding until it catches up.` };
  }
  if (!ok.length) return { id: 'kube-proxy', status: 'skip', text: 'no node to ask' };
  return { id: 'kube-proxy', status: 'ok', text: `every node's kube-proxy has applied version ${rv}: ${ok.join(', ')}` };
}

function nodePortCheck(c: Ctx): Check {
  const { f } = c;
  const t = f.service.spec.type ?? 'ClusterIP';
  if (t !== 'NodePort' && t !== 'LoadBalancer') return { id: 'node-port', status: 'skip', text: `type ${t}: no node port (NodePort or LoadBalancer reach it from outside the cluster)` };
  const nps = (f.service.spec.ports ?? []).map((p) => p.nodePort).filter((x): x is number => !!x);
  if (!nps.length) return { id: 'node-port', status: 'skip', text: 'no node ports allocated (allocateLoadBalancerNodePorts: false)' };
  const serving = f.nodes.filter((n) => {
    const a = f.proxies[n.name];
    return a && !('error' in a);
  });
  const npText = nps.join(', ');
  const via = f.via ? f.nodes.find((n) => n.name === f.via) : undefined;
  if (f.service.spec.externalTrafficPolicy === 'Local') {
    const local = new Set(c.ready.map((p) => p.spec.nodeName));
    const withEp = serving.filter((n) => local.has(n.name));
    const without = f.nodes.filter((n) => !local.has(n.name)).map((n) => n.name);
    const details = without.length ? [`${list(without)} ${without.length === 1 ? 'has' : 'have'} no local endpoint: ${without.length === 1 ? 'it drops' : 'they drop'} node-port traffic (externalTrafficPolicy: Local${f.service.spec.healthCheckNodePort ? `; healthCheckNodePort ${f.service.spec.healthCheckNodePort} answers 503 there` : ''})`] : undefined;
    if (!withEp.length) return { id: 'node-port', status: 'fail', text: `node port ${npText} (Local policy): no node has a ready local endpoint, so every node drops it`, details, fix: 'make a pod ready, or set externalTrafficPolicy: Cluster to let every node forward to any pod.' };
    const servedBy = withEp.map((n) => `${n.name} (${n.ip})`).join(', ');
    if (via && !withEp.includes(via)) {
      return {
        id: 'node-port',
        status: 'fail',
        text: `node port ${npText} on ${via.name} (${via.ip}): externalTrafficPolicy Local and ${via.name} has no ready local endpoint, so it drops the connection; only ${servedBy} serve${withEp.length === 1 ? 's' : ''} it`,
        details,
        fix: `connect to ${withEp[0]!.name}'s address (${withEp[0]!.ip}:${nps[0]}), run a ready pod on ${via.name}, or set externalTrafficPolicy: Cluster to let every node forward to any pod.`,
      };
    }
    return { id: 'node-port', status: 'ok', text: `node port ${npText} (Local policy) served by ${servedBy}${via ? `, ${via.name} among them` : ''}`, details };
  }
  if (!serving.length) return { id: 'node-port', status: 'fail', text: `node port ${npText}: no node's kube-proxy answers, so no node serves it`, fix: `check the nodes' kube-proxies (kubemu status --name ${f.cluster}).` };
  if (via && !serving.includes(via)) return { id: 'node-port', status: 'fail', text: `node port ${npText} on ${via.name} (${via.ip}): its kube-proxy does not answer, so it serves nothing; ${serving.map((n) => n.name).join(', ')} ${serving.length === 1 ? 'does' : 'do'}`, fix: `connect to another node (${serving[0]!.ip}:${nps[0]}), or bring ${via.name}'s kube-proxy back (kubemu status --name ${f.cluster}).` };
  return { id: 'node-port', status: 'ok', text: `node port ${npText} served by every node: ${serving.map((n) => `${n.name} (${n.ip})`).join(', ')}` };
}

function lbChecks(c: Ctx): Check[] {
  const { f } = c;
  if ((f.service.spec.type ?? 'ClusterIP') !== 'LoadBalancer') return [];
  const out: Check[] = [];
  const ingress = f.service.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
  const lb = f.lb;
  const assignment = lb && !('error' in lb) ? lb.assignments[c.key] : undefined;
  if (ingress) out.push({ id: 'lb-ip', status: 'ok', text: `external IP ${ingress.ip ?? ingress.hostname} assigned${ingress.ip ? `: connect to ${ingress.ip}:${(f.service.spec.ports ?? []).map((p) => p.port).join(',')}` : ''}` });
  else {
    const ev = f.events
      .filter((e) => e.involvedObject?.kind === 'Service' && e.involvedObject.name === c.name && e.type === 'Warning')
      .sort((a, b) => (ms(a.lastTimestamp) || 0) - (ms(b.lastTimestamp) || 0))
      .pop();
    const why = assignment?.pending ?? (ev ? `${ev.reason}: ${ev.message}` : !lb ? 'this cluster has no load balancer' : f.service.spec.loadBalancerClass ? `loadBalancerClass ${f.service.spec.loadBalancerClass} is not served by kubemu's load balancer` : 'no reason given yet');
    const fix = /not in the load balancer's pool/i.test(why)
      ? "set loadBalancerIP to an address inside the load balancer's pool, or drop it to get one assigned."
      : /already assigned/i.test(why)
        ? 'ask for another loadBalancerIP, or drop it to get a free one assigned.'
        : /no free address|exhausted/i.test(why)
          ? 'free an address (delete an unused LoadBalancer Service) or start the cluster with a larger --lb-pool.'
          : "use the node port meanwhile, and see the load balancer's events (kubectl describe svc).";
    // The load balancer's own word for it (what kubectl describe svc lists), as evidence.
    const evidence = ev ? [`Event ${ev.reason}${ev.count && ev.count > 1 ? ` (×${ev.count})` : ''} from ${ev.source?.component ?? 'the load balancer'}: ${ev.message}`] : undefined;
    out.push({ id: 'lb-ip', status: 'fail', text: `external IP <pending>: ${why}`, details: evidence, fix });
  }
  if (!lb) return out;
  if ('error' in lb) {
    out.push({ id: 'lb-nodes', status: 'fail', text: `the load balancer's /healthz does not answer (${lb.error})`, fix: `check the load-balancer process (kubemu status --name ${f.cluster}).` });
    return out;
  }
  const local = f.service.spec.externalTrafficPolicy === 'Local';
  const rows = lb.nodes.filter((n) => (local ? n.key.endsWith(` ${c.key}`) : n.key.endsWith(' proxy')));
  if (!rows.length) {
    out.push({ id: 'lb-nodes', status: 'skip', text: 'the load balancer checks no node for this Service yet' });
    return out;
  }
  const nodeOf = (k: string) => k.split(' ')[0]!;
  const healthy = rows.filter((r) => r.healthy).map((r) => nodeOf(r.key));
  const sick = rows.filter((r) => !r.healthy).map((r) => `${nodeOf(r.key)}: ${r.error ?? (r.checkedAt ? 'unhealthy' : 'not checked yet')} (${r.ip}:${r.port})`);
  const how = local ? `healthCheckNodePort ${f.service.spec.healthCheckNodePort ?? ''}` : "kube-proxy's :10256/healthz";
  if (!healthy.length) out.push({ id: 'lb-nodes', status: 'fail', text: `the load balancer sees no healthy node (by ${how}), so it refuses connections`, details: sick, fix: local ? 'make a pod ready (Local policy: only nodes with a ready local pod pass), or use externalTrafficPolicy: Cluster.' : "bring the nodes' kube-proxies back (kubemu status)." });
  else out.push({ id: 'lb-nodes', status: 'ok', text: `the load balancer sends to ${list(healthy)} (healthy by ${how})`, details: sick.length ? sick.map((s) => `not used: ${s}`) : undefined });
  return out;
}

function dnsCheck(c: Ctx): Check {
  const { f } = c;
  const dns = f.dns;
  if (!dns.running) return { id: 'dns', status: 'skip', text: `DNS: ${dns.reason}` };
  const fqdn = dns.fqdn;
  if (dns.error) return { id: 'dns', status: 'fail', text: `DNS: ${fqdn} does not resolve (${dns.error}, asked ${dns.server})`, fix: 'check the cluster DNS pods (kubectl get pods -n kube-system -l k8s-app=kube-dns).' };
  const got = [...dns.answers].sort();
  if (c.external) {
    const want = `${(f.service.spec.externalName ?? '').replace(/\.$/, '')}.`;
    const ok = got.some((a) => a === want || a === want.slice(0, -1));
    return ok ? { id: 'dns', status: 'ok', text: `DNS: ${fqdn} is a CNAME to ${f.service.spec.externalName}` } : { id: 'dns', status: 'fail', text: `DNS: ${fqdn} answers ${got.join(', ') || 'nothing'}, not a CNAME to ${f.service.spec.externalName}`, fix: 'check the cluster DNS pods (kubectl get pods -n kube-system -l k8s-app=kube-dns).' };
  }
  const want = c.headless ? [...new Set((f.service.spec.publishNotReadyAddresses ? c.matched : c.ready).map((p) => p.status?.podIP).filter((x): x is string => !!x))].sort() : [f.service.spec.clusterIP ?? ''];
  const what = c.headless ? `the ready pod IPs` : `the cluster IP`;
  if (JSON.stringify(got) === JSON.stringify(want)) return { id: 'dns', status: 'ok', text: `DNS: ${fqdn} → ${got.join(', ') || '(no addresses)'} (${what})` };
  return { id: 'dns', status: 'fail', text: `DNS: ${fqdn} → ${got.join(', ') || 'no addresses'}, expected ${want.join(', ') || 'none'} (${what})`, fix: c.headless && !want.length ? 'make a pod ready: a headless Service has no address until one is.' : 'check the cluster DNS pods (kubectl get pods -n kube-system -l k8s-app=kube-dns); they may not have caught up.' };
}

/** How to reach the Service from outside the cluster. */
function outside(s: Service['spec']): string {
  const np = (s.ports ?? []).map((p) => p.nodePort).filter(Boolean).join(', ');
  if (s.type === 'NodePort') return `the node port (any node's IP, port ${np})`;
  if (s.type === 'LoadBalancer') return `the external IP, or the node port (${np || 'none allocated'})`;
  return 'a NodePort or LoadBalancer Service';
}

function reminders(c: Ctx): string[] {
  const { f, ns, name } = c;
  const s = f.service.spec;
  const out: string[] = [];
  const ports = s.ports ?? [];
  if (!c.external && !c.headless && s.clusterIP) {
    out.push(`the cluster IP ${s.clusterIP} is virtual: it answers only on its port${ports.length > 1 ? 's' : ''} (${ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(', ')}), never to ping — test with curl ${s.clusterIP}:${ports[0]?.port ?? ''}`);
    out.push(`connect to the cluster IP from inside the cluster (a pod: kubectl exec POD -- curl …, or a node: kubemu ssh node-1 --name ${f.cluster}); from outside use ${outside(s)}`);
  }
  const differ = ports.filter((p) => p.targetPort !== undefined && String(p.targetPort) !== String(p.port));
  const resolved = (p: ServicePort) => {
    const r = c.ready[0] ? resolveTargetPort(p, c.ready[0]) : undefined;
    return r && 'port' in r && String(r.port) !== String(p.targetPort) ? `${p.targetPort} = ${r.port}` : String(p.targetPort);
  };
  if (differ.length) out.push(`connect to the port the Service exposes (${differ.map((p) => p.port).join(', ')}), not the targetPort (${differ.map(resolved).join(', ')})`);
  out.push(`from another namespace use the FQDN ${name}.${ns}.svc.cluster.local (or ${name}.${ns}); if a name fails, try the cluster IP`);
  const pod = c.ready[0];
  const p0 = ports[0];
  if (pod?.status?.podIP && p0) {
    const r = resolveTargetPort(p0, pod);
    if ('port' in r) out.push(`to test one pod alone, connect to its pod IP and target port: curl ${pod.status.podIP}:${r.port} (${nameOf(pod)})`);
  }
  return out;
}

export function explainService(f: ServiceFacts): Explanation {
  const svc = f.service;
  const ns = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name ?? '';
  const external = svc.spec.type === 'ExternalName';
  const selector = svc.spec.selector && Object.keys(svc.spec.selector).length ? svc.spec.selector : undefined;
  const m = serviceSelector(selector);
  const matched = selector ? f.pods.filter((p) => m.matches(p.metadata.labels) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') : [];
  const ready = matched.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
  const c: Ctx = { f, ns, name, key: `${ns}/${name}`, headless: svc.spec.clusterIP === 'None', external, selector, matched, ready };
  const checks = [selectorCheck(c), readyCheck(c), endpointsCheck(c), ...portChecks(c), proxyCheck(c), nodePortCheck(c), ...lbChecks(c), dnsCheck(c)];
  return {
    cluster: f.cluster,
    namespace: ns,
    service: name,
    type: svc.spec.type ?? 'ClusterIP',
    clusterIP: svc.spec.clusterIP,
    reachable: !checks.some((k) => k.status === 'fail'),
    checks,
    reminders: reminders(c),
  };
}
