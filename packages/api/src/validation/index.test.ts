import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import { resourceForKind } from '../resources.js';
import type { KubeObject } from '../types.js';
import { validateObject, validateObjectUpdate } from './index.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Manifests from the book's Services chapter (and the objects around them). */
const BOOK: KubeObject[] = [
  {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'kubia' },
    spec: {
      replicas: 3,
      selector: { app: 'kubia' },
      template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }] }] } },
    },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubia' }, spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: 'kubia' } } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubia-nodeport' },
    spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30123 }], selector: { app: 'kubia' } },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubia-loadbalancer' }, spec: { type: 'LoadBalancer', ports: [{ port: 80, targetPort: 8080 }], selector: { app: 'kubia' } } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubia-named' },
    spec: {
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'https', port: 443, targetPort: 'https' },
      ],
      selector: { app: 'kubia' },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kubia-named-ports', labels: { app: 'kubia' } },
    spec: {
      containers: [
        {
          name: 'kubia',
          image: 'luksa/kubia',
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'https', containerPort: 8443 },
          ],
        },
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubia-clientip' },
    spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 8080 }], selector: { app: 'kubia' } },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'kubia' },
    spec: {
      tls: [{ hosts: ['kubia.example.com'], secretName: 'tls-secret' }],
      rules: [{ host: 'kubia.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'kubia-nodeport', port: { number: 80 } } } }] } }],
    },
  },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls-secret' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('-----BEGIN CERTIFICATE-----'), 'tls.key': b64('-----BEGIN PRIVATE KEY-----') } },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kubia-ready', labels: { app: 'kubia' } },
    spec: { containers: [{ name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }], readinessProbe: { exec: { command: ['ls', '/var/ready'] } } }] },
  },
  {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'kubia-readiness' },
    spec: {
      replicas: 3,
      selector: { app: 'kubia' },
      template: {
        metadata: { labels: { app: 'kubia' } },
        spec: { containers: [{ name: 'kubia', image: 'luksa/kubia', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { exec: { command: ['ls', '/var/ready'] } } }] },
      },
    },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'external-service' }, spec: { ports: [{ port: 80 }] } },
  { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'external-service' }, subsets: [{ addresses: [{ ip: '11.11.11.11' }, { ip: '22.22.22.22' }], ports: [{ port: 80 }] }] },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'external-service' }, spec: { type: 'ExternalName', externalName: 'someapi.somecompany.com', ports: [{ port: 80 }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubia-headless' }, spec: { clusterIP: 'None', ports: [{ port: 80, targetPort: 8080 }], selector: { app: 'kubia' } } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubia-nodeport-onlylocal' },
    spec: { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080, nodePort: 30124 }], selector: { app: 'kubia' } },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'kubia' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'kubia' } },
      template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'nodejs', image: 'luksa/kubia:v1' }] } },
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'kubia' },
    spec: {
      replicas: 3,
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['kubia'] }] },
      template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'kubia', image: 'luksa/kubia' }] } },
    },
  },
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubia-abcde', labels: { 'kubernetes.io/service-name': 'kubia' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' }],
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'custom-namespace' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fortune-config' }, data: { 'sleep-interval': '25' } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
  {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    status: { addresses: [{ type: 'InternalIP', address: '172.30.0.11' }], capacity: { cpu: '4', memory: '8Gi', pods: '110' } },
  },
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'kubia.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'kubia', namespace: 'default', uid: 'u' },
    reason: 'Started',
    message: 'Started container kubia',
    type: 'Normal',
    source: { component: 'kubelet', host: 'node-1' },
    count: 1,
  },
];

/** What the registry does before validating: namespace from the URL, then defaults. */
function prepare(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  const r = resourceForKind(c.apiVersion, c.kind);
  if (r?.namespaced) c.metadata.namespace ??= 'default';
  applyDefaults(c);
  return c;
}

describe('book manifests', () => {
  it.each(BOOK.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))('%s validates clean after defaults', (_n, o) => {
    const obj = prepare(o);
    expect(validateObject(obj).map(formatFieldError)).toEqual([]);
    // Re-applying defaults changes nothing, and an identical update is valid too.
    const again = structuredClone(obj);
    applyDefaults(again);
    expect(again).toEqual(obj);
    expect(validateObjectUpdate(structuredClone(obj), obj).map(formatFieldError)).toEqual([]);
  });
});

describe('robustness', () => {
  it('handles non-objects and unknown kinds', () => {
    for (const g of [null, undefined, 1, 'x', [], true]) {
      expect(() => validateObject(g as unknown as KubeObject)).not.toThrow();
      expect(validateObject(g as unknown as KubeObject).length).toBeGreaterThan(0);
    }
    expect(validateObject({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'a' } })).toEqual([]);
    expect(validateObject({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'A' } }).length).toBe(1);
  });

  // A tiny deterministic PRNG so failures reproduce.
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const HUGE = 'x'.repeat(300_000);
  const GARBAGE: (() => unknown)[] = [
    () => null,
    () => undefined,
    () => 0,
    () => -1,
    () => 1.5,
    () => 2 ** 40,
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => '',
    () => 'abc',
    () => 'None',
    () => '10.96.0.1',
    () => HUGE,
    () => true,
    () => false,
    () => [],
    () => [null],
    () => [null, 1, 'a', {}, []],
    () => ({}),
    () => ({ a: null, b: [null] }),
    () => ({ name: 5, port: 'x', matchLabels: [], matchExpressions: {} }),
    () => ({ ['__proto__']: { polluted: true } }),
    () => ({ toString: 1, valueOf: 'x', hasOwnProperty: 2 }),
    () => Array.from({ length: 2000 }, (_, i) => ({ port: i })),
  ];

  function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
    out.push(prefix);
    if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...prefix, k], out);
    return out;
  }

  function mutate(root: unknown, r: () => number): unknown {
    const all = paths(root);
    const p = all[Math.floor(r() * all.length)]!;
    const g = GARBAGE[Math.floor(r() * GARBAGE.length)]!();
    if (p.length === 0) return r() < 0.5 ? g : root;
    let parent: any = root;
    for (const k of p.slice(0, -1)) parent = parent[k];
    const last = p[p.length - 1]!;
    const op = r();
    if (op < 0.6) parent[last] = g;
    else if (op < 0.8) {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (parent && typeof parent === 'object' && !Array.isArray(parent)) {
      const keys = ['port', 'name', 'spec', 'selector', 'type', 'clusterIP', 'ports', 'containers', 'labels', 'template', 'targetPort', 'subsets', 'endpoints', 'rules', 'data'];
      parent[keys[Math.floor(r() * keys.length)]!] = g;
    }
    return root;
  }

  it('never throws and never reports an internal error on thousands of mutated manifests', () => {
    // FUZZ_ITER / FUZZ_SEED let a developer run a longer campaign locally.
    const iterations = Number(process.env.FUZZ_ITER ?? 4000);
    const r = rng(Number(process.env.FUZZ_SEED ?? 20240601));
    let checked = 0;
    for (let i = 0; i < iterations; i++) {
      const original = prepare(BOOK[i % BOOK.length]!);
      let obj: unknown = structuredClone(original);
      const n = 1 + Math.floor(r() * 4);
      for (let j = 0; j < n; j++) obj = mutate(obj, r);
      let errs: ReturnType<typeof validateObject> = [];
      try {
        applyDefaults(obj as KubeObject);
        errs = validateObject(obj as KubeObject);
        errs = errs.concat(validateObject(obj as KubeObject, original));
        errs = errs.concat(validateObject(original, obj as KubeObject));
      } catch (e) {
        throw new Error(`threw on mutation ${i}: ${(e as Error).stack}\n${JSON.stringify(obj).slice(0, 2000)}`);
      }
      const internal = errs.filter((e) => e.type === 'InternalError');
      if (internal.length) throw new Error(`internal error on mutation ${i}: ${internal.map(formatFieldError).join('; ')}\n${JSON.stringify(obj).slice(0, 2000)}`);
      for (const e of errs) expect(typeof formatFieldError(e)).toBe('string');
      checked++;
    }
    expect(checked).toBe(iterations);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
