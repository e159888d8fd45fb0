/**
 * kubectl ≥ 1.32 sends its typed-client bodies (kubectl create deployment,
 * configmap, secret, service, namespace, ingress; drain's DeleteOptions) as
 * application/vnd.kubernetes.protobuf. The real kubectl against a real
 * control plane: the objects must come out as if they had been sent as JSON.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneProcess, ROOT } from './helpers/control-plane-process.js';

const cp = new ControlPlaneProcess();

function ok(args: string[]): string {
  const r = cp.kubectl(args);
  expect(r.status, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function getJSON(...args: string[]): any {
  return JSON.parse(ok(['get', ...args, '-o', 'json']));
}

beforeAll(async () => {
  await cp.start();
});
afterAll(async () => {
  await cp.cleanup();
});

describe('kubectl create with protobuf bodies', () => {
  it('talks protobuf to the server: the request is protobuf, the reply JSON', () => {
    const r = cp.kubectl(['create', 'configmap', 'probe', '--from-literal=x=y', '-v=8']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Content-Type: application\/vnd\.kubernetes\.protobuf/);
    expect(r.stderr).toMatch(/Accept: application\/vnd\.kubernetes\.protobuf,application\/json/);
    expect(r.stdout).toContain('configmap/probe created');
  });

  it('creates a deployment', () => {
    expect(ok(['create', 'deployment', 'web', '--image=nginx', '--replicas=2'])).toContain('deployment.apps/web created');
    const d = getJSON('deployment', 'web');
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(d.metadata.labels).toEqual({ app: 'web' });
    expect(d.spec.template.metadata.labels).toEqual({ app: 'web' });
    expect(d.spec.template.spec.containers).toHaveLength(1);
    expect(d.spec.template.spec.containers[0]).toMatchObject({ name: 'nginx', image: 'nginx' });
    expect(d.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Defaults filled in as for a JSON body: nothing decoded as "" or 0.
    expect(d.spec.strategy.type).toBe('RollingUpdate');
    expect(d.metadata).not.toHaveProperty('generateName');
  });

  it('keeps an explicit --replicas=0', () => {
    ok(['create', 'deployment', 'idle', '--image=nginx', '--replicas=0']);
    expect(getJSON('deployment', 'idle').spec.replicas).toBe(0);
  });

  it('creates a configmap', () => {
    expect(ok(['create', 'configmap', 'c', '--from-literal=a=b', '--from-literal=greeting=hello world'])).toContain('configmap/c created');
    expect(getJSON('configmap', 'c').data).toEqual({ a: 'b', greeting: 'hello world' });
  });

  it('creates a generic secret (bytes are base64)', () => {
    expect(ok(['create', 'secret', 'generic', 's', '--from-literal=user=admin', '--from-literal=pw=p@ss'])).toContain('secret/s created');
    const s = getJSON('secret', 's');
    expect(s.type).toBe('Opaque');
    expect(Buffer.from(s.data.user, 'base64').toString()).toBe('admin');
    expect(Buffer.from(s.data.pw, 'base64').toString()).toBe('p@ss');
  });

  it('creates a NodePort service', () => {
    expect(ok(['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080'])).toContain('service/np created');
    const svc = getJSON('service', 'np');
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.selector).toEqual({ app: 'np' });
    expect(svc.spec.ports).toEqual([{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }]);
    expect(svc.spec.clusterIP).toMatch(/^10\./);
  });

  it('allocates a node port when none is given', () => {
    ok(['create', 'service', 'nodeport', 'np-auto', '--tcp=81:8081']);
    const port = getJSON('service', 'np-auto').spec.ports[0];
    expect(port.nodePort).toBeGreaterThanOrEqual(30000);
    expect(port.nodePort).toBeLessThanOrEqual(32767);
  });

  it('rejects a node port outside the range, like Kubernetes', () => {
    const r = cp.kubectl(['create', 'service', 'nodeport', 'np-bad', '--tcp=80:8080', '--node-port=8080']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('provided port is not in the valid range. The range of valid ports is 30000-32767');
    expect(cp.kubectl(['get', 'service', 'np-bad']).status).not.toBe(0);
  });

  it('creates ClusterIP and ExternalName services', () => {
    ok(['create', 'service', 'clusterip', 'cip', '--tcp=5678:8080']);
    expect(getJSON('service', 'cip').spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: 5678, targetPort: 8080, protocol: 'TCP' }] });
    ok(['create', 'service', 'externalname', 'en', '--external-name=bar.com']);
    expect(getJSON('service', 'en').spec).toMatchObject({ type: 'ExternalName', externalName: 'bar.com' });
  });

  it('creates a namespace', () => {
    expect(ok(['create', 'namespace', 'team-a'])).toContain('namespace/team-a created');
    const ns = getJSON('namespace', 'team-a');
    expect(ns.status.phase).toBe('Active');
    ok(['create', 'configmap', 'in-team', '-n', 'team-a', '--from-literal=k=v']);
    expect(getJSON('configmap', 'in-team', '-n', 'team-a').metadata.namespace).toBe('team-a');
  });

  it('creates an ingress (rules inline their http value)', () => {
    expect(ok(['create', 'ingress', 'ing', '--class=default', '--rule=foo.com/bar=svc1:8080', '--default-backend=defsvc:http'])).toContain('ingress.networking.k8s.io/ing created');
    const ing = getJSON('ingress', 'ing');
    expect(ing.spec.ingressClassName).toBe('default');
    expect(ing.spec.rules).toEqual([{ host: 'foo.com', http: { paths: [{ path: '/bar', pathType: 'Exact', backend: { service: { name: 'svc1', port: { number: 8080 } } } }] } }]);
    expect(ing.spec.defaultBackend).toEqual({ service: { name: 'defsvc', port: { name: 'http' } } });
  });

  it('rolls back and scales the deployment it created', () => {
    ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.27']);
    expect(ok(['rollout', 'undo', 'deployment/web'])).toContain('rolled back');
    expect(ok(['scale', 'deployment/web', '--replicas=3'])).toContain('scaled');
    expect(getJSON('deployment', 'web').spec.replicas).toBe(3);
  });

  it('drains a node: pods are deleted with a protobuf DeleteOptions body', () => {
    const manifests = `apiVersion: v1
kind: Node
metadata: {name: drain-me}
---
apiVersion: v1
kind: Pod
metadata: {name: on-node}
spec:
  nodeName: drain-me
  containers: [{name: c, image: nginx}]
`;
    const applied = cp.kubectl(['apply', '-f', '-'], manifests);
    expect(applied.status, applied.stderr).toBe(0);
    const r = cp.kubectl(['drain', 'drain-me', '--disable-eviction', '--force', '--grace-period=0', '--timeout=30s', '-v=8']);
    expect(r.status, r.stderr).toBe(0);
    // The DELETE's request headers (logged in Go's map order, up to the response).
    const del = /DELETE https:\/\/\S+\/api\/v1\/namespaces\/default\/pods\/on-node\n([\s\S]*?)Response Status/.exec(r.stderr);
    expect(del?.[1]).toMatch(/Content-Type: application\/vnd\.kubernetes\.protobuf/);
    expect(r.stdout).toContain('node/drain-me drained');
    expect(cp.kubectl(['get', 'pod', 'on-node']).status).not.toBe(0);
  });

  it('server-side dry run decodes but does not persist', () => {
    expect(ok(['create', 'configmap', 'dry', '--from-literal=a=b', '--dry-run=server', '-o', 'name'])).toContain('configmap/dry');
    expect(cp.kubectl(['get', 'configmap', 'dry']).status).not.toBe(0);
  });
});

describe('mutated protobuf bodies', () => {
  const FIXTURES = join(ROOT, 'packages', 'api-server', 'src', 'http', 'protobuf', 'fixtures');
  const PATHS: Record<string, string> = {
    configmap: '/api/v1/namespaces/default/configmaps',
    secret: '/api/v1/namespaces/default/secrets',
    'service-nodeport': '/api/v1/namespaces/default/services',
    namespace: '/api/v1/namespaces',
    deployment: '/apis/apps/v1/namespaces/default/deployments',
    ingress: '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
  };

  function post(path: string, body: Buffer): Promise<{ status: number; text: string }> {
    return new Promise((res, rej) => {
      const req = request(
        `${cp.url}${path}`,
        { method: 'POST', ca: cp.ca, headers: { Authorization: `Bearer ${cp.token}`, 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/json' } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => res({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', rej);
      req.end(body);
    });
  }

  it('are answered with success or a client error, never a server error', async () => {
    let seed = 20261125;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const codes = new Map<number, number>();
    const names = Object.keys(PATHS);
    for (let i = 0; i < 600; i++) {
      const name = names[i % names.length];
      const b = Buffer.from(readFileSync(join(FIXTURES, `${name}.bin`)));
      for (let j = 0, n = 1 + Math.floor(rand() * 3); j < n; j++) b[4 + Math.floor(rand() * (b.length - 4))] = Math.floor(rand() * 256);
      const r = await post(PATHS[name], b);
      codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
      expect(r.status, r.text).toBeLessThan(500);
      expect(JSON.parse(r.text).kind).toBeDefined();
    }
    expect(codes.get(400) ?? 0).toBeGreaterThan(0);
  });
});

describe('service accounts and tokens from kubectl (protobuf bodies)', () => {
  it('kubectl create serviceaccount, then kubectl create token: a signed token for it, bound to a pod on request', () => {
    expect(ok(['create', 'serviceaccount', 'robot'])).toContain('serviceaccount/robot created');
    const sa = getJSON('serviceaccount', 'robot');
    expect(ok(['get', 'sa'])).toMatch(/^NAME\s+SECRETS\s+AGE\n(default|robot)\s+0\s+/);
    const token = ok(['create', 'token', 'robot', '--duration', '15m', '--audience', 'vault']).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ sub: 'system:serviceaccount:default:robot', aud: ['vault'], 'kubernetes.io': { serviceaccount: { name: 'robot', uid: sa.metadata.uid } } });
    expect(claims.exp - claims.iat).toBe(900);
    const short = cp.kubectl(['create', 'token', 'robot', '--duration', '5m']);
    expect(short.stderr).toContain('spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes');
    const unbound = cp.kubectl(['create', 'token', 'robot', '--bound-object-kind', 'Pod', '--bound-object-name', 'nope']);
    expect(unbound.stderr).toContain('pods "nope" not found');
  });
});
