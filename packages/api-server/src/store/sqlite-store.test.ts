import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '@kubemu/api';
import { SqliteStore, StoreConflictError, StoreExistsError, StoreGoneError, type StoreEvent } from './sqlite-store.js';

const cm = (name: string, ns = 'default', data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  data,
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SqliteStore', () => {
  it('bumps one global resourceVersion on every write', () => {
    const s = new SqliteStore(':memory:');
    const a = s.create('configmaps', cm('a'));
    const b = s.create('services', { ...cm('b'), kind: 'Service' });
    const a2 = s.update('configmaps', { ...a, data: { x: '1' } });
    expect([a.metadata.resourceVersion, b.metadata.resourceVersion, a2.metadata.resourceVersion]).toEqual(['1', '2', '3']);
    expect(s.resourceVersion).toBe(3);
  });

  it('rejects duplicates and stale updates', () => {
    const s = new SqliteStore(':memory:');
    const a = s.create('configmaps', cm('a'));
    expect(() => s.create('configmaps', cm('a'))).toThrow(StoreExistsError);
    s.update('configmaps', { ...a, data: { v: '2' } }, a.metadata.resourceVersion);
    expect(() => s.update('configmaps', { ...a, data: { v: '3' } }, a.metadata.resourceVersion)).toThrow(StoreConflictError);
    expect(s.get('configmaps', 'default', 'a')?.data).toEqual({ v: '2' });
  });

  it('lists by namespace, sorted', () => {
    const s = new SqliteStore(':memory:');
    s.create('configmaps', cm('b', 'x'));
    s.create('configmaps', cm('a', 'x'));
    s.create('configmaps', cm('c', 'y'));
    expect(s.list('configmaps', 'x').map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(s.list('configmaps').map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
  });

  it("lists a Service's slices by the indexed service-name label, following updates and deletes", () => {
    const s = new SqliteStore(':memory:');
    const slice = (name: string, svc: string | undefined, ns = 'default'): KubeObject => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: ns, labels: svc ? { 'kubernetes.io/service-name': svc } : {} },
    });
    const key = 'kubernetes.io/service-name';
    for (let i = 0; i < 50; i++) s.create('discovery.k8s.io/endpointslices', slice(`s${i}-a`, `s${i}`));
    s.create('discovery.k8s.io/endpointslices', slice('web-b', 'web'));
    s.create('discovery.k8s.io/endpointslices', slice('web-a', 'web'));
    s.create('discovery.k8s.io/endpointslices', slice('web-x', 'web', 'other'));
    const hand = s.create('discovery.k8s.io/endpointslices', slice('loose', undefined));
    const names = (ns?: string) => s.list('discovery.k8s.io/endpointslices', ns, { key, value: 'web' }).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(names('default')).toEqual(['default/web-a', 'default/web-b']);
    expect(names()).toEqual(['default/web-a', 'default/web-b', 'other/web-x']);
    s.update('discovery.k8s.io/endpointslices', { ...hand, metadata: { ...hand.metadata, labels: { [key]: 'web' } } });
    s.delete('discovery.k8s.io/endpointslices', 'default', 'web-b');
    expect(names('default')).toEqual(['default/loose', 'default/web-a']);
    expect(() => s.list('configmaps', 'default', { key: 'app', value: 'x' })).toThrow(/not indexed/);
  });

  it('replays history after a resourceVersion, then goes live, without gaps', () => {
    const s = new SqliteStore(':memory:');
    const a = s.create('configmaps', cm('a'));
    s.update('configmaps', { ...a, data: { v: '1' } });
    s.create('configmaps', cm('other', 'elsewhere'));
    const seen: StoreEvent[] = [];
    s.watch('configmaps', { fromRV: 1, namespace: 'default' }, (e) => seen.push(e));
    s.delete('configmaps', 'default', 'a');
    expect(seen.map((e) => [e.type, e.rv])).toEqual([
      ['MODIFIED', 2],
      ['DELETED', 4],
    ]);
  });

  it('answers Gone for a resume point older than the kept history', () => {
    const s = new SqliteStore(':memory:', { historyLimit: 10 });
    for (let i = 0; i < 30; i++) s.create('configmaps', cm(`c${i}`));
    s.compact();
    expect(() => s.watch('configmaps', { fromRV: 5 }, () => {})).toThrow(StoreGoneError);
    const seen: StoreEvent[] = [];
    s.watch('configmaps', { fromRV: 25 }, (e) => seen.push(e));
    expect(seen.map((e) => e.rv)).toEqual([26, 27, 28, 29, 30]);
  });

  it('keeps every committed write and the version counter across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubemu-store-'));
    dirs.push(dir);
    const path = join(dir, 'store.db');
    const s1 = new SqliteStore(path);
    s1.create('configmaps', cm('a'));
    s1.delete('configmaps', 'default', 'a');
    s1.create('configmaps', cm('b'));
    s1.close();
    const s2 = new SqliteStore(path);
    expect(s2.resourceVersion).toBe(3);
    expect(s2.get('configmaps', 'default', 'b')?.metadata.resourceVersion).toBe('3');
    expect(s2.get('configmaps', 'default', 'a')).toBeUndefined();
    const seen: StoreEvent[] = [];
    s2.watch('configmaps', { fromRV: 0 }, (e) => seen.push(e));
    expect(seen.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    expect(s2.create('configmaps', cm('c')).metadata.resourceVersion).toBe('4');
    s2.close();
  });
});
