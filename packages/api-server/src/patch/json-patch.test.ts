import { describe, expect, it } from 'vitest';
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json-patch.js';
import { thrownApiError } from '../testing/api-error.js';

const service = () => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'kubia', namespace: 'default', labels: { app: 'kubia' }, resourceVersion: '7' },
  spec: { type: 'ClusterIP', selector: { app: 'kubia' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});

describe('applyJsonPatch (RFC 6902)', () => {
  it('applies add, replace, remove, copy, move and test in order', () => {
    const out = applyJsonPatch(service(), [
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'kubia' },
      { op: 'replace', path: '/spec/ports/0/targetPort', value: 9090 },
      { op: 'add', path: '/spec/ports/-', value: { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' } },
      { op: 'copy', from: '/spec/selector', path: '/metadata/annotations' },
      { op: 'move', from: '/metadata/annotations', path: '/spec/externalSelector' },
      { op: 'remove', path: '/metadata/labels/app' },
    ]) as ReturnType<typeof service> & { spec: { externalSelector: unknown } };
    expect(out.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'kubia' });
    expect(out.spec.ports).toEqual([
      { name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' },
      { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
    ]);
    expect(out.spec.externalSelector).toEqual({ app: 'kubia' });
    expect(out.metadata).not.toHaveProperty('annotations');
  });

  it('answers a failed test like kube-apiserver: 422 Invalid, fixed message, empty details', () => {
    const err = thrownApiError(() => applyJsonPatch(service(), [{ op: 'test', path: '/spec/type', value: 'NodePort' }]));
    expect(err.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server rejected our request due to an error in our request',
      reason: 'Invalid',
      details: {},
      code: 422,
    });
    expect(String(err.cause)).toContain('TEST_OPERATION_FAILED');
  });

  it('is all-or-nothing: a failing operation leaves no partial result and the input untouched', () => {
    const target = service();
    const before = structuredClone(target);
    const err = thrownApiError(() =>
      applyJsonPatch(target, [
        { op: 'replace', path: '/spec/type', value: 'NodePort' },
        { op: 'remove', path: '/spec/clusterIP' },
      ]),
    );
    expect(err.code).toBe(422);
    expect(String(err.cause)).toContain('OPERATION_PATH_UNRESOLVABLE');
    expect(target).toEqual(before);
  });

  it.each([
    ['replace of a missing key', { op: 'replace', path: '/spec/clusterIP', value: '10.0.0.1' }],
    ['add below a missing parent', { op: 'add', path: '/status/loadBalancer/ingress', value: [] }],
    ['an index past the end', { op: 'add', path: '/spec/ports/5', value: {} }],
    ['move from a missing path', { op: 'move', from: '/nope', path: '/spec/x' }],
    ['an unknown op', { op: 'frobnicate', path: '/spec' }],
    ['fast-json-patch private _get op', { op: '_get', path: '/spec' }],
  ])('%s is 422', (_what, op) => {
    expect(thrownApiError(() => applyJsonPatch(service(), [op])).code).toBe(422);
  });

  it('rejects a body that is not a list of operations with 400', () => {
    const err = thrownApiError(() => applyJsonPatch(service(), { op: 'add', path: '/a', value: 1 }));
    expect(err.code).toBe(400);
    expect(err.message).toBe('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
    expect(thrownApiError(() => applyJsonPatch(service(), ['add'])).message).toBe(
      'json: cannot unmarshal string into Go value of type jsonpatch.Operation',
    );
  });

  it('limits the number of operations like kube-apiserver (413)', () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/kind', value: 'Service' }));
    const err = thrownApiError(() => applyJsonPatch(service(), ops));
    expect(err.code).toBe(413);
    expect(err.reason).toBe('RequestEntityTooLarge');
    expect(err.message).toBe('Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001');
  });

  it('does not mutate the target or the operations, nor alias operation values', () => {
    const target = service();
    const value = { app: 'x' };
    const ops = [{ op: 'add', path: '/spec/selector', value }];
    const out = applyJsonPatch(target, ops) as ReturnType<typeof service>;
    expect(target).toEqual(service());
    out.spec.selector.app = 'changed';
    expect(value).toEqual({ app: 'x' });
    expect(ops).toEqual([{ op: 'add', path: '/spec/selector', value: { app: 'x' } }]);
  });
});
