import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './gather.js';

describe('the traced request', () => {
  const seen: { port: number; headers: IncomingHttpHeaders }[] = [];
  const srv = createServer((req, res) => {
    seen.push({ port: req.socket.remotePort ?? 0, headers: req.headers });
    res.setHeader('set-cookie', ['INGRESSCOOKIE=k.t; Path=/; HttpOnly']);
    res.end('hi\n');
  });
  let port = 0;
  beforeAll(() => new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => ((port = (srv.address() as AddressInfo).port), r()))));
  afterAll(() => new Promise<void>((r) => srv.close(() => r())));

  it('leaves from the source port the trace bound (the one conntrack and the logs are read for), with its X-Request-ID, Host and Cookie', async () => {
    const sport = 20000 + Math.floor(Math.random() * 9000);
    const r = await request('127.0.0.1', port, '/p', sport, 5000, { requestId: 'kubemu-trace-1', hostHeader: 'kubia.example.com', cookie: 'INGRESSCOOKIE=a.b' });
    expect(r.local.port).toBe(sport);
    expect(seen.at(-1)!.port).toBe(sport);
    expect(seen.at(-1)!.headers).toMatchObject({ 'x-request-id': 'kubemu-trace-1', host: 'kubia.example.com', cookie: 'INGRESSCOOKIE=a.b', 'user-agent': 'kubemu-trace' });
    expect(r.response).toMatchObject({ status: 200, body: 'hi\n' });
    expect(r.setCookies).toEqual(['INGRESSCOOKIE=k.t; Path=/; HttpOnly']);
    expect(r.tls).toBeUndefined();
  });
});
