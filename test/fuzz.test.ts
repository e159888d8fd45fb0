/**
 * Throws thousands of mutated manifests at a real control-plane process:
 * it must answer each with a Status (never a 5xx), never stop serving, and
 * never store an object that fails validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'node:https';
import { RESOURCES, groupVersion, resourceForKind, validateObject, type KubeObject } from '@kubemu/api';
import { ControlPlaneProcess } from './helpers/control-plane-process.js';
import { unknownFields } from '../packages/api-server/src/http/field-validation.js';

const cp = new ControlPlaneProcess();
beforeAll(() => cp.start());
afterAll(() => cp.cleanup());

/** A small seeded PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', selector: { app: 'a' }, ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP' }], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'luksa/kubia', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { exec: { command: ['ls', '/var/ready'] }, periodSeconds: 1 }, env: [{ name: 'A', value: 'b' }] }] } },
  { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { replicas: 0, selector: { app: 'r' }, template: { metadata: { labels: { app: 'r' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } },
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 0, selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i' }, spec: { tls: [{ hosts: ['kubia.example.com'], secretName: 'tls' }], rules: [{ host: 'kubia.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }] } },
  { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 8080 }] }] },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, type: 'Opaque', data: { k: 'dmFsdWU=' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', labels: { a: 'b' } }, data: { k: 'v' } },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'es' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
];

const WEIRD: unknown[] = [null, 0, -1, 65536, 1e21, 1.5, '', 'x', 'UPPER', '-bad-', 'a'.repeat(300), '10.96.0.1', '::1', '名前', true, [], [null], {}, { a: 1 }, ['x'], 'None', 'ClientIP', 'Local'];

function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v && typeof v === 'object') {
    for (const [k, c] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(c, p, out);
    }
  }
  return out;
}

function mutate(obj: KubeObject, rand: () => number): KubeObject {
  const o = structuredClone(obj) as any;
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const all = paths(o).filter((p) => !(p[0] === 'metadata' && p[1] === 'name' && p.length === 2));
    const p = all[Math.floor(rand() * all.length)];
    if (!p) continue;
    let parent = o;
    for (const k of p.slice(0, -1)) parent = parent[k];
    const last = p[p.length - 1];
    const choice = rand();
    if (choice < 0.3) {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (choice < 0.9) parent[last] = structuredClone(WEIRD[Math.floor(rand() * WEIRD.length)]);
    else if (Array.isArray(parent)) parent.push(structuredClone(parent[Number(last)]));
  }
  return o;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function post(path: string, body: string): Promise<number> {
  return new Promise((res, rej) => {
    const req = request(`${cp.url}${path}`, { method: 'POST', agent, ca: cp.ca, headers: { Authorization: `Bearer ${cp.token}`, 'Content-Type': 'application/json' } }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode ?? 0));
    });
    req.on('error', rej);
    req.end(body);
  });
}

function pathFor(seed: KubeObject): string {
  const r = resourceForKind(seed.apiVersion, seed.kind)!;
  const base = r.group ? `/apis/${groupVersion(r)}` : `/api/${r.version}`;
  return `${base}${r.namespaced ? '/namespaces/default' : ''}/${r.plural}`;
}

describe('fuzzing the API with mutated manifests', () => {
  it('answers every request with a client error or success and stores only valid objects', async () => {
    const rand = rng(20261125);
    const codes = new Map<number, number>();
    const N = 3000;
    let i = 0;
    const worker = async () => {
      while (i < N) {
        const k = i++;
        const seed = SEEDS[k % SEEDS.length];
        const m = mutate(seed, rand);
        if (m.metadata && typeof m.metadata === 'object') m.metadata.name = `${String(seed.metadata.name)}-${k}`;
        let body = JSON.stringify(m);
        if (k % 97 === 0) body = body.slice(0, Math.floor(body.length / 2)); // truncated JSON
        const code = await post(pathFor(seed), body);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    console.log('fuzz status codes:', JSON.stringify([...codes].sort()));
    const serverErrors = [...codes].filter(([c]) => c >= 500);
    expect(serverErrors, JSON.stringify([...codes])).toEqual([]);
    expect([...codes.keys()].every((c) => [201, 400, 404, 409, 413, 415, 422].includes(c)), JSON.stringify([...codes])).toBe(true);
    expect(codes.get(201) ?? 0).toBeGreaterThan(50);
    expect((codes.get(422) ?? 0) + (codes.get(400) ?? 0)).toBeGreaterThan(500);

    // The server is alive and everything it stored is valid.
    const health = await cp.api('GET', '/healthz');
    expect(health.status).toBe(200);
    for (const r of RESOURCES) {
      const base = r.group ? `/apis/${groupVersion(r)}` : `/api/${r.version}`;
      const list = await cp.api('GET', `${base}/${r.plural}`);
      expect(list.status).toBe(200);
      for (const item of list.body.items as KubeObject[]) {
        const obj = { ...item, apiVersion: groupVersion(r), kind: r.kind };
        expect(validateObject(obj), `${r.plural}/${item.metadata.name}`).toEqual([]);
        expect(unknownFields(obj, r.kind, groupVersion(r)), `${r.plural}/${item.metadata.name}`).toEqual([]);
      }
    }
  });

  it('rejects bodies over 3 MiB with 413 and keeps serving', async () => {
    const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { k: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    expect(await post('/api/v1/namespaces/default/configmaps', big)).toBe(413);
    const r = await cp.api('GET', '/api/v1/namespaces/default/configmaps/big');
    expect(r.status).toBe(404);
    expect(r.body.kind).toBe('Status');
  });

  it('rejects unknown namespaces, kinds and missing tokens with Statuses', async () => {
    let r = await cp.api('POST', '/api/v1/namespaces/nope/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "nope" not found');
    r = await cp.api('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } });
    expect(r.status).toBe(400);
    r = await cp.api('GET', '/apis/example.com/v1/widgets');
    expect(r.status).toBe(404);
    r = await cp.api('GET', '/api/v1/pods', undefined, { Authorization: 'Bearer wrong' });
    expect(r.status).toBe(401);
    expect(r.body.reason).toBe('Unauthorized');
  });
});
