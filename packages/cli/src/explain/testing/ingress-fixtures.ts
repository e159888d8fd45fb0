/** Facts of a healthy Ingress (kubia.example.com/ → Service kubia:80, 2 ready pods, served by kubemu's controller at 172.30.0.250), for the ingress checks' unit tests to break one thing at a time. */
import type { EndpointSlice, Ingress, Secret, Service } from '@kubemu/api';
import type { IngressFacts } from '../facts.js';
import { NOW, pod, service } from './fixtures.js';

export function ingress(spec: Partial<Ingress['spec']> = {}, name = 'kubia'): Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: '2026-01-01T11:00:00Z' },
    spec: { rules: [{ host: 'kubia.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'kubia', port: { number: 80 } } } }] } }], ...spec },
    status: { loadBalancer: { ingress: [{ ip: '172.30.0.250' }] } },
  };
}

export function readySlice(svc: string, eps: { ip: string; pod: string; ready?: boolean }[], port = 8080, portName = ''): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abcde`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, targetRef: { kind: 'Pod', name: e.pod, namespace: 'default' } })),
    ports: [{ name: portName, port, protocol: 'TCP' }],
  };
}

export function tlsSecret(name: string, cert: string, key: string, type = 'kubernetes.io/tls'): Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type, data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') } };
}

export function controllerService(ip?: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ingress-kubemu-controller', namespace: 'ingress-kubemu' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.9.9', ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: 31080 }, { name: 'https', port: 443, targetPort: 'https', nodePort: 31443 }] },
    status: { loadBalancer: { ingress: ip ? [{ ip }] : [] } },
  };
}

export function healthyIngress(): IngressFacts {
  const ing = ingress();
  const ctlPod = pod('ingress-kubemu-controller-x1', { labels: { app: 'ingress' }, ip: '10.244.2.9', node: 'node-2' });
  ctlPod.metadata.namespace = 'ingress-kubemu';
  return {
    now: NOW,
    cluster: 'test',
    ingress: ing,
    ingresses: [ing],
    ingressClasses: [{ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'kubemu', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'kubemu.io/ingress-controller' } }],
    controllers: [{ namespace: 'ingress-kubemu', name: 'ingress-kubemu-controller', ingressClass: 'kubemu', publishService: { namespace: 'ingress-kubemu', name: 'ingress-kubemu-controller' }, pods: [ctlPod], service: controllerService('172.30.0.250') }],
    services: [service()],
    slices: [readySlice('kubia', [{ ip: '10.244.1.3', pod: 'kubia-a' }, { ip: '10.244.2.3', pod: 'kubia-b' }])],
    secrets: {},
    nodes: [
      { name: 'node-1', ip: '172.30.0.11', ready: true },
      { name: 'node-2', ip: '172.30.0.12', ready: true },
    ],
  };
}
