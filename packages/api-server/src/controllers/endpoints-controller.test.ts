import { describe, expect, it } from 'vitest';
import type { Endpoints, Pod } from '@kubemu/api';
import { EndpointsController } from './endpoints-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, makeNode, makePod, makeService, readyCondition, settle, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

function setup(opts: ConstructorParameters<typeof EndpointsController>[2] = {}) {
  const client = new TestClient();
  const ctrl = new EndpointsController(client, log, { resyncPeriodMs: 0, ...opts });
  stopLater(() => ctrl.stop());
  const ep = (name: string, ns = 'default') => client.get<Endpoints>(R.endpoints, ns, name);
  return { client, ctrl, ep };
}

const ips = (addrs: { ip: string }[] | undefined) => (addrs ?? []).map((a) => a.ip);

describe('EndpointsController', () => {
  it('puts ready pods in addresses and unready ones in notReadyAddresses, with the resolved port', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('kubia', { selector: { app: 'kubia' } }, { labels: { team: 'a' } }));
    const p1 = client.addPod(makePod('kubia-1', { labels: { app: 'kubia' }, ip: '10.244.1.5', nodeName: 'node-1' }));
    client.addPod(makePod('kubia-2', { labels: { app: 'kubia' }, ip: '10.244.2.5', nodeName: 'node-2' }));
    client.addPod(makePod('kubia-3', { labels: { app: 'kubia' }, ip: '10.244.3.5', ready: false }));
    client.addPod(makePod('other', { labels: { app: 'other' }, ip: '10.244.3.9' }));
    client.addPod(makePod('no-ip', { labels: { app: 'kubia' } }));
    ctrl.start();
    await eventually(() => {
      const e = ep('kubia')!;
      expect(e.subsets).toHaveLength(1);
      expect(ips(e.subsets![0]!.addresses)).toEqual(['10.244.1.5', '10.244.2.5']);
      expect(ips(e.subsets![0]!.notReadyAddresses)).toEqual(['10.244.3.5']);
      expect(e.subsets![0]!.ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    });
    const e = ep('kubia')!;
    expect(e.metadata.labels).toEqual({ team: 'a', 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' });
    expect(e.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toBeTruthy();
    expect(e.subsets![0]!.addresses![0]).toEqual({
      ip: '10.244.1.5',
      nodeName: 'node-1',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'kubia-1', uid: p1.metadata.uid },
    });
  });

  it('moves a pod between addresses and notReadyAddresses when its readiness flips', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('kubia', { selector: { app: 'kubia' } }));
    client.addPod(makePod('kubia-1', { labels: { app: 'kubia' }, ip: '10.244.1.5' }));
    ctrl.start();
    await eventually(() => expect(ips(ep('kubia')!.subsets?.[0]?.addresses)).toEqual(['10.244.1.5']));
    const pod = client.get<Pod>(R.pods, 'default', 'kubia-1')!;
    pod.status!.conditions = [readyCondition(false)];
    client.updateStatus(R.pods, pod);
    await eventually(() => {
      const s = ep('kubia')!.subsets![0]!;
      expect(s.addresses).toBeUndefined();
      expect(ips(s.notReadyAddresses)).toEqual(['10.244.1.5']);
    });
    pod.status!.conditions = [readyCondition(true)];
    delete pod.metadata.resourceVersion;
    client.updateStatus(R.pods, pod);
    await eventually(() => expect(ips(ep('kubia')!.subsets?.[0]?.addresses)).toEqual(['10.244.1.5']));
  });

  it('resolves a named targetPort per pod by name and protocol, splitting subsets', async () => {
    const { client, ctrl, ep } = setup();
    client.create(
      R.services,
      makeService('web', {
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
          { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP' },
        ],
      }),
    );
    client.addPod(makePod('a', { labels: { app: 'web' }, ip: '10.0.0.1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] }));
    client.addPod(makePod('b', { labels: { app: 'web' }, ip: '10.0.0.2', ports: [{ name: 'http', containerPort: 9090 }] }));
    // "dns" exists only as TCP here: the UDP service port does not resolve on this pod.
    client.addPod(makePod('c', { labels: { app: 'web' }, ip: '10.0.0.3', ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'TCP' }] }));
    client.addPod(makePod('d', { labels: { app: 'web' }, ip: '10.0.0.4', ports: [] }));
    ctrl.start();
    await eventually(() => {
      const subsets = ep('web')!.subsets!;
      // RepackSubsets: ports offered by exactly the same addresses share a subset.
      expect(subsets.map((s) => ({ ips: ips(s.addresses), ports: s.ports }))).toEqual([
        { ips: ['10.0.0.1'], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] },
        { ips: ['10.0.0.1', '10.0.0.3'], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
        { ips: ['10.0.0.2'], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
      ]);
    });
  });

  it('leaves out terminating and finished pods, unless publishNotReadyAddresses keeps terminating ones', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('s', { selector: { app: 's' } }));
    client.create(R.services, makeService('pnra', { selector: { app: 's' }, publishNotReadyAddresses: true }));
    client.create(R.nodes, makeNode('n1'));
    client.addPod(makePod('running', { labels: { app: 's' }, ip: '10.0.0.1', nodeName: 'n1' }));
    client.addPod(makePod('unready', { labels: { app: 's' }, ip: '10.0.0.2', ready: false }));
    client.addPod(makePod('done', { labels: { app: 's' }, ip: '10.0.0.3', phase: 'Succeeded' }));
    client.addPod(makePod('evicted', { labels: { app: 's' }, ip: '10.0.0.4', phase: 'Failed' }));
    client.addPod(makePod('leaving', { labels: { app: 's' }, ip: '10.0.0.5', nodeName: 'n1' }));
    client.delete(R.pods, 'default', 'leaving'); // scheduled ⇒ graceful ⇒ Terminating
    expect(client.get<Pod>(R.pods, 'default', 'leaving')!.metadata.deletionTimestamp).toBeTruthy();
    ctrl.start();
    await eventually(() => {
      const s = ep('s')!.subsets!;
      expect(s).toHaveLength(1);
      expect(ips(s[0]!.addresses)).toEqual(['10.0.0.1']);
      expect(ips(s[0]!.notReadyAddresses)).toEqual(['10.0.0.2']);
      const p = ep('pnra')!.subsets!;
      expect(p).toHaveLength(1);
      expect(ips(p[0]!.addresses)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.5']);
      expect(p[0]!.notReadyAddresses).toBeUndefined();
    });
  });

  it('gives a headless Service without ports a port-less subset and the headless label', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('hl', { selector: { app: 'db' }, clusterIP: 'None', ports: [] }));
    client.addPod(makePod('db-0', { labels: { app: 'db' }, ip: '10.0.0.7', hostname: 'db-0', subdomain: 'hl' }));
    client.addPod(makePod('db-1', { labels: { app: 'db' }, ip: '10.0.0.8', hostname: 'db-1', subdomain: 'other' }));
    ctrl.start();
    await eventually(() => {
      const e = ep('hl')!;
      expect(e.metadata.labels?.['service.kubernetes.io/headless']).toBe('');
      expect(e.subsets).toHaveLength(1);
      expect(e.subsets![0]!.ports).toBeUndefined();
      expect(e.subsets![0]!.addresses!.map((a) => [a.ip, a.hostname])).toEqual([
        ['10.0.0.7', 'db-0'],
        ['10.0.0.8', undefined],
      ]);
    });
  });

  it('keeps an Endpoints object without subsets when nothing matches, and deletes it with the Service', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('lonely', { selector: { app: 'none' } }));
    ctrl.start();
    await eventually(() => expect(ep('lonely')).toBeDefined());
    expect(ep('lonely')!.subsets).toBeUndefined();
    client.delete(R.services, 'default', 'lonely');
    await eventually(() => expect(ep('lonely')).toBeUndefined());
  });

  it('never touches Endpoints of selector-less or ExternalName Services', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('external-service', { selector: undefined }));
    client.create(R.services, makeService('ext', { type: 'ExternalName', externalName: 'example.com', selector: { app: 'x' } }));
    client.addPod(makePod('x', { labels: { app: 'x' }, ip: '10.0.0.1' }));
    const user: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'external-service', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '11.11.11.11' }, { ip: '22.22.22.22' }], ports: [{ port: 80, protocol: 'TCP' }] }],
    };
    client.create(R.endpoints, user);
    ctrl.start();
    await settle(50);
    await ctrl.idle();
    expect(ep('external-service')!.subsets).toEqual(user.subsets);
    expect(ep('ext')).toBeUndefined();
  });

  it('follows label changes and recreates a deleted Endpoints', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('kubia', { selector: { app: 'kubia' } }));
    client.addPod(makePod('p', { labels: { app: 'kubia' }, ip: '10.0.0.1' }));
    ctrl.start();
    await eventually(() => expect(ips(ep('kubia')!.subsets?.[0]?.addresses)).toEqual(['10.0.0.1']));
    const pod = client.get<Pod>(R.pods, 'default', 'p')!;
    pod.metadata.labels = { app: 'other' };
    client.update(R.pods, pod);
    await eventually(() => expect(ep('kubia')!.subsets).toBeUndefined());
    client.delete(R.endpoints, 'default', 'kubia');
    await eventually(() => expect(ep('kubia')).toBeDefined());
  });

  it('does not rewrite the Endpoints when nothing it shows changed', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.services, makeService('kubia', { selector: { app: 'kubia' } }));
    client.addPod(makePod('p', { labels: { app: 'kubia' }, ip: '10.0.0.1' }));
    ctrl.start();
    await eventually(() => expect(ep('kubia')!.subsets).toHaveLength(1));
    await ctrl.idle();
    const rv = ep('kubia')!.metadata.resourceVersion;
    const pod = client.get<Pod>(R.pods, 'default', 'p')!;
    pod.metadata.annotations = { note: 'irrelevant' };
    client.update(R.pods, pod);
    ctrl.resyncNow();
    await settle(30);
    await ctrl.idle();
    expect(ep('kubia')!.metadata.resourceVersion).toBe(rv);
  });

  it('truncates over capacity, ready addresses first, and annotates it', async () => {
    const { client, ctrl, ep } = setup({ maxCapacity: 3 });
    client.create(R.services, makeService('big', { selector: { app: 'big' } }));
    for (let i = 1; i <= 4; i++) client.addPod(makePod(`r${i}`, { labels: { app: 'big' }, ip: `10.0.1.${i}` }));
    for (let i = 1; i <= 2; i++) client.addPod(makePod(`u${i}`, { labels: { app: 'big' }, ip: `10.0.2.${i}`, ready: false }));
    ctrl.start();
    await eventually(() => {
      const e = ep('big')!;
      expect(e.metadata.annotations?.['endpoints.kubernetes.io/over-capacity']).toBe('truncated');
      expect(ips(e.subsets![0]!.addresses)).toEqual(['10.0.1.1', '10.0.1.2', '10.0.1.3']);
      expect(e.subsets![0]!.notReadyAddresses).toBeUndefined();
    });
    for (let i = 2; i <= 4; i++) client.delete(R.pods, 'default', `r${i}`);
    await eventually(() => {
      const e = ep('big')!;
      expect(e.metadata.annotations?.['endpoints.kubernetes.io/over-capacity']).toBeUndefined();
      expect(ips(e.subsets![0]!.addresses)).toEqual(['10.0.1.1']);
      expect(ips(e.subsets![0]!.notReadyAddresses)).toEqual(['10.0.2.1', '10.0.2.2']);
    });
  });

  it('deletes leftover controller-managed Endpoints whose Service is gone, at start', async () => {
    const { client, ctrl, ep } = setup();
    client.create(R.endpoints, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'stale', namespace: 'default', labels: { 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' } } });
    client.create(R.endpoints, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'users', namespace: 'default' } });
    ctrl.start();
    await eventually(() => expect(ep('stale')).toBeUndefined());
    expect(ep('users')).toBeDefined();
  });
});
