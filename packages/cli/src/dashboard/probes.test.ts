import { describe, expect, it } from 'vitest';
import type { Node, Service } from '@kubemu/api';
import type { getJson } from './http-json.js';
import { ClusterProbes } from './probes.js';
import { DashboardState } from './state.js';
import type { TimelineEntry } from './view.js';

const node = (name: string, ip: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: 'True' }] } });
const svc = (name: string, spec: Partial<Service['spec']>): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }], selector: { app: name }, ...spec } });

function setup(answers: Record<string, { status: number; body?: unknown } | { error: string }>) {
  const state = new DashboardState('c');
  state.reset('nodes', [node('node-1', '10.0.0.11'), node('node-2', '10.0.0.12')]);
  const asked: string[] = [];
  const get = (async (url: string) => {
    asked.push(url);
    const a = answers[url] ?? { error: 'connection refused' };
    return 'error' in a ? { status: 0, error: a.error } : { status: a.status, body: a.body };
  }) as typeof getJson;
  return { state, asked, probes: new ClusterProbes({ state, lbIP: '10.0.0.3', get, now: () => 5000 }) };
}

describe('ClusterProbes', () => {
  it("reads the load balancer's node checks and every node's answer on each Local Service's healthCheckNodePort", async () => {
    const { state, probes } = setup({
      'http://10.0.0.3:10257/healthz': {
        status: 200,
        body: {
          mode: 'nftables',
          frontends: [{ service: 'default/web', ip: '10.0.0.200', port: 80, protocol: 'TCP', local: true, affinitySeconds: 0, backends: [{ node: 'node-1' }] }],
          nodes: [
            { key: 'node-1 default/web', ip: '10.0.0.11', port: 32000, healthy: true, checkedAt: 1 },
            { key: 'node-2 default/web', ip: '10.0.0.12', port: 32000, healthy: false, checkedAt: 1, error: 'HTTP 503' },
          ],
        },
      },
      'http://10.0.0.11:32000/': { status: 200, body: { localEndpoints: 1 } },
      'http://10.0.0.12:32000/': { status: 503, body: { localEndpoints: 0 } },
    });
    state.reset('services', [svc('web', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }), svc('plain', {})]);
    const r = await probes.round();
    expect(r.lb).toMatchObject({ ip: '10.0.0.3', mode: 'nftables', reachable: true, frontends: [{ service: 'default/web', backends: ['node-1'], local: true }] });
    expect(r.lb!.nodes.map((n) => [n.node, n.healthy, n.detail])).toEqual([
      ['node-1', true, '10.0.0.11:32000 answers 200'],
      ['node-2', false, 'HTTP 503'],
    ]);
    expect(r.healthChecks).toEqual([
      { service: 'default/web', node: 'node-1', port: 32000, status: 200, localEndpoints: 1 },
      { service: 'default/web', node: 'node-2', port: 32000, status: 503, localEndpoints: 0 },
    ]);
    // No Service has ClientIP affinity: nobody is asked for it.
    expect(r.affinity).toEqual([]);
  });

  it('says when the load balancer does not answer', async () => {
    const { probes } = setup({});
    expect((await probes.round()).lb).toMatchObject({ reachable: false, error: 'connection refused' });
  });

  it("turns each node's /applied answer into a timeline entry", async () => {
    const { probes, asked } = setup({
      'http://10.0.0.11:10256/applied?service=default%2Fweb&rv=42&timeoutMs=10000': { status: 200, body: { rv: 42, at: 5030 } },
      'http://10.0.0.12:10256/applied?service=default%2Fweb&rv=42&timeoutMs=10000': { status: 200, body: { timeout: true } },
    });
    const got: TimelineEntry[] = [];
    probes.followApplied('default/web', 42, (e) => got.push(e));
    await new Promise((r) => setTimeout(r, 10));
    expect(asked).toHaveLength(2);
    expect(got.map((e) => [e.what, e.detail]).sort()).toEqual([
      ['proxy-applied', 'node-1 applied it 30 ms after the dashboard saw the change'],
      ['proxy-applied', 'node-2: not applied after 10 s'],
    ]);
  });
});
