import { describe, expect, it } from 'vitest';
import { serviceOfKey, TrafficCounter, type ConnEvent } from './traffic.js';

const ev = (type: 'open' | 'close', endpoint: string, result = 'ok'): ConnEvent => ({ type, start: 0, durationMs: 0, protocol: 'TCP', service: 'default/kubia:http/TCP', via: 'node-port', client: '172.30.1.1:40000', node: 'node-1', endpoint, bytesIn: 0, bytesOut: 0, result, attempts: 1 });

describe('TrafficCounter', () => {
  it('counts new connections per endpoint per second over the last 5 s, and those still open', () => {
    let t = 0;
    const c = new TrafficCounter(() => t);
    for (let i = 0; i < 10; i++) c.add('node-1', ev('open', '10.244.1.3:8080'));
    c.add('node-2', ev('open', '10.244.2.3:8080'));
    for (let i = 0; i < 9; i++) c.add('node-1', ev('close', '10.244.1.3:8080'));
    expect(c.rates()).toEqual([
      { service: 'default/kubia', endpoint: '10.244.1.3:8080', cps: 2, open: 1, failedPerSecond: 0 },
      { service: 'default/kubia', endpoint: '10.244.2.3:8080', cps: 0.2, open: 1, failedPerSecond: 0 },
    ]);
    t = 6000;
    c.add('node-1', ev('close', '10.244.1.3:8080'));
    c.add('node-2', ev('close', '10.244.2.3:8080', 'reset'));
    expect(c.rates()).toEqual([{ service: 'default/kubia', endpoint: '10.244.2.3:8080', cps: 0, open: 0, failedPerSecond: 0.2 }]);
  });

  it('lists what the load balancer saw among the connections, without counting it as an endpoint', () => {
    const c = new TrafficCounter(() => 0);
    c.add('load-balancer', ev('open', '172.30.1.12:30000'));
    expect(c.rates()).toEqual([]);
    expect(c.recent().map((x) => [x.seenOn, x.endpoint])).toEqual([['load-balancer', '172.30.1.12:30000']]);
  });

  it('names the Service of a port key', () => {
    expect(serviceOfKey('default/kubia:http/TCP')).toBe('default/kubia');
    expect(serviceOfKey('kube-system/kube-dns:dns/UDP')).toBe('kube-system/kube-dns');
  });
});
