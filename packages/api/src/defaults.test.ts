import { describe, expect, it } from 'vitest';
import { applyDefaults, imageTag } from './defaults.js';
import type { KubeObject } from './types.js';

const svc = (spec: object, status?: object): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec, ...(status ? { status } : {}) });

describe('applyDefaults: Service', () => {
  it('defaults a plain ClusterIP service', () => {
    const s = svc({ selector: { app: 'kubia' }, ports: [{ port: 80, targetPort: 8080 }, { port: 443 }, { port: 53, targetPort: 0 }, { port: 54, targetPort: '' }] });
    applyDefaults(s);
    expect(s.spec).toEqual({
      type: 'ClusterIP',
      selector: { app: 'kubia' },
      ports: [
        { port: 80, targetPort: 8080, protocol: 'TCP' },
        { port: 443, targetPort: 443, protocol: 'TCP' },
        { port: 53, targetPort: 53, protocol: 'TCP' },
        { port: 54, targetPort: 54, protocol: 'TCP' },
      ],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    });
  });

  it('clears sessionAffinityConfig for None, fills ClientIP timeout', () => {
    const a = svc({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } });
    applyDefaults(a);
    expect(a.spec.sessionAffinityConfig).toBeUndefined();
    const b = svc({ sessionAffinity: 'ClientIP' });
    applyDefaults(b);
    expect(b.spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
    const c = svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
    applyDefaults(c);
    expect(c.spec.sessionAffinityConfig.clientIP.timeoutSeconds).toBe(60);
  });

  it('externalTrafficPolicy only when externally accessible', () => {
    for (const [spec, want] of [
      [{ type: 'NodePort' }, 'Cluster'],
      [{ type: 'LoadBalancer' }, 'Cluster'],
      [{ externalIPs: ['1.2.3.4'] }, 'Cluster'],
      [{}, undefined],
      [{ type: 'ExternalName', externalName: 'x.com' }, undefined],
      [{ type: 'NodePort', externalTrafficPolicy: 'Local' }, 'Local'],
    ] as const) {
      const s = svc({ ...spec });
      applyDefaults(s);
      expect(s.spec.externalTrafficPolicy).toBe(want);
    }
  });

  it('LoadBalancer gets allocateLoadBalancerNodePorts and ipMode; ExternalName no internal policy or families', () => {
    const lb = svc({ type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '172.30.0.200' }, { hostname: 'x' }] } });
    applyDefaults(lb);
    expect(lb.spec.allocateLoadBalancerNodePorts).toBe(true);
    expect(lb.status.loadBalancer.ingress).toEqual([{ ip: '172.30.0.200', ipMode: 'VIP' }, { hostname: 'x' }]);
    const en = svc({ type: 'ExternalName', externalName: 'example.com' });
    applyDefaults(en);
    expect(en.spec.internalTrafficPolicy).toBeUndefined();
    expect(en.spec.ipFamilies).toBeUndefined();
    expect(en.spec.allocateLoadBalancerNodePorts).toBeUndefined();
  });
});

describe('applyDefaults: Pod', () => {
  it('fills pod, container and probe defaults', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'kubia',
            image: 'luksa/kubia',
            ports: [{ containerPort: 8080 }],
            readinessProbe: { exec: { command: ['ls', '/var/ready'] } },
            livenessProbe: { httpGet: { port: 8080 }, initialDelaySeconds: 15 },
            env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          },
          { name: 'side', image: 'nginx:1.25' },
        ],
      },
    };
    applyDefaults(pod);
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      securityContext: {},
    });
    const [c0, c1] = pod.spec.containers;
    expect(c0).toMatchObject({ imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
    expect(c0.ports[0].protocol).toBe('TCP');
    expect(c0.readinessProbe).toEqual({ exec: { command: ['ls', '/var/ready'] }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(c0.livenessProbe.httpGet).toEqual({ port: 8080, path: '/', scheme: 'HTTP' });
    expect(c0.livenessProbe.initialDelaySeconds).toBe(15);
    expect(c0.env[0].valueFrom.fieldRef.apiVersion).toBe('v1');
    expect(c1.imagePullPolicy).toBe('IfNotPresent');
  });

  it('copies limits to requests and host ports on hostNetwork', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { hostNetwork: true, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } } }] },
    };
    applyDefaults(pod);
    expect(pod.spec.containers[0].resources.requests).toEqual({ cpu: '1' });
    expect(pod.spec.containers[0].ports[0].hostPort).toBe(80);
  });

  it('reads image tags like the runtime', () => {
    expect(imageTag('luksa/kubia')).toBe('latest');
    expect(imageTag('luksa/kubia:latest')).toBe('latest');
    expect(imageTag('luksa/kubia:v1')).toBe('v1');
    expect(imageTag('localhost:5000/kubia')).toBe('latest');
    expect(imageTag('localhost:5000/kubia:v2')).toBe('v2');
    expect(imageTag('busybox@sha256:abc')).toBe('');
    expect(imageTag('Bad/Image')).toBe('');
    expect(imageTag('')).toBe('');
  });
});

describe('applyDefaults: the deprecated serviceAccount', () => {
  const spec = (s: Record<string, unknown>) => {
    const p: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [], ...s } };
    applyDefaults(p);
    return p.spec;
  };
  it('fills an empty serviceAccountName and always mirrors serviceAccountName', () => {
    expect(spec({ serviceAccount: 'old' })).toMatchObject({ serviceAccountName: 'old', serviceAccount: 'old' });
    expect(spec({ serviceAccountName: 'new', serviceAccount: 'old' })).toMatchObject({ serviceAccountName: 'new', serviceAccount: 'new' });
    expect(spec({})).not.toHaveProperty('serviceAccount');
  });
});

describe('applyDefaults: workloads', () => {
  it('RC: replicas 1, selector and labels from the template', () => {
    const rc: KubeObject = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'kubia' },
      spec: { template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'kubia', image: 'luksa/kubia' }] } } },
    };
    applyDefaults(rc);
    expect(rc.spec.replicas).toBe(1);
    expect(rc.spec.selector).toEqual({ app: 'kubia' });
    expect(rc.metadata.labels).toEqual({ app: 'kubia' });
    expect(rc.spec.template.spec.restartPolicy).toBe('Always');
    expect(rc.spec.template.spec.enableServiceLinks).toBeUndefined();
  });

  it('RC keeps given selector and labels', () => {
    const rc: KubeObject = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'kubia', labels: { x: 'y' } },
      spec: { replicas: 3, selector: { app: 'kubia' }, template: { metadata: { labels: { app: 'kubia', v: '1' } }, spec: { containers: [] } } },
    };
    applyDefaults(rc);
    expect(rc.spec.replicas).toBe(3);
    expect(rc.spec.selector).toEqual({ app: 'kubia' });
    expect(rc.metadata.labels).toEqual({ x: 'y' });
  });

  it('Deployment strategy and limits', () => {
    const d: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'x:1' }] } } } };
    applyDefaults(d);
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    const r: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { strategy: { type: 'Recreate' } } };
    applyDefaults(r);
    expect(r.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('ReplicaSet replicas', () => {
    const rs: KubeObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { replicas: 0 } };
    applyDefaults(rs);
    expect(rs.spec.replicas).toBe(0);
  });
});

describe('applyDefaults: other kinds', () => {
  it('Secret, Namespace, Endpoints, EndpointSlice, Node, IngressClass', () => {
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } };
    applyDefaults(secret);
    expect(secret.type).toBe('Opaque');

    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } };
    applyDefaults(ns);
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'dev' });
    expect(ns.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(ns.status).toEqual({ phase: 'Active' });

    const ep: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] };
    applyDefaults(ep);
    expect((ep.subsets as any)[0].ports[0].protocol).toBe('TCP');

    const es: KubeObject = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ port: 80 }] };
    applyDefaults(es);
    expect(es.ports).toEqual([{ port: 80, name: '', protocol: 'TCP' }]);
    expect((es.endpoints as any)[0].conditions).toBeUndefined();

    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { capacity: { cpu: '4' } } };
    applyDefaults(node);
    expect(node.status.allocatable).toEqual({ cpu: '4' });

    const ic: KubeObject = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'x/y', parameters: { kind: 'K', name: 'n' } } };
    applyDefaults(ic);
    expect(ic.spec.parameters.scope).toBe('Cluster');
  });

  it('never throws on garbage', () => {
    const garbage: unknown[] = [null, 1, 'x', [], { kind: 'Service' }, { kind: 'Service', spec: 1 }, { kind: 'Service', spec: { ports: [null, 1, 'x'] } },
      { kind: 'Pod', spec: { containers: {} } }, { kind: 'Pod', spec: { containers: [null, { ports: 'x', livenessProbe: 1, env: [null] }] } },
      { kind: 'ReplicationController', metadata: null, spec: { template: { metadata: { labels: { a: 'b' } } } } },
      { kind: 'Deployment', spec: { strategy: 1 } }, { kind: 'Namespace', metadata: 1, spec: 'x', status: [] }];
    for (const g of garbage) expect(() => applyDefaults(g as KubeObject)).not.toThrow();
  });
});
