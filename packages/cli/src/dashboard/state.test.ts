import { describe, expect, it } from 'vitest';
import type { EndpointSlice, KubeObject, Pod } from '@kubemu/api';
import { DashboardState } from './state.js';

const pod = (name: string, ready: boolean, extra: Partial<Pod['metadata']> = {}, rv = '1'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', resourceVersion: rv, labels: { app: 'kubia' }, ...extra },
  spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'luksa/kubia' }] },
  status: { phase: 'Running', podIP: `10.244.1.${name.length}`, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

const slice = (eps: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean; pod: string }[], rv = '1'): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'kubia-abc', namespace: 'default', resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'kubia' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'default', name: e.pod }, conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating } })),
});

describe('DashboardState', () => {
  it('hands out only views that changed, once', () => {
    const s = new DashboardState('c');
    s.reset('pods', [pod('a', true)]);
    expect(s.flush()?.upserts.pods?.map((p) => p.name)).toEqual(['a']);
    // A write that changes nothing drawn (a new resourceVersion) sends nothing.
    s.change('pods', 'MODIFIED', pod('a', true, {}, '2'));
    expect(s.flush()).toBeUndefined();
    s.change('pods', 'MODIFIED', pod('a', false, {}, '3'));
    expect(s.flush()?.upserts.pods?.[0]?.ready).toBe(false);
    s.change('pods', 'DELETED', pod('a', false));
    expect(s.flush()?.deletes.pods).toEqual(['default/a']);
  });

  it('a relist deletes what it no longer lists', () => {
    const s = new DashboardState('c');
    s.reset('pods', [pod('a', true), pod('b', true)]);
    s.flush();
    s.reset('pods', [pod('b', true)]);
    const f = s.flush()!;
    expect(f.deletes.pods).toEqual(['default/a']);
    expect(f.upserts.pods ?? []).toEqual([]);
  });

  it('a delete after an upsert in the same batch leaves only the delete', () => {
    const s = new DashboardState('c');
    s.reset('pods', []);
    s.change('pods', 'ADDED', pod('a', true));
    s.change('pods', 'DELETED', pod('a', true));
    const f = s.flush()!;
    expect(f.upserts.pods).toEqual([]);
    expect(f.deletes.pods).toEqual(['default/a']);
  });

  it('reads the rollout timeline off the changes: Terminating, then the endpoint going unready and away', () => {
    let t = 1000;
    const s = new DashboardState('c', () => t);
    s.reset('pods', [pod('a', true)]);
    s.reset('slices', [slice([{ ip: '10.0.0.1', ready: true, pod: 'a' }])]);
    // The first list is where the dashboard starts, not a change.
    expect(s.snapshot().timeline).toEqual([]);
    t = 2000;
    s.change('pods', 'MODIFIED', pod('a', true, { deletionTimestamp: '2026-01-01T00:00:00Z' }));
    t = 2100;
    s.change('slices', 'MODIFIED', slice([{ ip: '10.0.0.1', ready: false, serving: true, terminating: true, pod: 'a' }], '2'));
    t = 2500;
    s.change('slices', 'MODIFIED', slice([], '3'));
    expect(s.snapshot().timeline.map((e) => [e.time, e.what, e.subject])).toEqual([
      [2000, 'pod-terminating', 'default/a'],
      [2100, 'endpoint-unready', 'default/kubia'],
      [2500, 'endpoint-removed', 'default/kubia'],
    ]);
    expect(s.snapshot().timeline[1]!.detail).toBe('10.0.0.1 (a) terminating (still serving)');
  });

  it('tells who follows slices which Service changed, after the first list only', () => {
    const s = new DashboardState('c');
    const seen: [string, number][] = [];
    s.onSliceChange = (svc, rv) => seen.push([svc, rv]);
    s.reset('slices', [slice([{ ip: '10.0.0.1', ready: true, pod: 'a' }], '5')]);
    s.change('slices', 'MODIFIED', slice([{ ip: '10.0.0.1', ready: false, pod: 'a' }], '9'));
    expect(seen).toEqual([['default/kubia', 9]]);
    expect(s.sliceVersion('default/kubia')).toBe(9);
  });

  it('keeps the newest Events', () => {
    const s = new DashboardState('c');
    const ev = (i: number) => ({ apiVersion: 'v1', kind: 'Event', metadata: { name: `e${i}`, namespace: 'default' }, involvedObject: { kind: 'Pod', namespace: 'default', name: 'a' }, reason: 'Unhealthy', message: `m${i}`, type: 'Warning', lastTimestamp: new Date(i * 1000).toISOString() }) as unknown as KubeObject;
    for (let i = 0; i < 250; i++) s.event('ADDED', ev(i) as never);
    const events = s.snapshot().events;
    expect(events.length).toBe(200);
    expect(events.at(-1)).toMatchObject({ object: 'Pod/default/a', message: 'm249', type: 'Warning' });
  });
});
