/**
 * Server-side apply with the real kubectl against an API-only control plane,
 * plus the upstream conformance cases of test/e2e/apimachinery/apply.go
 * ("[sig-api-machinery] ServerSideApply ...") that need no CRDs, over REST.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneProcess } from './helpers/control-plane-process.js';

const cp = new ControlPlaneProcess();

beforeAll(async () => {
  await cp.start();
});
afterAll(async () => {
  await cp.cleanup();
});

const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
const NS = '/api/v1/namespaces/default';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, o: { replicas?: number; labels?: Record<string, string>; image?: string; port?: boolean } = {}): string {
  const labels = o.labels ?? { app: name };
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    '  labels:',
    ...Object.entries(labels).map(([k, v]) => `    ${k}: ${v}`),
    'spec:',
    ...(o.replicas === undefined ? [] : [`  replicas: ${o.replicas}`]),
    '  selector:',
    '    matchLabels:',
    `      app: ${name}`,
    '  template:',
    '    metadata:',
    '      labels:',
    `        app: ${name}`,
    '    spec:',
    '      containers:',
    '      - name: nginx',
    `        image: ${o.image ?? 'nginx:1.25'}`,
    ...(o.port === false ? [] : ['        ports:', '        - containerPort: 80']),
    '',
  ].join('\n');
}

function getJSON(kind: string, name: string): any {
  const r = cp.kubectl(['get', kind, name, '-o', 'json', '--show-managed-fields']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** The resourceVersion once the controllers are done with the object (the deployment controller writes status after a change). */
async function settledRV(kind: string, name: string): Promise<string> {
  let last = getJSON(kind, name).metadata.resourceVersion;
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = getJSON(kind, name).metadata.resourceVersion;
    if (now === last) return now;
    last = now;
  }
  throw new Error(`${kind}/${name} never settled`);
}

const managers = (obj: any) => (obj.metadata.managedFields ?? []).map((e: any) => `${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ''}`);
const entry = (obj: any, manager: string, operation = 'Apply') => obj.metadata.managedFields.find((e: any) => e.manager === manager && e.operation === operation && !e.subresource);

describe('kubectl apply --server-side', () => {
  it('creates the object, owned by the manager "kubectl"', () => {
    const r = cp.kubectl(['apply', '--server-side', '-f', '-'], deployment('web', { replicas: 2, labels: { app: 'web', tier: 'front' } }));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('deployment.apps/web serverside-applied');
    const d = getJSON('deployment', 'web');
    expect(d.spec.replicas).toBe(2);
    expect(entry(d, 'kubectl').fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {}, 'f:tier': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } },
            },
          },
        },
      },
    });
  });

  it('re-applies an unchanged manifest without writing: the resourceVersion stays', async () => {
    const before = await settledRV('deployment', 'web');
    const r = cp.kubectl(['apply', '--server-side', '-f', '-'], deployment('web', { replicas: 2, labels: { app: 'web', tier: 'front' } }));
    expect(r.status, r.stderr).toBe(0);
    expect(getJSON('deployment', 'web').metadata.resourceVersion).toBe(before);
  });

  it('refuses a second manager changing a field the first owns: kubectl prints the conflict, nothing changes', async () => {
    const before = await settledRV('deployment', 'web');
    const r = cp.kubectl(['apply', '--server-side', '--field-manager=other', '-f', '-'], deployment('web', { replicas: 3, labels: { app: 'web', tier: 'front' } }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    expect(r.stderr).toContain('command with the `--force-conflicts` flag');
    const d = getJSON('deployment', 'web');
    expect(d.spec.replicas).toBe(2);
    expect(d.metadata.resourceVersion).toBe(before);
  });

  it('takes the field with --force-conflicts', () => {
    const r = cp.kubectl(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], deployment('web', { replicas: 3, labels: { app: 'web' } }));
    expect(r.status, r.stderr).toBe(0);
    const d = getJSON('deployment', 'web');
    expect(d.spec.replicas).toBe(3);
    expect(entry(d, 'other').fieldsV1['f:spec']['f:replicas']).toEqual({});
    expect(entry(d, 'kubectl').fieldsV1['f:spec']['f:replicas']).toBeUndefined();
  });

  it('removes a field the first manager drops from its manifest, keeps what the other still owns', () => {
    // kubectl alone owns the tier label; other now owns replicas and co-owns the rest
    const r = cp.kubectl(['apply', '--server-side', '-f', '-'], deployment('web', { labels: { app: 'web' } }));
    expect(r.status, r.stderr).toBe(0);
    const d = getJSON('deployment', 'web');
    expect(d.metadata.labels).toEqual({ app: 'web' });
    expect(d.spec.replicas).toBe(3);
  });

  it('dry-runs on the server without creating anything', () => {
    const r = cp.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], deployment('dry'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('deployment.apps/dry serverside-applied (server dry run)');
    expect(cp.kubectl(['get', 'deployment', 'dry']).stderr).toContain('NotFound');
  });

  it('takes over a Deployment from client-side apply without conflicts, migrating its managed fields', () => {
    const manifest = deployment('csa', { replicas: 2, labels: { app: 'csa', tier: 'front' } });
    let r = cp.kubectl(['apply', '-f', '-'], manifest);
    expect(r.stdout.trim(), r.stderr).toBe('deployment.apps/csa created');
    let d = getJSON('deployment', 'csa');
    expect(managers(d)).toContain('kubectl-client-side-apply/Update');
    expect(entry(d, 'kubectl-client-side-apply', 'Update').fieldsV1['f:metadata']['f:annotations']).toEqual({ '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} });

    // the first server-side apply also changes a field client-side apply set: no conflict for kubectl
    r = cp.kubectl(['apply', '--server-side', '-f', '-'], deployment('csa', { replicas: 2, labels: { app: 'csa', tier: 'front' }, image: 'nginx:1.26' }));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('deployment.apps/csa serverside-applied');
    d = getJSON('deployment', 'csa');
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.26');
    expect(managers(d)).not.toContain('kubectl-client-side-apply/Update');
    expect(entry(d, 'kubectl').fieldsV1['f:spec']['f:replicas']).toEqual({});

    // kubectl now owns what client-side apply set: dropping it from the manifest removes it
    r = cp.kubectl(['apply', '--server-side', '-f', '-'], deployment('csa', { replicas: 2, labels: { app: 'csa' }, image: 'nginx:1.26' }));
    expect(r.status, r.stderr).toBe(0);
    d = getJSON('deployment', 'csa');
    expect(d.metadata.labels).toEqual({ app: 'csa' });
    // and the client-side annotation follows the server-side configuration
    expect(JSON.parse(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).metadata.labels).toEqual({ app: 'csa' });
  });

  it('shows managed fields only with --show-managed-fields', () => {
    const plain = cp.kubectl(['get', 'deployment', 'web', '-o', 'yaml']);
    expect(plain.stdout).not.toContain('managedFields');
    const y = cp.kubectl(['get', 'deployment', 'web', '-o', 'yaml', '--show-managed-fields']);
    expect(y.status, y.stderr).toBe(0);
    expect(y.stdout).toMatch(/managedFields:\n {2}- apiVersion: apps\/v1\n {4}fieldsType: FieldsV1\n {4}fieldsV1:\n/);
    expect(y.stdout).toMatch(/^ {4}manager: kubectl\n {4}operation: Apply\n {4}time: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$/m);
    expect(y.stdout).toMatch(/^ {4}manager: other\n {4}operation: Apply$/m);
    expect(y.stdout).toContain('k:{"name":"nginx"}:');
    expect(y.stdout).toContain('k:{"containerPort":80,"protocol":"TCP"}:');
    // the deployment controller's writes, status under its subresource
    expect(y.stdout).toMatch(/^ {4}manager: kube-controller-manager\n {4}operation: Update\n {4}subresource: status$/m);
  });

  it('records other kubectl writes as Update managers', () => {
    expect(cp.kubectl(['create', 'configmap', 'cfg', '--from-literal=a=1']).status).toBe(0);
    expect(cp.kubectl(['label', 'configmap', 'cfg', 'team=x']).status).toBe(0);
    const cm = getJSON('configmap', 'cfg');
    expect(managers(cm).sort()).toEqual(['kubectl-create/Update', 'kubectl-label/Update']);
    expect(entry(cm, 'kubectl-label', 'Update').fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:team': {} } } });
    expect(entry(cm, 'kubectl-create', 'Update').fieldsV1).toEqual({ 'f:data': { '.': {}, 'f:a': {} } });
  });
});

/** The conformance cases of test/e2e/apimachinery/apply.go, over REST as they are written there. */
describe('[sig-api-machinery] ServerSideApply', () => {
  const podBody = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'test-pod' }, spec: { containers: [{ name: 'test-container', image: 'test-image' }] } };
  const apply = (path: string, manager: string, body: unknown, extra = '') => cp.api('PATCH', `${path}?fieldManager=${manager}${extra}`, body, APPLY);

  it('should create an applied object if it does not already exist', async () => {
    const cases = [
      { path: `${NS}/pods/test-pod`, body: podBody, managedFields: '{"f:spec":{"f:containers":{"k:{\\"name\\":\\"test-container\\"}":{".":{},"f:image":{},"f:name":{}}}}}' },
      {
        path: `${NS}/services/test-svc`,
        body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'test-svc' }, spec: { ports: [{ port: 8080, protocol: 'UDP' }] } },
        managedFields: '{"f:spec":{"f:ports":{"k:{\\"port\\":8080,\\"protocol\\":\\"UDP\\"}":{".":{},"f:port":{},"f:protocol":{}}}}}',
      },
    ];
    for (const tc of cases) {
      const created = await apply(tc.path, 'apply_test', tc.body);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect((await cp.api('GET', tc.path)).status).toBe(200);
      const again = await apply(tc.path, 'apply_test_2', tc.body);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      const mine = again.body.metadata.managedFields.filter((e: any) => e.manager === 'apply_test' || e.manager === 'apply_test_2');
      expect(mine).toHaveLength(2);
      for (const e of mine) expect(JSON.stringify(e.fieldsV1)).toBe(tc.managedFields);
    }
  });

  it('should work for subresources', async () => {
    const statusPatch = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'test-pod' }, status: { conditions: [{ type: 'MyStatus', status: 'True' }] } };
    const main = await apply(`${NS}/pods/test-pod`, 'apply_test2', statusPatch);
    expect(main.status, JSON.stringify(main.body)).toBe(200);
    let pod = (await cp.api('GET', `${NS}/pods/test-pod`)).body;
    expect((pod.status.conditions ?? []).some((c: any) => c.type === 'MyStatus')).toBe(false);
    const st = await apply(`${NS}/pods/test-pod/status`, 'apply_test2', statusPatch);
    expect(st.status, JSON.stringify(st.body)).toBe(200);
    pod = (await cp.api('GET', `${NS}/pods/test-pod`)).body;
    expect(pod.status.conditions.some((c: any) => c.type === 'MyStatus')).toBe(true);
    const entryOf = pod.metadata.managedFields.find((e: any) => e.manager === 'apply_test2' && e.subresource === 'status');
    expect(entryOf.fieldsV1).toEqual({ 'f:status': { 'f:conditions': { 'k:{"type":"MyStatus"}': { '.': {}, 'f:status': {}, 'f:type': {} } } } });
  });

  it('should remove a field if it is owned but removed in the apply request', async () => {
    expect((await apply(`${DEPLOYMENTS}/deployment`, 'apply_test', deployment('deployment', { replicas: 3, labels: { app: 'nginx' } }))).status).toBe(201);
    const r = await apply(`${DEPLOYMENTS}/deployment`, 'apply_test', deployment('deployment', { replicas: 3, labels: { app: 'nginx' }, port: false }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const d = (await cp.api('GET', `${DEPLOYMENTS}/deployment`)).body;
    expect(d.spec.template.spec.containers[0].ports).toBeUndefined();
  });

  it('should not remove a field if an owner unsets the field but other managers still have ownership of the field', async () => {
    const withHostname = (replicas?: number) =>
      deployment('deployment-shared-unset', { replicas, labels: { app: 'nginx' }, port: false }).replace('    spec:\n      containers:', '    spec:\n      hostname: test-hostname\n      containers:');
    for (const m of ['shared_owner_1', 'shared_owner_2']) expect((await apply(`${DEPLOYMENTS}/deployment-shared-unset`, m, withHostname(3))).status).toBeLessThan(300);
    const unset = deployment('deployment-shared-unset', { labels: { app: 'nginx' }, port: false });
    const r = await apply(`${DEPLOYMENTS}/deployment-shared-unset`, 'shared_owner_1', unset);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.spec.replicas).toBe(3);
    expect(r.body.spec.template.spec.hostname).toBe('test-hostname');
  });

  it('should ignore conflict errors if force apply is used', async () => {
    const body = deployment('deployment-force', { replicas: 3, labels: { app: 'nginx' }, port: false });
    expect((await apply(`${DEPLOYMENTS}/deployment-force`, 'apply_test', body)).status).toBe(201);
    const merge = await cp.api('PATCH', `${DEPLOYMENTS}/deployment-force`, { spec: { replicas: 5 } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(merge.status).toBe(200);
    const conflict = await apply(`${DEPLOYMENTS}/deployment-force`, 'apply_test', body);
    expect(conflict.status).toBe(409);
    expect(conflict.body.reason).toBe('Conflict');
    expect(conflict.body.details.causes.length).toBeGreaterThanOrEqual(1);
    expect(conflict.body.details.causes[0]).toMatchObject({ reason: 'FieldManagerConflict', field: '.spec.replicas' });
    const forced = await apply(`${DEPLOYMENTS}/deployment-force`, 'apply_test', body, '&force=true');
    expect(forced.status, JSON.stringify(forced.body)).toBe(200);
    expect(forced.body.spec.replicas).toBe(3);
  });

  it('should give up ownership of a field if forced applied by a controller', async () => {
    const path = `${DEPLOYMENTS}/deployment-shared-map-item-removal`;
    expect((await apply(path, 'test_applier', deployment('deployment-shared-map-item-removal', { replicas: 3, labels: { app: 'nginx' }, port: false }))).status).toBe(201);
    // e2edeployment.UpdateDeploymentWithRetries: the deployment controller writes too, so a stale read is retried
    let put = 0;
    for (let i = 0; i < 10 && put !== 200; i++) {
      const live = (await cp.api('GET', path)).body;
      live.spec.replicas = 4;
      put = (await cp.api('PUT', path, live)).status;
      expect([200, 409]).toContain(put);
    }
    expect(put).toBe(200);
    const r = await apply(path, 'test_applier', deployment('deployment-shared-map-item-removal', { labels: { app: 'nginx' }, port: false }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.spec.replicas).toBe(4);
  });
});
