import { describe, expect, it } from 'vitest';
import type { EndpointSlice, KubeObject, Pod, ReplicationController } from '@kubemu/api';
import { GarbageCollector } from './garbage-collector.js';
import { ReplicationManager } from './replication-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, makePod, makeService, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

function setup() {
  const client = new TestClient();
  const gc = new GarbageCollector(client, log, { resyncPeriodMs: 0 });
  stopLater(() => gc.stop());
  return { client, gc };
}

function owned(pod: Pod, owner: KubeObject, block = true): Pod {
  pod.metadata.ownerReferences = [...(pod.metadata.ownerReferences ?? []), { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: block }];
  return pod;
}

const rcObj = (): ReplicationController => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'kubia', namespace: 'default' },
  spec: { replicas: 3, selector: { app: 'kubia' }, template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'c', image: 'luksa/kubia' }] } } },
});

describe('GarbageCollector', () => {
  it('deletes the pods of a deleted ReplicationController (kubectl delete rc kubia)', async () => {
    const { client, gc } = setup();
    const rm = new ReplicationManager(client, log, { resyncPeriodMs: 0 });
    stopLater(() => rm.stop());
    client.create(R.replicationControllers, rcObj());
    gc.start();
    rm.start();
    const live = () => client.list<Pod>(R.pods, { labelSelector: 'app=kubia' }).items.filter((p) => !p.metadata.deletionTimestamp);
    await eventually(() => expect(live()).toHaveLength(3));
    client.delete(R.replicationControllers, 'default', 'kubia');
    await eventually(() => expect(live()).toHaveLength(0));
  });

  it("deletes a deleted Service's EndpointSlices", async () => {
    const { client, gc } = setup();
    const svc = client.create(R.services, makeService('kubia', { selector: { app: 'kubia' } }));
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { generateName: 'kubia-', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'kubia', uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
      addressType: 'IPv4',
      endpoints: [],
    };
    client.create(R.endpointSlices, slice);
    gc.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(client.count(R.endpointSlices)).toBe(1);
    client.delete(R.services, 'default', 'kubia');
    await eventually(() => expect(client.count(R.endpointSlices)).toBe(0));
  });

  it('only drops the dangling reference when another owner is alive', async () => {
    const { client, gc } = setup();
    const a = client.create<KubeObject>(R.services, makeService('a'));
    const b = client.create<KubeObject>(R.services, makeService('b'));
    const pod = makePod('shared');
    owned(pod, a);
    pod.metadata.ownerReferences!.push({ apiVersion: 'v1', kind: 'Service', name: 'b', uid: b.metadata.uid! });
    client.addPod(pod);
    gc.start();
    client.delete(R.services, 'default', 'a');
    await eventually(() => expect(client.get<Pod>(R.pods, 'default', 'shared')!.metadata.ownerReferences!.map((r) => r.name)).toEqual(['b']));
  });

  it('collects a dependent created pointing at an owner that does not exist, and leaves unknown owner kinds alone', async () => {
    const { client, gc } = setup();
    gc.start();
    const ghost = makePod('ghost');
    ghost.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'gone', uid: 'no-such-uid', controller: true }];
    client.addPod(ghost);
    const custom = makePod('custom');
    custom.metadata.ownerReferences = [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'w-uid' }];
    client.addPod(custom);
    // Same name as an existing owner but another uid: a previous incarnation, so gone.
    const rc = client.create(R.replicationControllers, rcObj());
    const stale = makePod('stale');
    stale.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'kubia', uid: 'old-uid' }];
    client.addPod(stale);
    const fine = owned(makePod('fine'), rc);
    client.addPod(fine);
    await eventually(() => {
      expect(client.get(R.pods, 'default', 'ghost')).toBeUndefined();
      expect(client.get(R.pods, 'default', 'stale')).toBeUndefined();
    });
    expect(client.get(R.pods, 'default', 'custom')).toBeDefined();
    expect(client.get(R.pods, 'default', 'fine')).toBeDefined();
  });

  it('leaves orphaned dependents alone', async () => {
    const { client, gc } = setup();
    const rc = client.create(R.replicationControllers, rcObj());
    client.addPod(owned(makePod('p1', { labels: { app: 'kubia' } }), rc));
    gc.start();
    client.delete(R.replicationControllers, 'default', 'kubia', { propagationPolicy: 'Orphan' });
    await new Promise((r) => setTimeout(r, 30));
    await gc.idle();
    const p = client.get<Pod>(R.pods, 'default', 'p1')!;
    expect(p).toBeDefined();
    expect(p.metadata.ownerReferences).toBeUndefined();
  });

  it('runs foreground deletion: dependents first, then the owner', async () => {
    const { client, gc } = setup();
    const rc = client.create(R.replicationControllers, { ...rcObj(), metadata: { name: 'kubia', namespace: 'default', finalizers: ['foregroundDeletion'] } });
    client.addPod(owned(makePod('p1'), rc));
    client.addPod(owned(makePod('p2'), rc));
    gc.start();
    client.delete(R.replicationControllers, 'default', 'kubia');
    expect(client.get(R.replicationControllers, 'default', 'kubia')).toBeDefined();
    await eventually(() => {
      expect(client.count(R.pods)).toBe(0);
      expect(client.get(R.replicationControllers, 'default', 'kubia')).toBeUndefined();
    });
  });
});
