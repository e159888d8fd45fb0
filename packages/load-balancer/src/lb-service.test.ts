import { describe, expect, it } from 'vitest';
import type { Service } from '@kubemu/api';
import { isOurs, lbService, METALLB_IPS_ANNOTATION } from './lb-service.js';

function svc(spec: Partial<Service['spec']> = {}, extra: { annotations?: Record<string, string>; status?: Service['status']; namespace?: string } = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: extra.namespace, annotations: extra.annotations },
    spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }], ...spec },
    status: extra.status,
  };
}

describe('isOurs', () => {
  it('serves LoadBalancer Services only', () => {
    expect(isOurs(svc())).toBe(true);
    expect(isOurs(svc({ type: 'NodePort' }))).toBe(false);
    expect(isOurs(svc({ type: 'ClusterIP' }))).toBe(false);
    expect(isOurs(svc({ type: undefined }))).toBe(false);
  });

  it('leaves Services of another loadBalancerClass to their own load balancer', () => {
    expect(isOurs(svc({ loadBalancerClass: 'example.com/other' }))).toBe(false);
    expect(isOurs(svc({ loadBalancerClass: 'example.com/other' }), 'kubemu.io/lb')).toBe(false);
    // configured with a class: that class and class-less Services
    expect(isOurs(svc({ loadBalancerClass: 'kubemu.io/lb' }), 'kubemu.io/lb')).toBe(true);
    expect(isOurs(svc(), 'kubemu.io/lb')).toBe(true);
  });
});

describe('lbService', () => {
  it('keys by namespace/name, defaulting the namespace', () => {
    expect(lbService(svc()).key).toBe('default/web');
    expect(lbService(svc({}, { namespace: 'shop' })).key).toBe('shop/web');
  });

  it("prefers MetalLB's annotation over spec.loadBalancerIP, taking its first IPv4 address", () => {
    expect(lbService(svc({ loadBalancerIP: '172.30.0.210' })).requestedIP).toBe('172.30.0.210');
    expect(lbService(svc({ loadBalancerIP: '172.30.0.210' }, { annotations: { [METALLB_IPS_ANNOTATION]: '172.30.0.220' } })).requestedIP).toBe('172.30.0.220');
    expect(lbService(svc({}, { annotations: { [METALLB_IPS_ANNOTATION]: 'fd00::5, 172.30.0.230,172.30.0.231' } })).requestedIP).toBe('172.30.0.230');
    // an annotation without an IPv4 address falls back to the spec
    expect(lbService(svc({ loadBalancerIP: '172.30.0.210' }, { annotations: { [METALLB_IPS_ANNOTATION]: 'fd00::5' } })).requestedIP).toBe('172.30.0.210');
    expect(lbService(svc({ loadBalancerIP: '' })).requestedIP).toBeUndefined();
    expect(lbService(svc()).requestedIP).toBeUndefined();
  });

  it('reads the addresses its status shows', () => {
    const s = svc({}, { status: { loadBalancer: { ingress: [{ ip: '172.30.0.200' }, { hostname: 'lb.example' }] } } });
    expect(lbService(s).statusIPs).toEqual(['172.30.0.200']);
    expect(lbService(svc()).statusIPs).toEqual([]);
  });

  it('has a frontend port per service port, with its node port and protocol', () => {
    const lb = lbService(
      svc({
        ports: [
          { name: 'http', port: 80, targetPort: 8080, nodePort: 30080 },
          { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP', nodePort: 30053 },
          { port: 443, targetPort: 8443, protocol: 'TCP' },
        ],
      }),
    );
    expect(lb.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 },
      { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 },
      { name: '', protocol: 'TCP', port: 443, nodePort: undefined },
    ]);
    // some node ports is enough to serve those ports
    expect(lb.problem).toBeUndefined();
  });

  it('explains that it cannot forward when allocateLoadBalancerNodePorts is false', () => {
    const lb = lbService(svc({ allocateLoadBalancerNodePorts: false, ports: [{ port: 80, targetPort: 8080 }] }));
    expect(lb.problem).toBe('the Service has no node ports (allocateLoadBalancerNodePorts: false); this load balancer forwards to node ports, so it cannot reach the Service');
    expect(lbService(svc({ ports: [{ port: 80, targetPort: 8080 }] })).problem).toBe('the Service has no node ports yet');
  });

  it('normalises source ranges and names a bad one', () => {
    expect(lbService(svc({ loadBalancerSourceRanges: [' 10.0.0.0/8', '192.168.1.7/24'] })).sourceRanges).toEqual(['10.0.0.0/8', '192.168.1.0/24']);
    const bad = lbService(svc({ loadBalancerSourceRanges: ['10.0.0.0/8', '10.1.2.3'] }));
    expect(bad.problem).toBe('loadBalancerSourceRanges: "10.1.2.3" is not a CIDR');
    expect(bad.sourceRanges).toEqual(['10.0.0.0/8']);
    expect(lbService(svc()).sourceRanges).toEqual([]);
  });

  it('drops source ranges inside another and duplicates (one nft set cannot hold overlapping intervals)', () => {
    expect(lbService(svc({ loadBalancerSourceRanges: ['10.1.0.0/16', '10.0.0.0/8', '10.0.0.0/8', '192.168.0.0/24'] })).sourceRanges).toEqual(['10.0.0.0/8', '192.168.0.0/24']);
  });

  it('keeps the client address and health-checks healthCheckNodePort only with externalTrafficPolicy Local', () => {
    const local = lbService(svc({ externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }));
    expect(local).toMatchObject({ local: true, healthCheckNodePort: 32000 });
    const cluster = lbService(svc({ externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32000 }));
    expect(cluster.local).toBe(false);
    expect(cluster.healthCheckNodePort).toBeUndefined();
    // Cluster is the default
    expect(lbService(svc({ healthCheckNodePort: 32000 }))).toMatchObject({ local: false, healthCheckNodePort: undefined });
  });

  it('uses ClientIP affinity with its timeout, 10800 s by default, and none otherwise', () => {
    expect(lbService(svc({ sessionAffinity: 'ClientIP' })).affinitySeconds).toBe(10800);
    expect(lbService(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: {} } })).affinitySeconds).toBe(10800);
    expect(lbService(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })).affinitySeconds).toBe(60);
    expect(lbService(svc({ sessionAffinity: 'None', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })).affinitySeconds).toBe(0);
    expect(lbService(svc()).affinitySeconds).toBe(0);
  });
});
