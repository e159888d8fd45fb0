import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { SERVICE_ACCOUNT_ISSUER, ServiceAccountTokens } from './service-account-tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'kubemu-sa-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let nowMs = Date.parse('2025-06-01T00:00:00Z');
const tokens = ServiceAccountTokens.loadOrCreate(dir, { now: () => new Date(nowMs) });
const sa = { name: 'default', uid: 'sa-uid' };

describe('ServiceAccountTokens', () => {
  it('keeps its key in the PKI directory (sa.key, sa.pub) and loads the same key again', async () => {
    expect(readFileSync(join(dir, 'sa.key'), 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    expect(readFileSync(join(dir, 'sa.pub'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    const { token } = await tokens.issue({ namespace: 'default', serviceAccount: sa, audiences: [], expirationSeconds: 3600 });
    const again = ServiceAccountTokens.loadOrCreate(dir, { now: () => new Date(nowMs) });
    expect(await again.verify(token)).toBeDefined();
  });

  it("signs Kubernetes' claims: iss, sub, aud, exp/iat/nbf, jti and kubernetes.io", async () => {
    const { token, expirationTimestamp } = await tokens.issue({
      namespace: 'apps',
      serviceAccount: sa,
      pod: { name: 'web-1', uid: 'pod-uid' },
      node: { name: 'node-1', uid: 'node-uid' },
      audiences: [],
      expirationSeconds: 3607,
    });
    const c = decodeJwt(token);
    const iat = Math.floor(nowMs / 1000);
    expect(c).toMatchObject({
      iss: SERVICE_ACCOUNT_ISSUER,
      sub: 'system:serviceaccount:apps:default',
      aud: [SERVICE_ACCOUNT_ISSUER],
      iat,
      nbf: iat,
      exp: iat + 3607,
      'kubernetes.io': { namespace: 'apps', serviceaccount: sa, pod: { name: 'web-1', uid: 'pod-uid' }, node: { name: 'node-1', uid: 'node-uid' } },
    });
    expect(c.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', kid: expect.stringMatching(/^[\w-]{43}$/) });
    expect(expirationTimestamp.getTime()).toBe((iat + 3607) * 1000);
  });

  it('verifies only unexpired tokens of its own key, issuer and audiences', async () => {
    const { token } = await tokens.issue({ namespace: 'default', serviceAccount: sa, audiences: [], expirationSeconds: 600 });
    expect((await tokens.verify(token))?.['kubernetes.io'].serviceaccount).toEqual(sa);
    const other = await tokens.issue({ namespace: 'default', serviceAccount: sa, audiences: ['vault'], expirationSeconds: 600 });
    expect(await tokens.verify(other.token)).toBeUndefined();
    const [h, p, s] = token.split('.');
    expect(await tokens.verify(`${h}.${p}.${s!.slice(0, -4)}AAAA`)).toBeUndefined();
    expect(await tokens.verify('garbage')).toBeUndefined();
    const foreign = new ServiceAccountTokens((await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    expect(await tokens.verify((await foreign.issue({ namespace: 'default', serviceAccount: sa, audiences: [], expirationSeconds: 600 })).token)).toBeUndefined();
    nowMs += 601_000;
    expect(await tokens.verify(token)).toBeUndefined();
  });
});
