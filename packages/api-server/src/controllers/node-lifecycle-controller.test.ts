import { describe, expect, it } from 'vitest';
import type { KubeObject, Node, Pod } from '@kubemu/api';
import { NodeLifecycleController } from './node-lifecycle-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { FakeClock, makeNode, makePod, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

async function setup() {
  const clock = new FakeClock();
  const client = new TestClient({ now: () => clock.now() });
  const ctrl = new NodeLifecycleController(client, log, { clock, monitorPeriodMs: 0 });
  stopLater(() => ctrl.stop());
  const node = (n: string) => client.get<Node>(R.nodes, undefined, n)!;
  const pod = (n: string) => client.get<Pod>(R.pods, 'default', n)!;
  const cond = (n: Node, type: string) => n.status!.conditions!.find((c) => c.type === type)!;
  return { clock, client, ctrl, node, pod, cond };
}

function heartbeat(client: TestClient, name: string, at: number, ready = true): void {
  const n = client.get<Node>(R.nodes, undefined, name)!;
  const t = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const c of n.status!.conditions!) {
    c.lastHeartbeatTime = t;
    if (c.type === 'Ready') {
      if ((c.status === 'True') !== ready) c.lastTransitionTime = t;
      c.status = ready ? 'True' : 'False';
      c.reason = ready ? 'KubeletReady' : 'KubeletNotReady';
      c.message = ready ? 'kubelet is posting ready status' : 'container runtime is down';
    } else {
      c.status = 'False';
    }
  }
  client.updateStatus(R.nodes, n);
}

describe('NodeLifecycleController', () => {
  it('marks a silent node Unknown, taints it and takes its pods out of service', async () => {
    const { clock, client, ctrl, node, pod, cond } = await setup();
    client.create(R.nodes, makeNode('node-1'));
    client.create(R.nodes, makeNode('node-2'));
    client.addPod(makePod('a', { nodeName: 'node-1', ip: '10.244.1.2' }));
    client.addPod(makePod('b', { nodeName: 'node-2', ip: '10.244.2.2' }));
    ctrl.start();
    ctrl.checkAll();
    clock.advance(30_000);
    heartbeat(client, 'node-2', clock.now()); // node-2's agent is alive
    ctrl.checkAll();
    expect(cond(node('node-1'), 'Ready').status).toBe('True');
    clock.advance(11_000); // node-1 silent for 41 s, node-2 for 11 s
    heartbeat(client, 'node-2', clock.now());
    ctrl.checkAll();

    const n1 = node('node-1');
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      expect(cond(n1, type)).toMatchObject({
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastHeartbeatTime: '2025-01-01T00:00:00Z',
        lastTransitionTime: '2025-01-01T00:00:41Z',
      });
    }
    expect(n1.spec!.taints).toEqual([
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2025-01-01T00:00:41Z' },
    ]);
    expect(cond(node('node-2'), 'Ready').status).toBe('True');
    expect(node('node-2').spec!.taints).toBeUndefined();

    expect(pod('a').status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('False');
    expect(pod('b').status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('True');
    const events = client.list<KubeObject>(R.events).items.map((e) => [e.reason, e.message, (e.involvedObject as { name: string }).name]);
    expect(events).toContainEqual(['NodeNotReady', 'Node node-1 status is now: NodeNotReady', 'node-1']);
    expect(events).toContainEqual(['NodeNotReady', 'Node is not ready', 'a']);
  });

  it('lifts the taints when the agent comes back', async () => {
    const { clock, client, ctrl, node, cond } = await setup();
    client.create(R.nodes, makeNode('node-1'));
    ctrl.start();
    ctrl.checkAll();
    clock.advance(41_000);
    ctrl.checkAll();
    expect(cond(node('node-1'), 'Ready').status).toBe('Unknown');
    clock.advance(5_000);
    heartbeat(client, 'node-1', clock.now());
    ctrl.checkAll();
    expect(cond(node('node-1'), 'Ready').status).toBe('True');
    expect(node('node-1').spec!.taints).toBeUndefined();
    expect(client.list<KubeObject>(R.events).items.map((e) => e.reason)).toContain('NodeReady');
  });

  it('taints a node that reports itself NotReady with not-ready', async () => {
    const { clock, client, ctrl, node } = await setup();
    client.create(R.nodes, makeNode('node-1'));
    client.addPod(makePod('a', { nodeName: 'node-1', ip: '10.244.1.2' }));
    ctrl.start();
    heartbeat(client, 'node-1', clock.now(), false);
    ctrl.checkAll();
    expect(node('node-1').spec!.taints!.map((t) => `${t.key}:${t.effect}`)).toEqual(['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute']);
    expect(client.get<Pod>(R.pods, 'default', 'a')!.status!.conditions![0]!.status).toBe('False');
  });

  it('evicts pods after their toleration of the unreachable taint runs out', async () => {
    const { clock, client, ctrl, pod } = await setup();
    client.create(R.nodes, makeNode('node-1'));
    const tol = (seconds?: number) => [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' as const, effect: 'NoExecute', ...(seconds === undefined ? {} : { tolerationSeconds: seconds }) }];
    const mk = (name: string, tolerations?: unknown[]) => {
      const p = makePod(name, { nodeName: 'node-1', ip: '10.244.1.2' });
      if (tolerations) p.spec.tolerations = tolerations;
      client.addPod(p);
    };
    mk('default'); // no toleration: the admission default of 300 s applies
    mk('short', tol(10));
    mk('forever', tol());
    ctrl.start();
    ctrl.checkAll();
    clock.advance(41_000);
    ctrl.checkAll();
    expect(pod('short').metadata.deletionTimestamp).toBeUndefined();
    clock.advance(10_000);
    ctrl.checkAll();
    expect(pod('short').metadata.deletionTimestamp).toBeTruthy();
    expect(pod('default').metadata.deletionTimestamp).toBeUndefined();
    clock.advance(290_000);
    ctrl.checkAll();
    expect(pod('default').metadata.deletionTimestamp).toBeTruthy();
    expect(pod('forever').metadata.deletionTimestamp).toBeUndefined();
    const msgs = client.list<KubeObject>(R.events).items.filter((e) => e.reason === 'TaintManagerEviction').map((e) => e.message);
    expect(msgs.sort()).toEqual(['Marking for deletion Pod default/default', 'Marking for deletion Pod default/short']);
  });

  it('marks never-reported conditions NodeStatusNeverUpdated', async () => {
    const { clock, client, ctrl, node, cond } = await setup();
    client.create(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'bare' } });
    ctrl.start();
    ctrl.checkAll();
    clock.advance(41_000);
    ctrl.checkAll();
    expect(cond(node('bare'), 'Ready')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' });
    expect(node('bare').status!.conditions).toHaveLength(4);
  });
});
