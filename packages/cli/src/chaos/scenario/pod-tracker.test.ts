import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PodStates, PodTracker, podState } from './pod-tracker.js';

const pod = (name: string, node: string, ready: boolean, extra: { deleting?: boolean; rv?: string; labels?: Record<string, string> } = {}) => ({
  metadata: { name, resourceVersion: extra.rv ?? '1', labels: extra.labels ?? { app: 'kubia' }, ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { nodeName: node },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('PodStates', () => {
  it('knows each pod node and readiness; terminating pods are not ready', () => {
    expect(podState(pod('a', 'node-1', true))).toMatchObject({ pod: 'a', node: 'node-1', ready: true, terminating: false });
    expect(podState(pod('a', 'node-1', true, { deleting: true }))).toMatchObject({ ready: false, terminating: true });
    const s = new PodStates();
    s.replace([pod('a', 'node-1', true), pod('b', 'node-2', false)]);
    expect(s.lookup('a')).toEqual({ node: 'node-1', ready: true });
    expect(s.lookup('b')).toEqual({ node: 'node-2', ready: false });
    s.apply('MODIFIED', pod('b', 'node-2', true));
    s.apply('MODIFIED', pod('b', 'node-2', true)); // no change, no event
    s.apply('DELETED', pod('a', 'node-1', true));
    // A deleted pod still answers for a moment: known, not ready.
    expect(s.lookup('a')).toEqual({ node: 'node-1', ready: false });
    expect(s.lookup('zzz')).toBeUndefined();
    s.apply('MODIFIED', pod('c', '', false));
    s.apply('MODIFIED', pod('c', 'node-1', false));
    s.apply('MODIFIED', pod('c', 'node-1', true, { deleting: true }));
    expect(s.events.map((e) => [e.pod, e.change, e.ready])).toEqual([
      ['a', 'added', true],
      ['b', 'added', false],
      ['b', 'ready', true],
      ['a', 'deleted', false],
      ['c', 'added', false],
      ['c', 'scheduled', false],
      ['c', 'terminating', false],
    ]);
    // A re-list drops pods that went away while the watch was down.
    s.replace([pod('c', 'node-1', true)]);
    expect(s.list().map((p) => p.pod)).toEqual(['c']);
    expect(s.lookup('b')).toEqual({ node: 'node-2', ready: false });
  });

  it('fills pod templates with the Nth matching pod by name, skipping terminating ones', () => {
    const s = new PodStates();
    s.replace([pod('kubia-c', 'node-1', true), pod('kubia-a', 'node-2', false), pod('kubia-b', 'node-1', true, { deleting: true }), pod('other', 'node-1', true, { labels: { app: 'x' } })]);
    expect(s.expand(['delete', 'pod', '{{pod:app=kubia}}', '{{pod:app=kubia:2}}'])).toEqual(['delete', 'pod', 'kubia-a', 'kubia-c']);
    expect(() => s.expand(['{{pod:app=kubia:3}}'])).toThrow('{{pod:app=kubia:3}}: no such pod (pods matching: kubia-c, kubia-a)');
  });
});

describe('PodTracker', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it('lists, follows the watch with the bearer token, resumes after a dropped watch, and re-lists after 410', async () => {
    const auth: string[] = [];
    const queries: string[] = [];
    let watcher: ServerResponse | undefined;
    let items = [pod('a', 'node-1', true, { rv: '5' })];
    let gone = false;
    const srv = createServer((req, res) => {
      auth.push(req.headers.authorization ?? '');
      const u = new URL(req.url ?? '/', 'http://x');
      queries.push(`${u.pathname}${u.search}`);
      if (u.searchParams.get('watch') !== 'true') {
        res.end(JSON.stringify({ metadata: { resourceVersion: '5' }, items }));
        return;
      }
      if (gone) {
        gone = false;
        res.writeHead(410);
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      watcher = res;
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanup.push(() => {
      srv.closeAllConnections();
      srv.close();
    });
    const t = new PodTracker({ server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, token: 'secret', namespace: 'default' }, 'demo');
    cleanup.push(() => t.stop());
    t.start();
    await t.synced;
    expect(t.lookup('a')).toEqual({ node: 'node-1', ready: true });
    await until(() => watcher !== undefined);
    expect(queries).toEqual(['/api/v1/namespaces/demo/pods', '/api/v1/namespaces/demo/pods?watch=true&allowWatchBookmarks=true&resourceVersion=5']);
    expect(new Set(auth)).toEqual(new Set(['Bearer secret']));

    watcher!.write(`${JSON.stringify({ type: 'MODIFIED', object: pod('a', 'node-1', false, { rv: '6' }) })}\n${JSON.stringify({ type: 'ADDED', object: pod('b', 'node-2', true, { rv: '7' }) })}\n`);
    await until(() => t.lookup('b') !== undefined);
    expect(t.lookup('a')).toEqual({ node: 'node-1', ready: false });

    // The watch ends (an api-server restart): resumed from the last version, no list.
    const first = watcher!;
    watcher = undefined;
    first.end();
    await until(() => watcher !== undefined);
    expect(queries.at(-1)).toContain('resourceVersion=7');
    expect(queries.filter((q) => !q.includes('watch')).length).toBe(1);

    // Too old: 410, a new list (b went away meanwhile), then a watch from the list's version.
    gone = true;
    items = [pod('a', 'node-1', true, { rv: '9' })];
    const second = watcher!;
    watcher = undefined;
    second.end();
    await until(() => watcher !== undefined);
    expect(queries.filter((q) => !q.includes('watch')).length).toBe(2);
    expect(t.get('b')).toBeUndefined();
    expect(t.lookup('a')).toEqual({ node: 'node-1', ready: true });
  });
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
