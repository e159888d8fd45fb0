/**
 * The real kubectl against a real control-plane process: the book's kubia
 * ReplicationController + Service, as a Kubernetes user would drive them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './helpers/netns-cluster.js';
import { ControlPlaneProcess, ROOT } from './helpers/control-plane-process.js';
import { join } from 'node:path';

const cp = new ControlPlaneProcess();


beforeAll(async () => {
  await cp.start();
});
afterAll(async () => {
  await cp.cleanup();
});

describe('kubectl against kubemu', () => {
  it('reports a server version kubectl accepts', () => {
    const r = cp.kubectl(['version', '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).serverVersion.minor).toBe('32');
  });

  it('applies the kubia RC and Service and shows them like Kubernetes', async () => {
    const r = cp.kubectl(['apply', '-f', join(ROOT, 'examples', 'kubia-rc.yaml'), '-f', join(ROOT, 'examples', 'kubia-svc.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('replicationcontroller/kubia created');
    expect(r.stdout).toContain('service/kubia created');

    const out = await until('3 pending kubia pods', () => {
      const g = cp.kubectl(['get', 'svc,endpoints,pods']);
      return (g.stdout.match(/pod\/kubia-\w{5}\s+0\/1\s+Pending\s+0\s+/g) ?? []).length === 3 && g.stdout;
    });
    expect(out).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    expect(out).toMatch(/^service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\S+$/m);
    expect(out).toMatch(/^service\/kubia\s+ClusterIP\s+10\.(9[6-9]|1[01]\d)\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+$/m);
    expect(out).toMatch(/^NAME\s+ENDPOINTS\s+AGE$/m);
    expect(out).toMatch(/^endpoints\/kubia\s+<none>\s+\S+$/m);
    expect(out).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
  });

  it('re-applies unchanged manifests as unchanged, and a change as configured', () => {
    let r = cp.kubectl(['apply', '-f', join(ROOT, 'examples', 'kubia-svc.yaml')]);
    expect(r.stdout.trim()).toBe('service/kubia unchanged');
    const changed = `apiVersion: v1
kind: Service
metadata:
  name: kubia
spec:
  sessionAffinity: ClientIP
  ports:
  - port: 80
    targetPort: 8080
  selector:
    app: kubia
`;
    r = cp.kubectl(['apply', '-f', '-'], changed);
    expect(r.stdout.trim(), r.stderr).toBe('service/kubia configured');
    const svc = JSON.parse(cp.kubectl(['get', 'svc', 'kubia', '-o', 'json']).stdout);
    expect(svc.spec.sessionAffinity).toBe('ClientIP');
    expect(svc.spec.sessionAffinityConfig.clientIP.timeoutSeconds).toBe(10800);
    expect(svc.spec.clusterIP).toMatch(/^10\./);
  });

  it('shows yaml, wide and describe output', () => {
    const y = cp.kubectl(['get', 'svc', 'kubia', '-o', 'yaml']);
    expect(y.stdout).toMatch(/targetPort: 8080/);
    expect(y.stdout).toMatch(/resourceVersion: "\d+"/);
    const w = cp.kubectl(['get', 'svc', 'kubia', '-o', 'wide']);
    expect(w.stdout).toMatch(/SELECTOR/);
    expect(w.stdout).toMatch(/app=kubia/);
    const d = cp.kubectl(['describe', 'svc', 'kubia']);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^Name:\s+kubia$/m);
    expect(d.stdout).toMatch(/^Selector:\s+app=kubia$/m);
    expect(d.stdout).toMatch(/^TargetPort:\s+8080\/TCP$/m);
    const dp = cp.kubectl(['describe', 'rc', 'kubia']);
    expect(dp.status, dp.stderr).toBe(0);
    expect(dp.stdout).toMatch(/Replicas:\s+3 current \/ 3 desired/);
  });

  it('scales the RC and labels pods', async () => {
    const s = cp.kubectl(['scale', 'rc', 'kubia', '--replicas=5']);
    expect(s.stdout.trim(), s.stderr).toBe('replicationcontroller/kubia scaled');
    await until('5 pods', () => cp.kubectl(['get', 'pods', '-l', 'app=kubia', '-o', 'name']).stdout.trim().split('\n').length === 5);
    const pod = cp.kubectl(['get', 'pods', '-o', 'name']).stdout.trim().split('\n')[0];
    const l = cp.kubectl(['label', pod, 'tier=web']);
    expect(l.stdout.trim(), l.stderr).toBe(`${pod} labeled`);
    expect(cp.kubectl(['get', 'pods', '-l', 'tier=web', '-o', 'name']).stdout.trim()).toBe(pod);
    await until('scale down to 2', () => {
      cp.kubectl(['scale', 'rc', 'kubia', '--replicas=2']);
      return cp.kubectl(['get', 'pods', '-l', 'app=kubia', '-o', 'name']).stdout.trim().split('\n').length === 2;
    });
  });

  it('rejects invalid objects with the field path and stores nothing', () => {
    const bad = `apiVersion: v1
kind: Service
metadata:
  name: bad-svc
spec:
  ports:
  - port: 80
  - port: 8080
  selector:
    app: x
`;
    const r = cp.kubectl(['apply', '-f', '-'], bad);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('spec.ports[0].name: Required value');
    expect(cp.kubectl(['get', 'svc', 'bad-svc']).stderr).toContain('NotFound');
    const np = cp.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata:\n  name: np-bad\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 8080\n');
    expect(np.status).not.toBe(0);
    expect(np.stderr).toMatch(/provided port is not in the valid range\. The range of valid ports is 30000-32767/);
  });

  it('refuses unknown fields under kubectl apply, and drops them with a warning under --validate=warn', () => {
    const rc = `apiVersion: v1
kind: ReplicationController
metadata:
  name: typo
spec:
  replicass: 3
  selector:
    app: typo
  template:
    metadata:
      labels:
        app: typo
    spec:
      containers:
      - name: c
        image: luksa/kubia
`;
    // kubectl apply sends fieldValidation=Strict: the create is refused, nothing is stored.
    let r = cp.kubectl(['apply', '-f', '-'], rc);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ReplicationController in version "v1" cannot be handled as a ReplicationController: strict decoding error: unknown field "spec.replicass"');
    expect(cp.kubectl(['get', 'rc', 'typo']).stderr).toContain('NotFound');

    // --validate=warn: created without the field, and kubectl prints the server's warning.
    r = cp.kubectl(['apply', '--validate=warn', '-f', '-'], rc);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('replicationcontroller/typo created');
    expect(r.stderr).toContain('Warning: unknown field "spec.replicass"');
    const got = JSON.parse(cp.kubectl(['get', 'rc', 'typo', '-o', 'json']).stdout);
    expect(got.spec.replicass).toBeUndefined();
    expect(got.spec.replicas).toBe(1);

    // Re-applying patches the existing object: the strategic merge patch is refused in Strict too...
    r = cp.kubectl(['apply', '-f', '-'], rc.replace('image: luksa/kubia', 'image: luksa/kubia:v2'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('strict decoding error: unknown field "spec.replicass"');
    // ...and goes through silently with --validate=false (fieldValidation=Ignore).
    r = cp.kubectl(['apply', '--validate=false', '-f', '-'], rc.replace('image: luksa/kubia', 'image: luksa/kubia:v2'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('replicationcontroller/typo configured');
    expect(r.stderr).toBe('');
    const patched = JSON.parse(cp.kubectl(['get', 'rc', 'typo', '-o', 'json']).stdout);
    expect(patched.spec.template.spec.containers[0].image).toBe('luksa/kubia:v2');
    expect(patched.spec.replicass).toBeUndefined();
    expect(cp.kubectl(['delete', 'rc', 'typo']).status).toBe(0);
  });

  it('deletes the RC with its pods, and the Service with its endpoints', async () => {
    const d = cp.kubectl(['delete', 'rc', 'kubia']);
    expect(d.stdout.trim(), d.stderr).toBe('replicationcontroller "kubia" deleted');
    await until('pods gone', () => cp.kubectl(['get', 'pods', '-o', 'name']).stdout.trim() === '');
    expect(cp.kubectl(['delete', 'svc', 'kubia']).status).toBe(0);
    await until('endpoints gone', () => !cp.kubectl(['get', 'endpoints', '-o', 'name']).stdout.includes('kubia'));
  });

  it('refuses requests without a token', async () => {
    const r = await fetchStatus(`${cp.url}/api/v1/pods`, cp.ca);
    expect(r).toBe(401);
  });
});

async function fetchStatus(url: string, ca: string): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((res, rej) => {
    const req = request(url, { ca }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on('error', rej);
    req.end();
  });
}
