/**
 * Gathers the facts of one Service (facts.ts) from a live cluster: objects
 * from the API; listening sockets from inside each pod's network namespace;
 * what each node's kube-proxy has applied (:10256/applied); the load
 * balancer's view (:10257/healthz); what cluster DNS answers. Everything
 * inside the cluster goes through the runtime's exec, so it works on the
 * netns runtime and on docker compose alike.
 */
import { clusterDNSIP, type CoreEvent, type EndpointSlice, type Endpoints, type Node, type Pod, type Service } from '@kubemu/api';
import { podNetnsName, podUidKey } from '@kubemu/netns';
import type { ChaosRuntime } from '../chaos/runtime.js';
import { RestError, type RestClient } from '../rest-client.js';
import type { LbHealth, Listener, NodeFact, PodFacts, ProxyApplied, ServiceFacts } from './facts.js';
import { parseSs } from './listeners.js';

/** A one-line problem for the user (unknown Service or namespace). */
export class ExplainError extends Error {}

const KUBE_PROXY_PORT = 10256;
const LB_PORT = 10257;

/** How long each kube-proxy may take to reach the current version before it counts as behind. */
export const PROXY_WAIT_MS = 2000;

export async function getOr404<T>(c: RestClient, path: string): Promise<T | undefined> {
  try {
    return await c.call<T>('GET', path);
  } catch (e) {
    if (e instanceof RestError && e.code === 404) return undefined;
    throw e;
  }
}

/** Runs `args` in the machine and parses the JSON it prints; `{error}` when it fails. */
async function execJson<T>(rt: ChaosRuntime, machine: string, cmd: string, args: string[], timeoutMs: number): Promise<T | { error: string }> {
  try {
    const r = await rt.exec(machine, cmd, args, { allowFail: true, timeoutMs });
    if (r.code !== 0) return { error: (r.stderr.trim().split('\n').pop() || `exit ${r.code}`).replace(/^curl: \(\d+\)\s*/, '') };
    return JSON.parse(r.stdout) as T;
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}

/** GET http://ip:port/path from inside the cluster (the control plane's machine), as JSON. */
function httpJson<T>(rt: ChaosRuntime, from: string, url: string, timeoutMs: number): Promise<T | { error: string }> {
  return execJson<T>(rt, from, 'curl', ['-sS', '--fail-with-body', '--max-time', String(Math.ceil(timeoutMs / 1000)), url], timeoutMs + 2000);
}

export function internalIP(n: Node): string {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
}

/**
 * A shell line, run on the pod's node, that lists the pod's listening sockets
 * from inside its network namespace: node-agent names it after the pod UID
 * (@kubemu/netns podNetnsName) under /run/netns, as `ip netns` does, so
 * nsenter enters it. (A hostNetwork pod shares the node's: `ss` there.) The
 * name's cluster part is the runtime's; a compose project may name the
 * cluster otherwise, so any `…-p-<uid key>` on that node is taken next.
 */
export function podSocketsScript(cluster: string, p: Pod): string {
  const uid = p.metadata.uid ?? '';
  const key = podUidKey(uid);
  const exact = `/run/netns/${podNetnsName(cluster, uid)}`;
  return `ns=${exact}; [ -e "$ns" ] || ns=$(ls -d /run/netns/km-*-p-${key} 2>/dev/null | head -n 1); [ -n "$ns" ] || { echo "no network namespace for pod ${p.metadata.name} on this node (is the pod still there?)" >&2; exit 3; }; exec nsenter --net="$ns" ss -ltunH`;
}

/** The pod's listening sockets, read on its node from inside its network namespace. */
export async function readPodSockets(rt: ChaosRuntime, p: Pod): Promise<Listener[] | { error: string }> {
  const node = p.spec.nodeName ?? '';
  if (!rt.machines().some((m) => m.name === node)) return { error: `node ${node || '(none)'} is not a machine of this cluster` };
  try {
    const r = p.spec.hostNetwork ? await rt.exec(node, 'ss', ['-ltunH'], { allowFail: true, timeoutMs: 5000 }) : await rt.exec(node, 'sh', ['-c', podSocketsScript(rt.cluster, p)], { allowFail: true, timeoutMs: 5000 });
    if (r.code !== 0) return { error: r.stderr.trim().split('\n')[0] || `exit ${r.code}` };
    return parseSs(r.stdout);
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}

export interface GatherOptions {
  rt: ChaosRuntime;
  api: RestClient;
  namespace: string;
  name: string;
  /** --node: a node's name or address (explain service: the node the user connects to). */
  node?: string;
  now?: () => number;
}

/** The name of the node --node names (by name or InternalIP); a one-line error for any other. */
export function resolveNode(nodes: NodeFact[], cluster: string, want: string): string {
  const n = nodes.find((k) => k.name === want || k.ip === want);
  if (!n) throw new ExplainError(`node "${want}" is not a node of cluster ${cluster} (nodes: ${nodes.map((k) => `${k.name} ${k.ip}`).join(', ')})`);
  return n.name;
}

export async function gatherServiceFacts(o: GatherOptions): Promise<ServiceFacts> {
  const { rt, api, namespace: ns, name } = o;
  const nsPath = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
  const [nsObj, service] = await Promise.all([getOr404(api, nsPath), getOr404<Service>(api, `${nsPath}/services/${encodeURIComponent(name)}`)]);
  if (!nsObj) throw new ExplainError(`namespace "${ns}" not found`);
  if (!service) throw new ExplainError(`service "${name}" not found in namespace "${ns}"`);
  const [pods, endpoints, slices, events, nodes] = await Promise.all([
    api.call<{ items: Pod[] }>('GET', `${nsPath}/pods`).then((l) => l.items),
    getOr404<Endpoints>(api, `${nsPath}/endpoints/${encodeURIComponent(name)}`),
    api.call<{ items: EndpointSlice[] }>('GET', `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${name}`)}`).then((l) => l.items),
    api.call<{ items: CoreEvent[] }>('GET', `${nsPath}/events`).then((l) => l.items),
    api.call<{ items: Node[] }>('GET', '/api/v1/nodes').then((l) => l.items),
  ]);
  const nodeFacts: NodeFact[] = nodes.map((n) => ({ name: n.metadata.name ?? '', ip: internalIP(n), ready: n.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True') ?? false }));
  const via = o.node === undefined ? undefined : resolveNode(nodeFacts, rt.cluster, o.node);
  const machines = rt.machines();
  const cp = machines.find((m) => m.role === 'control-plane')?.name ?? 'control-plane';
  const lbMachine = machines.find((m) => m.role === 'load-balancer');
  const key = `${ns}/${name}`;
  const rv = Math.max(Number(service.metadata.resourceVersion ?? 0), ...slices.map((s) => Number(s.metadata.resourceVersion ?? 0)));

  // The pods explain looks into: those the selector matches, running, with an address.
  const selector = service.spec.selector ?? {};
  const selected = Object.keys(selector).length ? pods.filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v) && p.status?.phase === 'Running' && p.spec.nodeName) : [];
  const listenersP = Promise.all(selected.map(async (p) => [p.metadata.name ?? '', await readPodSockets(rt, p)] as const));

  // Each kube-proxy is asked from its own node, so a node cut off from the others still says what it has applied.
  const proxiesP = Promise.all(
    nodeFacts.map(async (n): Promise<readonly [string, ProxyApplied]> => {
      const from = machines.some((m) => m.name === n.name) ? n.name : cp;
      const base = `http://${n.ip}:${KUBE_PROXY_PORT}/applied?service=${encodeURIComponent(key)}`;
      const r = await httpJson<{ rv?: number; at?: number; timeout?: boolean }>(rt, from, `${base}&rv=${rv}&timeoutMs=${PROXY_WAIT_MS}`, PROXY_WAIT_MS + 3000);
      if ('error' in r) return [n.name, { error: r.error }];
      if (!r.timeout && r.rv) return [n.name, { rv: r.rv, at: r.at ?? 0 }];
      const now = await httpJson<{ rv?: number; at?: number }>(rt, from, base, 3000);
      return [n.name, 'error' in now ? { error: now.error } : { behind: true, rv: now.rv ?? 0, at: now.at ?? 0 }];
    }),
  );

  const lbP: Promise<ServiceFacts['lb']> = lbMachine ? httpJson<LbHealth>(rt, cp, `http://${lbMachine.ip}:${LB_PORT}/healthz`, 3000) : Promise.resolve(undefined);

  const dnsP = (async (): Promise<ServiceFacts['dns']> => {
    const dnsSvc = await getOr404<Service>(api, '/api/v1/namespaces/kube-system/services/kube-dns');
    if (!dnsSvc) return { running: false, reason: 'the dns addon is not running (no kube-dns Service in kube-system); pods reach the Service by its cluster IP or its environment variables' };
    const server = dnsSvc.spec.clusterIP && dnsSvc.spec.clusterIP !== 'None' ? dnsSvc.spec.clusterIP : clusterDNSIP();
    const fqdn = `${name}.${ns}.svc.cluster.local`;
    const node = nodeFacts.find((n) => n.ready && machines.some((m) => m.name === n.name))?.name ?? machines.find((m) => m.role === 'node')?.name;
    if (!node) return { running: false, reason: 'no node to ask from' };
    const type = service.spec.type === 'ExternalName' ? 'CNAME' : 'A';
    try {
      const r = await rt.exec(node, 'dig', ['+short', '+time=2', '+tries=2', `@${server}`, fqdn, type], { allowFail: true, timeoutMs: 10_000 });
      const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
      if (r.code !== 0 || lines.some((l) => l.startsWith(';;'))) return { running: true, server, fqdn, answers: [], error: lines.find((l) => l.startsWith(';;'))?.replace(/^;;\s*/, '') ?? (r.stderr.trim() || `dig exit ${r.code}`) };
      return { running: true, server, fqdn, answers: lines };
    } catch (e) {
      return { running: true, server, fqdn, answers: [], error: (e as Error).message.split('\n')[0]! };
    }
  })();

  const [listeners, proxies, lb, dns] = await Promise.all([listenersP, proxiesP, lbP, dnsP]);
  return {
    now: (o.now ?? Date.now)(),
    cluster: rt.cluster,
    service,
    pods,
    endpoints,
    slices,
    events,
    nodes: nodeFacts,
    listeners: Object.fromEntries(listeners),
    proxies: Object.fromEntries(proxies),
    lb,
    dns,
    via,
  };
}

export async function gatherPodFacts(o: GatherOptions): Promise<PodFacts> {
  const { rt, api, namespace: ns, name } = o;
  const nsPath = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
  const [nsObj, pod] = await Promise.all([getOr404(api, nsPath), getOr404<Pod>(api, `${nsPath}/pods/${encodeURIComponent(name)}`)]);
  if (!nsObj) throw new ExplainError(`namespace "${ns}" not found`);
  if (!pod) throw new ExplainError(`pod "${name}" not found in namespace "${ns}"`);
  const [services, endpoints, events, listeners] = await Promise.all([
    api.call<{ items: Service[] }>('GET', `${nsPath}/services`).then((l) => l.items),
    api.call<{ items: Endpoints[] }>('GET', `${nsPath}/endpoints`).then((l) => l.items),
    api.call<{ items: CoreEvent[] }>('GET', `${nsPath}/events`).then((l) => l.items),
    pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp ? readPodSockets(rt, pod) : Promise.resolve(undefined),
  ]);
  return { now: (o.now ?? Date.now)(), cluster: rt.cluster, pod, services, endpoints, events, listeners };
}
