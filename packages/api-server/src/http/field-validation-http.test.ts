/**
 * fieldValidation through the REST handler: create, update and every patch
 * type, per directive, over real HTTP.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError } from '@kubemu/api';
import { Registry } from '../registry/registry.js';
import { bootstrap } from '../system/bootstrap.js';
import { ResourceHandler } from './resource-handler.js';
import { sendJSON } from './respond.js';
import { parseRoute } from './route.js';

let server: Server;
let base: string;

beforeAll(async () => {
  const reg = Registry.inMemory();
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

interface Reply {
  status: number;
  body: any;
  warnings: string[];
}

function call(method: string, path: string, body?: string, contentType = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: body === undefined ? {} : { 'Content-Type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // Header values arrive as latin1; Kubernetes writes UTF-8 bytes.
        const raw = res.headersDistinct.warning ?? [];
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'), warnings: raw.map((w) => Buffer.from(w, 'latin1').toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CMS = '/api/v1/namespaces/default/configmaps';
const RCS = '/api/v1/namespaces/default/replicationcontrollers';
const rc = (name: string, spec: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name },
    spec: { replicas: 0, selector: { app: name }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }, ...spec },
  });

describe('fieldValidation on create and update', () => {
  it('Strict refuses unknown fields with 400 and stores nothing', async () => {
    const r = await call('POST', `${RCS}?fieldValidation=Strict`, rc('strict', { replicass: 3, b: 1 }));
    expect(r.status).toBe(400);
    expect(r.body.reason).toBe('BadRequest');
    expect(r.body.message).toBe('ReplicationController in version "v1" cannot be handled as a ReplicationController: strict decoding error: unknown field "spec.replicass", unknown field "spec.b"');
    expect((await call('GET', `${RCS}/strict`)).status).toBe(404);
  });

  it('Strict reports duplicate keys of a JSON body', async () => {
    const r = await call('POST', `${CMS}?fieldValidation=Strict`, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"},"data":{"a":"1","a":"2"}}');
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name", duplicate field "data.a"');
  });

  it('Warn (the default) stores the object without them and warns once per field', async () => {
    for (const [name, q] of [['warn', '?fieldValidation=Warn'], ['default', '']]) {
      const r = await call('POST', `${RCS}${q}`, rc(name, { replicass: 3 }));
      expect(r.status).toBe(201);
      expect(r.warnings).toEqual(['299 - "unknown field \\"spec.replicass\\""']);
      expect(r.body.spec.replicass).toBeUndefined();
      expect((await call('GET', `${RCS}/${name}`)).body.spec).not.toHaveProperty('replicass');
    }
  });

  it('Ignore drops them silently', async () => {
    const r = await call('POST', `${RCS}?fieldValidation=Ignore`, rc('ignore', { replicass: 3 }));
    expect(r.status).toBe(201);
    expect(r.warnings).toEqual([]);
    expect(r.body.spec.replicass).toBeUndefined();
  });

  it('checks YAML bodies and PUTs (also of status) the same way', async () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  labelz: {}\ndata:\n  k: v\n';
    let r = await call('POST', `${CMS}?fieldValidation=Strict`, yaml, 'application/yaml');
    expect(r.body.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "metadata.labelz"');
    r = await call('POST', CMS, yaml, 'application/yaml');
    expect(r.status).toBe(201);
    expect(r.warnings).toEqual(['299 - "unknown field \\"metadata.labelz\\""']);

    const cur = (await call('GET', `${RCS}/warn`)).body;
    r = await call('PUT', `${RCS}/warn?fieldValidation=Strict`, JSON.stringify({ ...cur, spec: { ...cur.spec, minReadySecond: 1 } }));
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('strict decoding error: unknown field "spec.minReadySecond"');
    r = await call('PUT', `${RCS}/warn/status`, JSON.stringify({ ...cur, status: { ...cur.status, replica: 1 } }));
    expect(r.status).toBe(200);
    expect(r.warnings).toEqual(['299 - "unknown field \\"status.replica\\""']);
    expect(r.body.status).not.toHaveProperty('replica');
  });

  it('carries non-ASCII field names as UTF-8', async () => {
    const r = await call('POST', CMS, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'utf', 名前: 'x' } }));
    expect(r.status).toBe(201);
    expect(r.warnings).toEqual(['299 - "unknown field \\"metadata.名前\\""']);
  });

  it('refuses an unsupported fieldValidation value', async () => {
    const r = await call('POST', `${CMS}?fieldValidation=strict`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"');
  });
});

describe('fieldValidation on patches', () => {
  const path = `${RCS}/warn`;

  it('strategic merge: checks the patched object, shows the patch as Go prints it', async () => {
    let r = await call('PATCH', `${path}?fieldValidation=Strict`, '{"spec":{"replicass":3,"template":{"spec":{"containers":[{"name":"c","imagePullPolicyy":"Always"}]}}}}', 'application/strategic-merge-patch+json');
    expect(r.status).toBe(422);
    expect(r.body.message).toBe(
      ' "" is invalid: patch: Invalid value: "map[spec:map[replicass:3 template:map[spec:map[containers:[map[imagePullPolicyy:Always name:c]]]]]]": strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolicyy", unknown field "spec.replicass"',
    );
    r = await call('PATCH', path, '{"spec":{"replicass":3,"minReadySeconds":5}}', 'application/strategic-merge-patch+json');
    expect(r.status).toBe(200);
    expect(r.warnings).toEqual(['299 - "unknown field \\"spec.replicass\\""']);
    expect(r.body.spec.minReadySeconds).toBe(5);
    expect(r.body.spec).not.toHaveProperty('replicass');
  });

  it('merge patch: duplicate keys in the patch, then unknown fields of the result', async () => {
    const r = await call('PATCH', `${path}?fieldValidation=Strict`, '{"metadata":{"labels":{"a":"1","a":"2"}},"spec":{"x":1}}', 'application/merge-patch+json');
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(/^ "" is invalid: patch: Invalid value: "\{.*\}": strict decoding error: duplicate field "metadata.labels.a", unknown field "spec.x"$/);
    const ok = await call('PATCH', `${path}?fieldValidation=Ignore`, '{"spec":{"x":1,"minReadySeconds":6}}', 'application/merge-patch+json');
    expect(ok.status).toBe(200);
    expect(ok.warnings).toEqual([]);
    expect(ok.body.spec.minReadySeconds).toBe(6);
    expect(ok.body.spec).not.toHaveProperty('x');
  });

  it('JSON patch: unknown keys in its operations, then unknown fields of the result', async () => {
    const r = await call('PATCH', path, '[{"op":"add","path":"/spec/y","value":1,"valu":2},{"op":"replace","path":"/spec/minReadySeconds","value":7}]', 'application/json-patch+json');
    expect(r.status).toBe(200);
    expect(r.warnings).toEqual(['299 - "json patch unknown field \\"[0].valu\\""', '299 - "unknown field \\"spec.y\\""']);
    expect(r.body.spec.minReadySeconds).toBe(7);
    expect(r.body.spec).not.toHaveProperty('y');
    const s = await call('PATCH', `${path}?fieldValidation=Strict`, '[{"op":"add","path":"/spec/y","value":1}]', 'application/json-patch+json');
    expect(s.status).toBe(422);
    expect(s.body.message).toMatch(/strict decoding error: unknown field "spec.y"$/);
  });

  it('the scale subresource decodes a Scale', async () => {
    const r = await call('PATCH', `${path}/scale?fieldValidation=Strict`, '{"spec":{"replicas":2,"replica":3}}', 'application/merge-patch+json');
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(/strict decoding error: unknown field "spec.replica"$/);
    const ok = await call('PATCH', `${path}/scale`, '{"spec":{"replicas":2,"replica":3}}', 'application/merge-patch+json');
    expect(ok.status).toBe(200);
    expect(ok.warnings).toEqual(['299 - "unknown field \\"spec.replica\\""']);
    expect(ok.body.spec.replicas).toBe(2);
  });
});
