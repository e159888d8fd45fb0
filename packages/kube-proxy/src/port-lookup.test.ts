import { describe, expect, it } from 'vitest';
import { portLookup } from './port-lookup.js';
import type { ServicePortState } from './service-state.js';

const port = (x: Partial<ServicePortState>): ServicePortState => ({
  key: 'default/kubia:/TCP', namespace: 'default', name: 'kubia', portName: '', protocol: 'TCP', port: 80, externalIPs: [], loadBalancerIPs: [],
  affinitySeconds: 0, externalLocal: false, internalLocal: false, endpoints: [], ...x,
});
const ep = { ip: '10.244.2.3', port: 8080, nodeName: 'node-2', ready: true, serving: true, terminating: false } as ServicePortState['endpoints'][number];

describe('portLookup (the connection stream\'s Service ports)', () => {
  const l = portLookup(
    [
      port({ clusterIP: '10.96.0.20', nodePort: 31000, externalIPs: ['172.30.0.50'], loadBalancerIPs: ['172.30.0.200'], endpoints: [ep] }),
      port({ key: 'default/empty:/TCP', clusterIP: '10.96.0.21', nodePort: 31001 }),
    ],
    (ip) => ip === '172.30.0.11',
  );
  it('cluster IPs, external IPs, LB addresses and node ports (on the node\'s own addresses), with whether endpoints exist', () => {
    expect(l('TCP', '10.96.0.20', 80)).toEqual({ service: 'default/kubia:/TCP', via: 'cluster-ip', hasEndpoints: true });
    expect(l('TCP', '172.30.0.50', 80)?.via).toBe('external-ip');
    expect(l('TCP', '172.30.0.200', 80)?.via).toBe('load-balancer-ip');
    expect(l('TCP', '172.30.0.11', 31000)).toEqual({ service: 'default/kubia:/TCP', via: 'node-port', hasEndpoints: true });
    expect(l('TCP', '172.30.0.11', 31001)).toEqual({ service: 'default/empty:/TCP', via: 'node-port', hasEndpoints: false });
  });
  it('nothing else: other ports, protocols, a node port on an address that is not the node\'s (a pod\'s)', () => {
    expect(l('TCP', '10.96.0.20', 81)).toBeUndefined();
    expect(l('UDP', '10.96.0.20', 80)).toBeUndefined();
    expect(l('TCP', '10.244.1.5', 31000)).toBeUndefined();
  });
});
