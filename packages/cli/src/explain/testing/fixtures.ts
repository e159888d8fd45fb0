/** Facts of a small healthy cluster (2 nodes, Service kubia with 2 ready pods), for the checks' unit tests to break one thing at a time. */
import type { Container, CoreEvent, EndpointSlice, Endpoints, Pod, Service } from '@kubemu/api';
import type { ServiceFacts } from '../facts.js';

export const NOW = Date.parse('2026-01-01T12:00:00Z');
export const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();

export function pod(name: string, o: { labels?: Record<string, string>; ip?: string; node?: string; ready?: boolean; containers?: Container[]; phase?: 'Pending' | 'Running' } = {}): Pod {
  const ready = o.ready ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: o.labels ?? { app: 'kubia' } },
    spec: { nodeName: o.node ?? 'node-1', containers: o.containers ?? [{ name: 'kubia', image: 'luksa/kubia', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: {
      phase: o.phase ?? 'Running',
      podIP: o.ip ?? '10.244.1.3',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(90_000) }],
      containerStatuses: [{ name: 'kubia', ready, restartCount: 0, image: 'luksa/kubia', imageID: '', state: { running: {} } }],
    },
  };
}

export function service(o: Partial<Service['spec']> = {}, rv = '100'): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubia', namespace: 'default', resourceVersion: rv }, spec: { type: 'ClusterIP', clusterIP: '10.96.5.5', selector: { app: 'kubia' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], ...o } };
}

export function endpoints(ready: string[], notReady: string[] = [], port = 8080): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubia', namespace: 'default', resourceVersion: '101', annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': iso(60_000) } },
    subsets: [{ addresses: ready.map((ip) => ({ ip })), ...(notReady.length ? { notReadyAddresses: notReady.map((ip) => ({ ip })) } : {}), ports: [{ port, protocol: 'TCP' }] }],
  };
}

export function slice(ready: string[], notReady: string[] = [], rv = '102'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubia-abcde', namespace: 'default', resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'kubia' } },
    addressType: 'IPv4',
    endpoints: [...ready.map((ip) => ({ addresses: [ip], conditions: { ready: true } })), ...notReady.map((ip) => ({ addresses: [ip], conditions: { ready: false } }))],
    ports: [{ port: 8080, protocol: 'TCP' }],
  };
}

export function unhealthy(podName: string, message: string, count = 5, msAgo = 1000): CoreEvent {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${podName}.1`, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: podName, namespace: 'default', uid: `uid-${podName}` },
    reason: 'Unhealthy',
    type: 'Warning',
    message,
    count,
    firstTimestamp: iso(90_000),
    lastTimestamp: iso(msAgo),
  };
}

const listen8080 = [{ proto: 'TCP' as const, address: '0.0.0.0', port: 8080 }];

/** Everything fine: 2 ready pods on 2 nodes, endpoints agree, both listen on 0.0.0.0:8080, both proxies applied, no DNS addon. */
export function healthy(): ServiceFacts {
  const a = pod('kubia-a', { ip: '10.244.1.3', node: 'node-1' });
  const b = pod('kubia-b', { ip: '10.244.2.3', node: 'node-2' });
  return {
    now: NOW,
    cluster: 'test',
    service: service(),
    pods: [a, b],
    endpoints: endpoints(['10.244.1.3', '10.244.2.3']),
    slices: [slice(['10.244.1.3', '10.244.2.3'])],
    events: [],
    nodes: [
      { name: 'node-1', ip: '172.30.0.11', ready: true },
      { name: 'node-2', ip: '172.30.0.12', ready: true },
    ],
    listeners: { 'kubia-a': listen8080, 'kubia-b': listen8080 },
    proxies: { 'node-1': { rv: 102, at: NOW - 59_800 }, 'node-2': { rv: 102, at: NOW - 59_700 } },
    dns: { running: false, reason: 'the dns addon is not running' },
  };
}
