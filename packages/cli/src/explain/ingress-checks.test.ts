import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import type { Check } from './checks.js';
import { explainIngress, type IngressExplanation } from './ingress-checks.js';
import { renderIngressText } from './render.js';
import { NOW, service } from './testing/fixtures.js';
import { controllerService, healthyIngress, ingress, readySlice, tlsSecret } from './testing/ingress-fixtures.js';

const check = (e: IngressExplanation, id: string): Check => {
  const c = e.checks.find((k) => k.id === id);
  if (!c) throw new Error(`no check ${id}: ${e.checks.map((k) => k.id).join(', ')}`);
  return c;
};

async function cert(days: number, ...names: string[]): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: names[0]! }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(NOW - 86400_000),
    notAfterDate: new Date(NOW + days * 86400_000),
    extensions: [{ name: 'subjectAltName', altNames: names.map((n) => ({ type: 2 as const, value: n })) }],
  });
  return { cert: pems.cert, key: pems.private };
}

describe('explain ingress: the checks', () => {
  it('a healthy Ingress: class, controller, address and the backend with its ready pods, reachable', () => {
    const e = explainIngress(healthyIngress());
    expect(e.reachable).toBe(true);
    expect(e.checks.map((c) => [c.id, c.status])).toEqual([
      ['class', 'ok'],
      ['controller', 'ok'],
      ['address', 'ok'],
      ['backend:kubia.example.com/', 'ok'],
    ]);
    expect(check(e, 'class').text).toBe('no ingressClassName, so the default IngressClass kubemu: served by the ingress controller ingress-kubemu/ingress-kubemu-controller (class kubemu)');
    expect(check(e, 'controller').text).toBe('the ingress controller ingress-kubemu/ingress-kubemu-controller: 1 of 1 pods ready (ingress-kubemu-controller-x1); its Service ingress-kubemu/ingress-kubemu-controller has the address 172.30.0.250 and node ports 80→31080, 443→31443');
    expect(check(e, 'address').text).toBe("address 172.30.0.250 in the Ingress's status");
    expect(check(e, 'backend:kubia.example.com/').text).toBe('kubia.example.com/ (Prefix) → Service kubia:80: ready pods kubia-a, kubia-b (10.244.1.3:8080, 10.244.2.3:8080)');
    expect(e.reminders[0]).toBe("an Ingress routes by the Host header: curl -H 'Host: kubia.example.com' http://172.30.0.250/ (or curl --resolve kubia.example.com:80:172.30.0.250 http://kubia.example.com/); plain curl http://172.30.0.250/ sends Host: 172.30.0.250, which no host rule matches");
    expect(renderIngressText(e)).toMatch(/^Ingress default\/kubia \(class kubemu, address 172\.30\.0\.250\) in cluster test\n✔ /);
  });

  it('a class no controller serves: ✘ naming the classes served, with the fix', () => {
    const f = healthyIngress();
    f.ingress = f.ingresses[0] = ingress({ ingressClassName: 'nginx-public' });
    const e = explainIngress(f);
    expect(check(e, 'class')).toMatchObject({ status: 'fail', text: 'ingressClassName nginx-public: no ingress controller serves it (the controllers here serve class kubemu)', details: ['IngressClass nginx-public does not exist (IngressClasses: kubemu)'] });
    expect(check(e, 'class').fix).toMatch(/^set spec\.ingressClassName: kubemu/);
    expect(check(e, 'controller').status).toBe('skip');
    expect(e.reachable).toBe(false);
  });

  it('no controller in the cluster, or one with no ready pod, or without address or node ports: ✘', () => {
    const f = healthyIngress();
    f.controllers = [];
    expect(check(explainIngress(f), 'class')).toMatchObject({ status: 'fail', text: expect.stringMatching(/no ingress controller runs in the cluster/) });

    const g = healthyIngress();
    g.controllers[0]!.pods[0]!.status!.conditions = [{ type: 'Ready', status: 'False' }];
    const e = explainIngress(g);
    expect(check(e, 'controller')).toMatchObject({ status: 'fail', text: expect.stringMatching(/^none of the 1 pods of the ingress controller ingress-kubemu\/ingress-kubemu-controller is ready/), fix: 'see why with kubemu explain pod ingress-kubemu-controller-x1 -n ingress-kubemu.' });
    expect(e.reachable).toBe(false);

    const h = healthyIngress();
    const svc = controllerService();
    svc.spec.ports = svc.spec.ports!.map((p) => ({ ...p, nodePort: undefined }));
    h.controllers[0]!.service = svc;
    expect(check(explainIngress(h), 'controller')).toMatchObject({ status: 'fail', fix: 'find out why its address is pending with kubemu explain service ingress-kubemu-controller -n ingress-kubemu.' });
  });

  it('no address in the status while the controller has one: ✘', () => {
    const f = healthyIngress();
    f.ingress.status = {};
    const e = explainIngress(f);
    expect(check(e, 'address')).toMatchObject({ status: 'fail', text: "no address in the Ingress's status, though the controller's Service has 172.30.0.250: the controller has not written it" });
  });

  it('a backend Service that does not exist, a port it does not have, no ready endpoints: each ✘ with the fix', () => {
    const f = healthyIngress();
    f.ingress.spec.rules = [
      { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'kubai', port: { number: 80 } } } }] } },
      { host: 'b.example.com', http: { paths: [{ path: '/api', pathType: 'Exact', backend: { service: { name: 'kubia', port: { number: 8080 } } } }] } },
      { host: 'c.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'kubia', port: { name: 'web' } } } }] } },
      { host: 'd.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'empty', port: { number: 80 } } } }] } },
    ];
    f.services.push({ ...service(), metadata: { name: 'empty', namespace: 'default' } });
    const e = explainIngress(f);
    expect(check(e, 'backend:a.example.com/')).toMatchObject({ status: 'fail', text: 'a.example.com/ (Prefix) → Service kubai:80: Service kubai does not exist in namespace default (Services there: kubia, empty)', fix: 'create Service kubai in default, or point the backend at an existing Service (kubectl edit ingress kubia).' });
    expect(check(e, 'backend:b.example.com/api')).toMatchObject({ status: 'fail', text: 'b.example.com/api (Exact) → Service kubia:8080: Service kubia has no port 8080 (its ports: 80)', fix: "set the backend's port.number: 80 (kubectl edit ingress kubia), or add that port to Service kubia." });
    expect(check(e, 'backend:c.example.com/').text).toBe('c.example.com/ (Prefix) → Service kubia:web: Service kubia has no port named "web" (its ports: 80)');
    expect(check(e, 'backend:d.example.com/')).toMatchObject({ status: 'fail', text: 'd.example.com/ (Prefix) → Service empty:80: Service empty port 80 has no ready endpoints, so the controller answers 503 Service Temporarily Unavailable', fix: 'find out why with kubemu explain service empty.' });
    expect(e.reachable).toBe(false);
  });

  it('a named Service port resolves through the slices as the controller does; not-ready endpoints are left out', () => {
    const f = healthyIngress();
    f.ingress.spec.rules![0]!.http!.paths[0]!.backend = { service: { name: 'kubia', port: { name: 'http' } } };
    f.services = [service({ ports: [{ name: 'http', port: 80, targetPort: 'web' }] })];
    f.slices = [readySlice('kubia', [{ ip: '10.244.1.3', pod: 'kubia-a' }, { ip: '10.244.2.3', pod: 'kubia-b', ready: false }], 8081, 'http')];
    expect(check(explainIngress(f), 'backend:kubia.example.com/').text).toBe('kubia.example.com/ (Prefix) → Service kubia:http: ready pod kubia-a (10.244.1.3:8081)');
  });

  it('a rule an older Ingress already claims is ignored by the controller: ✘ naming it', () => {
    const f = healthyIngress();
    const older = ingress({}, 'old');
    older.metadata.creationTimestamp = '2025-12-31T00:00:00Z';
    f.ingresses.push(older);
    expect(check(explainIngress(f), 'backend:kubia.example.com/')).toMatchObject({ status: 'fail', text: 'kubia.example.com/ (Prefix) → Service kubia:80: the older Ingress default/old has the same host, path and pathType, so the controller ignores this rule' });
  });

  it('TLS: a missing Secret, one without tls.key, a certificate for other hosts, an expired one: ✘; a good one ✔', async () => {
    const good = await cert(30, 'kubia.example.com');
    const other = await cert(30, 'other.example.com');
    const f = healthyIngress();
    f.ingress.spec.tls = [
      { hosts: ['kubia.example.com'], secretName: 'missing' },
      { hosts: ['kubia.example.com'], secretName: 'no-key' },
      { hosts: ['kubia.example.com'], secretName: 'other' },
      { secretName: 'good' },
      { hosts: ['kubia.example.com'], secretName: 'opaque' },
    ];
    f.secrets = {
      missing: null,
      'no-key': { ...tlsSecret('no-key', good.cert, ''), type: 'Opaque', data: { 'tls.crt': Buffer.from(good.cert).toString('base64') } },
      other: tlsSecret('other', other.cert, other.key),
      good: tlsSecret('good', good.cert, good.key),
      opaque: tlsSecret('opaque', good.cert, good.key, 'Opaque'),
    };
    const e = explainIngress(f);
    expect(check(e, 'tls:missing')).toMatchObject({ status: 'fail', text: "TLS for kubia.example.com: Secret missing does not exist in namespace default, so HTTPS gets the controller's default (self-signed) certificate", fix: 'create it: kubectl create secret tls missing --cert=tls.crt --key=tls.key (a certificate for kubia.example.com).' });
    expect(check(e, 'tls:no-key')).toMatchObject({ status: 'fail', text: "TLS for kubia.example.com: Secret no-key has no tls.key (type Opaque), so HTTPS gets the controller's default certificate" });
    expect(check(e, 'tls:other')).toMatchObject({ status: 'fail', text: 'TLS for kubia.example.com: the certificate in Secret other does not cover kubia.example.com (it is for other.example.com), so clients reject it' });
    expect(check(e, 'tls:good')).toMatchObject({ status: 'ok', text: `TLS for kubia.example.com: Secret good holds a certificate for them, valid until ${new Date(NOW + 30 * 86400_000).toISOString().slice(0, 10)}` });
    expect(check(e, 'tls:opaque')).toMatchObject({ status: 'ok', details: [expect.stringMatching(/^Secret opaque is of type Opaque, not kubernetes\.io\/tls/)] });

    f.now = NOW + 31 * 86400_000;
    expect(check(explainIngress(f), 'tls:good')).toMatchObject({ status: 'fail', text: expect.stringMatching(/^TLS for kubia\.example\.com: the certificate in Secret good expired on \d{4}-\d\d-\d\d, so clients reject it$/) });
  });

  it('a wildcard TLS host is covered by a wildcard certificate', async () => {
    const wild = await cert(30, '*.example.com');
    const f = healthyIngress();
    f.ingress.spec.tls = [{ hosts: ['*.example.com'], secretName: 'wild' }];
    f.secrets = { wild: tlsSecret('wild', wild.cert, wild.key) };
    expect(check(explainIngress(f), 'tls:wild').status).toBe('ok');
  });
});

describe('explain ingress --host/--path: the request, matched as the controller matches it', () => {
  it('a Host no rule matches: ✘ naming the hosts that exist, the curl with the right Host, and the 404 the controller answers', () => {
    const f = healthyIngress();
    f.request = { host: 'wrong.example.com', path: '/' };
    const e = explainIngress(f);
    expect(e.reachable).toBe(false);
    expect(check(e, 'request')).toEqual({
      id: 'request',
      status: 'fail',
      text: 'request Host: wrong.example.com, path /: no rule of Ingress kubia matches host wrong.example.com, so the controller answers 404 Not Found',
      details: ['Ingress kubia has rules for kubia.example.com'],
      fix: "send Host: kubia.example.com (curl -H 'Host: kubia.example.com' http://172.30.0.250/), or add a rule for host wrong.example.com to Ingress kubia.",
    });
    expect(renderIngressText(e)).toMatch(/\n\nA request for Host wrong\.example\.com, path \/ reaches no pod of this Ingress: 1 problem found \(✘ above\)\.$/);
  });

  it('the right Host (any case, with a port) reaches the ready pods: ✔, reachable even when another rule is broken', () => {
    const f = healthyIngress();
    f.ingress.spec.rules!.push({ host: 'broken.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'nope', port: { number: 80 } } } }] } });
    f.request = { host: 'KUBIA.example.com:80', path: '/x?y=1' };
    const e = explainIngress(f);
    expect(check(e, 'request')).toMatchObject({ status: 'ok', text: 'request Host: kubia.example.com, path /x: rule kubia.example.com/ (Prefix) → Service kubia:80 → ready pods kubia-a, kubia-b (10.244.1.3:8080, 10.244.2.3:8080)' });
    expect(check(e, 'backend:broken.example.com/').status).toBe('fail');
    expect(e.reachable).toBe(true);
    expect(renderIngressText(e)).toMatch(/\n\nA request for Host KUBIA\.example\.com:80, path \/x\?y=1 reaches a ready pod; 1 problem found elsewhere \(✘ above\)\.$/);
  });

  it('the right Host but a path no rule matches: ✘ with the paths there are', () => {
    const f = healthyIngress();
    f.ingress.spec.rules![0]!.http!.paths = [{ path: '/api', pathType: 'Exact', backend: { service: { name: 'kubia', port: { number: 80 } } } }];
    f.request = { host: 'kubia.example.com', path: '/api/' };
    expect(check(explainIngress(f), 'request')).toMatchObject({ status: 'fail', text: 'request Host: kubia.example.com, path /api/: host kubia.example.com has rules, but no path of Ingress kubia matches /api/, so the controller answers 404 Not Found', details: ['paths for kubia.example.com: /api (Exact)'] });
  });

  it('no rule path matches but the Ingress has a default backend: it answers', () => {
    const f = healthyIngress();
    f.ingress.spec.rules![0]!.http!.paths[0]!.path = '/only';
    f.ingress.spec.defaultBackend = { service: { name: 'kubia', port: { number: 80 } } };
    f.request = { host: 'other.example.com', path: '/' };
    expect(check(explainIngress(f), 'request')).toMatchObject({ status: 'ok', text: expect.stringMatching(/^request Host: other\.example\.com, path \/: no rule path matches, so the default backend answers: Service kubia:80 → ready pods kubia-a, kubia-b/) });
  });

  it("a Host another Ingress's rule owns: ✘ saying where the controller sends it instead", () => {
    const f = healthyIngress();
    const other = ingress({ rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }] }, 'shop');
    f.ingresses.push(other);
    f.request = { host: 'shop.example.com', path: '/' };
    const c = check(explainIngress(f), 'request');
    expect(c).toMatchObject({ status: 'fail', text: 'request Host: shop.example.com, path /: no rule of Ingress kubia matches host shop.example.com, so the controller sends it to rule shop.example.com/ (Prefix) of Ingress default/shop (Service shop:80) instead', details: ['Ingress kubia has rules for kubia.example.com', 'other Ingresses have rules for shop.example.com'] });
  });

  it('a wildcard rule covers exactly one more label', () => {
    const f = healthyIngress();
    f.ingress.spec.rules![0]!.host = '*.example.com';
    f.request = { host: 'a.example.com', path: '/' };
    expect(check(explainIngress(f), 'request').status).toBe('ok');
    f.request = { host: 'a.b.example.com', path: '/' };
    expect(check(explainIngress(f), 'request')).toMatchObject({ status: 'fail', text: expect.stringMatching(/no rule of Ingress kubia matches host a\.b\.example\.com, so the controller answers 404 Not Found$/) });
  });

  it('the matched backend has no ready endpoints: ✘ with the 503 and where to look', () => {
    const f = healthyIngress();
    f.slices = [];
    f.request = { host: 'kubia.example.com', path: '/' };
    const e = explainIngress(f);
    expect(check(e, 'request')).toMatchObject({ status: 'fail', text: 'request Host: kubia.example.com, path /: rule kubia.example.com/ (Prefix) → Service kubia:80, but Service kubia port 80 has no ready endpoints, so the controller answers 503 Service Temporarily Unavailable', fix: 'find out why with kubemu explain service kubia.' });
    expect(e.reachable).toBe(false);
  });

  it('a TLS host: plain HTTP is redirected to HTTPS, said in the details', async () => {
    const good = await cert(30, 'kubia.example.com');
    const f = healthyIngress();
    f.ingress.spec.tls = [{ hosts: ['kubia.example.com'], secretName: 'good' }];
    f.secrets = { good: tlsSecret('good', good.cert, good.key) };
    f.request = { host: 'kubia.example.com', path: '/' };
    expect(check(explainIngress(f), 'request').details?.[0]).toMatch(/^plain HTTP gets 308 Permanent Redirect to https:\/\/kubia\.example\.com\//);
  });
});
