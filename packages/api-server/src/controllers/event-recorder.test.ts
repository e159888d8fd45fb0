import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@kubemu/api';
import { EventRecorder } from './event-recorder.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { FakeClock, testLogger } from '../testing/controllers.js';

describe('EventRecorder', () => {
  it('writes an Event pointing at the object, and aggregates identical ones', () => {
    const client = new TestClient();
    const clock = new FakeClock();
    const rec = new EventRecorder(client, testLogger(), { component: 'replication-controller', clock });
    const rc = client.create<KubeObject>(R.replicationControllers, {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'kubia', namespace: 'default' },
      spec: { replicas: 1, selector: { app: 'kubia' }, template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'c', image: 'luksa/kubia' }] } } },
    });
    rec.event(rc, 'Normal', 'SuccessfulCreate', 'Created pod: kubia-abcde');
    let evs = client.list<KubeObject>(R.events, { namespace: 'default' }).items;
    expect(evs).toHaveLength(1);
    const ev = evs[0]!;
    expect(ev.metadata.name).toMatch(/^kubia\.[0-9a-f]+$/);
    expect(ev.involvedObject).toMatchObject({ kind: 'ReplicationController', namespace: 'default', name: 'kubia', uid: rc.metadata.uid, apiVersion: 'v1' });
    expect(ev).toMatchObject({
      reason: 'SuccessfulCreate',
      message: 'Created pod: kubia-abcde',
      type: 'Normal',
      count: 1,
      source: { component: 'replication-controller' },
      firstTimestamp: '2025-01-01T00:00:00Z',
      lastTimestamp: '2025-01-01T00:00:00Z',
    });

    clock.advance(60_000);
    rec.event(rc, 'Normal', 'SuccessfulCreate', 'Created pod: kubia-abcde');
    evs = client.list<KubeObject>(R.events, { namespace: 'default' }).items;
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ count: 2, firstTimestamp: '2025-01-01T00:00:00Z', lastTimestamp: '2025-01-01T00:01:00Z' });

    rec.event(rc, 'Normal', 'SuccessfulCreate', 'Created pod: kubia-fghij');
    expect(client.list(R.events).items).toHaveLength(2);
  });

  it('puts events of cluster-scoped objects in default, and recreates an aggregated event that was deleted', () => {
    const client = new TestClient();
    const rec = new EventRecorder(client, testLogger(), { component: 'node-controller' });
    const node = client.create<KubeObject>(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    rec.event(node, 'Normal', 'NodeNotReady', 'Node node-1 status is now: NodeNotReady');
    const [ev] = client.list<KubeObject>(R.events).items;
    expect(ev!.metadata.namespace).toBe('default');
    client.delete(R.events, 'default', ev!.metadata.name!);
    rec.event(node, 'Normal', 'NodeNotReady', 'Node node-1 status is now: NodeNotReady');
    expect(client.list<KubeObject>(R.events).items.map((e) => e.count)).toEqual([1]);
  });

  it('never throws when the write fails', () => {
    const client = new TestClient();
    client.failNext = { verb: 'create', resource: 'events', error: new Error('disk full') };
    const rec = new EventRecorder(client, testLogger(), { component: 'x' });
    expect(() => rec.event({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' } }, 'Warning', 'R', 'm')).not.toThrow();
  });
});
