/**
 * Server-side apply and managedFields through the REST handler, over real
 * HTTP: options validation, create, no-op, conflicts, force, bad input,
 * dry-run, and Update managers named from ?fieldManager or the User-Agent.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError } from '@kubemu/api';
import { Registry, RES } from '../registry/registry.js';
import { bootstrap } from '../system/bootstrap.js';
import { ResourceHandler } from './resource-handler.js';
import { sendJSON } from './respond.js';
import { parseRoute } from './route.js';

let server: Server;
let base: string;
let reg: Registry;

beforeAll(async () => {
  reg = Registry.inMemory();
  bootstrap(reg, { ip: '172.30.0.2', port: 6443 });
  const handler = new ResourceHandler(reg);
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://kubemu');
    const route = parseRoute(url.pathname);
    if (route.type !== 'resource') return sendJSON(res, 404, {});
    handler
      .handle({ req, res, query: url.searchParams, resource: route.resource, namespace: route.namespace, name: route.name, subresource: route.subresource, legacyWatch: route.legacyWatch })
      .catch((e) => (isApiError(e) ? sendJSON(res, e.code, e.status) : sendJSON(res, 500, { message: String(e) })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
const CM = '/api/v1/namespaces/default/configmaps';
const DEP = '/apis/apps/v1/namespaces/default/deployments';

const cmYaml = (name: string, data: Record<string, string>) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
data:
${Object.entries(data)
  .map(([k, v]) => `  ${k}: "${v}"`)
  .join('\n')}
`;

const deployYaml = (name: string, replicas: number, image = 'nginx:1.25') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: web
        image: ${image}
`;

describe('apply patch options', () => {
  it('requires fieldManager with 422 PatchOptions, and refuses force on other patches', async () => {
    const r = await call('PATCH', `${CM}/opts`, cmYaml('opts', { a: '1' }), APPLY);
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    expect(r.body.details.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }]);
    const f = await call('PATCH', `${CM}/opts?force=true`, '{"data":{"a":"1"}}', { 'Content-Type': 'application/merge-patch+json' });
    expect(f.status).toBe(422);
    expect(f.body.message).toBe('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
    const long = await call('POST', `${CM}?fieldManager=${'m'.repeat(129)}`, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"long"}}');
    expect(long.status).toBe(422);
    expect(long.body.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes');
    expect((await call('GET', `${CM}/opts`)).status).toBe(404);
  });
});

describe('server-side apply', () => {
  it('creates the object (201) and records an Apply entry', async () => {
    const r = await call('PATCH', `${CM}/one?fieldManager=alice`, cmYaml('one', { a: '1', b: '2' }), APPLY);
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ a: '1', b: '2' });
    expect(r.body.metadata.managedFields).toEqual([
      { manager: 'alice', operation: 'Apply', apiVersion: 'v1', time: expect.stringMatching(/Z$/), fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } },
    ]);
  });

  it('re-applied unchanged, writes nothing: same resourceVersion', async () => {
    const before = (await call('GET', `${CM}/one`)).body.metadata.resourceVersion;
    const r = await call('PATCH', `${CM}/one?fieldManager=alice`, cmYaml('one', { a: '1', b: '2' }), APPLY);
    expect(r.status).toBe(200);
    expect(r.body.metadata.resourceVersion).toBe(before);
    expect(reg.resourceVersion).toBe(String(before));
  });

  it('refuses a change to a field another manager owns with 409 naming both, writing nothing', async () => {
    const before = (await call('GET', `${CM}/one`)).body.metadata.resourceVersion;
    const r = await call('PATCH', `${CM}/one?fieldManager=bob`, cmYaml('one', { a: 'changed', c: '3' }), APPLY);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "alice": .data.a',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.a' }] },
    });
    expect((await call('GET', `${CM}/one`)).body.metadata.resourceVersion).toBe(before);
  });

  it('takes the field with force=true; the loser keeps the rest', async () => {
    const r = await call('PATCH', `${CM}/one?fieldManager=bob&force=true`, cmYaml('one', { a: 'changed', c: '3' }), APPLY);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ a: 'changed', b: '2', c: '3' });
    const byManager = Object.fromEntries(r.body.metadata.managedFields.map((e: any) => [e.manager, e.fieldsV1]));
    expect(byManager).toEqual({ alice: { 'f:data': { 'f:b': {} } }, bob: { 'f:data': { 'f:a': {}, 'f:c': {} } } });
  });

  it('removes what a manager stops applying, but not what another manager owns', async () => {
    const r = await call('PATCH', `${CM}/one?fieldManager=bob`, cmYaml('one', { c: '3' }), APPLY);
    expect(r.body.data).toEqual({ b: '2', c: '3' });
    const r2 = await call('PATCH', `${CM}/one?fieldManager=alice`, cmYaml('one', { c: '3' }), APPLY);
    expect(r2.body.data).toEqual({ c: '3' });
    const managers = r2.body.metadata.managedFields.map((e: any) => [e.manager, e.fieldsV1]);
    expect(managers).toEqual([
      ['alice', { 'f:data': { 'f:c': {} } }],
      ['bob', { 'f:data': { 'f:c': {} } }],
    ]);
  });

  it('lists several conflicts by manager, as kube-apiserver prints them', async () => {
    await call('PATCH', `${DEP}/multi?fieldManager=first`, deployYaml('multi', 1), APPLY);
    const r = await call('PATCH', `${DEP}/multi?fieldManager=second`, deployYaml('multi', 2, 'nginx:1.26'), APPLY);
    expect(r.status).toBe(409);
    expect(r.body.message).toBe('Apply failed with 2 conflicts: conflicts with "first":\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image');
    expect(r.body.details.causes.map((c: any) => c.field)).toEqual(['.spec.replicas', '.spec.template.spec.containers[name="web"].image']);
  });

  it('answers bad input with a Status naming the field, and stores nothing', async () => {
    const unknown = await call('PATCH', `${CM}/bad?fieldManager=x`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndatta: {a: "1"}\n', APPLY);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe('failed to create typed patch object (default/bad; /v1, Kind=ConfigMap): .datta: field not declared in schema');
    const noKey = await call('PATCH', `${DEP}/bad?fieldManager=x`, deployYaml('bad', 1).replace('- name: web\n        image', '- image'), APPLY);
    expect(noKey.status).toBe(400);
    expect(noKey.body.message).toBe(
      'failed to create typed patch object (default/bad; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
    );
    const mf = await call('PATCH', `${CM}/bad?fieldManager=x`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, managedFields: [{manager: x}]}\n', APPLY);
    expect(mf.status).toBe(400);
    expect(mf.body.message).toBe('metadata.managedFields must be nil');
    const version = await call('PATCH', `${DEP}/bad?fieldManager=x`, deployYaml('bad', 1).replace('apps/v1', 'apps/v1beta1'), APPLY);
    expect(version.status).toBe(400);
    expect(version.body.message).toBe('Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1');
    const yaml = await call('PATCH', `${CM}/bad?fieldManager=x`, 'data: [unclosed', APPLY);
    expect(yaml.status).toBe(400);
    expect(yaml.body.message).toMatch(/^error decoding YAML: /);
    const invalid = await call('PATCH', `${DEP}/bad?fieldManager=x`, deployYaml('bad', -1), APPLY);
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toContain('spec.replicas');
    for (const p of [`${CM}/bad`, `${DEP}/bad`]) expect((await call('GET', p)).status).toBe(404);
  });

  it('takes a resourceVersion in the configuration as a precondition', async () => {
    const live = (await call('GET', `${CM}/one`)).body;
    const stale = await call('PATCH', `${CM}/one?fieldManager=alice`, cmYaml('one', { c: '3' }).replace('  name: one', '  name: one\n  resourceVersion: "1"'), APPLY);
    expect(stale.status).toBe(409);
    expect(stale.body.message).toBe('Operation cannot be fulfilled on configmaps "one": the object has been modified; please apply your changes to the latest version and try again');
    const fresh = await call('PATCH', `${CM}/one?fieldManager=alice`, cmYaml('one', { c: '3' }).replace('  name: one', `  name: one\n  resourceVersion: "${live.metadata.resourceVersion}"`), APPLY);
    expect(fresh.status).toBe(200);
  });

  it('dryRun=All creates nothing', async () => {
    const r = await call('PATCH', `${CM}/dry?fieldManager=x&dryRun=All`, cmYaml('dry', { a: '1' }), APPLY);
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ a: '1' });
    expect((await call('GET', `${CM}/dry`)).status).toBe(404);
  });

  it('accepts a JSON body', async () => {
    const r = await call('PATCH', `${CM}/json?fieldManager=x`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'json' }, data: { k: 'v' } }), APPLY);
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ k: 'v' });
  });
});

describe('Update managers', () => {
  it('are named by ?fieldManager, else by the User-Agent product', async () => {
    const c = await call('POST', `${CM}?fieldManager=kubectl-create`, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"upd"},"data":{"a":"1"}}');
    expect(c.body.metadata.managedFields).toEqual([
      { manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: expect.any(String), fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:a': {} } } },
    ]);
    const p = await call('PATCH', `${CM}/upd`, '{"data":{"b":"2"}}', { 'Content-Type': 'application/merge-patch+json', 'User-Agent': 'curl/8.5.0' });
    // Sorted by time, then manager: both wrote within the same second here.
    expect(p.body.metadata.managedFields.map((e: any) => [e.manager, e.operation, e.fieldsV1])).toEqual([
      ['curl', 'Update', { 'f:data': { 'f:b': {} } }],
      ['kubectl-create', 'Update', { 'f:data': { '.': {}, 'f:a': {} } }],
    ]);
  });

  it('keep status writes under the status subresource', async () => {
    await call('PATCH', `${DEP}/st?fieldManager=kubectl`, deployYaml('st', 1), APPLY);
    const live = (await call('GET', `${DEP}/st`)).body;
    const r = await call('PUT', `${DEP}/st/status?fieldManager=kube-controller-manager`, JSON.stringify({ ...live, status: { replicas: 1, observedGeneration: 1 } }));
    expect(r.status).toBe(200);
    const st = r.body.metadata.managedFields.find((e: any) => e.subresource === 'status');
    expect(st).toMatchObject({ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:status': { 'f:observedGeneration': {}, 'f:replicas': {} } } });
    expect(reg.get(RES.deployments, 'default', 'st')?.metadata.managedFields).toHaveLength(2);
  });

  it('never turn an object the field manager cannot walk into a 500: validation answers', async () => {
    const body = deployYaml('nameless', 1).replace('- name: web\n        image', '- image');
    const r = await call('POST', DEP, body, { 'Content-Type': 'application/yaml' });
    expect(r.status).toBe(422);
    expect(r.body.message).toContain('spec.template.spec.containers[0].name');
  });

  it('take managedFields a request sends, and drop them all for [{}]', async () => {
    const live = (await call('GET', `${CM}/upd`)).body;
    const r = await call('PUT', `${CM}/upd?fieldManager=editor`, JSON.stringify({ ...live, metadata: { ...live.metadata, managedFields: [{}] } }));
    expect(r.status).toBe(200);
    expect(r.body.metadata.managedFields).toBeUndefined();
  });
});
