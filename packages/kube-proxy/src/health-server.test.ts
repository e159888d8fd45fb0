import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyHealthServer, ServiceHealthServer, serviceHealthBody } from './health-server.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function get(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
    }).on('error', reject);
  });
}

describe('health servers', () => {
  it('builds the Kubernetes service health body', () => {
    expect(serviceHealthBody('default', 'kubia', 2)).toEqual({ status: 200, body: '{"service":{"namespace":"default","name":"kubia"},"localEndpoints":2,"serviceProxyHealthy":true}' });
    expect(serviceHealthBody('default', 'kubia', 0).status).toBe(503);
    expect(serviceHealthBody('default', 'kubia', 1, false).status).toBe(503);
  });

  it('serves healthCheckNodePort on any path with the endpoint weight header', async () => {
    const s = new ServiceHealthServer(0, 'default', 'kubia');
    await s.listen('127.0.0.1');
    cleanup.push(() => s.close());
    s.localEndpoints = 0;
    let r = await get(s.boundPort, '/anything');
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-load-balancing-endpoint-weight']).toBe('0');
    s.localEndpoints = 3;
    r = await get(s.boundPort, '/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ service: { namespace: 'default', name: 'kubia' }, localEndpoints: 3, serviceProxyHealthy: true });
    expect(r.headers['x-load-balancing-endpoint-weight']).toBe('3');
  });

  it('serves /healthz, /connections and /applied for the proxy', async () => {
    let resolveWait: (v: unknown) => void = () => {};
    const s = new ProxyHealthServer({
      health: () => ({ healthy: true, nodeEligible: true, lastUpdated: 0, currentTime: 0 }),
      mode: 'userspace',
      connections: (limit) => ({ limit }),
      applied: (svc) => ({ svc }),
      waitApplied: (svc, rv) => new Promise((r) => (resolveWait = () => r({ svc, rv }))),
    });
    await s.listen('127.0.0.1', 0);
    cleanup.push(() => s.close());
    const port = s.boundPort;
    const hz = await get(port, '/healthz');
    expect(hz.status).toBe(200);
    expect(JSON.parse(hz.body)).toMatchObject({ lastUpdated: '1970-01-01T00:00:00.000Z' });
    expect(JSON.parse((await get(port, '/connections?limit=5')).body)).toEqual({ limit: 5 });
    expect(JSON.parse((await get(port, '/applied?service=default/kubia')).body)).toEqual({ svc: 'default/kubia' });
    const waiting = get(port, '/applied?service=default/kubia&rv=7');
    await new Promise((r) => setTimeout(r, 50));
    resolveWait(undefined);
    expect(JSON.parse((await waiting).body)).toEqual({ svc: 'default/kubia', rv: 7 });
    expect((await get(port, '/nope')).status).toBe(404);
  });
});
