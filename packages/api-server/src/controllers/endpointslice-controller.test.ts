import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Pod } from '@kubemu/api';
import { EndpointSliceController } from './endpointslice-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, makeNode, makePod, makeService, readyCondition, settle, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

function setup(opts: ConstructorParameters<typeof EndpointSliceController>[2] = {}) {
  const client = new TestClient();
  const ctrl = new EndpointSliceController(client, log, { resyncPeriodMs: 0, ...opts });
  stopLater(() => ctrl.stop());
  const slices = (svc: string) =>
    client.list<EndpointSlice>(R.endpointSlices, { namespace: 'default', labelSelector: `kubernetes.io/service-name=${svc}` }).items;
  return { client, ctrl, slices };
}

const addrs = (s: EndpointSlice) => (s.endpoints ?? []).map((e) => e.addresses[0]);

describe('EndpointSliceController', () => {
  it('writes one IPv4 slice owned by the Service, with per-endpoint conditions', async () => {
    const { client, ctrl, slices } = setup();
    const svc = client.create(R.services, makeService('kubia', { selector: { app: 'kubia' } }, { labels: { team: 'a' } }));
    client.create(R.nodes, makeNode('node-1', { labels: { 'topology.kubernetes.io/zone': 'zone-a' } }));
    const p1 = client.addPod(makePod('kubia-1', { labels: { app: 'kubia' }, ip: '10.244.1.5', nodeName: 'node-1' }));
    client.addPod(makePod('kubia-2', { labels: { app: 'kubia' }, ip: '10.244.2.5' }));
    client.addPod(makePod('kubia-3', { labels: { app: 'kubia' }, ip: '10.244.3.5', ready: false }));
    ctrl.start();
    await eventually(() => {
      const [s, ...rest] = slices('kubia');
      expect(rest).toHaveLength(0);
      expect(addrs(s!)).toEqual(['10.244.1.5', '10.244.2.5', '10.244.3.5']);
    });
    const s = slices('kubia')[0]!;
    expect(s.metadata.name).toMatch(/^kubia-[a-z0-9]{5}$/);
    expect(s.metadata.generateName).toBe('kubia-');
    expect(s.addressType).toBe('IPv4');
    expect(s.metadata.labels).toEqual({
      team: 'a',
      'kubernetes.io/service-name': 'kubia',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(s.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Service', name: 'kubia', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(s.ports).toEqual([{ name: '', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints![0]).toEqual({
      addresses: ['10.244.1.5'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-1',
      zone: 'zone-a',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'kubia-1', uid: p1.metadata.uid },
    });
    expect(s.endpoints![2]!.conditions).toEqual({ ready: false, serving: false, terminating: false });
  });

  it('keeps exactly one empty slice for a Service without pods, and reuses it when pods come', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('lonely', { selector: { app: 'lonely' } }));
    ctrl.start();
    await eventually(() => expect(slices('lonely')).toHaveLength(1));
    const empty = slices('lonely')[0]!;
    expect(empty.endpoints).toEqual([]);
    expect(empty.ports).toEqual([]);
    client.addPod(makePod('p', { labels: { app: 'lonely' }, ip: '10.0.0.1' }));
    await eventually(() => {
      const all = slices('lonely');
      expect(all).toHaveLength(1);
      expect(addrs(all[0]!)).toEqual(['10.0.0.1']);
      expect(all[0]!.metadata.name).toBe(empty.metadata.name);
    });
    client.delete(R.pods, 'default', 'p');
    await eventually(() => {
      const all = slices('lonely');
      expect(all).toHaveLength(1);
      expect(all[0]!.endpoints).toEqual([]);
      expect(all[0]!.ports).toEqual([]);
    });
  });

  it('splits pods whose named port resolves differently into separate slices', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] }));
    client.addPod(makePod('a', { labels: { app: 'web' }, ip: '10.0.0.1', ports: [{ name: 'http', containerPort: 3000 }] }));
    client.addPod(makePod('b', { labels: { app: 'web' }, ip: '10.0.0.2', ports: [{ name: 'http', containerPort: 3001 }] }));
    ctrl.start();
    await eventually(() => {
      const all = slices('web').map((s) => ({ addrs: addrs(s), ports: s.ports }));
      all.sort((x, y) => x.addrs[0]!.localeCompare(y.addrs[0]!));
      expect(all).toEqual([
        { addrs: ['10.0.0.1'], ports: [{ name: 'http', port: 3000, protocol: 'TCP' }] },
        { addrs: ['10.0.0.2'], ports: [{ name: 'http', port: 3001, protocol: 'TCP' }] },
      ]);
    });
  });

  it('keeps terminating pods with terminating=true; publishNotReadyAddresses makes everything ready', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('s', { selector: { app: 's' } }));
    client.create(R.services, makeService('pnra', { selector: { app: 's' }, publishNotReadyAddresses: true }));
    client.create(R.nodes, makeNode('n1'));
    client.addPod(makePod('leaving', { labels: { app: 's' }, ip: '10.0.0.5', nodeName: 'n1' }));
    client.addPod(makePod('unready', { labels: { app: 's' }, ip: '10.0.0.6', ready: false }));
    client.addPod(makePod('evicted', { labels: { app: 's' }, ip: '10.0.0.7', phase: 'Failed' }));
    client.delete(R.pods, 'default', 'leaving');
    ctrl.start();
    await eventually(() => {
      const s = slices('s')[0]!;
      expect(s.endpoints!.map((e) => [e.addresses[0], e.conditions])).toEqual([
        ['10.0.0.5', { ready: false, serving: true, terminating: true }],
        ['10.0.0.6', { ready: false, serving: false, terminating: false }],
      ]);
      const p = slices('pnra')[0]!;
      expect(p.endpoints!.map((e) => e.conditions!.ready)).toEqual([true, true]);
    });
  });

  it('caps slices at maxEndpointsPerSlice', async () => {
    const { client, ctrl, slices } = setup({ maxEndpointsPerSlice: 3 });
    client.create(R.services, makeService('big', { selector: { app: 'big' } }));
    for (let i = 1; i <= 7; i++) client.addPod(makePod(`p${i}`, { labels: { app: 'big' }, ip: `10.0.0.${i}` }));
    ctrl.start();
    await eventually(() => {
      const sizes = slices('big').map((s) => s.endpoints!.length).sort();
      expect(sizes).toEqual([1, 3, 3]);
    });
    const all = new Set(slices('big').flatMap(addrs));
    expect(all.size).toBe(7);
  });

  it('updates a slice in place when readiness flips, and writes nothing when nothing changed', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('kubia', { selector: { app: 'kubia' } }));
    client.addPod(makePod('p', { labels: { app: 'kubia' }, ip: '10.0.0.1' }));
    ctrl.start();
    await eventually(() => expect(addrs(slices('kubia')[0]!)).toEqual(['10.0.0.1']));
    const before = slices('kubia')[0]!;
    const pod = client.get<Pod>(R.pods, 'default', 'p')!;
    pod.status!.conditions = [readyCondition(false)];
    client.updateStatus(R.pods, pod);
    await eventually(() => expect(slices('kubia')[0]!.endpoints![0]!.conditions!.ready).toBe(false));
    expect(slices('kubia')[0]!.metadata.name).toBe(before.metadata.name);
    await ctrl.idle();
    const rv = slices('kubia')[0]!.metadata.resourceVersion;
    ctrl.resyncNow();
    await settle(30);
    await ctrl.idle();
    expect(slices('kubia')[0]!.metadata.resourceVersion).toBe(rv);
  });

  it('recreates a deleted managed slice and removes slices of deleted Services', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('kubia', { selector: { app: 'kubia' }, clusterIP: 'None' }));
    client.addPod(makePod('p', { labels: { app: 'kubia' }, ip: '10.0.0.1' }));
    ctrl.start();
    await eventually(() => expect(slices('kubia')).toHaveLength(1));
    expect(slices('kubia')[0]!.metadata.labels?.['service.kubernetes.io/headless']).toBe('');
    const first = slices('kubia')[0]!;
    client.delete(R.endpointSlices, 'default', first.metadata.name!);
    await eventually(() => {
      const all = slices('kubia');
      expect(all).toHaveLength(1);
      expect(all[0]!.metadata.name).not.toBe(first.metadata.name);
      expect(addrs(all[0]!)).toEqual(['10.0.0.1']);
    });
    client.delete(R.services, 'default', 'kubia');
    await eventually(() => expect(slices('kubia')).toHaveLength(0));
  });

  it('leaves slices of other controllers alone and removes its own when the selector goes', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('svc', { selector: { app: 'x' } }));
    client.addPod(makePod('p', { labels: { app: 'x' }, ip: '10.0.0.1' }));
    const custom: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'svc-custom', namespace: 'default', labels: { 'kubernetes.io/service-name': 'svc', 'endpointslice.kubernetes.io/managed-by': 'me' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.9.9.9'] }],
      ports: [{ name: '', port: 80, protocol: 'TCP' }],
    };
    client.create(R.endpointSlices, custom);
    ctrl.start();
    await eventually(() => expect(slices('svc')).toHaveLength(2));
    const svc = client.get(R.services, 'default', 'svc')!;
    delete svc.spec.selector;
    client.update(R.services, svc);
    await eventually(() => expect(slices('svc').map((s) => s.metadata.name)).toEqual(['svc-custom']));
  });
});
