/**
 * pods/ephemeralcontainers through the REST handler over real HTTP: GET, PUT,
 * and PATCH with the strategic merge patches kubectl debug sends
 * (strategicpatch.CreateTwoWayMergePatch of the pod before and after adding
 * the container: the new entry, `$setElementOrder/ephemeralContainers` once
 * there are others, and — for a name already in use — the same merge key
 * twice, the second restoring the first).
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
import { discoveryDocument } from './discovery.js';
import { openapiV3Document } from './openapi.js';

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

function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: body === undefined ? {} : { 'Content-Type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const PODS = '/api/v1/namespaces/default/pods';
const EC = `${PODS}/kubia/ephemeralcontainers`;
const SMP = 'application/strategic-merge-patch+json';
const debugger1 = { name: 'debugger-abcde', image: 'busybox', resources: {}, terminationMessagePolicy: 'File', stdin: true, tty: true };

describe('pods/ephemeralcontainers over HTTP', () => {
  it('kubectl debug\'s patches add containers; GET shows them; a repeated name merges back to no change', async () => {
    expect((await call('POST', PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kubia' }, spec: { containers: [{ name: 'kubia', image: 'luksa/kubia' }] } })).status).toBe(201);
    const first = await call('PATCH', EC, { spec: { ephemeralContainers: [debugger1] } }, SMP);
    expect(first.status).toBe(200);
    expect(first.body.kind).toBe('Pod');
    expect(first.body.spec.ephemeralContainers).toEqual([{ ...debugger1, imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log' }]);
    const second = await call(
      'PATCH',
      EC,
      { spec: { '$setElementOrder/ephemeralContainers': [{ name: 'debugger-abcde' }, { name: 'waiter' }], ephemeralContainers: [{ name: 'waiter', image: 'busybox', command: ['sh'], resources: {}, terminationMessagePolicy: 'File', stdin: true }] } },
      SMP,
    );
    expect(second.status).toBe(200);
    expect(second.body.spec.ephemeralContainers.map((c: { name: string }) => c.name)).toEqual(['debugger-abcde', 'waiter']);
    const rv = second.body.metadata.resourceVersion;
    // kubectl debug -c waiter -- sh -c 'echo other' (kubectl 1.32, WithDuplicateMergeKeySupport): the first entry changes it, the second restores it.
    const again = await call(
      'PATCH',
      EC,
      {
        spec: {
          '$setElementOrder/ephemeralContainers': [{ name: 'debugger-abcde' }, { name: 'waiter' }, { name: 'waiter' }],
          ephemeralContainers: [
            { command: ['sh', '-c', 'echo other'], imagePullPolicy: null, name: 'waiter', stdin: null, terminationMessagePath: null },
            { command: ['sh'], image: 'busybox', imagePullPolicy: 'Always', name: 'waiter', resources: {}, stdin: true, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' },
          ],
        },
      },
      SMP,
    );
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(rv);
    const got = await call('GET', EC);
    expect(got.status).toBe(200);
    expect(got.body.spec.ephemeralContainers).toHaveLength(2);
  });

  it('refuses changes with 422 and Kubernetes\' paths; JSON and merge patches and PUT go the same way', async () => {
    const changed = await call('PATCH', EC, { spec: { ephemeralContainers: [{ name: 'waiter', command: ['sh', '-c', 'echo other'] }] } }, SMP);
    expect(changed.status).toBe(422);
    expect(changed.body.details.causes).toEqual([
      expect.objectContaining({ reason: 'FieldValueForbidden', field: 'spec.ephemeralContainers[waiter]', message: expect.stringMatching(/^Forbidden: existing ephemeral containers "waiter" may not be changed\n/) }),
    ]);
    const jsonPatch = await call('PATCH', EC, [{ op: 'add', path: '/spec/ephemeralContainers/-', value: { name: 'p', image: 'busybox', ports: [{ containerPort: 80 }], livenessProbe: { exec: { command: ['true'] } } } }], 'application/json-patch+json');
    expect(jsonPatch.status).toBe(422);
    expect(jsonPatch.body.message).toBe(
      'Pod "kubia" is invalid: [spec.ephemeralContainers[2].ports: Forbidden: cannot be set for an Ephemeral Container, spec.ephemeralContainers[2].livenessProbe: Forbidden: cannot be set for an Ephemeral Container]',
    );
    const removed = await call('PATCH', EC, { spec: { ephemeralContainers: null } }, 'application/merge-patch+json');
    expect(removed.status).toBe(422);
    expect(removed.body.details.causes.map((c: { field: string }) => c.field)).toEqual(['spec.ephemeralContainers', 'spec.ephemeralContainers']);
    const pod = (await call('GET', EC)).body;
    const put = await call('PUT', EC, { ...pod, spec: { ...pod.spec, ephemeralContainers: [...pod.spec.ephemeralContainers, { name: 'kubia', image: 'busybox' }] } });
    expect(put.status).toBe(422);
    expect(put.body.message).toBe('Pod "kubia" is invalid: spec.ephemeralContainers[2].name: Duplicate value: "kubia"');
    const dry = await call('PUT', `${EC}?dryRun=All`, { ...pod, spec: { ...pod.spec, ephemeralContainers: [...pod.spec.ephemeralContainers, { name: 'x', image: 'busybox' }] } });
    expect(dry.status).toBe(200);
    expect((await call('GET', EC)).body.metadata.resourceVersion).toBe(pod.metadata.resourceVersion);
    // Adding through the pod itself is not the way.
    const plain = await call('PUT', `${PODS}/kubia`, { ...pod, spec: { ...pod.spec, ephemeralContainers: [...pod.spec.ephemeralContainers, { name: 'x', image: 'busybox' }] } });
    expect(plain.status).toBe(422);
    expect((await call('GET', `${PODS}/nope/ephemeralcontainers`)).status).toBe(404);
    expect((await call('POST', EC, {})).status).toBe(405);
    expect((await call('PATCH', EC, 'not json', SMP)).status).toBe(400);
  });

  it('is listed in discovery and OpenAPI as kube-apiserver lists it', () => {
    const list = discoveryDocument('/api/v1', '') as { resources: { name: string; kind: string; verbs: string[] }[] };
    expect(list.resources.find((r) => r.name === 'pods/ephemeralcontainers')).toEqual({ name: 'pods/ephemeralcontainers', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] });
    expect(list.resources.find((r) => r.name === 'pods/attach')).toBeDefined();
    const doc = openapiV3Document('api/v1') as { paths: Record<string, Record<string, { operationId: string }>> };
    expect(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers']?.patch?.operationId).toBe('patchNamespacedPodEphemeralcontainers');
  });
});
