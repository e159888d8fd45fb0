/** Object builders for the ingress controller's tests (not part of the build). */
import type { EndpointSlice, Ingress, IngressBackend, IngressClass, Secret, Service } from '@kubemu/api';

export interface PathSpec {
  path?: string;
  pathType?: string;
  service: string;
  port?: number | string;
}

let seq = 0;

export function backend(service: string, port: number | string = 80): IngressBackend {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function ingress(
  name: string,
  rules: { host?: string; paths: PathSpec[] }[],
  extra: { namespace?: string; created?: string; annotations?: Record<string, string>; className?: string; defaultBackend?: IngressBackend; tls?: { hosts?: string[]; secretName?: string }[] } = {},
): Ingress {
  seq++;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: extra.namespace ?? 'default',
      uid: `uid-${name}`,
      creationTimestamp: extra.created ?? new Date(Date.UTC(2024, 0, 1, 0, 0, seq)).toISOString(),
      annotations: extra.annotations,
      resourceVersion: String(seq),
    },
    spec: {
      ingressClassName: extra.className,
      defaultBackend: extra.defaultBackend,
      tls: extra.tls,
      rules: rules.map((r) => ({
        host: r.host,
        http: { paths: r.paths.map((p) => ({ path: p.path, pathType: p.pathType ?? 'Prefix', backend: backend(p.service, p.port ?? 80) })) },
      })),
    },
  };
}

export function ingressClass(name: string, isDefault = false): IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : undefined },
    spec: { controller: `example.com/${name}` },
  };
}

export function service(name: string, ports: { name?: string; port: number; targetPort?: number | string }[], namespace = 'default'): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, uid: `svc-${name}` }, spec: { ports: ports.map((p) => ({ protocol: 'TCP' as const, ...p })) } };
}

export interface EndpointSpec {
  ip: string;
  pod: string;
  ready?: boolean;
}

/** One slice for `svc` with the given named ports (name → port number) and endpoints. */
export function slice(svc: string, ports: { name?: string; port: number }[], endpoints: EndpointSpec[], namespace = 'default', name = `${svc}-abc`): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: 'TCP' })),
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, targetRef: { kind: 'Pod', namespace, name: e.pod } })),
  };
}

export function tlsSecret(name: string, cert: string, key: string, namespace = 'default', rv = '1'): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, uid: `secret-${name}`, resourceVersion: rv },
    data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  };
}
