import https from 'node:https';
import type { ServerResponse } from 'node:http';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@kubemu/api/testing';
import { KubeClient } from './in-cluster.js';
import { Informer, type KubeObjectLike } from './informer.js';

/** A tiny API server: GET list and watch of /api/v1/things, driven by the test. */
class FakeApi {
  server!: https.Server;
  ca = '';
  items = new Map<string, KubeObjectLike>();
  rv = 10;
  /** Answer the next watches with 410 Gone (count). */
  gone = 0;
  lists = 0;
  watchQueries: URLSearchParams[] = [];
  watchers = new Set<ServerResponse>();

  async start(): Promise<string> {
    const pems = await generate([{ name: 'commonName', value: 'kubernetes.default.svc' }], {
      keyType: 'ec',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'kubernetes.default.svc' }, { type: 7, ip: '127.0.0.1' }] }],
    } as Parameters<typeof generate>[1]);
    this.ca = pems.cert;
    this.server = https.createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
      const u = new URL(req.url ?? '/', 'https://x');
      if (req.headers.authorization !== 'Bearer t0k3n') return void res.writeHead(401).end();
      if (u.searchParams.get('watch') !== 'true') {
        this.lists++;
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ items: [...this.items.values()], metadata: { resourceVersion: String(this.rv) } }));
      }
      this.watchQueries.push(u.searchParams);
      if (this.gone > 0) {
        this.gone--;
        return void res.writeHead(410).end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired' }));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.watchers.add(res);
      res.on('close', () => this.watchers.delete(res));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `https://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  put(name: string, type: 'ADDED' | 'MODIFIED' | 'DELETED' = 'ADDED'): void {
    const o = { metadata: { name, namespace: 'default', resourceVersion: String(++this.rv) } };
    if (type === 'DELETED') this.items.delete(name);
    else this.items.set(name, o);
    for (const w of this.watchers) w.write(`${JSON.stringify({ type, object: o })}\n`);
  }

  /** Ends every open watch (a server restart, a timeout). */
  dropWatches(): void {
    for (const w of this.watchers) w.end();
  }
}

describe('Informer', () => {
  const api = new FakeApi();
  let client: KubeClient;
  const stops: Array<() => void> = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s();
  });

  beforeAll(async () => {
    const server = await api.start();
    client = new KubeClient({ server, ca: api.ca, token: () => 't0k3n', namespace: 'default' });
  });
  afterAll(() => {
    client.close();
    api.server.closeAllConnections();
    api.server.close();
  });

  it('lists, follows the watch, resumes from the last version after a dropped watch, and re-lists after 410', async () => {
    api.put('a');
    const inf = new Informer<KubeObjectLike>(client, { path: '/api/v1/things', minBackoffMs: 10 });
    stops.push(() => inf.stop());
    let changes = 0;
    inf.onChange(() => changes++);
    inf.start();
    await inf.waitSynced();
    expect(inf.items().map((o) => o.metadata.name)).toEqual(['a']);
    await eventually(() => expect(api.watchers.size).toBe(1));
    // the watch asks the server to end it after 5–10 minutes, as client-go does
    const q = api.watchQueries.at(-1)!;
    expect(Number(q.get('timeoutSeconds'))).toBeGreaterThanOrEqual(300);
    expect(Number(q.get('timeoutSeconds'))).toBeLessThan(600);
    expect(q.get('resourceVersion')).toBe(String(api.rv));

    api.put('b');
    await eventually(() => expect(inf.get('default', 'b')).toBeDefined());
    api.put('a', 'DELETED');
    await eventually(() => expect(inf.get('default', 'a')).toBeUndefined());
    expect(changes).toBeGreaterThanOrEqual(3);

    // A dropped watch resumes from the last version seen, without a list.
    const lists = api.lists;
    const rvSeen = String(api.rv);
    const watches = api.watchQueries.length;
    api.dropWatches();
    await eventually(() => expect(api.watchQueries.length).toBe(watches + 1), 3000);
    expect(api.watchQueries.at(-1)!.get('resourceVersion')).toBe(rvSeen);
    expect(api.lists).toBe(lists);

    // 410 Gone: list again; what vanished meanwhile leaves the cache.
    api.gone = 1;
    api.items.delete('b');
    api.rv += 5;
    api.dropWatches();
    await eventually(() => expect(inf.get('default', 'b')).toBeUndefined(), 3000);
    expect(api.lists).toBe(lists + 1);
    inf.stop();
    await eventually(() => expect(api.watchers.size).toBe(0), 3000);
  });

  it('stops for good when stopped while its watch is being opened', async () => {
    const inf = new Informer<KubeObjectLike>(client, { path: '/api/v1/things', minBackoffMs: 10 });
    stops.push(() => inf.stop());
    inf.start();
    await inf.waitSynced();
    const watches = api.watchQueries.length;
    inf.stop(); // the watch request is in flight now
    await eventually(() => expect(api.watchQueries.length).toBe(watches + 1), 3000);
    await new Promise((r) => setTimeout(r, 200));
    expect(api.watchers.size).toBe(0);
  });
});
