import { RESOURCES, type KubeObject, type ResourceInfo } from '@kubemu/api';
import { describe, expect, it } from 'vitest';
import { toTable } from './index.js';

const now = new Date('2024-05-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const H = 3600;

function resource(plural: string, group = ''): ResourceInfo {
  const r = RESOURCES.find((x) => x.plural === plural && x.group === group);
  if (!r) throw new Error(`no resource ${plural}`);
  return r;
}

function obj(apiVersion: string, kind: string, name: string, age: number, rest: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '10', creationTimestamp: ago(age), ...meta }, ...rest };
}

function table(plural: string, items: KubeObject[], group = '') {
  return toTable(resource(plural, group), items, { resourceVersion: '42', now });
}

const header = (plural: string, group = '') => table(plural, [], group).columnDefinitions.map((c) => (c.priority ? `(${c.name})` : c.name)).join(' ');
const cells = (plural: string, o: KubeObject, group = '') => table(plural, [o], group).rows[0].cells;

describe('the Table object', () => {
  const svc = obj('v1', 'Service', 'kubia', 45, { spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] } }, { labels: { app: 'kubia' } });

  it('is a meta.k8s.io/v1 Table with the list resourceVersion and full column definitions', () => {
    const t = toTable(resource('services'), [svc], { resourceVersion: '42', now, continue: 'abc', remainingItemCount: 3 });
    expect(t.kind).toBe('Table');
    expect(t.apiVersion).toBe('meta.k8s.io/v1');
    expect(t.metadata).toEqual({ resourceVersion: '42', continue: 'abc', remainingItemCount: 3 });
    expect(t.columnDefinitions[0]).toEqual({
      name: 'Name',
      type: 'string',
      format: 'name',
      description: expect.stringContaining('Name must be unique within a namespace.'),
      priority: 0,
    });
    for (const c of t.columnDefinitions) expect(Object.keys(c).sort()).toEqual(['description', 'format', 'name', 'priority', 'type']);
  });

  it('carries PartialObjectMetadata by default, the object for Object, nothing for None', () => {
    expect(toTable(resource('services'), [svc], { resourceVersion: '1', now }).rows[0].object).toEqual({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: svc.metadata,
    });
    expect(toTable(resource('services'), [svc], { resourceVersion: '1', now, includeObject: 'Metadata' }).rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata' });
    expect(toTable(resource('services'), [svc], { resourceVersion: '1', now, includeObject: 'Object' }).rows[0].object).toBe(svc);
    expect(toTable(resource('services'), [svc], { resourceVersion: '1', now, includeObject: 'None' }).rows[0]).not.toHaveProperty('object');
  });

  it('omits the column definitions with noHeaders', () => {
    expect(toTable(resource('services'), [svc], { resourceVersion: '1', now, noHeaders: true }).columnDefinitions).toEqual([]);
  });
});

describe('columns', () => {
  it.each([
    ['pods', '', 'Name Ready Status Restarts Age (IP) (Node) (Nominated Node) (Readiness Gates)'],
    ['services', '', 'Name Type Cluster-IP External-IP Port(s) Age (Selector)'],
    ['endpoints', '', 'Name Endpoints Age'],
    ['endpointslices', 'discovery.k8s.io', 'Name AddressType Ports Endpoints Age'],
    ['nodes', '', 'Name Status Roles Age Version (Internal-IP) (External-IP) (OS-Image) (Kernel-Version) (Container-Runtime)'],
    ['ingresses', 'networking.k8s.io', 'Name Class Hosts Address Ports Age'],
    ['ingressclasses', 'networking.k8s.io', 'Name Controller Parameters Age'],
    ['deployments', 'apps', 'Name Ready Up-to-date Available Age (Containers) (Images) (Selector)'],
    ['replicasets', 'apps', 'Name Desired Current Ready Age (Containers) (Images) (Selector)'],
    ['replicationcontrollers', '', 'Name Desired Current Ready Age (Containers) (Images) (Selector)'],
    ['namespaces', '', 'Name Status Age'],
    ['secrets', '', 'Name Type Data Age'],
    ['configmaps', '', 'Name Data Age'],
    ['events', '', 'Last Seen Type Reason Object (Subobject) (Source) Message (First Seen) (Count) (Name)'],
  ])('%s', (plural, group, expected) => {
    expect(header(plural, group)).toBe(expected);
  });

  it('defaults to NAME AGE with a wide Created At for kinds without a printer', () => {
    const leases: ResourceInfo = { ...resource('configmaps'), group: 'coordination.k8s.io', kind: 'Lease', plural: 'leases' };
    const t = toTable(leases, [obj('coordination.k8s.io/v1', 'Lease', 'holder', 2 * H)], { resourceVersion: '1', now });
    expect(t.columnDefinitions.map((c) => [c.name, c.type, c.priority])).toEqual([
      ['Name', 'string', 0],
      ['Age', 'string', 0],
      ['Created At', 'date', 1],
    ]);
    expect(t.rows[0].cells).toEqual(['holder', '120m', '2024-05-01T10:00:00Z']);
  });
});

describe('services', () => {
  const svc = (name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}) =>
    obj('v1', 'Service', name, 3 * H, { spec, status });

  it('ClusterIP', () => {
    expect(cells('services', svc('kubia', { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], selector: { app: 'kubia' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] }))).toEqual([
      'kubia',
      'ClusterIP',
      '10.96.0.10',
      '<none>',
      '80/TCP',
      '3h',
      'app=kubia',
    ]);
  });

  it('NodePort with several ports and external IPs', () => {
    const s = svc('kubia-nodeport', {
      type: 'NodePort',
      clusterIP: '10.96.0.11',
      externalIPs: ['192.168.1.10'],
      ports: [
        { port: 80, nodePort: 30123, protocol: 'TCP' },
        { port: 53, nodePort: 30053, protocol: 'UDP' },
      ],
    });
    expect(cells('services', s).slice(1, 5)).toEqual(['NodePort', '10.96.0.11', '192.168.1.10', '80:30123/TCP,53:30053/UDP']);
  });

  it('LoadBalancer pending, then with addresses', () => {
    const spec = { type: 'LoadBalancer', clusterIP: '10.96.0.12', ports: [{ port: 80, nodePort: 31000, protocol: 'TCP' }] };
    expect(cells('services', svc('lb', spec))[3]).toBe('<pending>');
    const ready = svc('lb', spec, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }, { ip: '203.0.113.2' }] } });
    expect(cells('services', ready)[3]).toBe('203.0.113.2,203.0.113.9,lb.example.com');
    const withExternal = svc('lb', { ...spec, externalIPs: ['10.0.0.1'] }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } });
    expect(cells('services', withExternal)[3]).toBe('203.0.113.9,10.0.0.1');
  });

  it('ExternalName and headless', () => {
    expect(cells('services', svc('ext', { type: 'ExternalName', externalName: 'api.example.com' })).slice(1, 5)).toEqual(['ExternalName', '<none>', 'api.example.com', '<none>']);
    expect(cells('services', svc('headless', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] })).slice(1, 5)).toEqual(['ClusterIP', 'None', '<none>', '5432/TCP']);
  });
});

describe('endpoints and endpointslices', () => {
  const ep = (subsets: unknown) => obj('v1', 'Endpoints', 'kubia', 90, subsets === undefined ? {} : { subsets });

  it('lists ip:port pairs, capped at 3', () => {
    const ports = [{ port: 8080, protocol: 'TCP' }];
    expect(cells('endpoints', ep([{ addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.3' }], ports }]))).toEqual(['kubia', '10.244.1.5:8080,10.244.2.3:8080', '90s']);
    const four = [{ addresses: ['10.244.1.5', '10.244.2.3', '10.244.2.4', '10.244.3.7'].map((ip) => ({ ip })), ports }];
    expect(cells('endpoints', ep(four))[1]).toBe('10.244.1.5:8080,10.244.2.3:8080,10.244.2.4:8080 + 1 more...');
    const twoPorts = [{ addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.3' }], ports: [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }] }];
    expect(cells('endpoints', ep(twoPorts))[1]).toBe('10.244.1.5:8080,10.244.2.3:8080,10.244.1.5:8443 + 1 more...');
  });

  it('<none> without subsets; bare IPs without ports; nothing for not-ready addresses', () => {
    expect(cells('endpoints', ep(undefined))[1]).toBe('<none>');
    expect(cells('endpoints', ep([]))[1]).toBe('<none>');
    expect(cells('endpoints', ep([{ addresses: [{ ip: 'fd00::1' }] }]))[1]).toBe('fd00::1');
    expect(cells('endpoints', ep([{ notReadyAddresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80 }] }]))[1]).toBe('');
  });

  it('endpointslices', () => {
    const slice = obj('discovery.k8s.io/v1', 'EndpointSlice', 'kubia-x7k2p', 150, {
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'all', port: null }],
      endpoints: [{ addresses: ['10.244.1.5'] }, { addresses: ['10.244.2.3'] }, { addresses: ['10.244.2.4'] }, { addresses: ['10.244.3.7'] }],
    });
    expect(cells('endpointslices', slice, 'discovery.k8s.io')).toEqual(['kubia-x7k2p', 'IPv4', '8080,all', '10.244.1.5,10.244.2.3,10.244.2.4 + 1 more...', '2m30s']);
    const empty = obj('discovery.k8s.io/v1', 'EndpointSlice', 'e', 150, { addressType: 'IPv6', ports: null, endpoints: null });
    expect(cells('endpointslices', empty, 'discovery.k8s.io').slice(1, 4)).toEqual(['IPv6', '<unset>', '<unset>']);
  });
});

describe('nodes', () => {
  const node = (labels: Record<string, string>, ready: string | undefined, extra: Record<string, unknown> = {}) =>
    obj(
      'v1',
      'Node',
      'kind-worker',
      26 * 24 * H,
      {
        spec: extra,
        status: {
          ...(ready ? { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: ready }] } : {}),
          addresses: [
            { type: 'InternalIP', address: '172.18.0.3' },
            { type: 'Hostname', address: 'kind-worker' },
          ],
          nodeInfo: { kubeletVersion: 'v1.30.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-18-amd64', containerRuntimeVersion: 'containerd://1.7.15' },
        },
      },
      { labels, namespace: undefined },
    );

  it('Ready worker without roles', () => {
    expect(cells('nodes', node({ 'kubernetes.io/hostname': 'kind-worker' }, 'True'))).toEqual([
      'kind-worker',
      'Ready',
      '<none>',
      '26d',
      'v1.30.0',
      '172.18.0.3',
      '<none>',
      'Debian GNU/Linux 12 (bookworm)',
      '6.1.0-18-amd64',
      'containerd://1.7.15',
    ]);
  });

  it('roles from node-role labels; NotReady, Unknown and SchedulingDisabled', () => {
    const roles = { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': '', 'kubernetes.io/role': 'edge' };
    expect(cells('nodes', node(roles, 'False', { unschedulable: true })).slice(1, 3)).toEqual(['NotReady,SchedulingDisabled', 'control-plane,edge,master']);
    expect(cells('nodes', node({}, undefined))[1]).toBe('Unknown');
    expect(cells('nodes', node({}, 'Unknown'))[1]).toBe('NotReady');
  });
});

describe('ingresses and ingressclasses', () => {
  it('ingress with class, hosts, address and TLS', () => {
    const ing = obj('networking.k8s.io/v1', 'Ingress', 'kubia', 600, {
      spec: { ingressClassName: 'nginx', tls: [{ hosts: ['kubia.example.com'] }], rules: [{ host: 'kubia.example.com' }, { host: 'api.example.com' }] },
      status: { loadBalancer: { ingress: [{ ip: '192.168.49.2' }] } },
    });
    expect(cells('ingresses', ing, 'networking.k8s.io')).toEqual(['kubia', 'nginx', 'kubia.example.com,api.example.com', '192.168.49.2', '80, 443', '10m']);
  });

  it('ingress without class, hosts or address; more than 3 hosts', () => {
    const bare = obj('networking.k8s.io/v1', 'Ingress', 'bare', 60, { spec: { defaultBackend: { service: { name: 'kubia', port: { number: 80 } } } } });
    expect(cells('ingresses', bare, 'networking.k8s.io')).toEqual(['bare', '<none>', '*', '', '80', '60s']);
    const many = obj('networking.k8s.io/v1', 'Ingress', 'many', 60, { spec: { rules: ['a', 'b', '', 'c', 'd'].map((host) => ({ host })) } });
    expect(cells('ingresses', many, 'networking.k8s.io')[2]).toBe('a,b,c + 2 more...');
  });

  it('ingressclass parameters', () => {
    const ic = obj('networking.k8s.io/v1', 'IngressClass', 'nginx', 2 * 24 * H, {
      spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'external-lb' } },
    });
    expect(cells('ingressclasses', ic, 'networking.k8s.io')).toEqual(['nginx', 'k8s.io/ingress-nginx', 'IngressParameters.k8s.example.com/external-lb', '2d']);
    const plain = obj('networking.k8s.io/v1', 'IngressClass', 'kubemu', 30, { spec: { controller: 'kubemu.dev/ingress' } });
    expect(cells('ingressclasses', plain, 'networking.k8s.io')).toEqual(['kubemu', 'kubemu.dev/ingress', '<none>', '30s']);
  });
});

describe('workloads', () => {
  const template = {
    metadata: { labels: { app: 'kubia' } },
    spec: {
      containers: [
        { name: 'kubia', image: 'luksa/kubia:v2' },
        { name: 'envoy', image: 'envoyproxy/envoy:v1.29' },
      ],
    },
  };

  it('deployments', () => {
    const d = obj('apps/v1', 'Deployment', 'kubia', 7 * 60, {
      spec: { replicas: 3, selector: { matchLabels: { app: 'kubia' } }, template },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
    });
    expect(cells('deployments', d, 'apps')).toEqual(['kubia', '2/3', 3, 2, '7m', 'kubia,envoy', 'luksa/kubia:v2,envoyproxy/envoy:v1.29', 'app=kubia']);
    const fresh = obj('apps/v1', 'Deployment', 'fresh', 5, { spec: { selector: { matchLabels: { app: 'x' } }, template } });
    expect(cells('deployments', fresh, 'apps').slice(1, 4)).toEqual(['0/1', 0, 0]);
  });

  it('replicasets', () => {
    const rs = obj('apps/v1', 'ReplicaSet', 'kubia-5d8f7c9b', 7 * 60, {
      spec: { replicas: 3, selector: { matchLabels: { app: 'kubia', 'pod-template-hash': '5d8f7c9b' } }, template },
      status: { replicas: 3, readyReplicas: 1 },
    });
    expect(cells('replicasets', rs, 'apps')).toEqual([
      'kubia-5d8f7c9b',
      3,
      3,
      1,
      '7m',
      'kubia,envoy',
      'luksa/kubia:v2,envoyproxy/envoy:v1.29',
      'app=kubia,pod-template-hash=5d8f7c9b',
    ]);
  });

  it('replicationcontrollers', () => {
    const rc = obj('v1', 'ReplicationController', 'kubia', 50 * 60, {
      spec: { replicas: 3, selector: { app: 'kubia' }, template },
      status: { replicas: 3, readyReplicas: 3 },
    });
    expect(cells('replicationcontrollers', rc)).toEqual(['kubia', 3, 3, 3, '50m', 'kubia,envoy', 'luksa/kubia:v2,envoyproxy/envoy:v1.29', 'app=kubia']);
    const scaledDown = obj('v1', 'ReplicationController', 'old', 60, { spec: { replicas: 0, selector: { app: 'old' } }, status: { replicas: 0 } });
    expect(cells('replicationcontrollers', scaledDown)).toEqual(['old', 0, 0, 0, '60s', '', '', 'app=old']);
  });
});

describe('namespaces, secrets, configmaps', () => {
  it('namespaces', () => {
    expect(cells('namespaces', obj('v1', 'Namespace', 'default', 40 * 24 * H, { status: { phase: 'Active' } }))).toEqual(['default', 'Active', '40d']);
    expect(cells('namespaces', obj('v1', 'Namespace', 'going', 60, { status: { phase: 'Terminating' } }))[1]).toBe('Terminating');
  });

  it('secrets', () => {
    const tls = obj('v1', 'Secret', 'kubia-tls', 4 * H + 20 * 60, { type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5' } });
    expect(cells('secrets', tls)).toEqual(['kubia-tls', 'kubernetes.io/tls', 2, '4h20m']);
    expect(cells('secrets', obj('v1', 'Secret', 'empty', 10, {}))).toEqual(['empty', 'Opaque', 0, '10s']);
  });

  it('configmaps count data and binaryData', () => {
    const cm = obj('v1', 'ConfigMap', 'fortune-config', 36 * H, { data: { 'sleep-interval': '25', 'nginx.conf': '...' }, binaryData: { 'logo.png': 'iVBO' } });
    expect(cells('configmaps', cm)).toEqual(['fortune-config', 3, '36h']);
  });
});

describe('events', () => {
  it('a repeated core/v1 event', () => {
    const ev = obj('v1', 'Event', 'kubia-7d5b9.17c3f5a2', 300, {
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'kubia-7d5b9', fieldPath: 'spec.containers{kubia}' },
      reason: 'BackOff',
      message: 'Back-off restarting failed container kubia in pod kubia-7d5b9_default(1234)\n',
      type: 'Warning',
      source: { component: 'kubelet', host: 'kind-worker' },
      firstTimestamp: ago(290),
      lastTimestamp: ago(20),
      count: 5,
    });
    expect(cells('events', ev)).toEqual([
      '20s',
      'Warning',
      'BackOff',
      'pod/kubia-7d5b9',
      'spec.containers{kubia}',
      'kubelet, kind-worker',
      'Back-off restarting failed container kubia in pod kubia-7d5b9_default(1234)',
      '4m50s',
      5,
      'kubia-7d5b9.17c3f5a2',
    ]);
  });

  it('an event written through the new API: eventTime, series, reporting controller', () => {
    const ev = obj('v1', 'Event', 'kubia.17c3', 600, {
      involvedObject: { kind: 'Deployment', name: 'kubia' },
      reason: 'ScalingReplicaSet',
      message: 'Scaled up replica set kubia-5d8f7c9b to 3',
      type: 'Normal',
      eventTime: '2024-05-01T11:50:00.000000Z',
      series: { count: 4, lastObservedTime: '2024-05-01T11:59:30.000000Z' },
      reportingComponent: 'deployment-controller',
      source: {},
    });
    expect(cells('events', ev)).toEqual(['30s', 'Normal', 'ScalingReplicaSet', 'deployment/kubia', '', 'deployment-controller', 'Scaled up replica set kubia-5d8f7c9b to 3', '10m', 4, 'kubia.17c3']);
  });

  it('a singleton event without a count or last timestamp', () => {
    const ev = obj('v1', 'Event', 'ns.1', 30, { involvedObject: { kind: 'Namespace' }, reason: 'Created', message: 'created', type: 'Normal', firstTimestamp: ago(30) });
    expect(cells('events', ev).slice(0, 4)).toEqual(['30s', 'Normal', 'Created', 'namespace']);
    expect(cells('events', ev)[8]).toBe(1);
  });
});

describe('ages', () => {
  it('uses the <unknown> age for objects without a creation timestamp', () => {
    const o: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    expect(cells('configmaps', o)).toEqual(['x', 0, '<unknown>']);
  });
});
