/**
 * The ingress controller addon on a real 3-node netns cluster, driven from
 * the host with curl and a WebSocket client: client → LB address → node port
 * → controller pod → backend pod. Host and path rules (Kubernetes' pathType
 * examples), cookie affinity, HTTPS from an openssl-made Secret with SNI and
 * live rotation, the HTTP → HTTPS redirect, the error answers, a WebSocket
 * echo, and the Ingress status that `kubectl get ingress` shows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';
import { kubiaDeployment } from './helpers/manifests.js';

const SUBNET = '172.30.79';
const c = new NetnsCluster(3, ['--addons', 'ingress', '--subnet', `${SUBNET}.0/24`]);
const INGRESS_IP = `${SUBNET}.250`;
let dir = '';

interface Curl {
  status: number;
  body: string;
  code: number;
  headers: string;
}

/** curl from the host; `host` is resolved to the ingress address on the URL's port. */
function curl(url: string, extra: string[] = []): Curl {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const r = spawnSync('curl', ['-sS', '--max-time', '5', '-D', '-', '--resolve', `${u.hostname}:${port}:${INGRESS_IP}`, ...extra, url], { encoding: 'utf8' });
  const out = r.stdout ?? '';
  const split = out.indexOf('\r\n\r\n');
  const headers = split >= 0 ? out.slice(0, split) : out;
  const code = Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1] ?? 0);
  return { status: r.status ?? -1, body: split >= 0 ? out.slice(split + 4) : '', code, headers: headers + (r.stderr ?? '') };
}

const podOf = (r: Curl): string | undefined => /You've hit (\S+)/.exec(r.body)?.[1] ?? (JSON.parse(r.body || '{}') as { pod?: string }).pod;

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function selfSigned(name: string, cn: string): { crt: string; key: string } {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-keyout', key, '-out', crt]);
  return { crt, key };
}

const BACKENDS = `${kubiaDeployment()}---
apiVersion: v1
kind: Service
metadata: {name: kubia}
spec: {selector: {app: kubia}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: foo}
spec:
  replicas: 2
  selector: {matchLabels: {app: foo}}
  template:
    metadata: {labels: {app: foo}}
    spec:
      containers: [{name: echo, image: kubemu/echo, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: foo}
spec: {selector: {app: foo}, ports: [{name: http, port: 8080, targetPort: http}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bar}
spec:
  replicas: 1
  selector: {matchLabels: {app: bar}}
  template:
    metadata: {labels: {app: bar}}
    spec:
      containers: [{name: echo, image: kubemu/echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: bar}
spec: {selector: {app: bar}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec: {selector: {app: nobody}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: refuses}
spec: {selector: {app: bar}, ports: [{port: 80, targetPort: 9999}]}
`;

const INGRESSES = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: main}
spec:
  rules:
  - host: foo.example.com
    http:
      paths:
      - {path: /foo, pathType: Prefix, backend: {service: {name: foo, port: {name: http}}}}
      - {path: /foo/exact, pathType: Exact, backend: {service: {name: bar, port: {number: 80}}}}
  - host: kubia.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: kubia, port: {number: 80}}}}
      - {path: /bar, pathType: Prefix, backend: {service: {name: bar, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: errors}
spec:
  rules:
  - host: err.example.com
    http:
      paths:
      - {path: /empty, pathType: Prefix, backend: {service: {name: empty, port: {number: 80}}}}
      - {path: /refuses, pathType: Prefix, backend: {service: {name: refuses, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: sticky
  annotations:
    nginx.ingress.kubernetes.io/affinity: cookie
spec:
  rules:
  - host: sticky.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: kubia, port: {number: 80}}}}
`;

describe.skipIf(!IS_ROOT)('ingress controller (e2e, root)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemu-ingress-'));
    c.up();
    c.apply(BACKENDS);
    c.apply(INGRESSES);
    await until(
      'backends and the controller ready',
      () =>
        c.readyIPs('kubia').length === 3 &&
        c.readyIPs('foo').length === 2 &&
        c.readyIPs('bar').length === 1 &&
        c.json<{ subsets?: { addresses?: unknown[] }[] }>(['get', 'endpoints', '-n', 'ingress-kubemu', 'ingress-kubemu-controller']).subsets?.[0]?.addresses?.length === 1,
      90_000,
    );
    await until('the controller answering through its LB address', () => curl('http://kubia.example.com/').code === 200, 30_000);
  }, 240_000);
  afterAll(() => {
    c.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('shows its LB address on each Ingress (kubectl get ingress ADDRESS)', async () => {
    await until('main Ingress ADDRESS', () => c.kubectl(['get', 'ingress', 'main', '--no-headers']).stdout.includes(INGRESS_IP), 15_000);
    expect(c.kubectl(['get', 'ingressclass', 'kubemu', '-o', 'jsonpath={.metadata.annotations.ingressclass\\.kubernetes\\.io/is-default-class}']).stdout).toBe('true');
  });

  it('routes by host and path (Exact vs Prefix, longest match) to three Services', () => {
    const svcOf = (url: string) => {
      const r = curl(url);
      if (r.code !== 200) return `HTTP ${r.code}`;
      const pod = podOf(r) ?? '';
      return pod.startsWith('kubia-') ? 'kubia' : pod.startsWith('foo-') ? 'foo' : pod.startsWith('bar-') ? 'bar' : `? ${pod}`;
    };
    // Kubernetes' docs: Prefix /foo matches /foo, /foo/, /foo/bar, not /foobar; Exact /foo/exact only itself.
    expect(svcOf('http://foo.example.com/foo')).toBe('foo');
    expect(svcOf('http://foo.example.com/foo/')).toBe('foo');
    expect(svcOf('http://foo.example.com/foo/bar')).toBe('foo');
    expect(svcOf('http://foo.example.com/foobar')).toBe('HTTP 404');
    expect(svcOf('http://foo.example.com/foo/exact')).toBe('bar');
    expect(svcOf('http://foo.example.com/foo/exact/')).toBe('foo');
    expect(svcOf('http://kubia.example.com/')).toBe('kubia');
    expect(svcOf('http://kubia.example.com/bar/x')).toBe('bar');
    expect(svcOf('http://kubia.example.com/barn')).toBe('kubia');
    expect(svcOf('http://nobody.example.com/')).toBe('HTTP 404');
  });

  it('passes the client address and forwarding headers to the backend', () => {
    const r = curl('http://foo.example.com/foo/hdr');
    const seen = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(seen.headers['x-forwarded-host']).toBe('foo.example.com');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-request-id']).toMatch(/\w{8,}/);
    expect(seen.headers['x-forwarded-for']).toBeTruthy();
  });

  it('pins a client with the affinity cookie over 50 requests; a client without it spreads', () => {
    const jar = join(dir, 'jar');
    const first = curl('http://sticky.example.com/', ['-c', jar]);
    expect(first.headers).toMatch(/set-cookie: INGRESSCOOKIE=/i);
    const pinned = new Set<string>();
    for (let i = 0; i < 50; i++) pinned.add(podOf(curl('http://sticky.example.com/', ['-b', jar]))!);
    expect([...pinned]).toEqual([podOf(first)]);
    const spread = new Set<string>();
    for (let i = 0; i < 30; i++) spread.add(podOf(curl('http://sticky.example.com/'))!);
    expect(spread.size).toBeGreaterThan(1);
  });

  it('answers 503 for a Service without ready endpoints and 502 when the backend refuses, naming host and path', () => {
    const empty = curl('http://err.example.com/empty');
    expect(empty.code).toBe(503);
    expect(empty.body).toMatch(/host: err\.example\.com\npath: \/empty/);
    const refused = curl('http://err.example.com/refuses');
    expect(refused.code).toBe(502);
    expect(refused.body).toMatch(/host: err\.example\.com\npath: \/refuses/);
  });

  it('serves HTTPS from an openssl-made Secret with SNI, redirects HTTP with 308, and serves a rotated Secret within 2 s', async () => {
    const one = selfSigned('one', 'tls.example.com');
    expect(c.kubectl(['create', 'secret', 'tls', 'tls-secret', '--cert', one.crt, '--key', one.key]).status).toBe(0);
    c.apply(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls}
spec:
  tls: [{hosts: [tls.example.com], secretName: tls-secret}]
  rules:
  - host: tls.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: kubia, port: {number: 80}}}}
`);
    await until('HTTPS with the first certificate', () => curl('https://tls.example.com/', ['--cacert', one.crt]).code === 200, 15_000);
    expect(podOf(curl('https://tls.example.com/', ['--cacert', one.crt]))).toMatch(/^kubia-/);
    const redirect = curl('http://tls.example.com/some/path?q=1');
    expect(redirect.code).toBe(308);
    expect(redirect.headers).toMatch(/location: https:\/\/tls\.example\.com\/some\/path\?q=1/i);

    const two = selfSigned('two', 'tls.example.com');
    const yaml = c.kubectl(['create', 'secret', 'tls', 'tls-secret', '--cert', two.crt, '--key', two.key, '--dry-run=client', '-o', 'yaml']).stdout;
    c.apply(yaml);
    const t0 = Date.now();
    await until('HTTPS with the rotated certificate', () => curl('https://tls.example.com/', ['--cacert', two.crt]).code === 200, 5000, 100);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(curl('https://tls.example.com/', ['--cacert', one.crt]).code).toBe(0); // the old CA no longer verifies
  });

  it('passes a WebSocket through to the backend and back', async () => {
    const ws = new WebSocket(`ws://${INGRESS_IP}/foo/ws`, { headers: { Host: 'foo.example.com' } });
    const reply = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no WebSocket reply in 5 s')), 5000);
      ws.on('open', () => ws.send('hello through the ingress'));
      ws.on('message', (d) => {
        clearTimeout(t);
        resolve(d.toString());
      });
      ws.on('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    ws.close();
    expect(reply).toMatch(/^foo-\S+: hello through the ingress$/);
  });
});
