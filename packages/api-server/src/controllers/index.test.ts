import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Endpoints, Pod, ReplicationController } from '@kubemu/api';
import { startControllers } from './index.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, makeNode, makeService, readyCondition, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

/** Plays the node agents: a pod bound to a node gets an IP and becomes Ready; a terminating one goes away. */
function nodeAgents(client: TestClient): void {
  let next = 2;
  stopLater(
    client.watch<Pod>(R.pods, {}, (ev) => {
      const p = ev.object;
      if (ev.type === 'DELETED' || !p.spec.nodeName) return;
      setTimeout(() => {
        const cur = client.get<Pod>(R.pods, p.metadata.namespace, p.metadata.name!);
        if (!cur) return;
        if (cur.metadata.deletionTimestamp) return client.finishPodDeletion(cur.metadata.namespace!, cur.metadata.name!);
        if (cur.status?.podIP) return;
        const ip = `10.244.${cur.spec.nodeName!.slice(-1)}.${next++}`;
        cur.status = { ...cur.status, phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [...(cur.status?.conditions ?? []), readyCondition(true)] };
        try {
          client.updateStatus(R.pods, cur);
        } catch {
          /* raced */
        }
      }, 1);
    }),
  );
}

describe('startControllers', () => {
  it('runs the kubia walkthrough: RC + Service ⇒ spread pods ⇒ endpoints and slices; deleting the RC empties them', async () => {
    const client = new TestClient();
    for (const n of ['node-1', 'node-2', 'node-3']) client.create(R.nodes, makeNode(n, { heartbeat: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }));
    nodeAgents(client);
    const running = startControllers(client, log, { resyncPeriodMs: 0 });
    stopLater(() => running.stop());
    client.create<ReplicationController>(R.replicationControllers, {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'kubia', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { app: 'kubia' },
        template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }] }] } },
      },
    });
    client.create(R.services, makeService('kubia', { selector: { app: 'kubia' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] }));

    await eventually(() => {
      const ep = client.get<Endpoints>(R.endpoints, 'default', 'kubia')!;
      expect(ep.subsets?.[0]?.addresses).toHaveLength(3);
      expect(ep.subsets![0]!.ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    });
    const pods = client.list<Pod>(R.pods).items;
    expect(new Set(pods.map((p) => p.spec.nodeName))).toEqual(new Set(['node-1', 'node-2', 'node-3']));
    const slices = client.list<EndpointSlice>(R.endpointSlices, { labelSelector: 'kubernetes.io/service-name=kubia' }).items;
    expect(slices).toHaveLength(1);
    expect(slices[0]!.endpoints!.every((e) => e.conditions!.ready)).toBe(true);

    client.delete(R.replicationControllers, 'default', 'kubia');
    await eventually(() => {
      expect(client.list(R.pods).items).toHaveLength(0);
      expect(client.get<Endpoints>(R.endpoints, 'default', 'kubia')!.subsets).toBeUndefined();
      const s = client.list<EndpointSlice>(R.endpointSlices, { labelSelector: 'kubernetes.io/service-name=kubia' }).items;
      expect(s).toHaveLength(1);
      expect(s[0]!.endpoints).toEqual([]);
    });
    await running.idle();
  });

  it('can leave controllers out', () => {
    const running = startControllers(new TestClient(), log, { scheduler: false, nodeLifecycle: false, resyncPeriodMs: 0 });
    stopLater(() => running.stop());
    expect(Object.keys(running.controllers).sort()).toEqual(['deployments', 'endpointSliceMirroring', 'endpointSlices', 'endpoints', 'garbageCollector', 'replication', 'serviceAccounts']);
  });
});
