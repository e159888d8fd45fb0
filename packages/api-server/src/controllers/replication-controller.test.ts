import { describe, expect, it } from 'vitest';
import type { KubeObject, Pod, ReplicaSet, ReplicationController } from '@kubemu/api';
import { errors } from '@kubemu/api';
import { ReplicationManager, rankForDeletion } from './replication-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { FakeClock, eventually, makeNode, makePod, readyCondition, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

function setup(clock?: FakeClock) {
  const client = new TestClient({ now: clock ? () => clock.now() : undefined });
  const ctrl = new ReplicationManager(client, log, { resyncPeriodMs: 0, clock });
  stopLater(() => ctrl.stop());
  const active = (app = 'kubia') =>
    client.list<Pod>(R.pods, { namespace: 'default', labelSelector: `app=${app}` }).items.filter((p) => !p.metadata.deletionTimestamp);
  return { client, ctrl, active };
}

function rc(replicas: number, extra: Partial<ReplicationController['spec']> = {}): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'kubia', namespace: 'default' },
    spec: {
      replicas,
      selector: { app: 'kubia' },
      template: {
        metadata: { labels: { app: 'kubia' }, annotations: { note: 'from-template' } },
        spec: { containers: [{ name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }] }] },
      },
      ...extra,
    },
  };
}

function scale(client: TestClient, replicas: number): void {
  const cur = client.get<ReplicationController>(R.replicationControllers, 'default', 'kubia')!;
  cur.spec.replicas = replicas;
  client.update(R.replicationControllers, cur);
}

describe('ReplicationManager', () => {
  it('creates the missing pods from the template, owned by the RC, and reports status', async () => {
    const { client, ctrl, active } = setup();
    const owner = client.create(R.replicationControllers, rc(3));
    ctrl.start();
    await eventually(() => expect(active()).toHaveLength(3));
    for (const p of active()) {
      expect(p.metadata.name).toMatch(/^kubia-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toEqual({ app: 'kubia' });
      expect(p.metadata.annotations).toEqual({ note: 'from-template' });
      expect(p.metadata.ownerReferences).toEqual([
        { apiVersion: 'v1', kind: 'ReplicationController', name: 'kubia', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
      expect(p.spec.containers[0]!.image).toBe('luksa/kubia');
    }
    await eventually(() => {
      const st = client.get<ReplicationController>(R.replicationControllers, 'default', 'kubia')!.status!;
      expect(st).toMatchObject({ replicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 });
      expect(st.readyReplicas).toBeUndefined();
    });
    const events = client.list<KubeObject>(R.events, { namespace: 'default' }).items;
    expect(events.map((e) => e.reason)).toEqual(['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate']);
    expect(events[0]!.message).toMatch(/^Created pod: kubia-[a-z0-9]{5}$/);
    expect(events[0]!.source).toEqual({ component: 'replication-controller' });
  });

  it('scales down by deleting the surplus, preferring unscheduled and unready pods', async () => {
    const { client, ctrl, active } = setup();
    client.create(R.nodes, makeNode('node-1'));
    client.create(R.replicationControllers, rc(3));
    ctrl.start();
    await eventually(() => expect(active()).toHaveLength(3));
    // Make two of them scheduled, one of those unready: the unscheduled one goes first, then the unready one.
    const [a, b, c] = active();
    for (const [p, ready] of [
      [a!, true],
      [b!, false],
    ] as const) {
      const cur = client.get<Pod>(R.pods, 'default', p.metadata.name!)!;
      cur.spec.nodeName = 'node-1';
      const upd = client.update(R.pods, cur);
      upd.status = { phase: 'Running', conditions: [readyCondition(ready)] };
      client.updateStatus(R.pods, upd);
    }
    scale(client, 2);
    await eventually(() => expect(active().map((p) => p.metadata.name).sort()).toEqual([a!.metadata.name, b!.metadata.name].sort()));
    expect(client.get(R.pods, 'default', c!.metadata.name!)).toBeUndefined();
    scale(client, 1);
    await eventually(() => expect(active().map((p) => p.metadata.name)).toEqual([a!.metadata.name]));
    // b was scheduled: graceful deletion leaves it Terminating.
    expect(client.get<Pod>(R.pods, 'default', b!.metadata.name!)!.metadata.deletionTimestamp).toBeTruthy();
    await eventually(() => expect(client.get<ReplicationController>(R.replicationControllers, 'default', 'kubia')!.status!.replicas).toBe(1));
    const reasons = client.list<KubeObject>(R.events).items.map((e) => e.reason);
    expect(reasons.filter((r) => r === 'SuccessfulDelete')).toHaveLength(2);
  });

  it('adopts matching orphans and releases pods whose labels stop matching', async () => {
    const { client, ctrl, active } = setup();
    client.addPod(makePod('orphan', { labels: { app: 'kubia' }, ip: '10.0.0.1' }));
    const owner = client.create(R.replicationControllers, rc(3));
    ctrl.start();
    await eventually(() => expect(active()).toHaveLength(3));
    expect(client.get<Pod>(R.pods, 'default', 'orphan')!.metadata.ownerReferences?.[0]?.uid).toBe(owner.metadata.uid);
    // kubectl label pod orphan app=foo --overwrite: it leaves the RC, which makes a replacement.
    const p = client.get<Pod>(R.pods, 'default', 'orphan')!;
    p.metadata.labels = { app: 'foo' };
    client.update(R.pods, p);
    await eventually(() => {
      expect(active()).toHaveLength(3);
      expect(active().map((x) => x.metadata.name)).not.toContain('orphan');
      expect(client.get<Pod>(R.pods, 'default', 'orphan')!.metadata.ownerReferences).toBeUndefined();
    });
  });

  it('runs ReplicaSets with matchExpressions selectors too', async () => {
    const { client, ctrl } = setup();
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    };
    const owner = client.create(R.replicaSets, rs);
    ctrl.start();
    await eventually(() => {
      const pods = client.list<Pod>(R.pods, { labelSelector: 'app=web' }).items;
      expect(pods).toHaveLength(2);
      expect(pods[0]!.metadata.ownerReferences?.[0]).toMatchObject({ apiVersion: 'apps/v1', kind: 'ReplicaSet', uid: owner.metadata.uid });
    });
    const ev = client.list<KubeObject>(R.events).items[0]!;
    expect(ev.source).toEqual({ component: 'replicaset-controller' });
  });

  it('counts ready and available replicas, honouring minReadySeconds', async () => {
    const clock = new FakeClock();
    const { client, ctrl, active } = setup(clock);
    client.create(R.replicationControllers, rc(2, { minReadySeconds: 10 }));
    ctrl.start();
    await eventually(() => expect(active()).toHaveLength(2));
    for (const p of active()) {
      p.status = { phase: 'Running', conditions: [readyCondition(true, new Date(clock.now()).toISOString())] };
      client.updateStatus(R.pods, p);
    }
    const status = () => client.get<ReplicationController>(R.replicationControllers, 'default', 'kubia')!.status!;
    await eventually(() => expect(status()).toMatchObject({ replicas: 2, readyReplicas: 2 }));
    expect(status().availableReplicas).toBeUndefined();
    clock.advance(11_000);
    ctrl.resyncNow();
    await eventually(() => expect(status().availableReplicas).toBe(2));
  });

  it('reports FailedCreate and a ReplicaFailure condition, then recovers', async () => {
    const { client, ctrl, active } = setup();
    client.failNext = { verb: 'create', resource: 'pods', error: errors.forbidden('pods "kubia-" is forbidden: exceeded quota') };
    client.create(R.replicationControllers, rc(1));
    ctrl.start();
    await eventually(() => {
      const ev = client.list<KubeObject>(R.events).items.find((e) => e.reason === 'FailedCreate');
      expect(ev?.message).toBe('Error creating: pods "kubia-" is forbidden: exceeded quota');
    });
    await eventually(() => expect(active()).toHaveLength(1));
    await eventually(() => expect((client.get<ReplicationController>(R.replicationControllers, 'default', 'kubia')!.status as { conditions?: unknown }).conditions).toBeUndefined());
  });

  it('orders deletion victims like ActivePodsWithRanks', () => {
    const mk = (name: string, o: { node?: string; phase?: 'Pending' | 'Running'; ready?: boolean; created: string }) => {
      const p = makePod(name, { nodeName: o.node, phase: o.phase ?? 'Running', ready: o.ready ?? true });
      p.metadata.creationTimestamp = o.created;
      return p;
    };
    const pods = [
      mk('old-ready', { node: 'n1', created: '2025-01-01T00:00:00Z' }),
      mk('new-ready', { node: 'n2', created: '2025-01-01T00:05:00Z' }),
      mk('unready', { node: 'n3', ready: false, created: '2025-01-01T00:00:00Z' }),
      mk('pending', { node: 'n4', phase: 'Pending', ready: false, created: '2025-01-01T00:00:00Z' }),
      mk('unscheduled', { phase: 'Pending', ready: false, created: '2025-01-01T00:00:00Z' }),
      mk('crowded', { node: 'n1', created: '2025-01-01T00:00:00Z' }),
    ];
    expect(rankForDeletion(pods, Date.now()).map((p) => p.metadata.name)).toEqual(['unscheduled', 'pending', 'unready', 'old-ready', 'crowded', 'new-ready']);
  });
});
