/**
 * Where a scenario's traffic goes. `{url}` is used as given; `{service, via}`
 * is resolved from the API: a node's IP (from the cluster record) and the
 * Service's node port, the Service's status.loadBalancer.ingress[0].ip, or
 * the address of the Ingress whose rule names `host` (sent as Host). Either
 * way the address must be loopback or on the cluster's own node network:
 * traffic never leaves the networks kubemu made.
 */
import { cidrContains, cidrOf, isIPv4, parseIPv4 } from '@kubemu/api';
import type { Target } from './schema.js';

export interface ResolvedTarget {
  url: string;
  host?: string;
  /** How it was found, for the report ("service kubia via nodePort on node-2"). */
  description: string;
}

/** What resolving needs from the cluster. */
export interface TargetContext {
  /** The cluster's node network, e.g. 172.30.0.0/24 (also holds the LB pool). */
  subnet: string;
  nodes: { name: string; ip: string }[];
  /** GET an API path, JSON back. */
  get<T>(path: string): Promise<T>;
}

export class TargetError extends Error {
  readonly code = 'ERR_TARGET';
}

interface ServicePort {
  name?: string;
  port: number;
  nodePort?: number;
}
interface ServiceJ {
  spec?: { type?: string; ports?: ServicePort[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}
interface IngressJ {
  metadata: { name: string };
  spec?: { rules?: { host?: string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** Loopback, or an address of the cluster's node network. */
export function checkAddress(hostname: string, subnet: string): void {
  const h = hostname.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return;
  if (!isIPv4(h)) throw new TargetError(`address "${h}" is not an IPv4 address: give the cluster's addresses (nodes, load balancer) or 127.0.0.1`);
  const ip = parseIPv4(h);
  if (cidrContains(cidrOf('127.0.0.0/8'), ip) || cidrContains(cidrOf(subnet), ip)) return;
  throw new TargetError(`address ${h} is outside the cluster's network ${subnet} and loopback; kubemu sends test traffic nowhere else`);
}

function pickPort(ports: ServicePort[], want: string | number | undefined, svc: string): ServicePort {
  if (!ports.length) throw new TargetError(`service ${svc} has no ports`);
  if (want === undefined) return ports[0]!;
  const p = ports.find((x) => (typeof want === 'number' ? x.port === want : x.name === want));
  if (!p) throw new TargetError(`service ${svc} has no port ${typeof want === 'number' ? want : `named "${want}"`} (ports: ${ports.map((x) => x.name ?? x.port).join(', ')})`);
  return p;
}

export async function resolveTarget(t: Target, ctx: TargetContext): Promise<ResolvedTarget> {
  if (t.kind === 'url') {
    checkAddress(new URL(t.url).hostname, ctx.subnet);
    return { url: t.url, host: t.host, description: t.url };
  }
  const svcName = `${t.namespace}/${t.service}`;
  if (t.via === 'ingress') {
    const list = await ctx.get<{ items: IngressJ[] }>(`/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(t.namespace)}/ingresses`);
    const ing = list.items.find((i) => i.spec?.rules?.some((r) => r.host === t.host));
    if (!ing) throw new TargetError(`no Ingress in namespace ${t.namespace} has a rule for host ${t.host}`);
    const ip = ing.status?.loadBalancer?.ingress?.find((x) => x.ip)?.ip;
    if (!ip) throw new TargetError(`ingress ${t.namespace}/${ing.metadata.name} has no address yet (status.loadBalancer.ingress is empty; is the ingress addon running?)`);
    checkAddress(ip, ctx.subnet);
    return { url: `http://${ip}${t.path}`, host: t.host, description: `ingress ${ing.metadata.name} host ${t.host} at ${ip}` };
  }
  const svc = await ctx.get<ServiceJ>(`/api/v1/namespaces/${encodeURIComponent(t.namespace)}/services/${encodeURIComponent(t.service)}`);
  const port = pickPort(svc.spec?.ports ?? [], t.port, svcName);
  if (t.via === 'nodePort') {
    if (!port.nodePort) throw new TargetError(`service ${svcName} has no node port (type ${svc.spec?.type ?? 'ClusterIP'}); make it a NodePort or LoadBalancer Service`);
    const node = t.node ? ctx.nodes.find((n) => n.name === t.node) : ctx.nodes[0];
    if (!node) throw new TargetError(`no node "${t.node}" in the cluster (nodes: ${ctx.nodes.map((n) => n.name).join(', ')})`);
    checkAddress(node.ip, ctx.subnet);
    return { url: `http://${node.ip}:${port.nodePort}${t.path}`, host: t.host, description: `service ${svcName} via node port ${port.nodePort} on ${node.name}` };
  }
  if (svc.spec?.type !== 'LoadBalancer') throw new TargetError(`service ${svcName} is type ${svc.spec?.type ?? 'ClusterIP'}, not LoadBalancer`);
  const ip = svc.status?.loadBalancer?.ingress?.find((x) => x.ip)?.ip;
  if (!ip) throw new TargetError(`service ${svcName} has no load balancer address yet (status.loadBalancer.ingress is empty)`);
  checkAddress(ip, ctx.subnet);
  return { url: `http://${ip}:${port.port}${t.path}`, host: t.host, description: `service ${svcName} via load balancer ${ip}:${port.port}` };
}
