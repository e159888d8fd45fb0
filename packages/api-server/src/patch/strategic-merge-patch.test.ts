import { describe, expect, it } from 'vitest';
import { applyStrategicMergePatch, strategicMergeWithSchema } from './strategic-merge-patch.js';
import type { Schema } from './smp-schema.js';
import { thrownApiError } from '../testing/api-error.js';

// The patches marked "captured" are byte-for-byte what kubectl 1.32 sent to a
// recording server for the command named in the test.

const lastApplied = (o: unknown) => `${JSON.stringify(o)}\n`;

function service() {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubia',
      namespace: 'default',
      uid: 'b7c1',
      resourceVersion: '5',
      labels: { app: 'kubia' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': lastApplied({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { annotations: {}, name: 'kubia', namespace: 'default' },
          spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: 'kubia' } },
        }),
      },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      selector: { app: 'kubia' },
      ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
      sessionAffinity: 'None',
    },
    status: { loadBalancer: {} },
  };
}

function deployment() {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd9e2', generation: 1, labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.25',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'sidecar', image: 'busybox', command: ['sleep', '1d'] },
          ],
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
        },
      },
    },
    status: { replicas: 2, readyReplicas: 2 },
  };
}

type Dep = ReturnType<typeof deployment>;
type Svc = ReturnType<typeof service>;
const containers = (d: unknown) => (d as Dep).spec.template.spec.containers as Record<string, unknown>[];

describe('kubectl apply', () => {
  it('changes a Service targetPort (captured)', () => {
    const applied = lastApplied({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { annotations: {}, name: 'kubia', namespace: 'default' },
      spec: { ports: [{ port: 80, targetPort: 9090 }], selector: { app: 'kubia' } },
    });
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': applied } },
      spec: { '$setElementOrder/ports': [{ port: 80 }], ports: [{ port: 80, targetPort: 9090 }] },
    };
    const out = applyStrategicMergePatch(service(), patch, 'Service') as Svc;
    expect(out.spec.ports).toEqual([{ port: 80, targetPort: 9090, protocol: 'TCP' }]);
    expect(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe(applied);
    expect(out.spec.clusterIP).toBe('10.96.0.10');
    expect(out.metadata.labels).toEqual({ app: 'kubia' });
    expect(JSON.stringify(out)).not.toContain('$setElementOrder');
  });

  it('replaces port 80 by a named port 443 (captured)', () => {
    const patch = {
      spec: {
        '$setElementOrder/ports': [{ port: 443 }],
        ports: [{ name: 'https', port: 443, targetPort: 8443 }, { $patch: 'delete', port: 80 }],
      },
    };
    const out = applyStrategicMergePatch(service(), patch, 'Service') as Svc;
    expect(out.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 8443 }]);
  });

  it('adds a container port keeping the order of the manifest (captured)', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
            containers: [{ '$setElementOrder/ports': [{ containerPort: 80 }, { containerPort: 443 }], name: 'app', ports: [{ containerPort: 443 }] }],
          },
        },
      },
    };
    const out = applyStrategicMergePatch(deployment(), patch, 'Deployment');
    expect(containers(out).map((c) => c.name)).toEqual(['app', 'sidecar']);
    expect(containers(out)[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }]);
    expect(containers(out)[0].env).toEqual(deployment().spec.template.spec.containers[0].env);
  });

  it('switches the Deployment strategy to Recreate, $retainKeys dropping rollingUpdate', () => {
    const out = applyStrategicMergePatch(deployment(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, 'Deployment') as Dep;
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('rejects a $retainKeys list that does not name a key the patch sets', () => {
    const err = thrownApiError(() =>
      applyStrategicMergePatch(deployment(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: {} } } }, 'Deployment'),
    );
    expect(err.code).toBe(400);
    expect(err.message).toBe('invalid patch format of retainKeys');
  });

  it('removes and adds a finalizer with the parallel lists kubectl generates', () => {
    const pod = { metadata: { name: 'p', finalizers: ['a.io/one', 'b.io/two', 'c.io/three'] } };
    const patch = {
      metadata: {
        '$setElementOrder/finalizers': ['c.io/three', 'a.io/one', 'd.io/four'],
        '$deleteFromPrimitiveList/finalizers': ['b.io/two'],
        finalizers: ['d.io/four'],
      },
    };
    expect(applyStrategicMergePatch(pod, patch, 'Pod')).toEqual({ metadata: { name: 'p', finalizers: ['c.io/three', 'a.io/one', 'd.io/four'] } });
  });
});

describe('kubectl label / annotate / scale / rollout / set', () => {
  it('adds and removes labels', () => {
    const added = applyStrategicMergePatch(service(), { metadata: { labels: { x: 'y' } } }, 'Service') as Svc;
    expect(added.metadata.labels).toEqual({ app: 'kubia', x: 'y' });
    const removed = applyStrategicMergePatch(added, { metadata: { labels: { x: null } } }, 'Service') as Svc;
    expect(removed.metadata.labels).toEqual({ app: 'kubia' });
    expect(applyStrategicMergePatch(service(), { metadata: { labels: { absent: null } } }, 'Service')).toEqual(service());
  });

  it('scales with {"spec":{"replicas":5}}', () => {
    const out = applyStrategicMergePatch(deployment(), { spec: { replicas: 5 } }, 'Deployment') as Dep;
    expect(out.spec.replicas).toBe(5);
    expect(out.spec.template).toEqual(deployment().spec.template);
  });

  it('restarts a rollout by annotating the template (captured)', () => {
    const patch = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z' } } } } };
    const out = applyStrategicMergePatch(deployment(), patch, 'Deployment') as Dep;
    expect(out.spec.template.metadata).toEqual({ labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z' } });
  });

  it('kubectl set image changes one container (captured)', () => {
    const patch = {
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }], containers: [{ image: 'nginx:1.26', name: 'app' }] } } },
    };
    const out = applyStrategicMergePatch(deployment(), patch, 'Deployment');
    const expected = deployment().spec.template.spec.containers;
    expected[0].image = 'nginx:1.26';
    expect(containers(out)).toEqual(expected);
  });

  it('kubectl set env adds a variable to every container (captured)', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
            containers: [
              { '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }, { name: 'C' }], env: [{ name: 'C', value: '3' }], name: 'app' },
              { env: [{ name: 'C', value: '3' }], name: 'sidecar' },
            ],
          },
        },
      },
    };
    const out = applyStrategicMergePatch(deployment(), patch, 'Deployment');
    expect(containers(out)[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
      { name: 'C', value: '3' },
    ]);
    expect(containers(out)[1]).toEqual({ name: 'sidecar', image: 'busybox', command: ['sleep', '1d'], env: [{ name: 'C', value: '3' }] });
  });

  it('kubectl set env A- deletes a variable with $patch: delete (captured)', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
            containers: [{ '$setElementOrder/env': [{ name: 'B' }], env: [{ $patch: 'delete', name: 'A' }], name: 'app' }],
          },
        },
      },
    };
    expect(containers(applyStrategicMergePatch(deployment(), patch, 'Deployment'))[0].env).toEqual([{ name: 'B', value: '2' }]);
  });

  it('kubectl patch deletes a Service port by its merge key (captured)', () => {
    const out = applyStrategicMergePatch(service(), { spec: { ports: [{ port: 80, $patch: 'delete' }] } }, 'Service') as Svc;
    expect(out.spec.ports).toEqual([]);
  });
});

describe('merge keys of the built-in kinds', () => {
  it('merges Service ports by port, leaving the others', () => {
    const svc = service();
    svc.spec.ports.push({ port: 443, targetPort: 8443, protocol: 'TCP' });
    const out = applyStrategicMergePatch(svc, { spec: { ports: [{ port: 443, name: 'https' }] } }, 'Service') as Svc;
    expect(out.spec.ports).toEqual([
      { port: 80, targetPort: 8080, protocol: 'TCP' },
      { port: 443, targetPort: 8443, protocol: 'TCP', name: 'https' },
    ]);
  });

  it('puts a new element before the live ones when no order is given, as the server does', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'logger', image: 'fluentd' }] } } } };
    expect(containers(applyStrategicMergePatch(deployment(), patch, 'Deployment')).map((c) => c.name)).toEqual(['logger', 'app', 'sidecar']);
  });

  it('merges env by name, volumeMounts by mountPath, volumes and imagePullSecrets by name in a Pod', () => {
    const pod = {
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'c', image: 'i', env: [{ name: 'X', value: '1' }], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', emptyDir: {} }],
        imagePullSecrets: [{ name: 'regcred' }],
      },
    };
    const patch = {
      spec: {
        containers: [{ name: 'c', env: [{ name: 'X', value: '2' }], volumeMounts: [{ mountPath: '/data', readOnly: true }] }],
        volumes: [{ name: 'cache', emptyDir: { medium: 'Memory' } }],
        imagePullSecrets: [{ name: 'other' }],
      },
    };
    const out = applyStrategicMergePatch(pod, patch, 'Pod') as typeof pod;
    expect(out.spec.containers[0].env).toEqual([{ name: 'X', value: '2' }]);
    expect(out.spec.containers[0].volumeMounts).toEqual([{ name: 'data', mountPath: '/data', readOnly: true }]);
    expect(out.spec.volumes).toEqual([
      { name: 'cache', emptyDir: { medium: 'Memory' } },
      { name: 'data', emptyDir: {} },
    ]);
    expect(out.spec.imagePullSecrets).toEqual([{ name: 'other' }, { name: 'regcred' }]);
  });

  it('merges status conditions by type and ownerReferences by uid', () => {
    const pod = {
      metadata: { name: 'p', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }] },
      status: {
        phase: 'Running',
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'False' },
        ],
      },
    };
    const out = applyStrategicMergePatch(
      pod,
      {
        metadata: { ownerReferences: [{ uid: 'u1', blockOwnerDeletion: true }] },
        status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:01Z' }] },
      },
      'Pod',
    ) as typeof pod;
    expect(out.metadata.ownerReferences).toEqual([
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true, blockOwnerDeletion: true },
    ]);
    expect(out.status.conditions).toEqual([
      { type: 'Initialized', status: 'True' },
      { type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:01Z' },
    ]);
  });

  it('merges containers of a ReplicationController template too', () => {
    const rc = {
      kind: 'ReplicationController',
      metadata: { name: 'kubia' },
      spec: { replicas: 3, template: { spec: { containers: [{ name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }] }] } } },
    };
    const out = applyStrategicMergePatch(rc, { spec: { template: { spec: { containers: [{ name: 'kubia', image: 'luksa/kubia:v2' }] } } } }, 'ReplicationController');
    expect((out as typeof rc).spec.template.spec.containers).toEqual([{ name: 'kubia', image: 'luksa/kubia:v2', ports: [{ containerPort: 8080 }] }]);
  });

  it('replaces lists without a merge strategy (tolerations, command, externalIPs)', () => {
    const out = applyStrategicMergePatch(
      deployment(),
      {
        spec: {
          template: {
            spec: {
              tolerations: [{ key: 'gpu', operator: 'Exists' }],
              containers: [{ name: 'sidecar', command: ['sleep', '2d'] }],
            },
          },
        },
      },
      'Deployment',
    ) as Dep;
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'gpu', operator: 'Exists' }]);
    expect(containers(out).find((c) => c.name === 'sidecar')?.command).toEqual(['sleep', '2d']);
    const svc = applyStrategicMergePatch({ spec: { externalIPs: ['1.1.1.1'] } }, { spec: { externalIPs: ['2.2.2.2'] } }, 'Service');
    expect(svc).toEqual({ spec: { externalIPs: ['2.2.2.2'] } });
  });

  it('merges lists of an unknown kind as replacements, objects still key by key', () => {
    const out = applyStrategicMergePatch({ metadata: { name: 'x' }, spec: { items: [1, 2], m: { a: 1 } } }, { spec: { items: [3], m: { b: 2 } } }, 'Widget');
    expect(out).toEqual({ metadata: { name: 'x' }, spec: { items: [3], m: { a: 1, b: 2 } } });
  });
});

describe('directives', () => {
  it('$patch: replace on an object replaces it by the rest of the patch', () => {
    const out = applyStrategicMergePatch(service(), { spec: { selector: { $patch: 'replace', app: 'other' } } }, 'Service') as Svc;
    expect(out.spec.selector).toEqual({ app: 'other' });
  });

  it('$patch: replace in a list replaces the whole list', () => {
    const patch = { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'alpine' }] } } } };
    expect(containers(applyStrategicMergePatch(deployment(), patch, 'Deployment'))).toEqual([{ name: 'only', image: 'alpine' }]);
  });

  it('$patch: delete on an object empties it; $patch: merge is an ordinary merge', () => {
    expect((applyStrategicMergePatch(service(), { spec: { selector: { $patch: 'delete' } } }, 'Service') as Svc).spec.selector).toEqual({});
    const merged = applyStrategicMergePatch(service(), { metadata: { labels: { $patch: 'merge', tier: 'web' } } }, 'Service') as Svc;
    expect(merged.metadata.labels).toEqual({ app: 'kubia', tier: 'web' });
  });

  it('deletes every duplicate matching a $patch: delete element', () => {
    const pod = { spec: { containers: [{ name: 'c', env: [{ name: 'X' }, { name: 'X', value: 'dup' }, { name: 'Y' }] }] } };
    const out = applyStrategicMergePatch(pod, { spec: { containers: [{ name: 'c', env: [{ name: 'X', $patch: 'delete' }] }] } }, 'Pod');
    expect(out).toEqual({ spec: { containers: [{ name: 'c', env: [{ name: 'Y' }] }] } });
  });

  it('strips directives from values stored fresh, and never stores unknown directives', () => {
    const patch = {
      $frobnicate: true,
      metadata: { '$unknown/labels': ['x'] },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'new',
                image: 'alpine',
                '$setElementOrder/env': [{ name: 'Z' }],
                env: [{ name: 'Z', value: 'z' }, { name: 'gone', $patch: 'delete' }],
                resources: { limits: { cpu: '1', memory: null } },
              },
            ],
            nodeSelector: { $patch: 'replace', disk: 'ssd' },
            affinity: { $patch: 'delete' },
          },
        },
      },
    };
    const out = applyStrategicMergePatch(deployment(), patch, 'Deployment') as Dep;
    expect(JSON.stringify(out)).not.toContain('$');
    expect(containers(out)[0]).toEqual({ name: 'new', image: 'alpine', env: [{ name: 'Z', value: 'z' }], resources: { limits: { cpu: '1' } } });
    expect((out.spec.template.spec as Record<string, unknown>).nodeSelector).toEqual({ disk: 'ssd' });
    expect(out.spec.template.spec).not.toHaveProperty('affinity');
  });

  it('rejects an unknown $patch value, a list $patch: merge and a missing merge key with 400', () => {
    expect(thrownApiError(() => applyStrategicMergePatch(service(), { spec: { $patch: 'frobnicate' } }, 'Service')).message).toBe(
      'unknown patch type: frobnicate in map: map[$patch:frobnicate]',
    );
    expect(thrownApiError(() => applyStrategicMergePatch(service(), { spec: { ports: [{ port: 80, $patch: 'merge' }] } }, 'Service')).message).toBe(
      'merging lists cannot yet be specified in the patch',
    );
    const noKey = thrownApiError(() => applyStrategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 'Deployment'));
    expect(noKey.code).toBe(400);
    expect(noKey.message).toBe('map: map[image:x] does not contain declared merge key: name');
  });

  it('rejects a $setElementOrder list that contradicts the patch order', () => {
    const err = thrownApiError(() =>
      applyStrategicMergePatch(
        deployment(),
        { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }], containers: [{ name: 'sidecar' }, { name: 'app' }] } } } },
        'Deployment',
      ),
    );
    expect(err.code).toBe(400);
    expect(err.message).toContain("doesn't match $setElementOrder list");
  });

  it('answers lists of lists with 422 like kube-apiserver', () => {
    const err = thrownApiError(() => applyStrategicMergePatch({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: [['b']] } }, 'Pod'));
    expect(err.code).toBe(422);
    expect(err.reason).toBe('Invalid');
  });

  it('rejects a body that is not an object', () => {
    const err = thrownApiError(() => applyStrategicMergePatch(service(), [{ op: 'add' }], 'Service'));
    expect(err.code).toBe(400);
    expect(err.message).toBe('json: cannot unmarshal array into Go value of type map[string]interface {}');
  });
});

describe('ordering (vectors from apimachinery strategicpatch tests)', () => {
  // The schema of the upstream test type MergeItem.
  const item: Record<string, unknown> = {};
  Object.assign(item, {
    mergingList: { strategy: 'merge', mergeKey: 'name', fields: item },
    mergingIntList: { strategy: 'merge' },
  });
  const schema = item as Schema;
  const apply = (target: unknown, patch: unknown) => strategicMergeWithSchema(target, patch, schema);

  it('keeps the patch order, server-only items in their live place', () => {
    const live = { mergingList: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }] };
    expect(apply(live, { mergingList: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }] })).toEqual({
      mergingList: [{ name: '2', value: 'b' }, { name: '3', value: 'c' }, { name: '1', value: 'a' }],
    });
    expect(apply({ mergingIntList: [1, 2, 3] }, { mergingIntList: [3, 1] })).toEqual({ mergingIntList: [2, 3, 1] });
    expect(apply({ mergingIntList: [1, 2] }, { mergingIntList: [2, 3] })).toEqual({ mergingIntList: [1, 2, 3] });
  });

  it('orders by $setElementOrder, interleaving server-only items', () => {
    const live = { mergingList: [{ name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }] };
    const patch = {
      '$setElementOrder/mergingList': [{ name: '1' }, { name: '4' }, { name: '2' }, { name: '3' }],
      mergingList: [{ name: '4', value: '4' }, { name: '3', value: '3' }],
    };
    expect(apply(live, patch)).toEqual({
      mergingList: [{ name: '1', other: 'a' }, { name: '4', value: '4' }, { name: '2', value: '2', other: 'b' }, { name: '3', value: '3' }],
    });
    expect(apply({ mergingIntList: [1, 4, 2] }, { '$setElementOrder/mergingIntList': [3, 1, 2], mergingIntList: [3] })).toEqual({
      mergingIntList: [3, 1, 4, 2],
    });
  });

  it('orders like the server when one patch deletes and adds', () => {
    const live = { mergingList: [{ name: '1' }, { name: '2', other: 'b' }, { name: '4', other: 'c' }] };
    const patch = { '$setElementOrder/mergingList': [{ name: '2' }, { name: '3' }], mergingList: [{ name: '3' }, { name: '1', $patch: 'delete' }] };
    expect(apply(live, patch)).toEqual({ mergingList: [{ name: '2', other: 'b' }, { name: '4', other: 'c' }, { name: '3' }] });
  });

  it('a $setElementOrder may name items the list does not have', () => {
    expect(apply({ mergingIntList: [1, 3] }, { '$setElementOrder/mergingIntList': [3, 2, 1] })).toEqual({ mergingIntList: [3, 1] });
  });
});

describe('purity', () => {
  it('never mutates the target or the patch', () => {
    const target = deployment();
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
            containers: [{ name: 'app', image: 'nginx:1.27', env: [{ name: 'A', $patch: 'delete' }] }],
          },
        },
      },
    };
    const before = structuredClone({ target, patch });
    const out = applyStrategicMergePatch(target, patch, 'Deployment');
    expect({ target, patch }).toEqual(before);
    containers(out)[1].image = 'mutated';
    expect(target.spec.template.spec.containers[1].image).toBe('busybox');
  });
});
