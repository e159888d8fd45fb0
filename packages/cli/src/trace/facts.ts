/**
 * `kubemu trace`: the facts of one traced request (gathered by gather.ts)
 * and what they say, hop by hop (pure: unit-tested on fixtures of conntrack
 * lines and connection logs). The request went client → [load balancer →]
 * node (kube-proxy: node port → endpoint) → pod; each hop is read from the
 * kernel's connection tracking in that machine's namespace (nftables mode),
 * or from the component's /connections log (userspace mode), keyed by the
 * client's source port that the trace picked and bound.
 */
import { parseConntrackLine, type CtFlow } from '@kubemu/kube-proxy';
import { ingressHop, type IngressView } from './ingress-hop.js';
import type { IngressAccessLine } from './ingress-log.js';

export { parseConntrackLine, type CtFlow };

/** One entry of a /connections log (kube-proxy's, or the LB's with backendNode). */
export interface ConnLogEntry {
  /** ms since the epoch when the connection was accepted. */
  start?: number;
  client: string;
  endpoint: string;
  service: string;
  via?: string;
  node?: string;
  backendNode?: string;
  bytesIn?: number;
  bytesOut?: number;
  result?: string;
}

export interface TraceService {
  namespace: string;
  name: string;
  type: string;
  externalTrafficPolicy: string;
  sessionAffinity: string;
  clusterIP?: string;
  ports: { name?: string; port: number; nodePort?: number; targetPort?: number | string; protocol: string }[];
  /** status.loadBalancer.ingress IPs */
  lbIPs: string[];
  selector?: Record<string, string>;
}

export interface TracePod {
  namespace: string;
  name: string;
  node: string;
  ip: string;
  containers: { name: string; ports: number[] }[];
  labels?: Record<string, string>;
  /** It runs the kubemu/ingress-controller image. */
  ingressController?: boolean;
}

export interface TraceFacts {
  cluster: string;
  url: string;
  host: string;
  port: number;
  /** The address and port the request left from. */
  client: { ip: string; port: number };
  /** What the URL's host is, or (`pod`) where the request started: inside that pod (`hostname`: the name its DNS resolved). */
  entry: { kind: 'node'; node: string } | { kind: 'load-balancer' } | { kind: 'pod'; namespace: string; name: string; node: string; hostname?: string };
  nodes: { name: string; ip: string }[];
  services: TraceService[];
  pods: TracePod[];
  response: { status: number; bytes: number; ms: number; body: string } | { error: string; ms: number };
  /** What the request carried besides the URL, and the Set-Cookie headers of the answer. */
  request?: { requestId: string; hostHeader?: string; cookie?: string; setCookies: string[] };
  /** https: the handshake (the certificate is never verified). */
  tls?: { servername?: string; verified: false; protocol?: string; subject?: string; selfSigned?: boolean; authorizationError?: string };
  /** The traced Service's pods are ingress controllers: the request's line in their access logs. */
  ingress?: { searched: string[]; pod?: string; line?: IngressAccessLine; error?: string };
  lb?: {
    /** The load balancer machine's own address (what a relay connects from). */
    machineIP?: string;
    mode: string;
    /** Its conntrack entries for the client's source port (nftables mode). */
    conntrack: string[];
    /** /connections entries of this client (userspace mode, or nftables as a cross-check). */
    log: ConnLogEntry[];
    /** The frontend from /healthz: healthy nodes are its backends. */
    frontend?: { backends: { node: string; ip: string; port: number }[]; affinitySeconds: number; local: boolean };
    /** Node health checks from /healthz. */
    checks: { key: string; healthy: boolean }[];
    error?: string;
  };
  /** The node whose kube-proxy took the connection (found from the LB hop when there is one). */
  node?: { name: string; ip: string; mode: string; conntrack: string[]; log: ConnLogEntry[]; error?: string };
}

export interface Nat {
  /** The destination the sender dialled, and the one the packets went to. */
  dnat?: { from: string; to: string };
  /** The source the receiver saw, and what the replies were addressed to. */
  snat?: { from: string; to: string };
}

/** DNAT/SNAT of one conntrack flow: the reply tuple says where it really went and who it came from. */
export function natOf(f: CtFlow): Nat {
  const n: Nat = {};
  const dialled = `${f.orig.dst}:${f.orig.dport}`;
  const went = `${f.reply.src}:${f.reply.sport}`;
  if (dialled !== went) n.dnat = { from: dialled, to: went };
  const from = `${f.orig.src}:${f.orig.sport}`;
  const seen = `${f.reply.dst}:${f.reply.dport}`;
  if (from !== seen) n.snat = { from, to: seen };
  return n;
}

/** The flow of `client` (ip:port) among conntrack lines (the `-o extended` text). */
export function findFlow(lines: string[], clientIP: string, clientPort: number): CtFlow | undefined {
  for (const l of lines) {
    const f = parseConntrackLine(l);
    if (f && f.protocol === 'TCP' && f.orig.src === clientIP && f.orig.sport === clientPort) return f;
  }
  return undefined;
}

export interface Hop {
  /** client, load-balancer, node, pod, response */
  kind: string;
  /** One line for the text output. */
  title: string;
  details: string[];
}

export interface Trace {
  cluster: string;
  url: string;
  client: string;
  service?: string;
  servicePort?: string;
  lb?: { ip: string; mode: string; chosenNode?: string; healthyNodes: string[]; affinitySeconds: number; nat?: Nat };
  node?: { name: string; ip: string; mode: string; clientSeen: string; endpoint?: string; nat?: Nat; via?: string };
  pod?: { namespace: string; name: string; node: string; ip: string; container?: string; port?: number; clientSeen?: string };
  /** The ingress controller's hop (its pod is the node hop's endpoint; `pod` is then the upstream pod). */
  ingress?: IngressView;
  request?: { requestId: string; host?: string; cookie?: string };
  tls?: TraceFacts['tls'];
  response: TraceFacts['response'];
  hops: Hop[];
  /** What could not be followed. */
  problems: string[];
}

const hostPort = (s: string) => {
  const i = s.lastIndexOf(':');
  return { ip: s.slice(0, i), port: Number(s.slice(i + 1)) };
};

/** Follows the request through the facts. */
export function traceOf(f: TraceFacts): Trace {
  const t: Trace = { cluster: f.cluster, url: f.url, client: `${f.client.ip}:${f.client.port}`, response: f.response, hops: [], problems: [] };
  const nodeByIP = new Map(f.nodes.map((n) => [n.ip, n.name]));
  const fromPod = f.entry.kind === 'pod' ? f.entry : undefined;
  if (fromPod) {
    const details = [`sent by curl inside the pod (its network namespace, on ${fromPod.node})`];
    if (fromPod.hostname) details.push(`${fromPod.hostname} resolved to ${f.host} by the pod's DNS (its /etc/resolv.conf)`);
    t.hops.push({ kind: 'client', title: `client pod ${fromPod.namespace}/${fromPod.name} ${t.client} → ${f.host}:${f.port}`, details });
  } else t.hops.push({ kind: 'client', title: `client ${t.client} → ${f.host}:${f.port}`, details: [] });

  if (f.request) {
    const r = f.request;
    t.request = { requestId: r.requestId, ...(r.hostHeader ? { host: r.hostHeader } : {}), ...(r.cookie ? { cookie: r.cookie } : {}) };
    t.hops[0]!.details.push(`X-Request-ID: ${r.requestId}${r.hostHeader ? `, Host: ${r.hostHeader}` : ''}${r.cookie ? `, Cookie: ${r.cookie}` : ''}`);
  }
  if (f.tls) {
    t.tls = f.tls;
    const x = f.tls;
    t.hops[0]!.details.push(`TLS${x.protocol ? ` ${x.protocol}` : ''}, SNI ${x.servername ?? '(none: an IP address)'}; certificate${x.subject ? ` CN=${x.subject}` : ''}${x.selfSigned ? ' (self-signed)' : ''} not verified (as curl -k)`);
  }

  // Which Service port the URL names.
  const entry = entryServicePort(f);
  const svc = entry?.svc;
  const sp = entry?.port;
  if (svc && sp) {
    t.service = `${svc.namespace}/${svc.name}`;
    t.servicePort = `${sp.name ? `${sp.name} ` : ''}${sp.port}/${sp.protocol}${sp.nodePort ? ` (node port ${sp.nodePort})` : ''} → targetPort ${sp.targetPort ?? sp.port}`;
  } else {
    t.problems.push(f.entry.kind === 'node' ? `no Service has node port ${f.port}` : f.entry.kind === 'pod' ? `${f.host}:${f.port} is no Service's cluster IP and port (from a pod, trace a cluster IP or a Service's DNS name)` : `no LoadBalancer Service has ${f.host}:${f.port}`);
  }
  const svcLine = svc ? `Service ${t.service} (${svc.type}, externalTrafficPolicy ${svc.externalTrafficPolicy}${svc.sessionAffinity === 'ClientIP' ? ', sessionAffinity ClientIP' : ''}), port ${t.servicePort}` : '';

  // The load balancer: which node it chose, among which.
  let nodeClient = { ...f.client };
  let nodeName = f.entry.kind === 'node' || f.entry.kind === 'pod' ? f.entry.node : undefined;
  let relay: { ip: string; start: number } | undefined;
  if (f.entry.kind === 'load-balancer' && f.lb) {
    const lb = f.lb;
    const healthy = lb.frontend?.backends.map((b) => b.node) ?? [];
    const all = f.nodes.map((n) => n.name);
    const details: string[] = [];
    // a DNATed flow (nftables); in userspace mode the LB's namespace holds only the client's connection to its own listener
    const flow = lbForwardFlow(lb.conntrack, f.client.ip, f.client.port);
    let chosen: string | undefined;
    let nat: Nat | undefined;
    if (flow) {
      nat = natOf(flow);
      chosen = nodeByIP.get(flow.reply.src);
      nodeClient = { ip: flow.reply.dst, port: flow.reply.dport };
      if (nat.dnat) details.push(`DNAT ${nat.dnat.from} → ${nat.dnat.to} (${chosen ?? '?'}'s node port)`);
      if (nat.snat) details.push(`SNAT ${nat.snat.from} → ${nat.snat.to} (the node sees the LB)`);
      else details.push(`no SNAT: the node sees the client ${t.client}`);
    } else {
      const e = lb.log.find((c) => c.client === t.client);
      if (e) {
        chosen = e.backendNode || nodeByIP.get(hostPort(e.endpoint).ip);
        details.push(`relayed to ${e.endpoint} (${chosen ?? '?'}'s node port) by the LB process (userspace: a new connection, from the LB's own address)`);
        relay = { ip: lb.machineIP ?? '', start: e.start ?? 0 };
        nodeClient = { ip: lb.machineIP ?? '', port: 0 }; // the relay's own source port is not in the LB's log
      } else {
        t.problems.push(`the load balancer has no record of ${t.client}${lb.error ? ` (${lb.error})` : ''}`);
      }
    }
    const why = `healthy nodes: ${healthy.join(', ') || 'none'}${all.length > healthy.length ? ` (not: ${all.filter((n) => !healthy.includes(n)).join(', ')})` : ''}; ${lb.frontend?.local ? 'Local policy: only nodes with a ready pod of the Service pass their health check' : 'each new connection goes to a random healthy node'}${lb.frontend?.affinitySeconds ? `; sessionAffinity ClientIP: this client stays on one node for ${lb.frontend.affinitySeconds} s` : ''}`;
    details.unshift(why);
    nodeName = chosen;
    t.lb = { ip: f.host, mode: lb.mode, chosenNode: chosen, healthyNodes: healthy, affinitySeconds: lb.frontend?.affinitySeconds ?? 0, nat };
    t.hops.push({ kind: 'load-balancer', title: `load balancer ${f.host}:${f.port} (${lb.mode}) chose ${chosen ?? '?'}`, details });
  }

  // The node: kube-proxy's Service port, the endpoint, the NAT.
  let endpoint: string | undefined;
  let podClient: string | undefined;
  if (f.node) {
    const n = f.node;
    const details: string[] = [];
    if (svcLine) details.push(svcLine);
    let nat: Nat | undefined;
    const flow = nodeClient.port ? findFlow(n.conntrack, nodeClient.ip, nodeClient.port) : undefined;
    let clientSeen = nodeClient.port ? `${nodeClient.ip}:${nodeClient.port}` : `the load balancer ${nodeClient.ip}`;
    if (flow) {
      nat = natOf(flow);
      endpoint = `${flow.reply.src}:${flow.reply.sport}`;
      podClient = `${flow.reply.dst}:${flow.reply.dport}`;
      if (nat.dnat) details.push(`DNAT ${nat.dnat.from} → ${nat.dnat.to} (the endpoint chosen)`);
      if (nat.snat) details.push(`SNAT ${nat.snat.from} → ${nat.snat.to} (${svc?.externalTrafficPolicy === 'Local' ? '' : 'Cluster policy: '}the pod sees ${nodeByIP.get(nat.snat.to.split(':')[0]!) ?? nat.snat.to.split(':')[0]}, replies come back through ${n.name})`);
      else details.push(`no SNAT: the pod sees ${flow.orig.src}`);
      details.push(`conntrack entry: ${flow.state || 'open'}${flow.state === 'TIME_WAIT' ? ' (closed, kept 2 min)' : ''}`);
    } else {
      const e = nodeClient.port ? n.log.find((c) => c.client === `${nodeClient.ip}:${nodeClient.port}`) : relay && relayedEntry(n.log, relay);
      if (e && e.endpoint) {
        endpoint = e.endpoint;
        if (!nodeClient.port) {
          clientSeen = e.client;
          details.push(`the LB's relay connection ${e.client}: the one from the LB that ${n.name} accepted closest in time (${Math.abs((e.start ?? 0) - (relay?.start ?? 0))} ms apart)`);
        }
        podClient = `${n.name} (the kube-proxy relay connects from the node)`;
        details.push(`relayed by kube-proxy to ${e.endpoint} (the endpoint chosen, round robin); the pod sees ${n.name}`);
        if (e.result) details.push(`relay result: ${e.result}`);
      } else t.problems.push(`${n.name} has no record of ${clientSeen}${n.error ? ` (${n.error})` : ''}`);
    }
    t.node = { name: n.name, ip: n.ip, mode: n.mode, clientSeen, endpoint, nat, via: f.entry.kind === 'node' ? 'node-port' : f.entry.kind === 'pod' ? 'cluster-ip' : 'load-balancer' };
    const title = fromPod
      ? `node ${n.name} (kube-proxy ${n.mode}, the pod's own node): cluster IP ${f.host}:${f.port}, from ${clientSeen}`
      : `node ${n.name} ${n.ip}:${svc && sp?.nodePort ? sp.nodePort : f.port} (kube-proxy ${n.mode}), from ${clientSeen}`;
    t.hops.push({ kind: 'node', title, details });
  } else if (!nodeName) t.problems.push('which node took the connection is not known');

  // The pod that answered; an ingress controller's pod hands the request on to an upstream pod.
  const first = endpoint ? f.pods.find((x) => x.ip === hostPort(endpoint!).ip) : undefined;
  const placedByNode = (p: TracePod) => (p.node === t.node?.name ? `on ${p.node}, the node that took the connection` : `on ${p.node}: ${t.node?.name ?? 'the node'} routed it there over the node network`);
  if (endpoint && first?.ingressController && f.ingress) {
    const ih = ingressHop(f, first, [placedByNode(first), ...(podClient ? [`sees the client as ${podClient}`] : [])]);
    t.ingress = ih.view;
    t.hops.push(ih.hop);
    t.problems.push(...ih.problems);
    if (ih.upstream) {
      const placed = (p: TracePod) => (p.node === first.node ? `on ${p.node}, the controller's node` : `on ${p.node}: the controller on ${first.node} sent it there over the node network`);
      podHop(t, f, ih.upstream, placed, `${first.ip} (the controller pod; X-Forwarded-For / X-Real-IP carry the client)`);
    }
  } else if (endpoint) podHop(t, f, endpoint, placedByNode, podClient);

  const r = f.response;
  t.hops.push('error' in r ? { kind: 'response', title: `no response: ${r.error} (after ${r.ms} ms)`, details: [] } : { kind: 'response', title: `response ${r.status}, ${r.bytes} bytes, ${r.ms} ms total`, details: r.body ? [JSON.stringify(r.body.split('\n')[0]!.slice(0, 120))] : [] });
  return t;
}

/** The pod hop of `endpoint` (ip:port): which pod, container and node; `placed` says how it got to that node. */
function podHop(t: Trace, f: TraceFacts, endpoint: string, placed: (p: TracePod) => string, clientSeen: string | undefined): void {
  const { ip, port } = hostPort(endpoint);
  const p = f.pods.find((x) => x.ip === ip);
  if (!p) {
    t.problems.push(`no pod has the endpoint's address ${ip}`);
    t.hops.push({ kind: 'pod', title: `endpoint ${endpoint} (no pod has this address)`, details: [] });
    return;
  }
  const c = p.containers.find((k) => k.ports.includes(port)) ?? (p.containers.length === 1 ? p.containers[0] : undefined);
  t.pod = { namespace: p.namespace, name: p.name, node: p.node, ip, port, container: c?.name, clientSeen };
  const details = [placed(p)];
  if (clientSeen) details.push(`sees the client as ${clientSeen}`);
  t.hops.push({ kind: 'pod', title: `pod ${p.namespace}/${p.name} ${endpoint}${c ? `, container ${c.name}` : ''}`, details });
}

/** The Service port the URL names: a node port, a cluster IP and port (from a pod), or an LB address and port. */
export function entryServicePort(f: Pick<TraceFacts, 'entry' | 'services' | 'host' | 'port'>): { svc: TraceService; port: TraceService['ports'][number] } | undefined {
  for (const s of f.services) {
    const p =
      f.entry.kind === 'node' ? s.ports.find((x) => x.protocol === 'TCP' && x.nodePort === f.port) :
      f.entry.kind === 'pod' ? (s.clusterIP === f.host ? s.ports.find((x) => x.protocol === 'TCP' && x.port === f.port) : undefined) :
      s.lbIPs.includes(f.host) ? s.ports.find((x) => x.protocol === 'TCP' && x.port === f.port) : undefined;
    if (p) return { svc: s, port: p };
  }
  return undefined;
}

/** The client's flow in the LB's conntrack when it was DNATed (nftables mode). */
export function lbForwardFlow(lines: string[], clientIP: string, clientPort: number): CtFlow | undefined {
  const f = findFlow(lines, clientIP, clientPort);
  return f && natOf(f).dnat ? f : undefined;
}

/** The kube-proxy log entry of the LB relay's connection: from the LB's address, accepted closest to when the LB accepted the client's (within 2 s). */
export function relayedEntry(log: ConnLogEntry[], relay: { ip: string; start: number }): ConnLogEntry | undefined {
  let best: ConnLogEntry | undefined;
  for (const c of log) {
    if (hostPort(c.client).ip !== relay.ip || c.start === undefined) continue;
    const d = Math.abs(c.start - relay.start);
    if (d <= 2000 && (!best || d < Math.abs(best.start! - relay.start))) best = c;
  }
  return best;
}
