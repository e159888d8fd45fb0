import { describe, expect, it } from 'vitest';
import { applyDefaults, type KubeObject } from '@kubemu/api';
import { FieldSet, keyElement, pathString } from './fieldpath.js';
import {
  ApplyConflicts,
  applyConfig,
  buildLastApplied,
  conflictMessage,
  decodeManagedFields,
  encodeManagedFields,
  lastAppliedFields,
  managerFromUserAgent,
  managerId,
  trackUpdate,
  type Managers,
  type TrackContext,
} from './managers.js';
import { shapeForKind } from './shape.js';
import { compare, merge, toFieldSet } from './typed.js';

const NOW = '2026-12-02T03:00:00Z';
const deployCtx: TrackContext = { kind: 'Deployment', apiVersion: 'apps/v1', scope: 'main-without-status', now: NOW };

function deployment(extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] },
      },
      ...extra,
    },
  };
}

const fieldsOf = (m: Managers, id: string) => m.get(id)?.set.toFieldsV1();
const applyId = (manager: string) => managerId({ manager, operation: 'Apply', apiVersion: 'apps/v1' });
const updateId = (manager: string) => managerId({ manager, operation: 'Update', apiVersion: 'apps/v1' });

describe('FieldsV1 encoding', () => {
  it('writes f:, k:, v: and "." in SMD order and reads them back', () => {
    const s = FieldSet.of(
      ['f:metadata', 'f:finalizers', 'v:"b"'],
      ['f:metadata', 'f:finalizers', 'v:"a"'],
      ['f:spec', 'f:ports', keyElement({ protocol: 'TCP', port: 80 })],
      ['f:spec', 'f:ports', keyElement({ protocol: 'TCP', port: 80 }), 'f:port'],
      ['f:spec', 'f:ports', keyElement({ protocol: 'TCP', port: 443 })],
      ['f:spec', 'f:ports', keyElement({ protocol: 'TCP', port: 8080 })],
      ['f:spec', 'f:clusterIP'],
    );
    const v1 = s.toFieldsV1();
    expect(JSON.stringify(v1)).toBe(
      '{"f:metadata":{"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}}},"f:spec":{"f:clusterIP":{},"f:ports":{"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{}},"k:{\\"port\\":443,\\"protocol\\":\\"TCP\\"}":{},"k:{\\"port\\":8080,\\"protocol\\":\\"TCP\\"}":{}}}}',
    );
    const back = FieldSet.fromFieldsV1(v1);
    expect(back.toFieldsV1()).toEqual(v1);
    expect(back.has(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}'])).toBe(true);
    expect(back.has(['f:spec', 'f:ports'])).toBe(false);
  });

  it('prints paths as fieldpath.Path.String does', () => {
    expect(pathString(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image'])).toBe('.spec.template.spec.containers[name="nginx"].image');
    expect(pathString(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}'])).toBe('.spec.ports[port=80,protocol="TCP"]');
    expect(pathString(['f:metadata', 'f:finalizers', 'v:"x"'])).toBe('.metadata.finalizers[="x"]');
  });

  it('refuses what is not FieldsV1', () => {
    expect(() => FieldSet.fromFieldsV1({ 'x:y': {} })).toThrow(/unknown path element/);
    expect(() => FieldSet.fromFieldsV1([])).toThrow();
    expect(() => decodeManagedFields([{ manager: 'a', operation: 'Bogus' }])).toThrow(/operation/);
  });
});

describe('field sets of an applied configuration', () => {
  it('own leaves, list items by their keys (protocol defaulted) and atomic selectors', () => {
    const set = toFieldSet({ spec: deployment().spec, metadata: { labels: { app: 'web' } } }, shapeForKind('Deployment'));
    expect(set.toFieldsV1()).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"nginx"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
  });

  it('refuses list items without their key, naming the list', () => {
    expect(() => toFieldSet({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, shapeForKind('Deployment'))).toThrow(
      '.spec.template.spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
    );
    expect(() => toFieldSet({ spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'a' }] } } } }, shapeForKind('Deployment'))).toThrow(/duplicate entries for key \[name="a"\]/);
  });
});

describe('Update managers', () => {
  it('on create, own every field set, with "." where the Go zero value lacked the node', () => {
    const obj = deployment();
    applyDefaults(obj);
    const m = trackUpdate(new Map(), undefined, obj, 'kubectl-create', deployCtx);
    const f = fieldsOf(m, updateId('kubectl-create')) as any;
    expect(f['f:metadata']['f:labels']).toEqual({ '.': {}, 'f:app': {} });
    expect(f['f:spec']['.']).toBeUndefined();
    expect(f['f:spec']['f:selector']).toEqual({});
    expect(f['f:spec']['f:strategy']['.']).toBeUndefined();
    expect(f['f:spec']['f:strategy']['f:rollingUpdate']).toEqual({ '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} });
    const c = f['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}'];
    expect(c['.']).toEqual({});
    expect(c['f:ports']).toEqual({ '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } });
    expect(c['f:imagePullPolicy']).toEqual({});
    expect(f['f:metadata']['f:name']).toBeUndefined();
    expect(f['f:status']).toBeUndefined();
    const [entry] = encodeManagedFields(m);
    expect(Object.keys(entry)).toEqual(['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
    expect(entry).toMatchObject({ manager: 'kubectl-create', operation: 'Update', apiVersion: 'apps/v1', time: NOW, fieldsType: 'FieldsV1' });
  });

  it('take changed fields from their owner, drop removed ones, and leave time alone when nothing changed', () => {
    const v1 = deployment();
    let m = trackUpdate(new Map(), undefined, v1, 'a', { ...deployCtx, now: '2026-01-01T00:00:00Z' });
    const v2 = structuredClone(v1);
    v2.spec.replicas = 5;
    delete v2.metadata.labels;
    m = trackUpdate(m, v1, v2, 'b', deployCtx);
    expect(fieldsOf(m, updateId('b'))).toEqual({ 'f:spec': { 'f:replicas': {} } });
    const a = m.get(updateId('a'))!;
    expect(a.set.has(['f:spec', 'f:replicas'])).toBe(false);
    expect(a.set.has(['f:metadata', 'f:labels', 'f:app'])).toBe(false);
    const again = trackUpdate(m, v2, structuredClone(v2), 'b', { ...deployCtx, now: '2027-01-01T00:00:00Z' });
    expect(again.get(updateId('b'))!.time).toBe(NOW);
  });

  it('ignore status through the main resource and everything else through status', () => {
    const v1 = deployment();
    const v2 = { ...structuredClone(v1), status: { replicas: 3 } };
    expect(trackUpdate(new Map(), v1, v2, 'x', deployCtx).size).toBe(0);
    const m = trackUpdate(new Map(), v1, v2, 'kube-controller-manager', { ...deployCtx, scope: 'status', subresource: 'status' });
    expect(encodeManagedFields(m)).toEqual([
      { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', time: NOW, fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:replicas': {} } }, subresource: 'status' },
    ]);
  });
});

describe('Apply', () => {
  const create = (config: KubeObject, manager = 'kubectl', managers: Managers = new Map()) =>
    applyConfig({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } }, managers, config as any, manager, { ...deployCtx, force: false });

  it('creates, then is a no-op when re-applied unchanged', () => {
    const r1 = create(deployment());
    expect((r1.object as any).spec.replicas).toBe(2);
    expect(r1.managers.get(applyId('kubectl'))!.time).toBe(NOW);
    const live = { ...r1.object, metadata: { ...(r1.object.metadata as object), uid: 'u' } };
    const r2 = applyConfig(live, r1.managers, deployment() as any, 'kubectl', { ...deployCtx, force: false, now: '2027-01-01T00:00:00Z' });
    expect(r2.noop).toBe(true);
    expect(r2.object).toBe(live);
  });

  it('removes fields the manager stops applying unless another manager owns them', () => {
    const cfg = deployment();
    cfg.metadata.labels = { app: 'web', tier: 'front', team: 'x' };
    const r1 = create(cfg);
    // another manager co-owns team by applying the same value
    const other = applyConfig(r1.object, r1.managers, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { team: 'x' } } }, 'other', { ...deployCtx, force: false });
    expect(other.noop).toBe(false);
    expect(fieldsOf(other.managers, applyId('other'))).toEqual({ 'f:metadata': { 'f:labels': { 'f:team': {} } } });
    const r3 = applyConfig(other.object, other.managers, deployment() as any, 'kubectl', { ...deployCtx, force: false });
    expect((r3.object as any).metadata.labels).toEqual({ app: 'web', team: 'x' });
    // dropping a container removes it whole
    const two = deployment();
    two.spec.template.spec.containers.push({ name: 'side', image: 'busybox' });
    const r4 = applyConfig(r3.object, r3.managers, two as any, 'kubectl', { ...deployCtx, force: false });
    expect((r4.object as any).spec.template.spec.containers.map((c: any) => c.name)).toEqual(['nginx', 'side']);
    const r5 = applyConfig(r4.object, r4.managers, deployment() as any, 'kubectl', { ...deployCtx, force: false });
    expect((r5.object as any).spec.template.spec.containers.map((c: any) => c.name)).toEqual(['nginx']);
  });

  it('merges associative lists by key and keeps other managers\' items', () => {
    const merged = merge(
      { spec: { template: { spec: { containers: [{ name: 'a', image: '1', env: [{ name: 'X', value: '1' }] }, { name: 'b', image: '2' }] } } } },
      { spec: { template: { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }, { name: 'c', image: '3' }] } } } },
      shapeForKind('Deployment'),
    ) as any;
    expect(merged.spec.template.spec.containers).toEqual([
      { name: 'a', image: '1', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] },
      { name: 'b', image: '2' },
      { name: 'c', image: '3' },
    ]);
  });

  it('refuses to change another manager\'s field: one conflict, several, and --force-conflicts', () => {
    const obj = deployment();
    applyDefaults(obj);
    const csa = trackUpdate(new Map(), undefined, obj, 'kubectl-client-side-apply', deployCtx);
    const cfg = deployment();
    cfg.spec.replicas = 3;
    let err: unknown;
    try {
      applyConfig(obj as any, csa, cfg as any, 'other', { ...deployCtx, force: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplyConflicts);
    expect((err as Error).message).toBe('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    cfg.spec.template.spec.containers[0].image = 'nginx:1.26';
    try {
      applyConfig(obj as any, csa, cfg as any, 'other', { ...deployCtx, force: false });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toBe(
      'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image',
    );
    const forced = applyConfig(obj as any, csa, cfg as any, 'other', { ...deployCtx, force: true });
    expect((forced.object as any).spec.replicas).toBe(3);
    expect(forced.managers.get(updateId('kubectl-client-side-apply'))!.set.has(['f:spec', 'f:replicas'])).toBe(false);
    expect(forced.managers.get(applyId('other'))!.set.has(['f:spec', 'f:replicas'])).toBe(true);
  });

  it('lets kubectl take fields client-side apply set to the values it still has', () => {
    const cfg = deployment();
    const obj = structuredClone(cfg);
    obj.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': buildLastApplied(cfg as any) };
    applyDefaults(obj);
    const csa = trackUpdate(new Map(), undefined, obj, 'kubectl-client-side-apply', deployCtx);
    const allowed = lastAppliedFields(obj as any, deployCtx)!;
    expect(allowed.has(['f:spec', 'f:replicas'])).toBe(true);
    const same = applyConfig(obj as any, csa, cfg as any, 'kubectl', { ...deployCtx, force: false, allowedConflicts: (l) => lastAppliedFields(l, deployCtx) });
    expect(same.managers.get(applyId('kubectl'))!.set.has(['f:spec', 'f:replicas'])).toBe(true);
    // a field someone else changed since client-side apply set it is still a conflict
    const edited = structuredClone(obj);
    edited.spec.replicas = 5;
    const afterEdit = trackUpdate(csa, obj, edited, 'kubectl-edit', deployCtx);
    expect(() => applyConfig(edited as any, afterEdit, cfg as any, 'kubectl', { ...deployCtx, force: false, allowedConflicts: (l) => lastAppliedFields(l, deployCtx) })).toThrow(
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
    );
  });

  it('builds the last-applied annotation as kube-apiserver does: keys sorted, newline-terminated, itself left out', () => {
    expect(buildLastApplied({ kind: 'X', apiVersion: 'v1', metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x', b: '1' }, name: 'n' } })).toBe(
      '{"apiVersion":"v1","kind":"X","metadata":{"annotations":{"b":"1"},"name":"n"}}\n',
    );
  });

  it('prints conflicts of several managers sorted by manager', () => {
    expect(
      conflictMessage([
        { manager: applyId('zeta'), path: ['f:spec', 'f:paused'] },
        { manager: managerId({ manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', subresource: 'scale' }), path: ['f:spec', 'f:replicas'] },
      ]),
    ).toBe('Apply failed with 2 conflicts: conflicts with "kubectl" with subresource "scale" using apps/v1:\n- .spec.replicas\nconflicts with "zeta":\n- .spec.paused');
  });
});

describe('compare', () => {
  it('reports modified leaves and added/removed set items', () => {
    const c = compare({ metadata: { finalizers: ['a'] }, spec: { x: 1 } }, { metadata: { finalizers: ['b'] }, spec: { x: 2 } }, shapeForKind('ConfigMap'));
    expect(c.modified.paths()).toEqual([['f:spec', 'f:x']]);
    expect(c.added.paths()).toEqual([['f:metadata', 'f:finalizers', 'v:"b"']]);
    expect(c.removed.paths()).toEqual([['f:metadata', 'f:finalizers', 'v:"a"']]);
  });
});

describe('managers from the User-Agent', () => {
  it('takes the product name, printable characters only, at most 128', () => {
    expect(managerFromUserAgent('kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9')).toBe('kubectl');
    expect(managerFromUserAgent('kube-controller-manager/v1.32.0 (linux/amd64) kubernetes/70d3cc9/system:serviceaccount:kube-system:deployment-controller')).toBe('kube-controller-manager');
    expect(managerFromUserAgent('curl/8.5.0')).toBe('curl');
    expect(managerFromUserAgent('Go-http-client/2.0')).toBe('Go-http-client');
    expect(managerFromUserAgent('a\u0001b\tc')).toBe('abc');
    expect(managerFromUserAgent('x'.repeat(200))).toHaveLength(128);
    expect(managerFromUserAgent(undefined)).toBe('');
  });
});
