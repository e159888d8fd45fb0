/** Services and EndpointSlices for the cluster DNS tests, in the shapes the API server writes. */
import type { EndpointSlice, Service, ServicePort, SliceEndpoint } from '@kubemu/api';
import type { KubeObjectLike } from '../../kube/index.js';
import { StaticCache } from '../../kube/index.js';

export type Svc = Service & KubeObjectLike;
export type Slice = EndpointSlice & KubeObjectLike;

export function service(ns: string, name: string, spec: Service['spec']): Svc {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
}

export function clusterIP(ns: string, name: string, ip: string, ports: ServicePort[] = [{ name: 'http', port: 80, protocol: 'TCP' }]): Svc {
  return service(ns, name, { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports });
}

export function headless(ns: string, name: string, ports: ServicePort[] = [{ name: 'http', port: 80, protocol: 'TCP' }], extra: Partial<Service['spec']> = {}): Svc {
  return service(ns, name, { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ports, ...extra });
}

export function externalName(ns: string, name: string, target: string): Svc {
  return service(ns, name, { type: 'ExternalName', externalName: target });
}

export interface Ep {
  ip: string;
  hostname?: string;
  ready?: boolean;
}

export function slice(ns: string, svc: string, eps: Ep[], ports: Array<{ name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }> = [{ name: 'http', port: 8080, protocol: 'TCP' }], suffix = 'abcde'): Slice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-${suffix}`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: eps.map((e): SliceEndpoint => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, ...(e.hostname ? { hostname: e.hostname } : {}) })),
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}

/** The cluster most tests use. */
export function sampleCluster(): { services: StaticCache<Svc>; slices: StaticCache<Slice> } {
  const services = new StaticCache<Svc>([
    clusterIP('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
    clusterIP('default', 'kubia', '10.96.0.20', [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
      { port: 8443, protocol: 'TCP' },
    ]),
    clusterIP('kube-system', 'kube-dns', '10.96.0.10', [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ]),
    headless('default', 'kubia-headless'),
    headless('default', 'pnra', [{ name: 'http', port: 80, protocol: 'TCP' }], { publishNotReadyAddresses: true }),
    headless('default', 'empty'),
    externalName('default', 'ext', 'www.example.com'),
    externalName('default', 'alias', 'kubia.default.svc.cluster.local'),
    externalName('default', 'alias2', 'alias.default.svc.cluster.local.'),
    externalName('default', 'dangling', 'missing.default.svc.cluster.local'),
    externalName('default', 'loop-a', 'loop-b.default.svc.cluster.local'),
    externalName('default', 'loop-b', 'loop-a.default.svc.cluster.local'),
  ]);
  const slices = new StaticCache<Slice>([
    slice('default', 'kubia', [{ ip: '10.244.1.5' }, { ip: '10.244.2.6' }], [
      { name: 'http', port: 8080 },
      { name: 'dns', port: 5353, protocol: 'UDP' },
      { port: 8443 },
    ]),
    slice('default', 'kubia-headless', [
      { ip: '10.244.1.7', hostname: 'web-0' },
      { ip: '10.244.2.8' },
      { ip: '10.244.3.9', ready: false },
    ]),
    slice('default', 'pnra', [{ ip: '10.244.1.10', ready: false }]),
    slice('kube-system', 'kube-dns', [{ ip: '10.244.1.2' }], [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ]),
  ]);
  return { services, slices };
}
