import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { ApiError, type Pod } from '@kubemu/api';
import { Registry, RES } from './registry.js';
import { bootstrap } from '../system/bootstrap.js';
import { TokenRequests } from './token-requests.js';
import { ServiceAccountTokens } from '../security/service-account-tokens.js';
import { Authenticator } from '../security/authenticator.js';

const dir = mkdtempSync(join(tmpdir(), 'kubemu-tr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saTokens = ServiceAccountTokens.loadOrCreate(dir);

function setup() {
  const reg = Registry.inMemory({ serviceAccountAdmission: true });
  bootstrap(reg, { ip: '172.30.0.2', port: 6443 });
  reg.create(RES.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'default' } });
  const tr = new TokenRequests(reg, saTokens);
  const auth = new Authenticator({ staticTokens: { admin: { username: 'admin' } }, serviceAccountTokens: saTokens, objects: { get: (k, ns, n) => reg.get(RES[k]!, ns, n) } });
  const pod = (name: string, sa?: string): Pod =>
    reg.create<Pod>(RES.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...(sa ? { serviceAccountName: sa } : {}) } });
  return { reg, tr, auth, pod };
}

async function rejected(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

const body = (spec: object = {}) => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });

describe('TokenRequests', () => {
  it('answers with the token, an hour by default, for the API audience', async () => {
    const { tr, reg } = setup();
    const out = await tr.create('default', 'default', body());
    const sa = reg.get(RES.serviceaccounts, 'default', 'default')!;
    expect(out.metadata).toMatchObject({ name: 'default', namespace: 'default', uid: sa.metadata.uid });
    expect(out.spec).toEqual({ audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600, boundObjectRef: null });
    const c = decodeJwt(out.status!.token);
    expect(c.exp! - c.iat!).toBe(3600);
    expect(Date.parse(out.status!.expirationTimestamp)).toBe(c.exp! * 1000);
    expect(c['kubernetes.io']).toEqual({ namespace: 'default', serviceaccount: { name: 'default', uid: sa.metadata.uid } });
  });

  it('refuses lifetimes under 10 minutes and unknown service accounts, as kube-apiserver does', async () => {
    const { tr } = setup();
    const e = await rejected(tr.create('default', 'default', body({ expirationSeconds: 599 })));
    expect(e.code).toBe(422);
    expect(e.message).toBe('TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes');
    const nf = await rejected(tr.create('default', 'nobody', body()));
    expect([nf.code, nf.message]).toEqual([404, 'serviceaccounts "nobody" not found']);
  });

  it('binds to a pod of that service account (with its node), checking the uid', async () => {
    const { tr, pod, reg } = setup();
    const p = pod('web');
    expect(p.spec.serviceAccountName).toBe('default');
    const out = await tr.create('default', 'default', body({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: p.metadata.uid } }));
    expect(decodeJwt(out.status!.token)['kubernetes.io']).toMatchObject({ pod: { name: 'web', uid: p.metadata.uid } });
    const conflict = await rejected(tr.create('default', 'default', body({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'other' } })));
    expect(conflict.code).toBe(409);
    expect(conflict.message).toMatch(/^Operation cannot be fulfilled on Pod "web": the UID in the bound object reference \(other\) does not match/);
    reg.create(RES.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'default' } });
    const wrong = await rejected(tr.create('default', 'builder', body({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web' } })));
    expect([wrong.code, wrong.message]).toEqual([400, 'cannot bind token for serviceaccount "builder" to pod running with different serviceaccount name.']);
    const kind = await rejected(tr.create('default', 'default', body({ boundObjectRef: { kind: 'Deployment', apiVersion: 'apps/v1', name: 'x' } })));
    expect([kind.code, kind.message]).toEqual([400, 'cannot bind token to object of type apps/v1, Kind=Deployment']);
    const gone = await rejected(tr.create('default', 'default', body({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'nope' } })));
    expect(gone.code).toBe(404);
  });

  it('tokens authenticate while their service account and bound pod live, with the same uids', async () => {
    const { tr, pod, reg, auth } = setup();
    pod('web');
    const plain = (await tr.create('default', 'default', body())).status!.token;
    const bound = (await tr.create('default', 'default', body({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web' } }))).status!.token;
    expect(await auth.authenticate(plain)).toEqual({ username: 'system:serviceaccount:default:default', uid: expect.any(String) });
    expect(await auth.authenticate(bound)).toBeDefined();
    expect(await auth.authenticate('admin')).toEqual({ username: 'admin' });
    expect(await auth.authenticate('nope')).toBeUndefined();
    reg.delete(RES.pods, 'default', 'web', { gracePeriodSeconds: 0 });
    pod('web'); // same name, new uid
    expect(await auth.authenticate(bound)).toBeUndefined();
    expect(await auth.authenticate(plain)).toBeDefined();
    reg.delete(RES.serviceaccounts, 'default', 'default');
    expect(await auth.authenticate(plain)).toBeUndefined();
    reg.create(RES.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'default' } });
    expect(await auth.authenticate(plain)).toBeUndefined();
  });
});

describe('ServiceAccount admission', () => {
  it("gives pods the default service account, mirrored in the deprecated serviceAccount, and refuses one that does not exist", () => {
    const { pod, reg } = setup();
    expect(pod('a').spec).toMatchObject({ serviceAccountName: 'default', serviceAccount: 'default' });
    let err: unknown;
    try {
      pod('b', 'robot');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect([(err as ApiError).code, (err as ApiError).message]).toEqual([403, 'pods "b" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found']);
    reg.create(RES.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot', namespace: 'default' } });
    expect(pod('b', 'robot').spec.serviceAccount).toBe('robot');
  });
});
