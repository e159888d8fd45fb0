import { describe, expect, it } from 'vitest';
import { parseScenario } from './schema.js';
import { checkAddress, resolveTarget, type TargetContext } from './target.js';

const objects: Record<string, unknown> = {
  '/api/v1/namespaces/default/services/kubia-np': { spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] } },
  '/api/v1/namespaces/default/services/kubia-lb': { spec: { type: 'LoadBalancer', ports: [{ port: 80, nodePort: 31000 }] }, status: { loadBalancer: { ingress: [{ ip: '172.30.0.200' }] } } },
  '/api/v1/namespaces/default/services/kubia': { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } },
  '/api/v1/namespaces/default/services/far': { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '8.8.8.8' }] } } },
  '/apis/networking.k8s.io/v1/namespaces/default/ingresses': { items: [{ metadata: { name: 'kubia' }, spec: { rules: [{ host: 'kubia.example.com' }] }, status: { loadBalancer: { ingress: [{ ip: '172.30.0.250' }] } } }] },
};
const ctx: TargetContext = {
  subnet: '172.30.0.0/24',
  nodes: [{ name: 'node-1', ip: '172.30.0.11' }, { name: 'node-2', ip: '172.30.0.12' }],
  get: async <T>(p: string) => {
    if (!(p in objects)) throw new Error(`404 ${p}`);
    return objects[p] as T;
  },
};
const target = (t: string) => parseScenario(`name: x\ntarget: ${t}\nduration: 5s\n`).target;

describe('resolveTarget', () => {
  it('finds node port, load balancer and ingress addresses', async () => {
    expect(await resolveTarget(target('{service: kubia-np, node: node-2}'), ctx)).toEqual({ url: 'http://172.30.0.12:30080/', host: undefined, description: 'service default/kubia-np via node port 30080 on node-2' });
    expect((await resolveTarget(target('{service: kubia-np, port: http, path: /x}'), ctx)).url).toBe('http://172.30.0.11:30080/x');
    expect((await resolveTarget(target('{service: kubia-lb, via: loadBalancer}'), ctx)).url).toBe('http://172.30.0.200:80/');
    expect(await resolveTarget(target('{service: kubia, via: ingress, host: kubia.example.com}'), ctx)).toMatchObject({ url: 'http://172.30.0.250/', host: 'kubia.example.com' });
    expect((await resolveTarget(target('{url: "http://127.0.0.1:8080/"}'), ctx)).url).toBe('http://127.0.0.1:8080/');
  });

  it('says what is missing', async () => {
    await expect(resolveTarget(target('{service: kubia}'), ctx)).rejects.toThrow('service default/kubia has no node port (type ClusterIP); make it a NodePort or LoadBalancer Service');
    await expect(resolveTarget(target('{service: kubia-np, node: node-9}'), ctx)).rejects.toThrow('no node "node-9" in the cluster (nodes: node-1, node-2)');
    await expect(resolveTarget(target('{service: kubia-np, port: 81}'), ctx)).rejects.toThrow('service default/kubia-np has no port 81 (ports: http)');
    await expect(resolveTarget(target('{service: kubia-np, via: loadBalancer}'), ctx)).rejects.toThrow('is type NodePort, not LoadBalancer');
    await expect(resolveTarget(target('{service: kubia, via: ingress, host: other.example.com}'), ctx)).rejects.toThrow('no Ingress in namespace default has a rule for host other.example.com');
  });

  it('never aims outside loopback and the cluster network', async () => {
    await expect(resolveTarget(target('{service: far, via: loadBalancer}'), ctx)).rejects.toThrow("address 8.8.8.8 is outside the cluster's network 172.30.0.0/24 and loopback");
    await expect(resolveTarget(target('{url: "http://10.0.0.1/"}'), ctx)).rejects.toThrow('outside');
    await expect(resolveTarget(target('{url: "http://example.com/"}'), ctx)).rejects.toThrow('is not an IPv4 address');
    expect(() => checkAddress('localhost', '172.30.0.0/24')).not.toThrow();
    expect(() => checkAddress('127.0.0.5', '172.30.0.0/24')).not.toThrow();
    expect(() => checkAddress('172.30.1.5', '172.30.0.0/24')).toThrow();
  });
});
