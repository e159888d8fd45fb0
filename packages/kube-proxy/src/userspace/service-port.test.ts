import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '@kubemu/api';
import { ConnLog } from './conn-log.js';
import { ServicePort, type ServicePortContext } from './service-port.js';
import { portKernelFacts, servicePorts } from '../service-state.js';

// Only the synchronous parts are exercised here (no listener is opened).
const ctx = (node = 'node-1'): ServicePortContext => ({
  node,
  log: pino({ level: 'silent' }),
  connLog: new ConnLog(4),
  isInternalClient: (ip) => ip.startsWith('10.244.1.'),
  servesExternalIP: (ip) => ip === '172.30.0.11',
  nodeAddresses: () => ['127.0.0.1', '172.30.0.11', '10.244.1.1'],
  onListenError: () => {},
});

function state(spec: Partial<Service['spec']>, eps: { ip: string; node: string; ready?: boolean; serving?: boolean; terminating?: boolean }[]) {
  const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default' }, spec: { clusterIP: '10.96.0.9', ports: [{ port: 80, nodePort: 30080 }], ...spec } };
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 's' } }, addressType: 'IPv4',
    ports: [{ port: 8080, protocol: svc.spec!.ports?.[0]?.protocol ?? 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready ?? true, serving: e.serving, terminating: e.terminating } })),
  };
  return servicePorts(svc, [slice])[0];
}

describe('ServicePort', () => {
  it('wants cluster IP, node port and owned external IP listeners only while some endpoint can serve', () => {
    const st = state({ type: 'NodePort', externalIPs: ['172.30.0.11', '172.30.0.12'] }, [{ ip: '10.244.2.2', node: 'node-2' }]);
    const p = new ServicePort(st, ctx());
    p.update(st);
    expect(p.wanted().map((w) => `${w.via} ${w.host}:${w.port}`)).toEqual(['cluster-ip 10.96.0.9:80', 'node-port 0.0.0.0:30080', 'external-ip 172.30.0.11:80']);
    // UDP node ports listen on each node address, so replies leave from the address the client sent to
    const udp = state({ type: 'NodePort', ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }] }, [{ ip: '10.244.2.2', node: 'node-2' }]);
    p.update(udp);
    expect(p.wanted().filter((w) => w.via === 'node-port').map((w) => `${w.host}:${w.port}`)).toEqual(['127.0.0.1:30053', '172.30.0.11:30053', '10.244.1.1:30053']);
    const none = state({ type: 'NodePort' }, [{ ip: '10.244.2.2', node: 'node-2', ready: false, serving: false }]);
    p.update(none);
    expect(p.wanted()).toEqual([]);
    expect(p.pick(p.wanted()[0] ?? { host: '', port: 0, via: 'cluster-ip', local: false }, '10.244.1.5')).toBeUndefined();
  });

  it('falls back to serving+terminating endpoints', () => {
    const st = state({}, [{ ip: '10.244.2.2', node: 'node-2', ready: false, serving: true, terminating: true }, { ip: '10.244.3.2', node: 'node-3', ready: false, serving: false, terminating: true }]);
    const p = new ServicePort(st, ctx());
    p.update(st);
    expect(p.cluster.endpoints).toEqual(['10.244.2.2:8080']);
    expect(p.wanted()).toHaveLength(1);
  });

  it('drops Local-policy traffic on a node without local endpoints, and only there', () => {
    const st = state({ type: 'NodePort', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local', externalIPs: ['172.30.0.11'] }, [{ ip: '10.244.2.2', node: 'node-2' }]);
    expect(portKernelFacts(st, 'node-1')).toEqual({
      ports: [{ ip: '10.96.0.9', proto: 'tcp', port: 80 }, { ip: '172.30.0.11', proto: 'tcp', port: 80 }],
      dropAddr: [{ ip: '10.96.0.9', proto: 'tcp', port: 80 }],
      dropExt: [{ ip: '172.30.0.11', proto: 'tcp', port: 80 }],
      dropNode: [{ proto: 'tcp', port: 30080 }],
    });
    expect(portKernelFacts(st, 'node-2').dropNode).toEqual([]);
    // no endpoints anywhere: refused (no listener), not dropped
    const none = state({ type: 'NodePort', externalTrafficPolicy: 'Local' }, []);
    expect(portKernelFacts(none, 'node-1').dropNode).toEqual([]);
  });

  it('sends ETP Local node-port clients from this node to any endpoint, external ones to local endpoints', () => {
    const st = state({ type: 'NodePort', externalTrafficPolicy: 'Local' }, [{ ip: '10.244.1.2', node: 'node-1' }, { ip: '10.244.2.2', node: 'node-2' }]);
    const p = new ServicePort(st, ctx('node-1'));
    p.update(st);
    const np = p.wanted().find((w) => w.via === 'node-port')!;
    const external = new Set(Array.from({ length: 6 }, () => p.pick(np, '172.30.0.13')));
    expect([...external]).toEqual(['10.244.1.2:8080']);
    const internal = new Set(Array.from({ length: 6 }, () => p.pick(np, '10.244.1.7')));
    expect(internal.size).toBe(2);
    // the cluster IP is unaffected by ETP
    const cip = p.wanted().find((w) => w.via === 'cluster-ip')!;
    expect(new Set(Array.from({ length: 6 }, () => p.pick(cip, '172.30.0.13'))).size).toBe(2);
  });

  it('switches affinity live', () => {
    const eps = [{ ip: '10.244.1.2', node: 'node-1' }, { ip: '10.244.2.2', node: 'node-2' }, { ip: '10.244.3.2', node: 'node-3' }];
    const p = new ServicePort(state({}, eps), ctx());
    p.update(state({ sessionAffinity: 'ClientIP' }, eps));
    const cip = p.wanted()[0];
    expect(new Set(Array.from({ length: 15 }, () => p.pick(cip, '10.244.1.9'))).size).toBe(1);
    p.update(state({ sessionAffinity: 'None' }, eps));
    expect(new Set(Array.from({ length: 6 }, () => p.pick(cip, '10.244.1.9'))).size).toBe(3);
  });
});
