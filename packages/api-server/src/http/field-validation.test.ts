import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RESOURCES, groupVersion, type KubeObject } from '@kubemu/api';
import {
  goFormat,
  goQuote,
  jsonPatchStrictErrors,
  parseFieldValidation,
  pruneUnknownFields,
  strictDecodingErrors,
  strictDecodingMessage,
  unknownFieldErrors,
  unknownFields,
  warningHeader,
} from './field-validation.js';
import { MESSAGES } from './protobuf/schema.generated.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const FIXTURES = join(import.meta.dirname, 'protobuf', 'fixtures');

const unknown = (o: KubeObject) => unknownFields(o, o.kind, o.apiVersion);

/** The book's kubia manifests and other everyday objects, as users write them and as the server returns them. */
const GOOD: KubeObject[] = [
  parseYaml(readFileSync(join(ROOT, 'examples', 'kubia-rc.yaml'), 'utf8')),
  parseYaml(readFileSync(join(ROOT, 'examples', 'kubia-svc.yaml'), 'utf8')),
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kubia-manual', labels: { creation_method: 'manual', env: 'prod' }, annotations: { 'mycompany.com/someannotation': 'foo bar' } },
    spec: {
      nodeSelector: { gpu: 'true' },
      containers: [
        {
          name: 'kubia',
          image: 'luksa/kubia',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }],
          livenessProbe: { httpGet: { path: '/', port: 8080 }, initialDelaySeconds: 15 },
          readinessProbe: { exec: { command: ['ls', '/var/ready'] } },
          resources: { requests: { cpu: '200m', memory: '10Mi' }, limits: { cpu: 1, memory: '20Mi' } },
          env: [{ name: 'INTERVAL', value: '30' }, { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          volumeMounts: [{ name: 'html', mountPath: '/var/htdocs' }],
          securityContext: { runAsUser: 405, capabilities: { add: ['SYS_TIME'] } },
        },
      ],
      volumes: [{ name: 'html', emptyDir: {} }, { name: 'cfg', configMap: { name: 'fortune-config', items: [{ key: 'k', path: 'p' }] } }, { name: 's', secret: { secretName: 'fortune-https' } }],
      imagePullSecrets: [{ name: 'mydockerhubsecret' }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-11-25T10:00:00Z' }],
      podIP: '10.244.1.5',
      podIPs: [{ ip: '10.244.1.5' }],
      hostIP: '172.18.0.2',
      startTime: '2026-11-25T10:00:00Z',
      containerStatuses: [{ name: 'kubia', ready: true, restartCount: 0, image: 'luksa/kubia', imageID: '', started: true, state: { running: { startedAt: '2026-11-25T10:00:01Z' } }, lastState: {} }],
      qosClass: 'Burstable',
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'kubia', annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/' } },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['kubia.example.com'], secretName: 'tls-secret' }],
      defaultBackend: { service: { name: 'default', port: { name: 'http' } } },
      rules: [
        {
          host: 'kubia.example.com',
          http: {
            paths: [
              { path: '/kubia', pathType: 'Prefix', backend: { service: { name: 'kubia', port: { number: 80 } } } },
              { path: '/foo', pathType: 'Exact', backend: { service: { name: 'bar', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
    status: { loadBalancer: { ingress: [{ ip: '172.18.0.100', ports: [{ port: 443, protocol: 'TCP' }] }] } },
  },
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubia-abc12',
      generateName: 'kubia-',
      labels: { 'kubernetes.io/service-name': 'kubia', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'kubia', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['10.244.1.5'],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: 'kind-worker',
        targetRef: { kind: 'Pod', namespace: 'default', name: 'kubia-x', uid: 'u-2' },
        zone: 'a',
      },
    ],
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'kubia',
      namespace: 'default',
      uid: '5c1f',
      resourceVersion: '42',
      generation: 2,
      creationTimestamp: '2026-11-25T10:00:00Z',
      annotations: { 'deployment.kubernetes.io/revision': '1', 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1"}' },
      finalizers: ['x/y'],
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', time: '2026-11-25T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }],
    },
    spec: {
      replicas: 3,
      minReadySeconds: 10,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: 'kubia' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
      template: {
        metadata: { name: 'kubia', labels: { app: 'kubia', tier: 'web' }, creationTimestamp: null },
        spec: {
          containers: [{ name: 'nodejs', image: 'luksa/kubia:v1', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
          initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] }],
          dnsPolicy: 'ClusterFirst',
          schedulerName: 'default-scheduler',
          securityContext: {},
          affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'kubia' } } } }] } },
          tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    },
    status: {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [{ type: 'Available', status: 'True', lastUpdateTime: '2026-11-25T10:00:00Z', lastTransitionTime: '2026-11-25T10:00:00Z', reason: 'MinimumReplicasAvailable', message: 'ok' }],
    },
  },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Zm9v' }, stringData: { 'tls.key': 'bar' }, immutable: true },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'my-nginx-config.conf': 'server {}' }, binaryData: { b: 'AA==' } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'np' },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30123, protocol: 'TCP' }],
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    },
    status: { loadBalancer: { ingress: [{ ip: '172.18.0.200', ipMode: 'VIP' }] } },
  },
  { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.244.1.5', nodeName: 'n', targetRef: { kind: 'Pod', name: 'p' } }], notReadyAddresses: [], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }] },
  {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'kind-worker', labels: { 'kubernetes.io/hostname': 'kind-worker' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'k', effect: 'NoSchedule' }] },
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-11-25T10:00:00Z', lastTransitionTime: '2026-11-25T10:00:00Z', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'Hostname', address: 'kind-worker' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { machineID: '', systemUUID: '', bootID: '', kernelVersion: '6.1', osImage: 'Debian', containerRuntimeVersion: 'kubemu://1', kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', operatingSystem: 'linux', architecture: 'amd64' },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'kubia.1' },
    involvedObject: { kind: 'Pod', name: 'kubia', namespace: 'default', apiVersion: 'v1' },
    reason: 'Scheduled',
    message: 'ok',
    source: { component: 'default-scheduler' },
    firstTimestamp: '2026-11-25T10:00:00Z',
    lastTimestamp: '2026-11-25T10:00:00Z',
    eventTime: '2026-11-25T10:00:00.000000Z',
    count: 1,
    type: 'Normal',
    reportingComponent: 'default-scheduler',
    reportingInstance: '',
  },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', deletionTimestamp: '2026-11-25T10:00:00Z', deletionGracePeriodSeconds: 0 }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
  { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'kubia' }, spec: { replicas: 5 }, status: { replicas: 3, selector: 'app=kubia' } },
];

describe('unknownFields', () => {
  it('finds nothing in everyday manifests', () => {
    for (const o of GOOD) expect(unknown(o), `${o.kind}`).toEqual([]);
  });

  it('finds nothing in objects Kubernetes itself encoded', () => {
    for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.json'))) {
      const o = JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as KubeObject;
      expect(unknown(o), f).toEqual([]);
    }
  });

  it('has a schema for every served kind', () => {
    for (const r of RESOURCES) expect(unknownFields({ oops: 1 }, r.kind, groupVersion(r)), r.kind).toEqual(['oops']);
  });

  it('resolves every message kind the schema refers to', () => {
    const special = new Set(['meta.v1.Time', 'meta.v1.MicroTime', 'meta.v1.Duration', 'intstr.IntOrString', 'resource.Quantity', 'runtime.RawExtension', 'meta.v1.FieldsV1']);
    for (const fields of Object.values(MESSAGES)) {
      for (const f of fields) {
        const kind = /^map<\w+,([\w.]+)>$/.exec(f.kind)?.[1] ?? f.kind;
        if (kind.includes('.')) expect(Object.hasOwn(MESSAGES, kind) || special.has(kind), kind).toBe(true);
      }
    }
  });

  it('finds typos at every depth, with Go paths', () => {
    const rc = structuredClone(GOOD[0]) as any;
    rc.spec.replicass = 3;
    rc.metadata.labelz = { a: 'b' };
    rc.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    rc.spec.template.spec.containers[0].ports[0].containerport = 8080;
    rc.spec.template.metadata.annotation = {};
    rc.Kind = 'x';
    expect(unknown(rc)).toEqual([
      'metadata.labelz',
      'spec.template.metadata.annotation',
      'spec.template.spec.containers[0].ports[0].containerport',
      'spec.template.spec.containers[0].imagePullPolicyy',
      'spec.replicass',
      'Kind',
    ]);
  });

  it('is case-sensitive, and does not look inside unknown fields', () => {
    expect(unknown({ apiVersion: 'v1', kind: 'Service', metadata: { Name: 'x' }, spec: { Ports: [{ bogus: 1 }], selector: { Any: 'thing' } } } as any)).toEqual(['metadata.Name', 'spec.Ports']);
  });

  it('accepts any key in maps, and anything in opaque types', () => {
    const o = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { 'weird key': 'v' }, annotations: { spec: 'x' }, creationTimestamp: { not: 'a time' }, managedFields: [{ fieldsV1: { 'f:anything': { '.': {} } } }] },
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 1 }], livenessProbe: { httpGet: { port: { a: 1 } } }, resources: { limits: { 'example.com/gpu': 1 } } }], overhead: { cpu: '1' } },
    } as any;
    expect(unknown(o)).toEqual([]);
  });

  it('merges embedded structs into their parent', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', livenessProbe: { tcpSocket: { port: 80 }, exec: { command: ['x'] }, handler: {} } }], volumes: [{ name: 'v', hostPath: { path: '/' }, volumeSource: {} }], imagePullSecrets: [{ name: 'x', localObjectReference: {} }] } } as any;
    expect(unknown(pod)).toEqual(['spec.containers[0].livenessProbe.handler', 'spec.volumes[0].volumeSource', 'spec.imagePullSecrets[0].localObjectReference']);
    const ing = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i' }, spec: { rules: [{ host: 'h', http: { paths: [{ path: '/', backend: { service: { name: 's', port: { number: 80, numbr: 1 } } } }] } }] } } as any;
    expect(unknown(ing)).toEqual(['spec.rules[0].http.paths[0].backend.service.port.numbr']);
  });

  it('leaves values of the wrong type alone', () => {
    expect(unknown({ apiVersion: 'v1', kind: 'Pod', metadata: 'x', spec: { containers: { a: 1 }, volumes: [1, null, 'x'] } } as any)).toEqual([]);
    expect(unknownFields(null, 'Pod', 'v1')).toEqual([]);
    expect(unknownFields({ a: 1 }, 'Widget', 'example.com/v1')).toEqual([]);
  });

  it('finds unknown fields in status and in EndpointSlice endpoints', () => {
    const es = structuredClone(GOOD[4]) as any;
    es.endpoints[0].conditions.readyy = true;
    es.ports[0].portt = 1;
    expect(unknown(es)).toEqual(['endpoints[0].conditions.readyy', 'ports[0].portt']);
    const d = structuredClone(GOOD[5]) as any;
    d.status.conditions[0].lastProbeTime = 'x';
    d.spec.strategy.rollingUpdate.maxSurges = 1;
    expect(unknown(d)).toEqual(['spec.strategy.rollingUpdate.maxSurges', 'status.conditions[0].lastProbeTime']);
  });
});

describe('pruneUnknownFields', () => {
  it('drops exactly the unknown fields, without touching the input', () => {
    const rc = structuredClone(GOOD[0]) as any;
    rc.spec.replicass = 3;
    rc.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    const before = structuredClone(rc);
    const pruned = pruneUnknownFields(rc, rc.kind, rc.apiVersion);
    expect(rc).toEqual(before);
    expect(pruned).toEqual(GOOD[0]);
    expect(unknown(pruned)).toEqual([]);
  });

  it('keeps map keys, opaque values and "__proto__" map keys as own properties', () => {
    const cm = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"__proto__":"x"}},"data":{"__proto__":"y"},"__proto__":{"polluted":true}}');
    const pruned = pruneUnknownFields(cm, 'ConfigMap', 'v1') as any;
    expect(Object.getPrototypeOf(pruned)).toBe(Object.prototype);
    expect(Object.keys(pruned)).toEqual(['apiVersion', 'kind', 'metadata', 'data']);
    expect(Object.hasOwn(pruned.data, '__proto__')).toBe(true);
    expect(pruned.data.__proto__).toBe('y');
    expect(({} as any).polluted).toBeUndefined();
  });

  it('returns kinds without a schema as they are', () => {
    const o = { apiVersion: 'example.com/v1', kind: 'Widget', spec: { x: 1 } } as any;
    expect(pruneUnknownFields(o, o.kind, o.apiVersion)).toBe(o);
  });
});

describe('strictDecodingErrors (raw JSON)', () => {
  const rcJSON = JSON.stringify(GOOD[0]);
  it('finds nothing in a good body', () => {
    expect(strictDecodingErrors(rcJSON, 'ReplicationController', 'v1')).toEqual([]);
    for (const o of GOOD) expect(strictDecodingErrors(JSON.stringify(o, null, 2), o.kind, o.apiVersion), o.kind).toEqual([]);
  });

  it('reports unknown and duplicate fields in document order, once each', () => {
    const body = '{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"a","name":"b","labels":{"x":"1","x":"2"}},"spec":{"replicass":3,"replicas":1,"replicass":4,"replicas":2,"template":{"spec":{"containers":[{"name":"c"},{"nam":"d","name":"e"}]}}},"spec":{}}';
    expect(strictDecodingErrors(body, 'ReplicationController', 'v1')).toEqual([
      'duplicate field "metadata.name"',
      'duplicate field "metadata.labels.x"',
      'unknown field "spec.replicass"',
      'duplicate field "spec.replicas"',
      'unknown field "spec.template.spec.containers[1].nam"',
      'duplicate field "spec"',
    ]);
  });

  it('agrees with unknownFields on parsed objects', () => {
    const rc = structuredClone(GOOD[5]) as any;
    rc.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    rc.metadata.labelz = {};
    expect(strictDecodingErrors(JSON.stringify(rc), rc.kind, rc.apiVersion)).toEqual(unknownFieldErrors(unknown(rc)));
  });

  it('does not look inside opaque values or unknown fields, but does inside interface{} values', () => {
    const body = '{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"managedFields":[{"fieldsV1":{"f:a":{},"f:a":{}}}]},"extra":{"a":1,"a":2},"spec":{"strategy":{"rollingUpdate":{"maxSurge":{"x":1,"x":1}}}}}';
    expect(strictDecodingErrors(body, 'Deployment', 'apps/v1')).toEqual(['unknown field "extra"']);
    expect(jsonPatchStrictErrors('[{"op":"add","path":"/a","value":{"k":1,"k":2}},{"op":"remove","path":"/b","form":"x","op":"x"}]')).toEqual([
      'json patch duplicate field "[0].value.k"',
      'json patch unknown field "[1].form"',
      'json patch duplicate field "[1].op"',
    ]);
  });

  it('handles escapes, whitespace and odd keys', () => {
    const body = '{ "kind" : "ConfigMap", "apiVersion":"v1", "data" : { "a\\"b" : "[{\\"x\\":1}]", "a\\"b": "" }, "dat\\u0061x": [1, 2.5e3, true, null, {"k":"v"}], "\\n": 1 }';
    expect(strictDecodingErrors(body, 'ConfigMap', 'v1')).toEqual(['duplicate field "data.a\\"b"', 'unknown field "datax"', 'unknown field "\\n"']);
  });

  it('keeps at most 100 errors', () => {
    const spec = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`f${i}`, i]));
    expect(strictDecodingErrors(JSON.stringify({ kind: 'Pod', apiVersion: 'v1', spec }), 'Pod', 'v1')).toHaveLength(100);
  });
});

describe('messages and headers', () => {
  it('words errors and warnings as Kubernetes does', () => {
    expect(strictDecodingMessage(unknownFieldErrors(['spec.a', 'spec.b']))).toBe('strict decoding error: unknown field "spec.a", unknown field "spec.b"');
    expect(warningHeader('unknown field "spec.replicass"')).toBe('299 - "unknown field \\"spec.replicass\\""');
    expect(Buffer.from(warningHeader('unknown field "名前"'), 'latin1').toString('utf8')).toBe('299 - "unknown field \\"名前\\""');
    expect(goQuote('a\u0001\u007f\u00e9\u2028')).toBe('"a\\x01\\x7fé\\u2028"');
  });

  it('reads fieldValidation with Warn as the default', () => {
    expect(parseFieldValidation(new URLSearchParams(''))).toBe('Warn');
    expect(parseFieldValidation(new URLSearchParams('fieldValidation='))).toBe('Warn');
    expect(parseFieldValidation(new URLSearchParams('fieldValidation=Strict'))).toBe('Strict');
    expect(parseFieldValidation(new URLSearchParams('fieldValidation=Ignore'))).toBe('Ignore');
    expect(parseFieldValidation(new URLSearchParams('fieldValidation=strict'))).toBeUndefined();
  });

  it('prints patches as Go prints a map', () => {
    expect(goFormat({ spec: { replicass: 3, b: [1, 'x', null, true], a: 1.5 }, metadata: { annotations: { k: 'v' } } })).toBe('map[metadata:map[annotations:map[k:v]] spec:map[a:1.5 b:[1 x <nil> true] replicass:3]]');
    expect(goFormat(1234567.5)).toBe('1.2345675e+06');
    expect(goFormat(0.00001)).toBe('1e-05');
  });
});
