import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Pod } from '@kubemu/api';
import { ServiceAccountVolume, shouldAutomount, tokenRefreshAt, TOKEN_EXPIRATION_SECONDS, type TokenFetcher } from './service-account-volume.js';

const root = mkdtempSync(join(tmpdir(), 'kubemu-sav-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => void vi.useRealTimers());

/** Lets real file I/O finish under fake timers: spins on setImmediate (not faked) until `read()` is `want`, up to 2 s. */
async function fileBecomes(path: string, want: string): Promise<string> {
  const t0 = performance.now();
  let got = '';
  while (performance.now() - t0 < 2000) {
    got = readFileSync(path, 'utf8');
    if (got === want) return got;
    await new Promise((r) => setImmediate(r));
  }
  return got;
}

const pod = (spec: Partial<Pod['spec']> = {}): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', uid: 'pod-uid' }, spec: { containers: [], serviceAccountName: 'builder', ...spec } });

describe('service account token volume', () => {
  it('automount: the pod says, else its service account, else yes', () => {
    expect(shouldAutomount(pod())).toBe(true);
    expect(shouldAutomount(pod(), { automountServiceAccountToken: false })).toBe(false);
    expect(shouldAutomount(pod({ automountServiceAccountToken: true }), { automountServiceAccountToken: false })).toBe(true);
    expect(shouldAutomount(pod({ automountServiceAccountToken: false }), { automountServiceAccountToken: true })).toBe(false);
  });

  it("refreshes once 80 % of the lifetime has passed (less the jitter), or after 24 h", () => {
    const exp = 1_000_000_000;
    expect(tokenRefreshAt(exp, 3600, 0)).toBe(exp - 720_000);
    expect(tokenRefreshAt(exp, 3600, 5000)).toBe(exp - 725_000);
    expect(tokenRefreshAt(exp, 7 * 24 * 3600, 0)).toBe(exp - 7 * 24 * 3600_000 + 24 * 3600_000);
  });

  it('writes token, ca.crt and namespace, asks for a pod-bound token, and replaces the token before it expires', async () => {
    vi.useFakeTimers({ now: Date.parse('2025-06-01T00:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const calls: unknown[][] = [];
    let n = 0;
    const fetch: TokenFetcher = async (...args) => {
      calls.push(args);
      n++;
      return { token: `token-${n}`, expirationTimestamp: new Date(Date.now() + 3607_000).toISOString(), expirationSeconds: 3607 };
    };
    const dir = join(root, 'a');
    const vol = new ServiceAccountVolume({ dir, pod: pod(), caCert: 'CA PEM', fetch, random: () => 0 });
    await vol.setUp();
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('token-1');
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe('CA PEM');
    expect(readFileSync(join(dir, 'namespace'), 'utf8')).toBe('shop');
    expect(statSync(join(dir, 'token')).mode & 0o777).toBe(0o644);
    expect(calls[0]).toEqual(['shop', 'builder', { name: 'web', uid: 'pod-uid' }, TOKEN_EXPIRATION_SECONDS]);
    await vi.advanceTimersByTimeAsync(0.8 * 3607_000 - 1000);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('token-1');
    await vi.advanceTimersByTimeAsync(2000);
    expect(await fileBecomes(join(dir, 'token'), 'token-2')).toBe('token-2');
    vol.stop();
    await vi.advanceTimersByTimeAsync(3607_000);
    expect(n).toBe(2);
  });

  it('keeps the current token when a refresh fails, and retries with backoff', async () => {
    vi.useFakeTimers({ now: Date.parse('2025-06-01T00:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let n = 0;
    const errors: string[] = [];
    const fetch: TokenFetcher = async () => {
      n++;
      if (n === 2 || n === 3) throw new Error('api-server unreachable');
      return { token: `token-${n}`, expirationTimestamp: new Date(Date.now() + 600_000).toISOString(), expirationSeconds: 600 };
    };
    const dir = join(root, 'b');
    const vol = new ServiceAccountVolume({ dir, pod: pod(), caCert: 'CA', fetch, random: () => 0, onRefreshError: (e) => errors.push(e.message) });
    await vol.setUp();
    await vi.advanceTimersByTimeAsync(480_000);
    await vi.waitUntil(() => errors.length === 1, { interval: 1 });
    expect(errors).toEqual(['api-server unreachable']);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('token-1');
    await vi.advanceTimersByTimeAsync(1000);
    await vi.waitUntil(() => errors.length === 2, { interval: 1 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(await fileBecomes(join(dir, 'token'), 'token-4')).toBe('token-4');
    expect(errors).toHaveLength(2);
    vol.stop();
  });

  it('setUp fails (and schedules nothing) when no token can be had', async () => {
    const vol = new ServiceAccountVolume({ dir: join(root, 'c'), pod: pod(), caCert: 'CA', fetch: async () => Promise.reject(new Error('serviceaccounts "builder" not found')) });
    await expect(vol.setUp()).rejects.toThrow('serviceaccounts "builder" not found');
    expect(vol.token).toBeUndefined();
  });
});
