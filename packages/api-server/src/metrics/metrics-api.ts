/**
 * The resource metrics API (metrics.k8s.io/v1beta1), as metrics-server
 * serves it for `kubectl top`: NodeMetrics and PodMetrics, read-only, built
 * from the node agents' usage reports (kept in memory: like metrics-server,
 * nothing is stored, and a report older than 90 s is no longer served).
 *
 *   node agent ─ws: metrics (every 15 s)─▶ MetricsStore ─▶ GET /apis/metrics.k8s.io/v1beta1/{nodes,pods}
 */
import type { MetricsMsg } from '@kubemu/api';
import { ApiError } from '@kubemu/api';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const GV = `${METRICS_GROUP}/${METRICS_VERSION}`;
const STALE_MS = 90_000;

const cpu = (nanocores: number) => `${Math.max(0, Math.round(nanocores))}n`;
const memory = (bytes: number) => `${Math.max(0, Math.round(bytes / 1024))}Ki`;

interface NodeEntry {
  at: number;
  msg: MetricsMsg;
}

export class MetricsStore {
  readonly #nodes = new Map<string, NodeEntry>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  report(node: string, msg: MetricsMsg): void {
    this.#nodes.set(node, { at: this.#now(), msg });
  }

  #fresh(): [string, NodeEntry][] {
    const cutoff = this.#now() - STALE_MS;
    return [...this.#nodes].filter(([, e]) => e.at >= cutoff).sort(([a], [b]) => a.localeCompare(b));
  }

  nodeMetrics(): object[] {
    return this.#fresh().map(([name, e]) => ({
      metadata: { name, creationTimestamp: new Date(this.#now()).toISOString(), labels: {} },
      timestamp: e.msg.timestamp,
      window: `${e.msg.windowSeconds}s`,
      usage: { cpu: cpu(e.msg.node.cpu), memory: memory(e.msg.node.memory) },
    }));
  }

  podMetrics(namespace?: string): object[] {
    const out: object[] = [];
    for (const [, e] of this.#fresh()) {
      for (const p of e.msg.pods) {
        if (namespace !== undefined && p.namespace !== namespace) continue;
        out.push({
          metadata: { name: p.name, namespace: p.namespace, creationTimestamp: new Date(this.#now()).toISOString(), labels: {} },
          timestamp: e.msg.timestamp,
          window: `${e.msg.windowSeconds}s`,
          containers: p.containers.map((c) => ({ name: c.name, usage: { cpu: cpu(c.cpu), memory: memory(c.memory) } })),
        });
      }
    }
    return out.sort((a, b) => JSON.stringify((a as { metadata: unknown }).metadata).localeCompare(JSON.stringify((b as { metadata: unknown }).metadata)));
  }
}

/** Discovery for the group (the /apis list gains it too: discovery.ts). */
export function metricsDiscovery(path: string): object | undefined {
  const p = path.replace(/\/+$/, '');
  const version = { groupVersion: GV, version: METRICS_VERSION };
  if (p === `/apis/${METRICS_GROUP}`) return { kind: 'APIGroup', apiVersion: 'v1', name: METRICS_GROUP, versions: [version], preferredVersion: version };
  if (p === `/apis/${GV}`) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: GV,
      resources: [
        { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
        { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
      ],
    };
  }
  return undefined;
}

export const metricsAPIGroup = () => ({ name: METRICS_GROUP, versions: [{ groupVersion: GV, version: METRICS_VERSION }], preferredVersion: { groupVersion: GV, version: METRICS_VERSION } });

/** GET under /apis/metrics.k8s.io: the object or list to send, or an ApiError. */
export function metricsRequest(store: MetricsStore, method: string, path: string): object {
  const disc = metricsDiscovery(path);
  if (disc) return disc;
  const rest = path.slice(`/apis/${GV}/`.length).replace(/\/+$/, '').split('/');
  if (!path.startsWith(`/apis/${GV}/`)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  let namespace: string | undefined;
  let parts = rest;
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const [resource, name, ...extra] = parts;
  if (extra.length || (resource !== 'nodes' && resource !== 'pods') || (resource === 'nodes' && namespace !== undefined)) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  const kind = resource === 'nodes' ? 'NodeMetrics' : 'PodMetrics';
  const items = resource === 'nodes' ? store.nodeMetrics() : store.podMetrics(namespace);
  if (name) {
    const one = items.find((i) => (i as { metadata: { name: string } }).metadata.name === name);
    if (!one) throw new ApiError(404, 'NotFound', `${resource}.${METRICS_GROUP} "${name}" not found`, { name, group: METRICS_GROUP, kind: resource });
    return { kind, apiVersion: GV, ...one };
  }
  return { kind: `${kind}List`, apiVersion: GV, metadata: {}, items: items.map((i) => ({ ...i })) };
}
