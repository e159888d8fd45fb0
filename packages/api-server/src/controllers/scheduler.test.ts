import { describe, expect, it } from 'vitest';
import type { KubeObject, Node, Pod } from '@kubemu/api';
import { Scheduler, tolerates } from './scheduler.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, makeNode, makePod, settle, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

function setup() {
  const client = new TestClient();
  const sched = new Scheduler(client, log, { resyncPeriodMs: 0 });
  stopLater(() => sched.stop());
  const pod = (name: string) => client.get<Pod>(R.pods, 'default', name)!;
  const scheduled = (name: string) => pod(name).status?.conditions?.find((c) => c.type === 'PodScheduled');
  return { client, sched, pod, scheduled };
}

function pendingPod(name: string, extra: Partial<Pod['spec']> = {}, ownerUid?: string): Pod {
  const p = makePod(name, { labels: { app: 'kubia' }, phase: 'Pending', ready: false });
  p.status = { phase: 'Pending' };
  Object.assign(p.spec, extra);
  if (ownerUid) p.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'kubia', uid: ownerUid, controller: true }];
  return p;
}

describe('Scheduler', () => {
  it('spreads replicas of one owner over the ready nodes and marks them scheduled', async () => {
    const { client, sched, pod, scheduled } = setup();
    for (const n of ['node-1', 'node-2', 'node-3']) client.create(R.nodes, makeNode(n));
    // An unrelated pod already on node-1 makes it the last choice among equals.
    client.addPod(makePod('busy', { nodeName: 'node-1', ip: '10.0.0.9' }));
    for (const n of ['kubia-a', 'kubia-b', 'kubia-c']) client.addPod(pendingPod(n, {}, 'rc-uid'));
    sched.start();
    await eventually(() => {
      const nodes = ['kubia-a', 'kubia-b', 'kubia-c'].map((n) => pod(n).spec.nodeName);
      expect(new Set(nodes)).toEqual(new Set(['node-1', 'node-2', 'node-3']));
    });
    await eventually(() => expect(scheduled('kubia-a')).toMatchObject({ type: 'PodScheduled', status: 'True' }));
    const ev = client.list<KubeObject>(R.events).items.find((e) => e.reason === 'Scheduled' && (e.involvedObject as { name: string }).name === 'kubia-a')!;
    expect(ev.message).toBe(`Successfully assigned default/kubia-a to ${pod('kubia-a').spec.nodeName}`);
    expect(ev.source).toEqual({ component: 'default-scheduler' });
  });

  it('leaves pods Pending without nodes, and schedules them when a node appears', async () => {
    const { client, sched, pod, scheduled } = setup();
    client.addPod(pendingPod('p'));
    sched.start();
    await eventually(() => expect(scheduled('p')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: 'no nodes available to schedule pods' }));
    expect(pod('p').spec.nodeName).toBeUndefined();
    expect(pod('p').status?.phase).toBe('Pending');
    client.create(R.nodes, makeNode('node-1'));
    await eventually(() => expect(pod('p').spec.nodeName).toBe('node-1'));
    await eventually(() => expect(scheduled('p')).toMatchObject({ status: 'True' }));
    expect(scheduled('p')!.reason).toBeUndefined();
  });

  it("explains why no node fits, in Kubernetes' words", async () => {
    const { client, sched, scheduled } = setup();
    client.create(R.nodes, makeNode('node-1', { ready: false }));
    client.create(R.nodes, makeNode('node-2', { unschedulable: true }));
    client.create(R.nodes, makeNode('node-3'));
    client.addPod(pendingPod('p', { nodeSelector: { disk: 'ssd' } }));
    sched.start();
    await eventually(() =>
      expect(scheduled('p')!.message).toBe(
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
      ),
    );
    const ev = client.list<KubeObject>(R.events).items.find((e) => e.reason === 'FailedScheduling')!;
    expect(ev.type).toBe('Warning');
    // Labelling node-3 makes it fit.
    const n3 = client.get<Node>(R.nodes, undefined, 'node-3')!;
    n3.metadata.labels = { ...n3.metadata.labels, disk: 'ssd' };
    client.update(R.nodes, n3);
    await eventually(() => expect(client.get<Pod>(R.pods, 'default', 'p')!.spec.nodeName).toBe('node-3'));
  });

  it('honours taints and tolerations, node affinity, host ports and schedulerName', async () => {
    const { client, sched, pod } = setup();
    const tainted = makeNode('gpu', { labels: { zone: 'a' } });
    tainted.spec = { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] };
    client.create(R.nodes, tainted);
    client.create(R.nodes, makeNode('plain', { labels: { zone: 'b' } }));
    client.addPod(pendingPod('tolerant', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }], nodeSelector: { zone: 'a' } }));
    client.create(
      R.pods,
      pendingPod('affine', {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] } } },
      }),
    );
    const hp = (name: string) => pendingPod(name, { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, hostPort: 8080 }] }] });
    client.addPod(hp('host-1'));
    client.addPod(hp('host-2'));
    client.addPod(hp('host-3'));
    client.addPod(pendingPod('other', { schedulerName: 'my-scheduler' }));
    sched.start();
    await eventually(() => {
      expect(pod('tolerant').spec.nodeName).toBe('gpu');
      expect(pod('affine').spec.nodeName).toBe('plain');
      expect(pod('host-1').spec.nodeName).toBe('plain');
    });
    await settle(40);
    await sched.idle();
    // host-2/3 cannot share plain's port 8080, and gpu is tainted.
    expect([pod('host-2').spec.nodeName, pod('host-3').spec.nodeName]).toEqual([undefined, undefined]);
    expect(pod('host-2').status?.conditions?.[0]?.message).toBe(
      "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
    expect(pod('other').spec.nodeName).toBeUndefined();
    expect(pod('other').status?.conditions).toBeUndefined();
  });

  it('matches tolerations like Kubernetes', () => {
    const taint = { key: 'k', value: 'v', effect: 'NoExecute' };
    expect(tolerates({ operator: 'Exists' }, taint)).toBe(true);
    expect(tolerates({ key: 'k', operator: 'Exists' }, taint)).toBe(true);
    expect(tolerates({ key: 'k', value: 'v' }, taint)).toBe(true);
    expect(tolerates({ key: 'k', value: 'w' }, taint)).toBe(false);
    expect(tolerates({ key: 'k', operator: 'Exists', effect: 'NoSchedule' }, taint)).toBe(false);
    expect(tolerates({ value: 'v' }, taint)).toBe(false);
  });
});
