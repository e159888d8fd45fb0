/**
 * What breaks an Ingress, as checks over its facts (facts.ts IngressFacts):
 * its class and the controller serving it, the controller's pods and address,
 * the Ingress's own address, each rule's backend, the TLS Secrets, and (with
 * --host/--path) which rule a request meets. Pure. The class rule, the
 * routing table and backend resolution are the controller's own
 * (@kubemu/workloads), so explain judges an Ingress as the controller serves it.
 */
import { LEGACY_CLASS_ANNOTATION, buildRoutingTable, isDefaultClass, prefixKey, servesIngress, type RoutingTable } from '@kubemu/workloads';
import { podReady, type Check } from './checks.js';
import type { IngressControllerFact, IngressFacts } from './facts.js';
import { judgeBackend } from './ingress-backend.js';
import { requestCheck } from './ingress-request.js';
import { tlsChecks } from './ingress-tls.js';

export interface IngressExplanation {
  cluster: string;
  namespace: string;
  ingress: string;
  /** The class that decides who serves it ("kubemu", or the default's name). */
  ingressClass?: string;
  /** The address in the Ingress's status. */
  address?: string;
  request?: { host: string; path: string };
  /** Without a request: no check failed. With one: it reaches a ready pod of this Ingress. */
  reachable: boolean;
  checks: Check[];
  reminders: string[];
}

interface Ctx {
  f: IngressFacts;
  ns: string;
  name: string;
  nsFlag: string;
  /** The controller that serves this Ingress. */
  controller?: IngressControllerFact;
  /** That controller's routing table (every Ingress it serves). */
  table?: RoutingTable;
  address?: string;
}

const list = (xs: string[], max = 6) => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')}, … (${xs.length - max} more)`);
const lbAddress = (k?: IngressControllerFact) => k?.service?.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
const nodePorts = (k?: IngressControllerFact) => (k?.service?.spec.ports ?? []).filter((p) => p.nodePort).map((p) => `${p.port}→${p.nodePort}`);

/** The class the Ingress asks for, in words, and its name when it names one. */
function wantedClass(f: IngressFacts): { text: string; name?: string } {
  const ing = f.ingress;
  const legacy = ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy) return { text: `annotation ${LEGACY_CLASS_ANNOTATION}: ${legacy}`, name: legacy };
  if (ing.spec?.ingressClassName) return { text: `ingressClassName ${ing.spec.ingressClassName}`, name: ing.spec.ingressClassName };
  const defaults = f.ingressClasses.filter(isDefaultClass).map((c) => c.metadata.name ?? '');
  return defaults.length ? { text: `no ingressClassName, so the default IngressClass ${defaults.join(', ')}`, name: defaults[0] } : { text: 'no ingressClassName and no default IngressClass' };
}

function classCheck(c: Ctx): Check {
  const { f } = c;
  const want = wantedClass(f);
  if (!f.controllers.length) return { id: 'class', status: 'fail', text: `${want.text}: no ingress controller runs in the cluster, so nothing serves the Ingress`, fix: `deploy one (kubemu up --addons ingress deploys kubemu's).` };
  const classes = [...new Set(f.controllers.map((k) => k.ingressClass))];
  if (!c.controller) {
    const fix = `set spec.ingressClassName: ${classes[0]} (kubectl edit ingress ${c.name}${c.nsFlag}), the class a controller here serves.`;
    const named = f.ingress.spec?.ingressClassName;
    const details = named && !f.ingressClasses.some((k) => k.metadata.name === named) ? [`IngressClass ${named} does not exist (IngressClasses: ${f.ingressClasses.map((k) => k.metadata.name).join(', ') || 'none'})`] : undefined;
    return { id: 'class', status: 'fail', text: `${want.text}: no ingress controller serves it (the controllers here serve class ${classes.join(', ')})`, details, fix };
  }
  const k = c.controller;
  const details = want.name && !f.ingressClasses.some((x) => x.metadata.name === want.name) && !f.ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION] ? [`IngressClass ${want.name} does not exist; kubemu's controller serves the name anyway`] : undefined;
  return { id: 'class', status: 'ok', text: `${want.text}: served by the ingress controller ${k.namespace}/${k.name} (class ${k.ingressClass})`, details };
}

function controllerCheck(c: Ctx): Check {
  const k = c.controller;
  if (!k) return { id: 'controller', status: 'skip', text: 'no controller serves the Ingress (see above)' };
  const who = `the ingress controller ${k.namespace}/${k.name}`;
  const nsFlag = ` -n ${k.namespace}`;
  const ready = k.pods.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
  if (!k.pods.length) return { id: 'controller', status: 'fail', text: `${who} has no pods`, fix: `scale it up: kubectl scale deployment ${k.name}${nsFlag} --replicas=1.` };
  if (!ready.length) {
    const first = k.pods[0]!.metadata.name ?? '';
    return { id: 'controller', status: 'fail', text: `none of the ${k.pods.length} pods of ${who} is ready, so it answers nothing`, details: k.pods.map((p) => `${p.metadata.name}: ${p.status?.phase ?? 'Pending'}, not ready`), fix: `see why with kubemu explain pod ${first}${nsFlag}.` };
  }
  const podsText = `${ready.length} of ${k.pods.length} pods ready (${list(ready.map((p) => p.metadata.name ?? ''))})`;
  if (!k.publishService) return { id: 'controller', status: 'ok', text: `${who}: ${podsText}; it publishes no Service address (no --publish-service)` };
  const svcName = `${k.publishService.namespace}/${k.publishService.name}`;
  if (!k.service) return { id: 'controller', status: 'fail', text: `${who}: ${podsText}, but its Service ${svcName} does not exist, so nothing outside reaches it`, fix: `create Service ${k.publishService.name} (type LoadBalancer) in ${k.publishService.namespace} selecting the controller's pods.` };
  const lb = lbAddress(k);
  const nps = nodePorts(k);
  const reach = [lb ? `the address ${lb.ip ?? lb.hostname}` : undefined, nps.length ? `node ports ${nps.join(', ')}` : undefined].filter(Boolean).join(' and ');
  if (!reach) return { id: 'controller', status: 'fail', text: `${who}: ${podsText}, but its Service ${svcName} has no address and no node ports`, fix: `find out why its address is pending with kubemu explain service ${k.publishService.name} -n ${k.publishService.namespace}.` };
  return { id: 'controller', status: 'ok', text: `${who}: ${podsText}; its Service ${svcName} has ${reach}` };
}

function addressCheck(c: Ctx): Check {
  const lb = lbAddress(c.controller);
  if (c.address) {
    const stale = lb?.ip && lb.ip !== c.address ? [`the controller's Service has ${lb.ip}: the status is stale`] : undefined;
    return { id: 'address', status: 'ok', text: `address ${c.address} in the Ingress's status`, details: stale };
  }
  if (!c.controller) return { id: 'address', status: 'skip', text: 'no address in the status: no controller serves the Ingress' };
  if (lb) return { id: 'address', status: 'fail', text: `no address in the Ingress's status, though the controller's Service has ${lb.ip ?? lb.hostname}: the controller has not written it`, fix: `check the controller's log (kubectl logs -n ${c.controller.namespace} deploy/${c.controller.name}); it writes the address of every Ingress it serves.` };
  const nps = nodePorts(c.controller);
  return { id: 'address', status: 'skip', text: `no address in the status: the controller's Service has none${nps.length ? `; reach it on a node port (${nps.join(', ')}) of any node` : ''}` };
}

/** One check per rule path, then the default backend. */
function backendChecks(c: Ctx): Check[] {
  const { f } = c;
  const spec = f.ingress.spec ?? {};
  const out: Check[] = [];
  const ours = `${c.ns}/${c.name}`;
  const routes = c.table ? [c.table.any, ...c.table.exact.values(), ...c.table.wildcard.values()].flatMap((hr) => hr.routes) : [];
  const warnings = c.table?.events.filter((e) => `${e.ingress.namespace}/${e.ingress.name}` === ours) ?? [];
  (spec.rules ?? []).forEach((rule, i) => {
    const host = (rule.host ?? '').toLowerCase();
    if (!rule.http?.paths?.length) {
      out.push({ id: `backend:${host || '*'}`, status: 'skip', text: `${host || '(any host)'}: a rule without paths (only the default backend answers it)` });
      return;
    }
    rule.http.paths.forEach((p, j) => {
      const path = p.path || '/';
      const type = p.pathType === 'Exact' ? 'Exact' : 'Prefix';
      const id = `backend:${host || '*'}${path}`;
      const b = judgeBackend(f, p.backend);
      const head = `${host || '(any host)'}${path} (${type}) → ${b.target}`;
      const warn = warnings.find((w) => w.message.startsWith(`spec.rules[${i}].http.paths[${j}]`));
      if (warn) return out.push({ id, status: 'fail', text: `${head}: the controller ignores it: ${warn.message.replace(/; ignored$/, '')}`, fix: `fix that path in Ingress ${c.name} (kubectl edit ingress ${c.name}${c.nsFlag}).` });
      const key = type === 'Exact' ? path : prefixKey(path);
      const owner = routes.find((r) => r.host === host && r.pathType === type && r.matchKey === key)?.ingress;
      if (c.table && owner && `${owner.namespace}/${owner.name}` !== ours) {
        return out.push({ id, status: 'fail', text: `${head}: the older Ingress ${owner.namespace}/${owner.name} has the same host, path and pathType, so the controller ignores this rule`, fix: `change the host or path of this rule, or remove it from one of the two Ingresses.` });
      }
      if (b.status === 'fail') return out.push({ id, status: 'fail', text: `${head}: ${b.text}`, fix: b.fix });
      return out.push({ id, status: 'ok', text: `${head}: ${b.text}` });
    });
  });
  if (spec.defaultBackend) {
    const b = judgeBackend(f, spec.defaultBackend);
    const head = `default backend (requests no rule path matches) → ${b.target}`;
    const catchAll = c.table?.any.fallback?.ingress;
    const details = catchAll && `${catchAll.namespace}/${catchAll.name}` !== ours ? [`hosts without a rule get the older Ingress ${catchAll.namespace}/${catchAll.name}'s default backend; this one answers only for this Ingress's hosts`] : undefined;
    out.push(b.status === 'fail' ? { id: 'default-backend', status: 'fail', text: `${head}: ${b.text}`, details, fix: b.fix } : { id: 'default-backend', status: 'ok', text: `${head}: ${b.text}`, details });
  }
  if (!out.length) out.push({ id: 'rules', status: 'fail', text: 'the Ingress has no rules and no default backend: it routes nothing', fix: `add spec.rules (host, paths, backend Service) to Ingress ${c.name}.` });
  return out;
}

function reminders(c: Ctx): string[] {
  const spec = c.f.ingress.spec ?? {};
  const at = c.address ?? lbAddress(c.controller)?.ip ?? '<address>';
  const hosts = [...new Set((spec.rules ?? []).map((r) => r.host ?? '').filter(Boolean))];
  const out: string[] = [];
  const h = hosts.find((x) => !x.startsWith('*.')) ?? hosts[0]?.replace(/^\*/, 'any');
  if (h) out.push(`an Ingress routes by the Host header: curl -H 'Host: ${h}' http://${at}/ (or curl --resolve ${h}:80:${at} http://${h}/); plain curl http://${at}/ sends Host: ${at}, which no host rule matches`);
  const tlsHost = (spec.tls ?? []).flatMap((t) => t.hosts ?? [])[0] ?? (spec.tls?.length ? h : undefined);
  if (tlsHost) out.push(`HTTPS picks the certificate by the name (SNI), so connect by name: curl --resolve ${tlsHost}:443:${at} https://${tlsHost}/ (-k for a self-signed certificate)`);
  out.push(`the controller connects to the backend pods (the Service's ready endpoints), not to the cluster IP: a ClusterIP Service is enough, and kubemu explain service NAME${c.nsFlag} checks one`);
  return out;
}

export function explainIngress(f: IngressFacts): IngressExplanation {
  const ns = f.ingress.metadata.namespace ?? 'default';
  const name = f.ingress.metadata.name ?? '';
  const controller = f.controllers.find((k) => servesIngress(f.ingress, f.ingressClasses, k.ingressClass));
  const table = controller ? buildRoutingTable({ ingresses: f.ingresses, ingressClasses: f.ingressClasses }, controller.ingressClass) : undefined;
  const a = f.ingress.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
  const c: Ctx = { f, ns, name, nsFlag: ns === 'default' ? '' : ` -n ${ns}`, controller, table, address: a?.ip ?? a?.hostname };
  const path = [classCheck(c), controllerCheck(c), addressCheck(c)];
  const rest = [...backendChecks(c), ...tlsChecks(f)];
  const request = f.request ? requestCheck(f, table, c.address ?? lbAddress(controller)?.ip) : undefined;
  const checks = [...path, ...rest, ...(request ? [request] : [])];
  const failed = (xs: Check[]) => xs.some((k) => k.status === 'fail');
  return {
    cluster: f.cluster,
    namespace: ns,
    ingress: name,
    ingressClass: controller?.ingressClass ?? wantedClass(f).name,
    address: c.address,
    request: f.request,
    reachable: request ? !failed([...path, request]) : !failed(checks),
    checks,
    reminders: reminders(c),
  };
}
