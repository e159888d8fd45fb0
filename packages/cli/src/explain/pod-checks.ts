/**
 * `kubemu explain pod NAME`: why is this pod (not) in a Service's endpoints?
 * Its phase and containers, its readiness (the failing probe), what it
 * listens on, and for each Service of the namespace that selects it — or
 * nearly does — whether its address is in that Service's ready endpoints.
 * Pure, like checks.ts.
 */
import { serviceSelector, type Container, type Pod } from '@kubemu/api';
import { describeProbe, duration, listenVerdict, notReadyReason, podReady, resolveTargetPort, type Check } from './checks.js';
import type { PodFacts } from './facts.js';
import { editDistance, nearMisses } from './near-miss.js';

export interface PodExplanation {
  cluster: string;
  namespace: string;
  pod: string;
  node?: string;
  podIP?: string;
  /** No check failed. */
  healthy: boolean;
  checks: Check[];
}

function phaseCheck(f: PodFacts): Check {
  const p = f.pod;
  const n = p.metadata.name ?? '';
  const phase = p.status?.phase ?? 'Pending';
  if (p.metadata.deletionTimestamp) return { id: 'phase', status: 'fail', text: `${n} is terminating (deleted ${duration(f.now - Date.parse(p.metadata.deletionTimestamp))} ago): it has left every Service's endpoints`, fix: 'wait for its replacement, or recreate it.' };
  if (phase === 'Running') {
    const restarts = (p.status?.containerStatuses ?? []).reduce((a, s) => a + s.restartCount, 0);
    return { id: 'phase', status: 'ok', text: `Running on ${p.spec.nodeName} with IP ${p.status?.podIP ?? '?'}${restarts ? `, ${restarts} restart${restarts === 1 ? '' : 's'}` : ''}` };
  }
  const waiting = p.status?.containerStatuses?.find((s) => s.state?.waiting?.reason);
  const why = waiting ? `${waiting.name}: ${waiting.state!.waiting!.reason}${waiting.state!.waiting!.message ? ` (${waiting.state!.waiting!.message})` : ''}` : p.status?.reason ?? (p.spec.nodeName ? 'starting' : 'not scheduled to a node yet');
  return { id: 'phase', status: 'fail', text: `${phase}: ${why}`, fix: `get the pod running first (kubectl describe pod ${n}; kubectl logs ${n}).` };
}

function readinessCheck(f: PodFacts): Check {
  const p = f.pod;
  const probes = (p.spec.containers as Container[]).filter((c) => c.readinessProbe).map((c) => `${c.name}: ${describeProbe(c.readinessProbe!)}`);
  if (podReady(p)) return { id: 'ready', status: 'ok', text: probes.length ? `ready (readiness probe ${probes.join('; ')} passes)` : 'ready (no readiness probe: ready once its containers run)' };
  if (p.status?.phase !== 'Running') return { id: 'ready', status: 'skip', text: 'not running, so not ready' };
  const r = notReadyReason(f, p);
  return { id: 'ready', status: 'fail', text: `not ready: Services send it no traffic`, details: [r.line], fix: r.fix };
}

function listenCheck(f: PodFacts): Check {
  const p = f.pod;
  const ls = f.listeners;
  if (!ls) return { id: 'listening', status: 'skip', text: 'not running: no sockets to look at' };
  if ('error' in ls) return { id: 'listening', status: 'skip', text: `could not read its sockets (${ls.error})` };
  const open = ls.filter((l) => listenVerdict([l], l.proto, l.port, p.status?.podIP) === 'ok').map((l) => `${l.port}/${l.proto}`);
  const local = ls.filter((l) => listenVerdict([l], l.proto, l.port, p.status?.podIP) === 'loopback').map((l) => `${l.address}:${l.port}/${l.proto}`);
  const declared = (p.spec.containers as Container[]).flatMap((c) => (c.ports ?? []).map((cp) => ({ ...cp, proto: cp.protocol ?? 'TCP' })));
  const details: string[] = [];
  if (local.length) details.push(`on localhost only (the pod IP does not reach these): ${local.join(', ')}`);
  for (const d of declared) if (listenVerdict(ls, d.proto, d.containerPort, p.status?.podIP) !== 'ok') details.push(`declares containerPort ${d.containerPort}/${d.proto}${d.name ? ` (${d.name})` : ''} but nothing listens on it for the pod IP`);
  return { id: 'listening', status: 'ok', text: open.length ? `listening on the pod IP: ${[...new Set(open)].join(', ')}` : 'listening on nothing the pod IP reaches', details: details.length ? details : undefined };
}

function serviceChecks(f: PodFacts): Check[] {
  const p = f.pod;
  const ip = p.status?.podIP;
  const out: Check[] = [];
  const selecting = f.services.filter((s) => s.spec.type !== 'ExternalName' && serviceSelector(s.spec.selector).matches(p.metadata.labels));
  for (const s of selecting) {
    const name = s.metadata.name ?? '';
    const ep = f.endpoints.find((e) => e.metadata.name === name);
    const ready = (ep?.subsets ?? []).some((sub) => (sub.addresses ?? []).some((a) => a.ip === ip));
    const notReady = (ep?.subsets ?? []).some((sub) => (sub.notReadyAddresses ?? []).some((a) => a.ip === ip));
    const missingPort = (s.spec.ports ?? []).map((sp) => ({ sp, r: resolveTargetPort(sp, p) })).filter((x) => 'error' in x.r);
    const portProblems: string[] = [];
    const ls = f.listeners;
    if (ls && !('error' in ls)) {
      for (const sp of s.spec.ports ?? []) {
        const r = resolveTargetPort(sp, p);
        if ('port' in r) {
          const v = listenVerdict(ls, sp.protocol ?? 'TCP', r.port, ip);
          if (v === 'loopback') portProblems.push(`port ${sp.port} → ${r.port}: the app listens on localhost only`);
          if (v === 'none') portProblems.push(`port ${sp.port} → ${r.port}: nothing listens on it`);
        }
      }
    }
    const details = [...missingPort.map((x) => `port ${x.sp.port}: the pod ${(x.r as { error: string }).error}`), ...portProblems];
    if (ready && !details.length) out.push({ id: `service:${name}`, status: 'ok', text: `Service ${name} selects it and its Endpoints hold ${ip} as ready` });
    else if (ready) out.push({ id: `service:${name}`, status: 'fail', text: `Service ${name} sends it traffic, but it cannot take it`, details, fix: portProblems.length ? 'make the app listen on the targetPort on 0.0.0.0, or point targetPort at the port it listens on.' : 'name the container port as the Service\'s targetPort does.' });
    else {
      const why = !podReady(p) ? 'the pod is not ready (see above)' : notReady ? 'it is listed as not ready' : !ip ? 'it has no IP yet' : !ep ? `there is no Endpoints object ${name}` : 'the endpoints controller has not added it yet';
      out.push({ id: `service:${name}`, status: 'fail', text: `Service ${name} selects it, but its Endpoints do not hold ${ip ?? 'it'} as ready: ${why}`, details: details.length ? details : undefined, fix: !podReady(p) ? 'make the pod ready (see above).' : 'check the control plane (kubemu status).' });
    }
  }
  if (!selecting.length) {
    const labels = Object.entries(p.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || 'none';
    const near = f.services
      .filter((s) => s.spec.selector && Object.keys(s.spec.selector).length)
      .map((s) => ({ s, m: nearMisses(s.spec.selector!, [p]).find((x) => x.kind === 'key' || x.podValue !== x.value) }))
      .filter((x) => x.m && (x.m.kind === 'key' || editDistance(x.m.value, x.m.podValue) <= 2));
    out.push({ id: 'services', status: 'skip', text: `no Service selects this pod (its labels: ${labels})`, details: near.length ? near.map(({ s, m }) => `near miss: Service ${s.metadata.name} wants ${m!.key}=${m!.value}, the pod has ${m!.podKey}=${m!.podValue}`) : undefined });
  }
  return out;
}

export function explainPod(f: PodFacts): PodExplanation {
  const p: Pod = f.pod;
  const checks = [phaseCheck(f), readinessCheck(f), listenCheck(f), ...serviceChecks(f)];
  return {
    cluster: f.cluster,
    namespace: p.metadata.namespace ?? 'default',
    pod: p.metadata.name ?? '',
    node: p.spec.nodeName,
    podIP: p.status?.podIP,
    healthy: !checks.some((c) => c.status === 'fail'),
    checks,
  };
}
