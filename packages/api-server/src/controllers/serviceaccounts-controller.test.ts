import { describe, expect, it } from 'vitest';
import { ServiceAccountsController } from './serviceaccounts-controller.js';
import { R } from './resources.js';
import { TestClient } from '../testing/test-client.js';
import { eventually, settle, stopAfterEach, testLogger } from '../testing/controllers.js';

const log = testLogger();
const stopLater = stopAfterEach();

function setup() {
  const client = new TestClient();
  const ctrl = new ServiceAccountsController(client, log, { resyncPeriodMs: 0 });
  stopLater(() => ctrl.stop());
  const sa = (ns: string, name = 'default') => client.get(R.serviceAccounts, ns, name);
  return { client, ctrl, sa };
}

describe('ServiceAccountsController', () => {
  it('gives every existing namespace a default ServiceAccount at start', async () => {
    const { ctrl, sa } = setup();
    expect(sa('default')).toBeUndefined();
    ctrl.start();
    await eventually(() => {
      expect(sa('default')?.metadata.namespace).toBe('default');
      expect(sa('kube-system')).toBeDefined();
    });
  });

  it('gives a new namespace one, and makes it again when it is deleted', async () => {
    const { client, ctrl, sa } = setup();
    ctrl.start();
    client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    await eventually(() => expect(sa('team-a')).toBeDefined());
    const uid = sa('team-a')!.metadata.uid;
    client.delete(R.serviceAccounts, 'team-a', 'default');
    await eventually(() => expect(sa('team-a')?.metadata.uid).toBeDefined());
    expect(sa('team-a')!.metadata.uid).not.toBe(uid);
  });

  it('leaves other service accounts alone and makes none in a terminating namespace', async () => {
    const { client, ctrl, sa } = setup();
    client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'going' } });
    client.delete(R.namespaces, undefined, 'going');
    client.create(R.serviceAccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'default' } });
    ctrl.start();
    await eventually(() => expect(sa('default')).toBeDefined());
    client.delete(R.serviceAccounts, 'default', 'builder');
    await ctrl.idle();
    await settle();
    expect(sa('default', 'builder')).toBeUndefined();
    expect(sa('going')).toBeUndefined();
  });
});
