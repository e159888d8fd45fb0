/**
 * Sends the one traced request from the host, from a source port picked and
 * bound here, then reads what each machine on its path recorded of exactly
 * that request: `conntrack -L -p tcp --orig-port-src PORT` inside the load
 * balancer's and the node's namespaces (through the runtime's exec), and
 * their /connections logs (userspace mode keeps no NAT state in the kernel).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { builtinImage, type Node, type Pod, type Service } from '@kubemu/api';
import type { ChaosRuntime } from '../chaos/runtime.js';
import type { RestClient } from '../rest-client.js';
import type { ConnLogEntry, TraceFacts, TracePod, TraceService } from './facts.js';
import { gatherIngressHop } from './ingress-gather.js';
import { traceRequestId } from './ingress-log.js';

/** A one-line problem for the user (a URL that is not the cluster's). */
export class TraceError extends Error {}

const KUBE_PROXY_PORT = 10256;
const LB_PORT = 10257;

/** Source ports the trace picks from: below the node-port range and the kernel's ephemeral ports. */
export const SOURCE_PORTS = { min: 20000, max: 29999 };

export interface TraceOptions {
  rt: ChaosRuntime;
  api: RestClient;
  url: string;
  sourcePort?: number;
  timeoutMs?: number;
  /** Send it from inside this pod (its namespaces, on its node) instead of the host. */
  fromPod?: { namespace: string; name: string };
  /** The Host header (and, over https, the SNI) to send instead of the URL's host: an Ingress rule's host. */
  hostHeader?: string;
  /** One cookie to send, NAME=VALUE (an ingress affinity cookie from an earlier trace). */
  cookie?: string;
}

/** What the traced request sends besides the URL (ingress-ready: the controller logs the request id). */
export interface RequestExtras {
  hostHeader?: string;
  requestId: string;
  cookie?: string;
  /** https: the SNI to send (none for an IP), the certificate is not verified. */
  tls?: { servername?: string };
}

/** Parses the URL: http (https from the host, for an Ingress), a host that is an IP address (from a pod, a name its DNS resolves is fine too). */
export function parseTraceURL(raw: string, opts: { names?: boolean } = {}): { scheme: 'http' | 'https'; host: string; port: number; path: string } {
  let u: URL;
  try {
    u = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new TraceError(`not a URL: ${raw}`);
  }
  if (u.protocol === 'https:' && opts.names) throw new TraceError('https:// is traced from the host only (to an ingress address), not --from a pod');
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TraceError(`only http:// and https:// URLs can be traced, not ${u.protocol}`);
  if (!net.isIPv4(u.hostname) && !opts.names) throw new TraceError(`give the node's or the load balancer's IP address, not ${u.hostname} (Service names resolve inside the cluster: trace them --from pod/NAME; an Ingress host goes in --host)`);
  const https = u.protocol === 'https:';
  return { scheme: https ? 'https' : 'http', host: u.hostname, port: Number(u.port || (https ? 443 : 80)), path: `${u.pathname}${u.search}` };
}

function internalIP(n: Node): string {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
}

interface Sent {
  local: { ip: string; port: number };
  response: TraceFacts['response'];
  setCookies: string[];
  tls?: NonNullable<TraceFacts['tls']>;
}

/** The headers of the traced request. */
export function traceHeaders(x: RequestExtras): Record<string, string> {
  return {
    Connection: 'close',
    'User-Agent': 'kubemu-trace',
    'X-Request-ID': x.requestId,
    ...(x.hostHeader ? { Host: x.hostHeader } : {}),
    ...(x.cookie ? { Cookie: x.cookie } : {}),
  };
}

/**
 * One GET, keep-alive off, from `localPort` (over TLS, unverified, when
 * `x.tls`); resolves with the status, body and time, or the error. The
 * request's own connection is bound to the port (`localPort`): a socket
 * handed over by `createConnection` is ignored when `agent` is false, and
 * the request would leave from another port than the one traced.
 */
export function request(host: string, port: number, path: string, localPort: number, timeoutMs: number, x: RequestExtras): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    let local = { ip: '', port: localPort };
    const sn = x.tls?.servername;
    let tlsInfo: Sent['tls'] = x.tls ? { servername: sn, verified: false } : undefined;
    const common = { host, port, path, method: 'GET', agent: false as const, localPort, headers: traceHeaders(x), timeout: timeoutMs };
    // https: the handshake with SNI, the certificate not verified (as curl -k).
    const req = x.tls ? https.request({ ...common, servername: sn, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] } as https.RequestOptions & tls.ConnectionOptions) : http.request(common);
    req.once('socket', (s: net.Socket) => {
      s.once('connect', () => (local = { ip: s.localAddress ?? '', port: s.localPort ?? localPort }));
      if (x.tls) s.once('secureConnect', () => (tlsInfo = tlsFacts(s as tls.TLSSocket, sn)));
    });
    req.on('timeout', () => req.destroy(new Error(`no response in ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') return reject(e);
      resolve({ local, response: { error: e.message, ms: ms() }, setCookies: [], tls: tlsInfo });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ local, response: { status: res.statusCode ?? 0, bytes: body.length, ms: ms(), body: body.toString('utf8') }, setCookies: res.headers['set-cookie'] ?? [], tls: tlsInfo });
        res.socket.end();
      });
    });
    req.end();
  });
}

/** What the TLS handshake showed (the certificate is not verified). */
function tlsFacts(s: tls.TLSSocket, servername: string | undefined): NonNullable<TraceFacts['tls']> {
  const cert = s.getPeerCertificate();
  const cn = cert?.subject?.CN;
  return {
    servername,
    verified: false,
    protocol: s.getProtocol() ?? undefined,
    subject: Array.isArray(cn) ? cn.join(',') : cn,
    selfSigned: !!cert?.subject && JSON.stringify(cert.issuer) === JSON.stringify(cert.subject),
    authorizationError: s.authorizationError ? String(s.authorizationError) : undefined,
  };
}

async function sendFrom(host: string, port: number, path: string, sourcePort: number | undefined, timeoutMs: number, x: RequestExtras) {
  for (let i = 0; ; i++) {
    const p = sourcePort ?? SOURCE_PORTS.min + Math.floor(Math.random() * (SOURCE_PORTS.max - SOURCE_PORTS.min + 1));
    try {
      return await request(host, port, path, p, timeoutMs, x);
    } catch (e) {
      if (sourcePort !== undefined || i >= 10) throw new TraceError(`cannot bind source port ${p}: ${(e as Error).message}`);
    }
  }
}

async function execText(rt: ChaosRuntime, machine: string, cmd: string, args: string[]): Promise<{ out: string } | { error: string }> {
  try {
    const r = await rt.exec(machine, cmd, args, { allowFail: true, timeoutMs: 6000 });
    if (r.code !== 0) return { error: r.stderr.trim().split('\n').pop() || `${cmd} exit ${r.code}` };
    return { out: r.stdout };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}

async function httpJson<T>(rt: ChaosRuntime, from: string, url: string): Promise<T | { error: string }> {
  const r = await execText(rt, from, 'curl', ['-sS', '--fail-with-body', '--max-time', '4', url]);
  if ('error' in r) return r;
  try {
    return JSON.parse(r.out) as T;
  } catch {
    return { error: `not JSON from ${url}` };
  }
}

async function conntrackOf(rt: ChaosRuntime, machine: string, sport: number): Promise<{ lines: string[]; error?: string }> {
  const r = await execText(rt, machine, 'conntrack', ['-L', '-p', 'tcp', '--orig-port-src', String(sport), '-o', 'extended']);
  return 'error' in r ? { lines: [], error: r.error } : { lines: r.out.split('\n').filter((l) => l.trim()) };
}

const errOf = (x: unknown) => (x && typeof x === 'object' && 'error' in x ? String((x as { error: unknown }).error) : undefined);

export async function gatherTrace(o: TraceOptions): Promise<TraceFacts> {
  const { rt, api } = o;
  const { scheme, host, port, path } = parseTraceURL(o.url, { names: !!o.fromPod });
  const extras: RequestExtras = {
    hostHeader: o.hostHeader,
    requestId: traceRequestId(),
    cookie: o.cookie,
    tls: scheme === 'https' ? { servername: o.hostHeader && !net.isIP(o.hostHeader.replace(/:\d+$/, '')) ? o.hostHeader.replace(/:\d+$/, '') : undefined } : undefined,
  };
  const sentAt = Date.now();
  const machines = rt.machines();
  const lbMachine = machines.find((m) => m.role === 'load-balancer');
  const cp = machines.find((m) => m.role === 'control-plane')?.name ?? 'control-plane';
  const [nodesL, svcL, podL] = await Promise.all([
    api.call<{ items: Node[] }>('GET', '/api/v1/nodes'),
    api.call<{ items: Service[] }>('GET', '/api/v1/services'),
    api.call<{ items: Pod[] }>('GET', '/api/v1/pods'),
  ]);
  const nodes = nodesL.items.map((n) => ({ name: n.metadata.name ?? '', ip: internalIP(n) }));
  const services: TraceService[] = svcL.items.map((s) => ({
    namespace: s.metadata.namespace ?? '',
    name: s.metadata.name ?? '',
    type: s.spec.type ?? 'ClusterIP',
    externalTrafficPolicy: s.spec.externalTrafficPolicy ?? 'Cluster',
    sessionAffinity: s.spec.sessionAffinity ?? 'None',
    clusterIP: s.spec.clusterIP && s.spec.clusterIP !== 'None' ? s.spec.clusterIP : undefined,
    ports: (s.spec.ports ?? []).map((p) => ({ name: p.name, port: p.port, nodePort: p.nodePort, targetPort: p.targetPort, protocol: p.protocol ?? 'TCP' })),
    lbIPs: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean),
    selector: s.spec.selector,
  }));
  const pods: TracePod[] = podL.items
    .filter((p) => p.status?.podIP)
    .map((p) => ({
      namespace: p.metadata.namespace ?? '',
      name: p.metadata.name ?? '',
      node: p.spec.nodeName ?? '',
      ip: p.status!.podIP!,
      containers: p.spec.containers.map((c) => ({ name: c.name, ports: (c.ports ?? []).map((x) => x.containerPort) })),
      labels: p.metadata.labels ?? {},
      ...(p.spec.containers.some((c) => builtinImage(c.image)?.workload === 'ingress-controller') ? { ingressController: true } : {}),
    }));

  if (o.fromPod) return gatherFromPod(o, { nodes, services, pods, podItems: podL.items }, path, extras, sentAt);

  const entryNode = nodes.find((n) => n.ip === host);
  const isLb = !entryNode && services.some((s) => s.lbIPs.includes(host));
  if (!entryNode && !isLb) {
    throw new TraceError(`${host} is neither a node nor a load balancer address of cluster ${rt.cluster} (nodes: ${nodes.map((n) => n.ip).join(', ')}; LB addresses: ${services.flatMap((s) => s.lbIPs).join(', ') || 'none'})`);
  }

  const { local, response, setCookies, tls: tlsInfo } = await sendFrom(host, port, path, o.sourcePort, o.timeoutMs ?? 10_000, extras);
  const facts: TraceFacts = {
    cluster: rt.cluster,
    url: `${scheme}://${host}:${port}${path}`,
    host,
    port,
    client: local,
    entry: entryNode ? { kind: 'node', node: entryNode.name } : { kind: 'load-balancer' },
    nodes,
    services,
    pods,
    response,
    request: { requestId: extras.requestId, hostHeader: o.hostHeader, cookie: o.cookie, setCookies },
    tls: tlsInfo,
  };

  let nodeName = entryNode?.name;
  let nodeSport = local.port;
  if (isLb && lbMachine) {
    const [health, ct, log] = await Promise.all([
      httpJson<{ mode: string; frontends: { ip: string; port: number; protocol: string; backends: { node: string; ip: string; port: number }[]; affinitySeconds: number; local: boolean }[]; nodes: { key: string; healthy: boolean }[] }>(rt, cp, `http://${lbMachine.ip}:${LB_PORT}/healthz`),
      conntrackOf(rt, lbMachine.name, local.port),
      httpJson<{ items: ConnLogEntry[] }>(rt, cp, `http://${lbMachine.ip}:${LB_PORT}/connections?limit=4096`),
    ]);
    const h = 'error' in health ? undefined : health;
    const fe = h?.frontends.find((f) => f.ip === host && f.port === port && f.protocol === 'TCP');
    facts.lb = {
      machineIP: lbMachine.ip,
      mode: h?.mode ?? '?',
      conntrack: ct.lines,
      log: 'error' in log ? [] : log.items.filter((c) => c.client === `${local.ip}:${local.port}`),
      frontend: fe && { backends: fe.backends, affinitySeconds: fe.affinitySeconds, local: fe.local },
      checks: h?.nodes.map((n) => ({ key: n.key, healthy: n.healthy })) ?? [],
      error: errOf(health) ?? ct.error,
    };
    const { lbForwardFlow } = await import('./facts.js');
    const flow = lbForwardFlow(ct.lines, local.ip, local.port);
    if (flow) {
      nodeName = nodes.find((n) => n.ip === flow.reply.src)?.name;
      nodeSport = flow.reply.dport;
    } else {
      // A relay (userspace LB) logs the connection as it ends, which may be a moment after the client saw the answer.
      const mine = (xs: ConnLogEntry[]) => xs.filter((c) => c.client === `${local.ip}:${local.port}`);
      if (!facts.lb.log.length) facts.lb.log = mine(await pollLog(rt, cp, `http://${lbMachine.ip}:${LB_PORT}/connections?limit=4096`, (xs) => mine(xs).length > 0));
      nodeName = facts.lb.log[0]?.backendNode;
    }
  }

  await gatherNodeHop(rt, facts, nodeName, nodeSport, isLb && lbMachine ? lbMachine.ip : local.ip);
  await gatherIngressHop(api, facts, sentAt);
  return facts;
}

/** Reads a relay's connection log again (every 100 ms, up to 2 s) until `done` holds; the last good read either way (`first` when none was). */
async function pollLog(rt: ChaosRuntime, machine: string, url: string, done: (xs: ConnLogEntry[]) => boolean, first: ConnLogEntry[] = []): Promise<ConnLogEntry[]> {
  let items = first;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const got = await httpJson<{ items: ConnLogEntry[] }>(rt, machine, url);
    if ('error' in got) continue;
    items = got.items;
    if (done(items)) break;
  }
  return items;
}

/** The kube-proxy hop on `nodeName`: its mode, its conntrack entry of the client port `sport`, its connection log (`from`: the address its relay saw). */
async function gatherNodeHop(rt: ChaosRuntime, facts: TraceFacts, nodeName: string | undefined, nodeSport: number, from: string): Promise<void> {
  const node = facts.nodes.find((n) => n.name === nodeName);
  if (!node || !rt.machines().some((m) => m.name === node.name)) return;
  const mode = await execText(rt, node.name, 'curl', ['-sS', '--max-time', '3', `http://${node.ip}:${KUBE_PROXY_PORT}/proxyMode`]);
  const m = 'error' in mode ? '?' : mode.out.trim();
  const [ct, log] = await Promise.all([
    m === 'userspace' ? Promise.resolve<{ lines: string[]; error?: string }>({ lines: [] }) : conntrackOf(rt, node.name, nodeSport),
    httpJson<{ items: ConnLogEntry[] }>(rt, node.name, `http://${node.ip}:${KUBE_PROXY_PORT}/connections?limit=4096`),
  ]);
  let items = 'error' in log ? [] : log.items;
  if (m === 'userspace') {
    // The relay logs a connection as it ends: wait (briefly) for this request's entry.
    const local = facts.client;
    const ours = (xs: ConnLogEntry[]) => xs.some((c) => c.client === `${local.ip}:${local.port}` || c.client.startsWith(`${from}:`));
    if (!ours(items)) items = await pollLog(rt, node.name, `http://${node.ip}:${KUBE_PROXY_PORT}/connections?limit=4096`, ours, items);
  }
  facts.node = { name: node.name, ip: node.ip, mode: m, conntrack: ct.lines, log: items, error: ct.error ?? errOf(log) };
}

/** The request from inside a pod: it leaves through the pod's own node, whose kube-proxy picks the endpoint. */
async function gatherFromPod(o: TraceOptions, l: { nodes: TraceFacts['nodes']; services: TraceService[]; pods: TracePod[]; podItems: Pod[] }, path: string, extras: RequestExtras, sentAt: number): Promise<TraceFacts> {
  const { rt } = o;
  const ref = o.fromPod!;
  const p = l.podItems.find((x) => x.metadata.namespace === ref.namespace && x.metadata.name === ref.name);
  if (!p) throw new TraceError(`pod "${ref.name}" not found in namespace "${ref.namespace}"`);
  if (!p.status?.podIP || p.status.phase !== 'Running') throw new TraceError(`pod ${ref.namespace}/${ref.name} is not running (phase ${p.status?.phase ?? 'unknown'})`);
  if (p.spec.hostNetwork) throw new TraceError(`pod ${ref.namespace}/${ref.name} uses the node's network (hostNetwork): trace from the node instead`);
  const node = p.spec.nodeName ?? '';
  if (!rt.machines().some((m) => m.name === node)) throw new TraceError(`pod ${ref.namespace}/${ref.name} runs on ${node || 'no node'}, which is not a machine of cluster ${rt.cluster}`);
  const { sendFromPod } = await import('./from-pod.js');
  const u = new URL(o.url.includes('://') ? o.url : `http://${o.url}`);
  let sent;
  try {
    sent = await sendFromPod(rt, p, u.toString(), o.timeoutMs ?? 10_000, o.sourcePort, traceHeaders(extras));
  } catch (e) {
    throw new TraceError(`cannot run curl in pod ${ref.namespace}/${ref.name}: ${(e as Error).message}`);
  }
  const port = sent.remote.port || Number(u.port || 80);
  const host = sent.remote.ip || u.hostname;
  const facts: TraceFacts = {
    cluster: rt.cluster,
    url: `http://${u.host}${path}`,
    host,
    port,
    client: { ip: sent.local.ip || p.status.podIP, port: sent.local.port },
    entry: { kind: 'pod', namespace: ref.namespace, name: ref.name, node, hostname: net.isIPv4(u.hostname) ? undefined : u.hostname },
    nodes: l.nodes,
    services: l.services,
    pods: l.pods,
    response: sent.response,
    request: { requestId: extras.requestId, hostHeader: o.hostHeader, cookie: o.cookie, setCookies: [] },
  };
  if (sent.local.port) await gatherNodeHop(rt, facts, node, sent.local.port, facts.client.ip);
  await gatherIngressHop(o.api, facts, sentAt);
  return facts;
}
