import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Endpoints } from '@kubemu/api';
import { EndpointSliceMirroringController } from './endpointslice-mirroring-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, makeService, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

function setup() {
  const client = new TestClient();
  const ctrl = new EndpointSliceMirroringController(client, log, { resyncPeriodMs: 0 });
  stopLater(() => ctrl.stop());
  const slices = (svc: string) =>
    client.list<EndpointSlice>(R.endpointSlices, { namespace: 'default', labelSelector: `kubernetes.io/service-name=${svc}` }).items;
  return { client, ctrl, slices };
}

const external = (ips: string[], extra: Partial<Endpoints> = {}): Endpoints => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'external-service', namespace: 'default', labels: { owner: 'me' } },
  subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port: 80 }] }],
  ...extra,
});

describe('EndpointSliceMirroringController', () => {
  it("mirrors a selector-less Service's hand-written Endpoints into a slice", async () => {
    const { client, ctrl, slices } = setup();
    const svc = client.create(R.services, makeService('external-service', { selector: undefined }));
    client.create(R.endpoints, external(['11.11.11.11', '22.22.22.22']));
    ctrl.start();
    await eventually(() => expect(slices('external-service')).toHaveLength(1));
    const s = slices('external-service')[0]!;
    expect(s.metadata.generateName).toBe('external-service-');
    expect(s.metadata.labels).toEqual({
      owner: 'me',
      'kubernetes.io/service-name': 'external-service',
      'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
    });
    expect(s.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'external-service', uid: svc.metadata.uid, controller: true });
    expect(s.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
    expect(s.endpoints).toEqual([
      { addresses: ['11.11.11.11'], conditions: { ready: true, serving: true, terminating: false } },
      { addresses: ['22.22.22.22'], conditions: { ready: true, serving: true, terminating: false } },
    ]);
  });

  it('follows edits, and removes the slices when the Endpoints go or the Service gets a selector', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('external-service', { selector: undefined }));
    client.create(R.endpoints, external(['11.11.11.11']));
    ctrl.start();
    await eventually(() => expect(slices('external-service')).toHaveLength(1));
    const ep = client.get<Endpoints>(R.endpoints, 'default', 'external-service')!;
    ep.subsets = [{ addresses: [{ ip: '33.33.33.33' }], notReadyAddresses: [{ ip: '44.44.44.44' }], ports: [{ port: 80 }] }];
    client.update(R.endpoints, ep);
    await eventually(() =>
      expect(slices('external-service')[0]!.endpoints!.map((e) => [e.addresses[0], e.conditions!.ready])).toEqual([
        ['33.33.33.33', true],
        ['44.44.44.44', false],
      ]),
    );
    client.delete(R.endpoints, 'default', 'external-service');
    await eventually(() => expect(slices('external-service')).toHaveLength(0));
    client.create(R.endpoints, external(['11.11.11.11']));
    await eventually(() => expect(slices('external-service')).toHaveLength(1));
    const svc = client.get(R.services, 'default', 'external-service')!;
    svc.spec.selector = { app: 'x' };
    client.update(R.services, svc);
    await eventually(() => expect(slices('external-service')).toHaveLength(0));
  });

  it('skips Endpoints labelled skip-mirror and Endpoints without a Service', async () => {
    const { client, ctrl, slices } = setup();
    client.create(R.services, makeService('external-service', { selector: undefined }));
    client.create(R.endpoints, { ...external(['1.2.3.4']), metadata: { name: 'external-service', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } } });
    client.create(R.endpoints, { ...external(['1.2.3.5']), metadata: { name: 'no-service', namespace: 'default' } });
    ctrl.start();
    await new Promise((r) => setTimeout(r, 30));
    await ctrl.idle();
    expect(slices('external-service')).toHaveLength(0);
    expect(slices('no-service')).toHaveLength(0);
  });
});
