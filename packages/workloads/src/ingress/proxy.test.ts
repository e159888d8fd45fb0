import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { ingress, service, slice } from './testing/fixtures.js';
import { eventually, get, podSlices, startController, startPod, stopPod, tick, type Pod, type Started } from './testing/harness.js';

describe('proxying through the ingress controller', () => {
  let pods: Pod[];
  let slow: Pod;
  let ws: Pod;
  let c: Started;

  beforeAll(async () => {
    pods = await Promise.all(['web-a', 'web-b', 'web-c'].map((n) => startPod(n)));
    slow = await startPod('slow', () => {
      /* never answers */
    });
    ws = await startPod('ws', (_pod, _req, res) => res.end('plain'));
    const wss = new WebSocketServer({ noServer: true });
    ws.server.on('upgrade', (req, socket, head) => {
      ws.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      wss.handleUpgrade(req, socket, head, (conn) => conn.on('message', (m) => conn.send(`echo:${m.toString()}`)));
    });
    // A closed port: connections are refused.
    const refused = await startPod('gone');
    await stopPod(refused);
    c = await startController(
      {
        ingresses: [
          ingress('web', [{ host: 'web.example', paths: [{ path: '/', service: 'web', port: 'http' }] }]),
          ingress('errors', [
            {
              host: 'err.example',
              paths: [
                { path: '/empty', service: 'empty' },
                { path: '/missing', service: 'nosuchservice' },
                { path: '/refused', service: 'refused' },
                { path: '/slow', service: 'slow' },
              ],
            },
          ]),
          ingress('ws', [{ host: 'ws.example', paths: [{ path: '/', service: 'ws', port: 8080 }] }]),
        ],
        services: [
          service('web', [{ name: 'http', port: 80, targetPort: 'http' }]),
          service('empty', [{ port: 80 }]),
          service('refused', [{ port: 80 }]),
          service('slow', [{ port: 80 }]),
          service('ws', [{ port: 8080 }]),
        ],
        slices: [
          ...podSlices('web', 'http', pods),
          slice('empty', [{ port: 80 }], []),
          slice('refused', [{ port: refused.port }], [{ ip: '127.0.0.1', pod: 'gone' }]),
          slice('slow', [{ port: slow.port }], [{ ip: '127.0.0.1', pod: 'slow' }]),
          slice('ws', [{ port: ws.port }], [{ ip: '127.0.0.1', pod: 'ws' }]),
        ],
      },
      { readTimeoutMs: 300, maxHeaderSize: 4096 },
    );
  });
  afterAll(async () => {
    await c.stop();
    await Promise.all([...pods, slow, ws].map(stopPod));
  });

  it('forwards by host to the Service port named in the Ingress, with forwarding headers', async () => {
    const r = await get(c.httpPort, '/hello?x=1', { host: 'web.example', headers: { 'x-forwarded-for': '203.0.113.9', connection: 'keep-alive, x-secret', 'x-secret': 'hop' } });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body);
    expect(seen.url).toBe('/hello?x=1');
    expect(seen.headers.host).toBe('web.example');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('web.example');
    expect(seen.headers['x-forwarded-port']).toBe(String(c.httpPort));
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(seen.headers['x-secret']).toBeUndefined();
    expect(r.headers['x-pod']).toBe(seen.pod);
  });

  it('keeps a client-given X-Request-ID', async () => {
    const r = await get(c.httpPort, '/', { host: 'web.example', headers: { 'x-request-id': 'abc123' } });
    expect(JSON.parse(r.body).headers['x-request-id']).toBe('abc123');
  });

  it('spreads requests round robin over the ready endpoints', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) seen.push(JSON.parse((await get(c.httpPort, '/', { host: 'web.example' })).body).pod);
    expect(new Set(seen)).toEqual(new Set(['web-a', 'web-b', 'web-c']));
    for (const p of ['web-a', 'web-b', 'web-c']) expect(seen.filter((s) => s === p)).toHaveLength(3);
  });

  it('reuses upstream connections (keep-alive on both sides)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = pods.reduce((n, p) => n + p.connections, 0);
    const sockets = new Set<unknown>();
    for (let i = 0; i < 30; i++) sockets.add((await get(c.httpPort, '/', { host: 'web.example', agent })).socket);
    const opened = pods.reduce((n, p) => n + p.connections, 0) - before;
    expect(sockets.size).toBe(1);
    expect(opened).toBeLessThanOrEqual(3);
    agent.destroy();
  });

  it('streams request and response bodies without buffering them whole', async () => {
    const stream = await startPod('stream', (_p, req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      req.on('data', (chunk: Buffer) => res.write(`got:${chunk.toString()}`));
      req.on('end', () => res.end('|end'));
    });
    c.cluster.ingresses.set(ingress('stream', [{ host: 'stream.example', paths: [{ path: '/', service: 'stream' }] }]));
    c.cluster.services.set(service('stream', [{ port: 80 }]));
    c.cluster.endpointSlices.set(slice('stream', [{ port: stream.port }], [{ ip: '127.0.0.1', pod: 'stream' }]));
    await tick();
    const req = request({ host: '127.0.0.1', port: c.httpPort, method: 'POST', path: '/', headers: { host: 'stream.example', 'transfer-encoding': 'chunked' }, agent: false });
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.write('one');
      req.flushHeaders();
    });
    const next = () => new Promise<string>((r) => res.once('data', (d: Buffer) => r(d.toString())));
    // The first echo arrives while the request body is still open: nothing waits for the whole body.
    expect(await next()).toBe('got:one');
    req.write('two');
    expect(await next()).toBe('got:two');
    const rest = next();
    req.end();
    expect(await rest).toBe('|end');
    await stopPod(stream);
  });

  it('forwards request bodies of any size', async () => {
    const body = 'x'.repeat(3 * 1024 * 1024);
    const r = await get(c.httpPort, '/upload', { host: 'web.example', method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).body.length).toBe(body.length);
  });

  it('404 with a readable body when no rule matches', async () => {
    const r = await get(c.httpPort, '/nothing/here', { host: 'unknown.example' });
    expect(r.status).toBe(404);
    expect(r.body).toContain('unknown.example');
    expect(r.body).toContain('/nothing/here');
  });

  it("a 404 the controller answers itself keeps the client's X-Request-ID, in its answer and its access record (no rule, no Ingress fields)", async () => {
    const r = await get(c.httpPort, '/nothing', { host: 'unknown.example', headers: { 'x-request-id': 'trace-404' } });
    expect(r.status).toBe(404);
    expect(r.headers['x-request-id']).toBe('trace-404');
    const rec = c.access.find((a) => a.requestId === 'trace-404');
    expect(rec).toMatchObject({ host: 'unknown.example', path: '/nothing', status: 404 });
    expect(rec?.rule).toBeUndefined();
  });

  it('503 when the Service has no ready endpoint, or does not exist', async () => {
    const r = await get(c.httpPort, '/empty', { host: 'err.example' });
    expect(r.status).toBe(503);
    expect(r.body).toContain('err.example');
    expect(r.body).toContain('default/empty');
    const m = await get(c.httpPort, '/missing', { host: 'err.example' });
    expect(m.status).toBe(503);
    expect(m.body).toContain('not found');
  });

  it('502 when the endpoint refuses the connection', async () => {
    const r = await get(c.httpPort, '/refused', { host: 'err.example' });
    expect(r.status).toBe(502);
    expect(r.body).toContain('/refused');
    expect(r.body).toContain('ECONNREFUSED');
  });

  it('a refusing endpoint is skipped (next endpoint) for requests without a body', async () => {
    const ok = await startPod('ok');
    const dead = await startPod('dead');
    await stopPod(dead);
    c.cluster.ingresses.set(ingress('mixed', [{ host: 'mixed.example', paths: [{ path: '/', service: 'mixed' }] }]));
    c.cluster.services.set(service('mixed', [{ name: 'http', port: 80 }]));
    for (const s of podSlices('mixed', 'http', [ok, dead])) c.cluster.endpointSlices.set(s);
    await tick();
    for (let i = 0; i < 6; i++) {
      const r = await get(c.httpPort, '/', { host: 'mixed.example' });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).pod).toBe('ok');
    }
    await stopPod(ok);
  });

  it('502 when the endpoint resets the connection mid-request', async () => {
    const rst = await startPod('rst', (_p, req) => req.socket.resetAndDestroy());
    c.cluster.ingresses.set(ingress('rst', [{ host: 'rst.example', paths: [{ path: '/', service: 'rst' }] }]));
    c.cluster.services.set(service('rst', [{ port: 80 }]));
    c.cluster.endpointSlices.set(slice('rst', [{ port: rst.port }], [{ ip: '127.0.0.1', pod: 'rst' }]));
    await tick();
    const r = await get(c.httpPort, '/', { host: 'rst.example' });
    expect(r.status).toBe(502);
    expect(r.body).toContain('rst.example');
    await stopPod(rst);
  });

  it('504 when the upstream sends nothing within the read timeout', async () => {
    const t0 = Date.now();
    const r = await get(c.httpPort, '/slow', { host: 'err.example' });
    expect(r.status).toBe(504);
    expect(r.body).toContain('/slow');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('431 for oversized headers and 400 for garbage, without disturbing other clients', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(c.httpPort, '/', { host: 'web.example', agent });
    const big = await get(c.httpPort, '/', { host: 'web.example', headers: { 'x-big': 'y'.repeat(8000) } });
    expect(big.status).toBe(431);
    expect(big.body).toContain('request headers are larger than the controller accepts');
    const raw = await new Promise<string>((resolve) => {
      const s = connect(c.httpPort, '127.0.0.1', () => s.write('NOT HTTP AT ALL\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('malformed request');
    const again = await get(c.httpPort, '/', { host: 'web.example', agent });
    expect(again.status).toBe(200);
    expect(again.socket).toBe(first.socket);
    agent.destroy();
  });

  it('passes WebSocket upgrades through and echoes both ways', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${c.httpPort}/chat`, { headers: { host: 'ws.example' } });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('open', () => client.send('hello'));
      client.on('message', (m) => {
        got.push(m.toString());
        if (got.length === 1) client.send('again');
        else resolve();
      });
      client.on('error', reject);
    });
    expect(got).toEqual(['echo:hello', 'echo:again']);
    client.close();
    expect(ws.requests.at(-1)?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('an upgrade to a host without rules gets a 404, not a hang', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${c.httpPort}/`, { headers: { host: 'nobody.example', 'x-request-id': 'ws-404' } });
    const status = await new Promise<number>((resolve) => {
      client.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      client.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
    // its access line keeps the client's X-Request-ID (kubemu trace finds requests by it)
    expect(c.access.find((r) => r.requestId === 'ws-404')).toMatchObject({ host: 'nobody.example', status: 404 });
  });

  it('writes an access log line per request', async () => {
    c.access.length = 0;
    await get(c.httpPort, '/logged', { host: 'web.example' });
    await eventually(() => c.access.length > 0);
    const rec = c.access[0];
    expect(rec).toMatchObject({ host: 'web.example', path: '/logged', status: 200, method: 'GET' });
    expect(rec.upstream).toMatch(/^web-/);
    expect(rec.upstreamMs).toBeGreaterThanOrEqual(0);
    expect(rec.bytes).toBeGreaterThan(0);
  });

  it('follows endpoint changes without a restart', async () => {
    c.cluster.endpointSlices.delete('default', 'web-web-a');
    c.cluster.endpointSlices.delete('default', 'web-web-b');
    await tick();
    for (let i = 0; i < 4; i++) expect(JSON.parse((await get(c.httpPort, '/', { host: 'web.example' })).body).pod).toBe('web-c');
    for (const s of podSlices('web', 'http', pods)) c.cluster.endpointSlices.set(s);
    await tick();
  });
});
