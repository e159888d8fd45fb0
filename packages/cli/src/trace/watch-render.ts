/**
 * `kubemu trace --watch`: one stream event as one line (pure), in `hubble
 * observe`'s spirit: time, where it was seen, source → Service port (how it
 * was reached) → endpoint (pod), verdict, and on close the bytes and time.
 */
import type { ConnEvent } from '@kubemu/kube-proxy';

/** One line of a /connections?watch=1 stream (kube-proxy's or the LB's; the LB's name the node its endpoint, a node port, is on). */
export type StreamEvent = ConnEvent & { backendNode?: string };

export interface WatchContext {
  /** Service port name (or '') → its port number and node port. */
  ports: Map<string, { port: number; nodePort?: number }>;
  /** Pod IP → `ns/name` */
  podByIP: Map<string, string>;
  /** Node IP → node name */
  nodeByIP: Map<string, string>;
}

export type Verdict = 'FORWARDED' | 'REFUSED' | 'RESET' | 'TIMED OUT' | 'DROPPED';

/** What a Kubernetes user calls it: forwarded (to an endpoint), refused, reset, timed out, dropped by policy. */
export function verdictOf(e: Pick<StreamEvent, 'type' | 'result'>): Verdict {
  if (e.type === 'open') return 'FORWARDED';
  switch (e.result) {
    case 'no-endpoints':
    case 'connect-failed':
    case 'endpoint-unreachable':
      return 'REFUSED';
    case 'reset':
      return 'RESET';
    case 'dropped':
      return 'DROPPED';
    case 'timeout':
    case 'no-reply':
    case 'connecting':
      return 'TIMED OUT';
    default:
      return 'FORWARDED';
  }
}

const WHY: Record<string, string> = {
  'no-endpoints': 'no endpoints',
  'connect-failed': 'the endpoint refused or did not answer',
  'endpoint-unreachable': 'the endpoint is unreachable',
  timeout: 'the endpoint never answered',
  'no-reply': 'no reply',
  reset: 'reset',
  dropped: 'by policy: traffic policy Local and no ready endpoint on this node',
};

function portName(service: string): { svc: string; port: string; proto: string } {
  const m = /^(.*):([^:/]*)\/([A-Z]+)$/.exec(service);
  return m ? { svc: m[1]!, port: m[2]!, proto: m[3]! } : { svc: service, port: '', proto: '' };
}

function bytes(n: number): string {
  return n < 10_000 ? `${n} B` : n < 10_000_000 ? `${Math.round(n / 1000)} kB` : `${Math.round(n / 1_000_000)} MB`;
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** The endpoint as the user knows it: a pod, or (after the LB) a node's node port. */
function endpointName(e: StreamEvent, c: WatchContext): string {
  if (!e.endpoint) return '(no endpoint)';
  const ip = e.endpoint.slice(0, e.endpoint.lastIndexOf(':'));
  if (e.node === 'load-balancer') return `${e.backendNode || c.nodeByIP.get(ip) || '?'} ${e.endpoint}`;
  const pod = c.podByIP.get(ip);
  return pod ? `${pod} ${e.endpoint}` : e.endpoint;
}

export interface WatchLine {
  time: string;
  event: 'open' | 'close';
  node: string;
  client: string;
  /** `ns/name`, its port (number) and protocol */
  service: string;
  port?: number;
  protocol: string;
  via: string;
  endpoint: string;
  /** `ns/name` of the endpoint's pod (kube-proxy), or the node (the LB) */
  pod?: string;
  backendNode?: string;
  verdict: Verdict;
  result: string;
  bytesIn?: number;
  bytesOut?: number;
  /** The node did not read this connection's counters (too many closing at once). */
  bytesUnknown?: boolean;
  durationMs?: number;
}

export function watchLine(e: StreamEvent, c: WatchContext, at: number): WatchLine {
  const { svc, port, proto } = portName(e.service);
  const p = c.ports.get(port);
  const ip = e.endpoint.slice(0, e.endpoint.lastIndexOf(':'));
  const l: WatchLine = {
    time: new Date(at).toISOString(),
    event: e.type,
    node: e.node,
    client: e.client,
    service: svc,
    port: p?.port,
    protocol: proto || e.protocol,
    via: e.via,
    endpoint: e.endpoint,
    verdict: verdictOf(e),
    result: e.result,
  };
  if (e.node === 'load-balancer') l.backendNode = e.backendNode || c.nodeByIP.get(ip) || undefined;
  else if (c.podByIP.has(ip)) l.pod = c.podByIP.get(ip);
  if (e.type === 'close') Object.assign(l, e.bytesUnknown ? { bytesUnknown: true, durationMs: e.durationMs } : { bytesIn: e.bytesIn, bytesOut: e.bytesOut, durationMs: e.durationMs });
  return l;
}

export function renderWatchText(e: StreamEvent, c: WatchContext, at: number): string {
  const { svc, port, proto } = portName(e.service);
  const p = c.ports.get(port);
  const svcPort = `${svc}:${p?.port ?? port}/${proto || e.protocol}`;
  const via = e.via === 'node-port' && p?.nodePort ? `node-port ${p.nodePort}` : e.via;
  const v = verdictOf(e);
  let tail = v as string;
  if (e.type === 'close') {
    const why = WHY[e.result];
    tail = v === 'FORWARDED' ? `CLOSED (${e.result})` : `${v}${why && why !== v.toLowerCase() ? ` (${why})` : ''}`;
    if (e.bytesUnknown) tail += `  bytes not read (too many closing at once), ${e.durationMs} ms`;
    else if (e.endpoint || e.bytesIn || e.bytesOut) tail += `  ${bytes(e.bytesIn)} in, ${bytes(e.bytesOut)} out, ${e.durationMs} ms`;
  }
  return `${clock(at)}  ${e.node.padEnd(13)} ${e.type.padEnd(5)} ${e.client} → ${svcPort} (via ${via}) → ${endpointName(e, c)}  ${tail}`;
}
