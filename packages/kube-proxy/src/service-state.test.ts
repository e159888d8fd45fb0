import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '@kubemu/api';
import { hasAnyEndpoints, servicePorts, skipReason, sliceServiceKey, usableEndpoints } from './service-state.js';

const svc = (spec: Service['spec'], labels?: Record<string, string>): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubia', namespace: 'default', labels }, spec });

const slice = (name: string, ports: { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[], eps: { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean }[]): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubia' } },
  addressType: 'IPv4',
  ports,
  endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating } })),
});

describe('service state', () => {
  it('skips headless, ExternalName and other proxies', () => {
    expect(skipReason(svc({ clusterIP: 'None' }))).toBe('headless');
    expect(skipReason(svc({ type: 'ExternalName', externalName: 'x.example' }))).toBe('ExternalName');
    expect(skipReason(svc({ clusterIP: '10.96.0.5' }, { 'service.kubernetes.io/service-proxy-name': 'other' }))).toMatch(/proxy-name/);
    expect(skipReason(svc({ clusterIP: '10.96.0.5' }, { 'service.kubernetes.io/headless': '' }))).toMatch(/headless/);
    expect(skipReason(svc({ clusterIP: '10.96.0.5' }))).toBeUndefined();
    expect(servicePorts(svc({ clusterIP: 'None', ports: [{ port: 80 }] }), [])).toEqual([]);
  });

  it('maps slice ports by name and protocol, per slice (named targetPorts)', () => {
    const s = svc({ clusterIP: '10.96.0.5', type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    const out = servicePorts(s, [
      slice('a', [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }, { name: 'dns', port: 5353, protocol: 'UDP' }], [{ ip: '10.244.1.2', node: 'node-1' }]),
      slice('b', [{ name: 'http', port: 9080 }, { name: 'https', port: 9443 }], [{ ip: '10.244.2.2', node: 'node-2' }]),
    ]);
    expect(out.map((p) => p.key)).toEqual(['default/kubia:http/TCP', 'default/kubia:https/TCP', 'default/kubia:dns/UDP']);
    expect(out[0].endpoints.map((e) => e.addr)).toEqual(['10.244.1.2:8080', '10.244.2.2:9080']);
    expect(out[1].endpoints.map((e) => e.addr)).toEqual(['10.244.1.2:8443', '10.244.2.2:9443']);
    expect(out[2].endpoints.map((e) => e.addr)).toEqual(['10.244.1.2:5353']);
    expect(out[0].nodePort).toBe(30080);
    expect(out[2].protocol).toBe('UDP');
  });

  it('reads affinity and traffic policies', () => {
    const [p] = servicePorts(svc({ clusterIP: '10.96.0.5', type: 'LoadBalancer', sessionAffinity: 'ClientIP', externalTrafficPolicy: 'Local', healthCheckNodePort: 31000, internalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30080 }] }), []);
    expect(p.affinitySeconds).toBe(10800);
    expect(p.externalLocal && p.internalLocal).toBe(true);
    expect(p.healthCheckNodePort).toBe(31000);
    const [q] = servicePorts(svc({ clusterIP: '10.96.0.5', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80, nodePort: 30080 }] }), []);
    expect(q.affinitySeconds).toBe(60);
    expect(q.nodePort).toBeUndefined(); // ClusterIP type has no node port
  });

  it('uses ready endpoints, else serving+terminating, and filters by node', () => {
    const [p] = servicePorts(svc({ clusterIP: '10.96.0.5', ports: [{ port: 80 }] }), [
      slice('a', [{ port: 8080 }], [
        { ip: '10.244.1.2', node: 'node-1', ready: false, serving: true, terminating: true },
        { ip: '10.244.2.2', node: 'node-2', ready: true },
        { ip: '10.244.3.2', node: 'node-3', ready: false, serving: false },
      ]),
    ]);
    expect(usableEndpoints(p.endpoints).map((e) => e.ip)).toEqual(['10.244.2.2']);
    expect(usableEndpoints(p.endpoints, 'node-1').map((e) => e.ip)).toEqual(['10.244.1.2']);
    expect(usableEndpoints(p.endpoints, 'node-3')).toEqual([]);
    expect(hasAnyEndpoints(p.endpoints)).toBe(true);
    const term = p.endpoints.filter((e) => e.ip !== '10.244.2.2');
    expect(usableEndpoints(term).map((e) => e.ip)).toEqual(['10.244.1.2']);
    expect(hasAnyEndpoints(p.endpoints.filter((e) => e.ip === '10.244.3.2'))).toBe(false);
  });

  it('finds the service of a slice', () => {
    expect(sliceServiceKey(slice('a', [], []))).toBe('default/kubia');
  });
});
