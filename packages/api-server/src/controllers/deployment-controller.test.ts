import { describe, expect, it } from 'vitest';
import type { Deployment, KubeObject, Pod, ReplicaSet } from '@kubemu/api';
import { DeploymentController, computeHash, fenceposts, resolveIntOrPercent } from './deployment-controller.js';
import { ReplicationManager } from './replication-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, readyCondition, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

/** Plays the node agent: every new pod becomes Running and Ready shortly after it appears. */
function autoReady(client: TestClient, ready = () => true): void {
  const stop = client.watch<Pod>(R.pods, {}, (ev) => {
    if (ev.type !== 'ADDED') return;
    setTimeout(() => {
      const p = client.get<Pod>(R.pods, ev.object.metadata.namespace, ev.object.metadata.name!);
      if (!p || p.metadata.deletionTimestamp || !ready()) return;
      p.status = { phase: 'Running', podIP: '10.244.0.1', conditions: [readyCondition(true, new Date().toISOString())] };
      try {
        client.updateStatus(R.pods, p);
      } catch {
        /* raced with deletion */
      }
    }, 2);
  });
  stopLater(stop);
}

function setup() {
  const client = new TestClient();
  const dc = new DeploymentController(client, log, { resyncPeriodMs: 0 });
  const rm = new ReplicationManager(client, log, { resyncPeriodMs: 0 });
  stopLater(() => dc.stop(), () => rm.stop());
  const rsets = () => client.list<ReplicaSet>(R.replicaSets, { namespace: 'default' }).items;
  const pods = () => client.list<Pod>(R.pods, { namespace: 'default' }).items.filter((p) => !p.metadata.deletionTimestamp);
  const deploy = () => client.get<Deployment>(R.deployments, 'default', 'kubia')!;
  return { client, dc, rm, rsets, pods, deploy };
}

function deployment(replicas: number, image = 'luksa/kubia:v1', strategy?: Deployment['spec']['strategy']): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'kubia', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'kubia' } },
      template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'nodejs', image }] } },
      ...(strategy ? { strategy } : {}),
    },
  };
}

function setImage(client: TestClient, image: string): void {
  const d = client.get<Deployment>(R.deployments, 'default', 'kubia')!;
  d.spec.template.spec.containers[0]!.image = image;
  client.update(R.deployments, d);
}

describe('DeploymentController', () => {
  it('creates a ReplicaSet named after the template hash and reports availability', async () => {
    const { client, dc, rm, rsets, pods, deploy } = setup();
    autoReady(client);
    const d = client.create(R.deployments, deployment(3));
    dc.start();
    rm.start();
    await eventually(() => expect(pods()).toHaveLength(3));
    const [rs] = rsets();
    const hash = computeHash(deploy().spec.template);
    expect(rs!.metadata.name).toBe(`kubia-${hash}`);
    expect(rs!.metadata.labels).toEqual({ app: 'kubia', 'pod-template-hash': hash });
    expect(rs!.spec.selector).toEqual({ matchLabels: { app: 'kubia', 'pod-template-hash': hash } });
    expect(rs!.spec.template.metadata!.labels).toEqual({ app: 'kubia', 'pod-template-hash': hash });
    expect(rs!.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'kubia', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(rs!.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    expect(pods()[0]!.metadata.labels).toEqual({ app: 'kubia', 'pod-template-hash': hash });
    await eventually(() => {
      const st = deploy().status!;
      expect(st).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
      expect(st.unavailableReplicas).toBeUndefined();
      expect(st.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
        ['Available', 'True', 'MinimumReplicasAvailable'],
        ['Progressing', 'True', 'NewReplicaSetAvailable'],
      ]);
    });
    expect(deploy().status!.conditions![1]!.message).toBe(`ReplicaSet "kubia-${hash}" has successfully progressed.`);
    expect(deploy().metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    const ev = client.list<KubeObject>(R.events).items.find((e) => e.reason === 'ScalingReplicaSet')!;
    expect(ev.message).toBe(`Scaled up replica set kubia-${hash} to 3 from 0`);
  });

  it('rolls out a new template within maxSurge/maxUnavailable and converges', async () => {
    const { client, dc, rm, rsets, pods, deploy } = setup();
    autoReady(client);
    client.create(R.deployments, deployment(3));
    dc.start();
    rm.start();
    await eventually(() => expect(deploy().status?.availableReplicas).toBe(3));
    let maxPods = 0;
    stopLater(client.watch<Pod>(R.pods, {}, () => (maxPods = Math.max(maxPods, pods().length))));
    setImage(client, 'luksa/kubia:v2');
    const newHash = computeHash(deploy().spec.template);
    await eventually(() => {
      const byName = Object.fromEntries(rsets().map((rs) => [rs.metadata.name, rs.spec.replicas]));
      expect(byName[`kubia-${newHash}`]).toBe(3);
      expect(Object.values(byName).sort()).toEqual([0, 3]);
      expect(pods()).toHaveLength(3);
      expect(pods().every((p) => p.metadata.labels?.['pod-template-hash'] === newHash)).toBe(true);
      expect(deploy().status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    }, 5000);
    expect(maxPods).toBeLessThanOrEqual(4); // replicas + maxSurge (25% of 3, rounded up)
    expect(client.get<ReplicaSet>(R.replicaSets, 'default', `kubia-${newHash}`)!.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    await eventually(() => expect(deploy().status!.conditions!.find((c) => c.type === 'Progressing')!.reason).toBe('NewReplicaSetAvailable'));
    const msgs = client.list<KubeObject>(R.events).items.filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message as string);
    expect(msgs.some((m) => m.startsWith(`Scaled up replica set kubia-${newHash} to 1 from 0`))).toBe(true);
    expect(msgs.some((m) => /^Scaled down replica set kubia-\w+ to 0 from 1$/.test(m))).toBe(true);
  });

  it('waits for new pods to become available before scaling old ones further down', async () => {
    const { client, dc, rm, rsets, deploy } = setup();
    let agentUp = true;
    autoReady(client, () => agentUp);
    client.create(R.deployments, deployment(4, 'luksa/kubia:v1', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }));
    dc.start();
    rm.start();
    await eventually(() => expect(deploy().status?.availableReplicas).toBe(4));
    agentUp = false; // new pods never become ready
    setImage(client, 'luksa/kubia:v2');
    await new Promise((r) => setTimeout(r, 100));
    await dc.idle();
    const replicas = rsets().map((rs) => [rs.metadata.annotations?.['deployment.kubernetes.io/revision'], rs.spec.replicas]).sort();
    expect(replicas).toEqual([
      ['1', 4],
      ['2', 1],
    ]);
    expect(deploy().status!.conditions!.find((c) => c.type === 'Available')!.status).toBe('True');
  });

  it('Recreate scales the old ReplicaSet to 0 before the new one gets pods', async () => {
    const { client, dc, rm, pods, deploy } = setup();
    autoReady(client);
    client.create(R.deployments, deployment(2, 'luksa/kubia:v1', { type: 'Recreate' }));
    dc.start();
    rm.start();
    await eventually(() => expect(deploy().status?.availableReplicas).toBe(2));
    let mixed = false;
    stopLater(
      client.watch<Pod>(R.pods, {}, () => {
        const hashes = new Set(pods().map((p) => p.metadata.labels?.['pod-template-hash']));
        if (hashes.size > 1) mixed = true;
      }),
    );
    setImage(client, 'luksa/kubia:v2');
    const newHash = computeHash(deploy().spec.template);
    await eventually(() => {
      expect(pods()).toHaveLength(2);
      expect(pods().every((p) => p.metadata.labels?.['pod-template-hash'] === newHash)).toBe(true);
    });
    expect(mixed).toBe(false);
  });

  it('scales, and a paused Deployment does not roll out', async () => {
    const { client, dc, rm, rsets, pods, deploy } = setup();
    autoReady(client);
    client.create(R.deployments, deployment(2));
    dc.start();
    rm.start();
    await eventually(() => expect(pods()).toHaveLength(2));
    const d = deploy();
    d.spec.replicas = 4;
    client.update(R.deployments, d);
    await eventually(() => expect(pods()).toHaveLength(4));
    const p = deploy();
    p.spec.paused = true;
    p.spec.template.spec.containers[0]!.image = 'luksa/kubia:v3';
    client.update(R.deployments, p);
    await eventually(() => expect(deploy().status!.conditions!.find((c) => c.type === 'Progressing')!.reason).toBe('DeploymentPaused'));
    expect(rsets()).toHaveLength(1);
  });

  it('resolves maxSurge/maxUnavailable like Kubernetes', () => {
    expect(resolveIntOrPercent('25%', 3, true, 0)).toBe(1);
    expect(resolveIntOrPercent('25%', 3, false, 0)).toBe(0);
    expect(resolveIntOrPercent(2, 3, true, 0)).toBe(2);
    expect(fenceposts(deployment(10))).toEqual([3, 2]);
    expect(fenceposts(deployment(1, 'x', { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } }))).toEqual([0, 1]);
    const h = computeHash(deployment(1).spec.template);
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(computeHash(deployment(1).spec.template)).toBe(h);
    expect(computeHash(deployment(1).spec.template, 1)).not.toBe(h);
  });
});
