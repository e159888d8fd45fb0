import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySink } from './record.js';
import { parseAnswer, TrafficGenerator, type TrafficOptions } from './traffic.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** An HTTP server on 127.0.0.1 that counts the TCP connections it accepts. */
async function server(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const s = createServer(handler);
  s.on('connection', () => connections++);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`, connections: () => connections };
}

async function run(o: Omit<TrafficOptions, 'sink'>, ms: number): Promise<MemorySink> {
  const sink = new MemorySink();
  const g = new TrafficGenerator({ ...o, sink });
  g.start();
  await new Promise((r) => setTimeout(r, ms));
  await g.stop();
  sink.records.sort((a, b) => a.at - b.at);
  return sink;
}

describe('parseAnswer', () => {
  it('reads kubia, echo and agnhost replies', () => {
    expect(parseAnswer("You've hit kubia-7d4b9-xk2lp\n")).toEqual({ pod: 'kubia-7d4b9-xk2lp' });
    expect(parseAnswer('{"pod":"echo-1","podIP":"10.244.1.5","node":"node-1","clientIP":"172.30.0.1"}\n')).toEqual({ pod: 'echo-1', node: 'node-1' });
    expect(parseAnswer('{"pod":"echo-1","node":""}')).toEqual({ pod: 'echo-1', node: undefined });
    expect(parseAnswer('agnhost-abc12')).toEqual({ pod: 'agnhost-abc12' });
    expect(parseAnswer('<html>Welcome to nginx!</html>')).toEqual({});
    expect(parseAnswer('NOW: 2026-12-02T02:00:00Z')).toEqual({});
    expect(parseAnswer('{not json')).toEqual({});
  });
});

describe('TrafficGenerator', () => {
  it('keeps the rate, records each request, and reuses connections with keep-alive', async () => {
    const srv = await server((_req, res) => res.end("You've hit kubia-a\n"));
    const pods = { lookup: (p: string) => (p === 'kubia-a' ? { node: 'node-2', ready: false } : undefined) };
    const sink = await run({ url: srv.url, rate: 50, concurrency: 4, mode: 'keepalive', timeoutMs: 1000, pods }, 1000);
    expect(sink.records.length).toBeGreaterThanOrEqual(45);
    expect(sink.records.length).toBeLessThanOrEqual(52);
    // Due every 20 ms from 0.
    expect(sink.records.slice(0, 5).map((r) => r.at)).toEqual([0, 20, 40, 60, 80]);
    expect(sink.records.every((r) => r.status === 200 && r.pod === 'kubia-a' && r.node === 'node-2' && r.podReady === false && r.target === srv.url)).toBe(true);
    expect(sink.records.filter((r) => r.reused).length).toBeGreaterThan(sink.records.length - 5);
    expect(srv.connections()).toBeLessThanOrEqual(4);
  });

  it('opens a new connection per request in new-connection mode', async () => {
    let closeHeader = 0;
    const srv = await server((req, res) => {
      if (req.headers.connection === 'close') closeHeader++;
      res.end('pod-b');
    });
    const sink = await run({ url: srv.url, rate: 40, concurrency: 4, mode: 'new-connection', timeoutMs: 1000 }, 500);
    expect(sink.records.length).toBeGreaterThanOrEqual(18);
    expect(srv.connections()).toBe(sink.records.length);
    expect(closeHeader).toBe(sink.records.length);
    expect(sink.records.every((r) => r.pod === 'pod-b' && r.reused === undefined && r.podReady === undefined)).toBe(true);
  });

  it('records a request with no answer in time as ETIMEDOUT, and skips what the concurrency cannot hold', async () => {
    const srv = await server(() => {
      // never answers
    });
    const sink = await run({ url: srv.url, rate: 20, concurrency: 2, mode: 'keepalive', timeoutMs: 300 }, 500);
    const timedOut = sink.records.filter((r) => r.error === 'ETIMEDOUT');
    expect(timedOut.length).toBeGreaterThanOrEqual(2);
    expect(timedOut.every((r) => r.latencyMs >= 290 && r.latencyMs < 600)).toBe(true);
    expect(sink.records.filter((r) => r.error === 'SKIPPED').length).toBeGreaterThan(3);
    expect(sink.records.every((r) => r.error === 'ETIMEDOUT' || r.error === 'SKIPPED')).toBe(true);
  });

  it('records refused connections and HTTP errors', async () => {
    const srv = await server((_req, res) => res.end());
    const port = new URL(srv.url).port;
    await new Promise((r) => servers.pop()!.close(r));
    const refused = await run({ url: `http://127.0.0.1:${port}/`, rate: 20, concurrency: 2, mode: 'new-connection', timeoutMs: 500 }, 200);
    expect(refused.records.length).toBeGreaterThanOrEqual(3);
    expect(refused.records.every((r) => r.error === 'ECONNREFUSED')).toBe(true);

    const busy = await server((_req, res) => {
      res.writeHead(503);
      res.end('no endpoints');
    });
    const s503 = await run({ url: busy.url, host: 'kubia.example.com', rate: 20, concurrency: 2, mode: 'keepalive', timeoutMs: 500 }, 200);
    expect(s503.records.every((r) => r.status === 503 && r.error === undefined && r.pod === undefined)).toBe(true);
  });

  it('sends nothing due at or after the duration', async () => {
    const srv = await server((_req, res) => res.end('x'));
    const sink = await run({ url: srv.url, rate: 20, concurrency: 2, mode: 'keepalive', timeoutMs: 500, durationMs: 200 }, 400);
    expect(sink.records.map((r) => r.at)).toEqual([0, 50, 100, 150]);
  });

  it('sends the Host header it is given', async () => {
    const hosts: string[] = [];
    const srv = await server((req, res) => {
      hosts.push(req.headers.host ?? '');
      res.end('x');
    });
    await run({ url: srv.url, host: 'kubia.example.com', rate: 10, concurrency: 1, mode: 'keepalive', timeoutMs: 500 }, 150);
    expect(hosts.length).toBeGreaterThan(0);
    expect(new Set(hosts)).toEqual(new Set(['kubia.example.com']));
  });
});
