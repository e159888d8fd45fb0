import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCookie, rendezvous } from './affinity.js';
import type { Endpoint } from './endpoints.js';
import { ingress, service } from './testing/fixtures.js';
import { get, podSlices, startController, startPod, stopPod, tick, type Pod, type Started } from './testing/harness.js';

const AFF = 'nginx.ingress.kubernetes.io/';

describe('cookie helpers', () => {
  it('reads one cookie among many', () => {
    expect(readCookie('a=1; INGRESSCOOKIE=abc.def; b=2', 'INGRESSCOOKIE')).toBe('abc.def');
    expect(readCookie('INGRESSCOOKIEX=1;INGRESSCOOKIE="q"', 'INGRESSCOOKIE')).toBe('q');
    expect(readCookie('a=1', 'INGRESSCOOKIE')).toBeUndefined();
    expect(readCookie(undefined, 'x')).toBeUndefined();
  });
  it('rendezvous hashing moves only the keys of an endpoint that left', () => {
    const eps = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => ({ ip: '10.0.0.1', port: 8000 + i, pod: `p${i}`, key: `10.0.0.1:${8000 + i}`, token: `t${i}` }));
    const four = eps(4);
    const three = four.filter((e) => e.pod !== 'p3');
    let moved = 0;
    for (let k = 0; k < 400; k++) {
      const a = rendezvous(`key${k}`, four)!;
      const b = rendezvous(`key${k}`, three)!;
      if (a.pod !== 'p3') expect(b.pod).toBe(a.pod);
      else moved++;
    }
    expect(moved).toBeGreaterThan(50);
    expect(moved).toBeLessThan(150);
  });
});

describe('cookie affinity through the controller', () => {
  let pods: Pod[];
  let c: Started;

  beforeAll(async () => {
    pods = await Promise.all(['app-1', 'app-2', 'app-3'].map((n) => startPod(n)));
    c = await startController({
      ingresses: [
        ingress('balanced', [{ host: 'sticky.example', paths: [{ path: '/', service: 'app' }] }], { annotations: { [`${AFF}affinity`]: 'cookie' } }),
        ingress('persistent', [{ host: 'persist.example', paths: [{ path: '/shop', service: 'app' }] }], {
          annotations: {
            [`${AFF}affinity`]: 'cookie',
            [`${AFF}affinity-mode`]: 'persistent',
            [`${AFF}session-cookie-name`]: 'route',
            [`${AFF}session-cookie-max-age`]: '172800',
            [`${AFF}session-cookie-expires`]: '3600',
          },
        }),
        ingress('plain', [{ host: 'plain.example', paths: [{ path: '/', service: 'app' }] }]),
      ],
      services: [service('app', [{ name: 'http', port: 80 }])],
      slices: podSlices('app', 'http', pods),
    });
  });
  afterAll(async () => {
    await c.stop();
    await Promise.all(pods.map(stopPod));
  });

  const podOf = (body: string) => JSON.parse(body).pod as string;
  const cookiePair = (setCookie: string[] | undefined) => setCookie?.[0]?.split(';')[0];

  for (const [mode, host, name, path] of [
    ['balanced', 'sticky.example', 'INGRESSCOOKIE', '/'],
    ['persistent', 'persist.example', 'route', '/shop'],
  ] as const) {
    it(`${mode}: the first response sets the cookie, and 50 requests with it reach one pod`, async () => {
      const first = await get(c.httpPort, `${path}/x`, { host });
      const set = first.headers['set-cookie'];
      expect(set).toHaveLength(1);
      expect(set![0]).toMatch(new RegExp(`^${name}=[^;]+; Path=${path}`));
      expect(set![0]).toContain('HttpOnly');
      if (mode === 'persistent') {
        expect(set![0]).toContain('Max-Age=172800');
        expect(set![0]).toMatch(/Expires=\w{3}, \d{2} \w{3} \d{4}/);
      }
      const cookie = cookiePair(set)!;
      const pinned = podOf(first.body);
      for (let i = 0; i < 50; i++) {
        const r = await get(c.httpPort, `${path}/x`, { host, headers: { cookie } });
        expect(podOf(r.body)).toBe(pinned);
        expect(r.headers['set-cookie']).toBeUndefined();
      }
    });

    it(`${mode}: requests without the cookie spread over the pods`, async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add(podOf((await get(c.httpPort, `${path}/x`, { host })).body));
      expect(seen.size).toBeGreaterThan(1);
    });

    it(`${mode}: a cookie naming a pod that left moves the client and re-sets the cookie`, async () => {
      const first = await get(c.httpPort, `${path}/x`, { host });
      const cookie = cookiePair(first.headers['set-cookie'])!;
      const pinned = podOf(first.body);
      c.cluster.endpointSlices.delete('default', `app-${pinned}`);
      await tick();
      try {
        const moved = await get(c.httpPort, `${path}/x`, { host, headers: { cookie } });
        expect(podOf(moved.body)).not.toBe(pinned);
        const next = cookiePair(moved.headers['set-cookie']);
        expect(next).toBeDefined();
        expect(next).not.toBe(cookie);
        for (let i = 0; i < 20; i++) expect(podOf((await get(c.httpPort, `${path}/x`, { host, headers: { cookie: next! } })).body)).toBe(podOf(moved.body));
      } finally {
        for (const s of podSlices('app', 'http', pods)) c.cluster.endpointSlices.set(s);
        await tick();
      }
    });
  }

  const recordOf = (id: string) => c.access.find((r) => r.requestId === id);

  for (const [mode, ing, host, name, path] of [
    ['balanced', 'balanced', 'sticky.example', 'INGRESSCOOKIE', '/'],
    ['persistent', 'persistent', 'persist.example', 'route', '/shop'],
  ] as const) {
    it(`${mode}: the access record names the rule, the Service, and the pod the cookie pins: new, then honoured, then reissued when that pod left`, async () => {
      const first = await get(c.httpPort, `${path}/x`, { host, headers: { 'x-request-id': `rec-${mode}-1` } });
      const cookie = cookiePair(first.headers['set-cookie'])!;
      const pinned = podOf(first.body);
      const r1 = recordOf(`rec-${mode}-1`)!;
      expect(r1).toMatchObject({ ingress: `default/${ing}`, rule: { host, path, pathType: 'Prefix' }, service: 'default/app:80', upstream: pinned });
      expect(r1.affinity).toEqual({ cookie: name, mode, state: 'new', value: cookie.slice(name.length + 1), pod: pinned, addr: r1.upstreamAddr });
      await get(c.httpPort, `${path}/x`, { host, headers: { cookie, 'x-request-id': `rec-${mode}-2` } });
      expect(recordOf(`rec-${mode}-2`)!.affinity).toMatchObject({ state: 'honoured', value: cookie.slice(name.length + 1), pod: pinned });
      c.cluster.endpointSlices.delete('default', `app-${pinned}`);
      await tick();
      try {
        const moved = await get(c.httpPort, `${path}/x`, { host, headers: { cookie, 'x-request-id': `rec-${mode}-3` } });
        const next = cookiePair(moved.headers['set-cookie'])!;
        expect(recordOf(`rec-${mode}-3`)!.affinity).toMatchObject({ state: 'reissued', value: next.slice(name.length + 1), pod: podOf(moved.body) });
      } finally {
        for (const s of podSlices('app', 'http', pods)) c.cluster.endpointSlices.set(s);
        await tick();
      }
    });
  }

  it('without affinity the access record has the rule and no affinity', async () => {
    await get(c.httpPort, '/', { host: 'plain.example', headers: { 'x-request-id': 'rec-plain' } });
    const r = recordOf('rec-plain')!;
    expect(r).toMatchObject({ ingress: 'default/plain', rule: { host: 'plain.example', path: '/', pathType: 'Prefix' }, service: 'default/app:80' });
    expect(r.affinity).toBeUndefined();
  });

  it('persistent: a client first sent to a refusing pod is moved and pinned where it landed', async () => {
    const dead = await startPod('dead');
    await stopPod(dead);
    c.cluster.ingresses.set(
      ingress('flaky', [{ host: 'flaky.example', paths: [{ path: '/', service: 'flaky' }] }], {
        annotations: { [`${AFF}affinity`]: 'cookie', [`${AFF}affinity-mode`]: 'persistent' },
      }),
    );
    c.cluster.services.set(service('flaky', [{ name: 'http', port: 80 }]));
    for (const s of podSlices('flaky', 'http', [pods[0], dead])) c.cluster.endpointSlices.set(s);
    await tick();
    const cookies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const first = await get(c.httpPort, '/', { host: 'flaky.example' });
      expect(first.status).toBe(200);
      cookies.push(cookiePair(first.headers['set-cookie'])!);
    }
    // Every cookie names the live pod: once the dead one leaves the slices, nobody is moved again.
    c.cluster.endpointSlices.delete('default', 'flaky-dead');
    await tick();
    for (const cookie of cookies) {
      for (let j = 0; j < 5; j++) {
        const r = await get(c.httpPort, '/', { host: 'flaky.example', headers: { cookie } });
        expect(r.status).toBe(200);
        expect(podOf(r.body)).toBe(pods[0].name);
        expect(r.headers['set-cookie']).toBeUndefined();
      }
    }
  });

  it('without the affinity annotation no cookie is set and requests go round robin', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(c.httpPort, '/', { host: 'plain.example' });
      expect(r.headers['set-cookie']).toBeUndefined();
      seen.push(podOf(r.body));
    }
    expect(new Set(seen).size).toBe(3);
  });
});
