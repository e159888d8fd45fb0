import { describe, expect, it } from 'vitest';
import { buildRoutingTable } from './config.js';
import { matchRoute } from './router.js';
import { backend, ingress, ingressClass, type PathSpec } from './testing/fixtures.js';

function table(...ings: ReturnType<typeof ingress>[]) {
  return buildRoutingTable({ ingresses: ings, ingressClasses: [] }, 'kubemu');
}

/** Which service (by its backend) a request reaches, or undefined for 404. */
function reach(t: ReturnType<typeof table>, host: string, path: string): string | undefined {
  return matchRoute(t, host, path)?.backend.service;
}

describe('path matching: the Kubernetes docs examples table', () => {
  // Kind, rule paths, request path, matches (the service answering is named after its path).
  const rows: [string, PathSpec[], string, boolean, string?][] = [
    ['Prefix', [{ path: '/', service: 'root' }], '/anything/at/all', true],
    ['Exact', [{ path: '/foo', pathType: 'Exact', service: 'foo' }], '/foo', true],
    ['Exact', [{ path: '/foo', pathType: 'Exact', service: 'foo' }], '/bar', false],
    ['Exact', [{ path: '/foo', pathType: 'Exact', service: 'foo' }], '/foo/', false],
    ['Exact', [{ path: '/foo/', pathType: 'Exact', service: 'foo' }], '/foo', false],
    ['Prefix', [{ path: '/foo', service: 'foo' }], '/foo', true],
    ['Prefix', [{ path: '/foo', service: 'foo' }], '/foo/', true],
    ['Prefix', [{ path: '/foo/', service: 'foo' }], '/foo', true],
    ['Prefix', [{ path: '/foo/', service: 'foo' }], '/foo/', true],
    ['Prefix', [{ path: '/aaa/bb', service: 'bb' }], '/aaa/bbb', false],
    ['Prefix', [{ path: '/aaa/bbb', service: 'bbb' }], '/aaa/bbb', true],
    ['Prefix', [{ path: '/aaa/bbb/', service: 'bbb' }], '/aaa/bbb', true, 'ignores trailing slash'],
    ['Prefix', [{ path: '/aaa/bbb', service: 'bbb' }], '/aaa/bbb/', true, 'matches trailing slash'],
    ['Prefix', [{ path: '/aaa/bbb', service: 'bbb' }], '/aaa/bbb/ccc', true, 'matches subpath'],
    ['Prefix', [{ path: '/aaa/bbb', service: 'bbb' }], '/aaa/bbbxyz', false, 'does not match string prefix'],
  ];
  for (const [kind, paths, req, ok, why] of rows) {
    it(`${kind} ${paths.map((p) => p.path).join(', ')} vs ${req}: ${ok ? 'match' : 'no match'}${why ? ` (${why})` : ''}`, () => {
      const t = table(ingress('i', [{ host: 'x.com', paths }]));
      expect(reach(t, 'x.com', req)).toBe(ok ? paths[0].service : undefined);
    });
  }

  it('Prefix /, /aaa vs /aaa/ccc: matches /aaa prefix', () => {
    const t = table(ingress('i', [{ paths: [{ path: '/', service: 'root' }, { path: '/aaa', service: 'aaa' }] }]));
    expect(reach(t, 'x.com', '/aaa/ccc')).toBe('aaa');
  });
  it('Prefix /, /aaa, /aaa/bbb vs /aaa/bbb: matches /aaa/bbb prefix', () => {
    const t = table(ingress('i', [{ paths: [{ path: '/', service: 'root' }, { path: '/aaa', service: 'aaa' }, { path: '/aaa/bbb', service: 'bbb' }] }]));
    expect(reach(t, 'x.com', '/aaa/bbb')).toBe('bbb');
  });
  it('Prefix /, /aaa, /aaa/bbb vs /ccc: matches / prefix', () => {
    const t = table(ingress('i', [{ paths: [{ path: '/', service: 'root' }, { path: '/aaa', service: 'aaa' }, { path: '/aaa/bbb', service: 'bbb' }] }]));
    expect(reach(t, 'x.com', '/ccc')).toBe('root');
  });
  it('Prefix /aaa vs /ccc: no match, uses the default backend', () => {
    const t = table(ingress('i', [{ paths: [{ path: '/aaa', service: 'aaa' }] }], { defaultBackend: backend('dflt') }));
    expect(reach(t, 'x.com', '/ccc')).toBe('dflt');
    expect(reach(table(ingress('j', [{ paths: [{ path: '/aaa', service: 'aaa' }] }])), 'x.com', '/ccc')).toBeUndefined();
  });
  it('Mixed /foo (Prefix), /foo (Exact) vs /foo: prefers Exact', () => {
    const t = table(ingress('i', [{ paths: [{ path: '/foo', service: 'prefix' }, { path: '/foo', pathType: 'Exact', service: 'exact' }] }]));
    expect(reach(t, 'x.com', '/foo')).toBe('exact');
    expect(reach(t, 'x.com', '/foo/bar')).toBe('prefix');
  });
  it('ImplementationSpecific is a Prefix match', () => {
    const t = table(ingress('i', [{ paths: [{ path: '/api', pathType: 'ImplementationSpecific', service: 'api' }] }]));
    expect(reach(t, 'x.com', '/api/v1')).toBe('api');
    expect(reach(t, 'x.com', '/apiv1')).toBeUndefined();
  });
  it('the longest matching path wins regardless of declaration order', () => {
    const t = table(ingress('i', [{ paths: [{ path: '/a/b/c', pathType: 'Exact', service: 'abc' }, { path: '/a', service: 'a' }, { path: '/a/b', service: 'ab' }] }]));
    expect(reach(t, 'x.com', '/a/b/c')).toBe('abc');
    expect(reach(t, 'x.com', '/a/b/c/d')).toBe('ab');
    expect(reach(t, 'x.com', '/a/x')).toBe('a');
  });
});

describe('hosts', () => {
  const t = table(
    ingress('exact', [{ host: 'foo.bar.com', paths: [{ path: '/', service: 'exact' }] }]),
    ingress('wild', [{ host: '*.foo.com', paths: [{ path: '/', service: 'wild' }] }]),
    ingress('any', [{ paths: [{ path: '/', service: 'any' }] }]),
  );
  it('an exact host matches only that host, case-insensitively', () => {
    expect(reach(t, 'foo.bar.com', '/')).toBe('exact');
    expect(reach(t, 'FOO.bar.com'.toLowerCase(), '/')).toBe('exact');
  });
  it('a wildcard covers exactly one DNS label (docs table)', () => {
    expect(reach(t, 'bar.foo.com', '/')).toBe('wild');
    expect(reach(t, 'baz.bar.foo.com', '/')).toBe('any');
    expect(reach(t, 'foo.com', '/')).toBe('any');
  });
  it('host-less rules match any other host, and requests without a Host', () => {
    expect(reach(t, 'other.example', '/x')).toBe('any');
    expect(reach(t, '', '/x')).toBe('any');
  });
  it('an exact host beats a wildcard covering it', () => {
    const t2 = table(ingress('w', [{ host: '*.foo.com', paths: [{ path: '/', service: 'wild' }] }]), ingress('e', [{ host: 'a.foo.com', paths: [{ path: '/', service: 'exact' }] }]));
    expect(reach(t2, 'a.foo.com', '/')).toBe('exact');
    expect(reach(t2, 'b.foo.com', '/')).toBe('wild');
  });
  it("a host without a matching path uses its Ingress's defaultBackend, else the catch-all's, else 404", () => {
    const t3 = table(
      ingress('a', [{ host: 'a.com', paths: [{ path: '/x', service: 'ax' }] }], { defaultBackend: backend('a-default') }),
      ingress('b', [{ host: 'b.com', paths: [{ path: '/x', service: 'bx' }] }]),
    );
    expect(reach(t3, 'a.com', '/y')).toBe('a-default');
    expect(reach(t3, 'b.com', '/y')).toBe('a-default');
    expect(reach(t3, 'c.com', '/y')).toBe('a-default');
    // With an older catch-all elsewhere, a host still falls back to its own Ingress's defaultBackend.
    const t5 = table(
      ingress('catch', [], { defaultBackend: backend('catch-all'), created: '2023-01-01T00:00:00Z' }),
      ingress('a', [{ host: 'a.com', paths: [{ path: '/x', service: 'ax' }] }], { defaultBackend: backend('a-default') }),
    );
    expect(reach(t5, 'a.com', '/y')).toBe('a-default');
    expect(reach(t5, 'c.com', '/y')).toBe('catch-all');
    const t4 = table(ingress('b', [{ host: 'b.com', paths: [{ path: '/x', service: 'bx' }] }]));
    expect(reach(t4, 'b.com', '/y')).toBeUndefined();
  });
});

describe('merging Ingresses and conflicts', () => {
  it('rules of many Ingresses on one host merge into one virtual host', () => {
    const t = table(ingress('a', [{ host: 'x.com', paths: [{ path: '/a', service: 'a' }] }]), ingress('b', [{ host: 'x.com', paths: [{ path: '/b', service: 'b' }] }]));
    expect(reach(t, 'x.com', '/a/1')).toBe('a');
    expect(reach(t, 'x.com', '/b/1')).toBe('b');
    expect(t.events).toEqual([]);
    expect(t.served.map((r) => r.name)).toEqual(['a', 'b']);
  });
  it('the same host + path + type: the oldest Ingress wins and the loser gets a Warning event', () => {
    const young = ingress('young', [{ host: 'x.com', paths: [{ path: '/p', service: 'young' }] }], { created: '2024-05-01T00:00:00Z' });
    const old = ingress('old', [{ host: 'x.com', paths: [{ path: '/p', service: 'old' }] }], { created: '2024-01-01T00:00:00Z' });
    const t = table(young, old);
    expect(reach(t, 'x.com', '/p')).toBe('old');
    expect(t.events).toHaveLength(1);
    expect(t.events[0]).toMatchObject({ ingress: { name: 'young', namespace: 'default' }, type: 'Warning', reason: 'Conflict' });
    expect(t.events[0].message).toContain('default/old');
    expect(t.events[0].message).toContain('x.com/p');
  });
  it('equal creation times: namespace/name decides', () => {
    const created = '2024-01-01T00:00:00Z';
    const t = table(ingress('b', [{ host: 'x.com', paths: [{ path: '/', service: 'b' }] }], { created }), ingress('a', [{ host: 'x.com', paths: [{ path: '/', service: 'a' }] }], { created }));
    expect(reach(t, 'x.com', '/')).toBe('a');
    expect(t.events[0].ingress.name).toBe('b');
  });
  it('same path with a different type is not a conflict', () => {
    const t = table(ingress('a', [{ host: 'x.com', paths: [{ path: '/p', service: 'a' }] }]), ingress('b', [{ host: 'x.com', paths: [{ path: '/p', pathType: 'Exact', service: 'b' }] }]));
    expect(t.events).toEqual([]);
    expect(reach(t, 'x.com', '/p')).toBe('b');
    expect(reach(t, 'x.com', '/p/q')).toBe('a');
  });
  it('two catch-all default backends: the oldest wins', () => {
    const t = table(ingress('a', [], { defaultBackend: backend('first') }), ingress('b', [], { defaultBackend: backend('second') }));
    expect(reach(t, 'x.com', '/')).toBe('first');
    expect(t.events.map((e) => [e.ingress.name, e.reason])).toEqual([['b', 'Conflict']]);
  });
  it('backends by port number and by port name get distinct ids', () => {
    const t = table(ingress('a', [{ paths: [{ path: '/n', service: 's', port: 8080 }, { path: '/m', service: 's', port: 'http' }] }]));
    expect([...t.backends.keys()].sort()).toEqual(['default/s:8080', 'default/s:http']);
  });
  it('a resource backend is reported and skipped', () => {
    const ing = ingress('r', [{ paths: [{ path: '/', service: 's' }] }]);
    ing.spec.rules![0].http!.paths[0].backend = { resource: { kind: 'StorageBucket', name: 'b' } };
    const t = table(ing);
    expect(reach(t, 'x', '/')).toBeUndefined();
    expect(t.events[0].reason).toBe('UnsupportedBackend');
  });
});

describe('HTTPS redirect', () => {
  it('a host with TLS in any served Ingress redirects, unless the rule\'s own Ingress says ssl-redirect "false"', () => {
    const t = table(
      ingress('tls', [{ host: 'x.com', paths: [{ path: '/', service: 'root' }] }], { tls: [{ hosts: ['x.com', '*.wild.com'], secretName: 's' }] }),
      ingress('more', [{ host: 'x.com', paths: [{ path: '/api', service: 'api' }] }, { host: 'a.wild.com', paths: [{ path: '/', service: 'w' }] }, { host: 'plain.com', paths: [{ path: '/', service: 'p' }] }]),
      ingress('optout', [{ host: 'x.com', paths: [{ path: '/free', service: 'free' }] }], { annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' } }),
    );
    expect(matchRoute(t, 'x.com', '/')?.sslRedirect).toBe(true);
    expect(matchRoute(t, 'x.com', '/api')?.sslRedirect).toBe(true);
    expect(matchRoute(t, 'a.wild.com', '/')?.sslRedirect).toBe(true);
    expect(matchRoute(t, 'x.com', '/free')?.sslRedirect).toBe(false);
    expect(matchRoute(t, 'plain.com', '/')?.sslRedirect).toBe(false);
  });
  it('a TLS entry without hosts covers its Ingress\'s rule hosts', () => {
    const t = table(ingress('tls', [{ host: 'y.com', paths: [{ path: '/', service: 'root' }] }], { tls: [{ secretName: 's' }] }));
    expect(t.tls[0].hosts).toEqual(['y.com']);
    expect(matchRoute(t, 'y.com', '/')?.sslRedirect).toBe(true);
  });
});

describe('ingress class', () => {
  const rules = [{ paths: [{ path: '/', service: 's' }] }];
  const served = (ing: ReturnType<typeof ingress>, classes = [ingressClass('kubemu')]) => buildRoutingTable({ ingresses: [ing], ingressClasses: classes }, 'kubemu').served.length === 1;
  it('serves spec.ingressClassName kubemu, not other classes', () => {
    expect(served(ingress('a', rules, { className: 'kubemu' }))).toBe(true);
    expect(served(ingress('a', rules, { className: 'other' }))).toBe(false);
  });
  it('serves the annotation kubernetes.io/ingress.class nginx or kubemu', () => {
    expect(served(ingress('a', rules, { annotations: { 'kubernetes.io/ingress.class': 'nginx' } }))).toBe(true);
    expect(served(ingress('a', rules, { annotations: { 'kubernetes.io/ingress.class': 'kubemu' } }))).toBe(true);
    expect(served(ingress('a', rules, { annotations: { 'kubernetes.io/ingress.class': 'traefik' } }))).toBe(false);
  });
  it('serves Ingresses without a class when kubemu is the default class, or when no class is default', () => {
    expect(served(ingress('a', rules), [ingressClass('kubemu', true)])).toBe(true);
    expect(served(ingress('a', rules), [ingressClass('kubemu')])).toBe(true);
    expect(served(ingress('a', rules), [])).toBe(true);
    expect(served(ingress('a', rules), [ingressClass('kubemu'), ingressClass('other', true)])).toBe(false);
  });
});
