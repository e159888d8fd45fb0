import { describe, expect, it } from 'vitest';
import { ApiError, type MetricsMsg } from '@kubemu/api';
import { MetricsStore, metricsRequest } from './metrics-api.js';

const report = (pods: MetricsMsg['pods'], cpu = 2_500_000): MetricsMsg => ({ t: 'metrics', timestamp: '2026-12-01T00:00:00.000Z', windowSeconds: 15, node: { cpu, memory: 200 * 1024 * 1024 }, pods });

describe('metrics.k8s.io', () => {
  it('serves NodeMetrics and PodMetrics from the latest reports, as kubectl top reads them', () => {
    let now = 1_000_000;
    const store = new MetricsStore(() => now);
    store.report('node-1', report([{ namespace: 'default', name: 'web', containers: [{ name: 'nginx', cpu: 1_200_000, memory: 5 * 1024 * 1024 }] }]));
    store.report('node-2', report([{ namespace: 'kube-system', name: 'dns', containers: [{ name: 'd', cpu: 0, memory: 1024 }] }]));
    const nodes = metricsRequest(store, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes') as { kind: string; items: { metadata: { name: string }; usage: object; window: string }[] };
    expect(nodes.kind).toBe('NodeMetricsList');
    expect(nodes.items.map((n) => [n.metadata.name, n.usage, n.window])).toEqual([
      ['node-1', { cpu: '2500000n', memory: '204800Ki' }, '15s'],
      ['node-2', { cpu: '2500000n', memory: '204800Ki' }, '15s'],
    ]);
    const pods = metricsRequest(store, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods') as { items: { metadata: { name: string }; containers: object[] }[] };
    expect(pods.items.map((p) => [p.metadata.name, p.containers])).toEqual([['web', [{ name: 'nginx', usage: { cpu: '1200000n', memory: '5120Ki' } }]]]);
    expect((metricsRequest(store, 'GET', '/apis/metrics.k8s.io/v1beta1/pods') as { items: unknown[] }).items).toHaveLength(2);
    expect(metricsRequest(store, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web')).toMatchObject({ kind: 'PodMetrics', metadata: { name: 'web' } });
    expect(() => metricsRequest(store, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope')).toThrow(ApiError);
    expect(() => metricsRequest(store, 'POST', '/apis/metrics.k8s.io/v1beta1/nodes')).toThrow(/does not allow/);
    expect(metricsRequest(store, 'GET', '/apis/metrics.k8s.io/v1beta1')).toMatchObject({ kind: 'APIResourceList', resources: [{ name: 'nodes' }, { name: 'pods' }] });
    // a node that stopped reporting drops out after 90 s
    now += 60_000;
    store.report('node-1', report([]));
    now += 45_000;
    expect((metricsRequest(store, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes') as { items: { metadata: { name: string } }[] }).items.map((n) => n.metadata.name)).toEqual(['node-1']);
  });
});
