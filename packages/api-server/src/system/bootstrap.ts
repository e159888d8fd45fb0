/**
 * What every cluster has from its first second: the four system namespaces,
 * the `kubernetes` Service (first IP of the service CIDR, port 443 "https") and
 * its Endpoints and EndpointSlice pointing at the api-server (kube-apiserver's
 * endpoint reconciler writes both), so pods reach the API at 10.96.0.1:443.
 */
import { LABEL_SERVICE_NAME, type EndpointSlice, type Endpoints, type Service } from '@kubemu/api';
import { RES, type Registry } from '../registry/registry.js';

export interface ApiServerEndpoint {
  ip: string;
  port: number;
}

export function bootstrap(reg: Registry, endpoint: ApiServerEndpoint): void {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!reg.get(RES.namespaces, undefined, name)) {
      reg.create(RES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
    }
  }
  const ip = reg.services.ips.firstIP();
  if (!reg.get(RES.services, 'default', 'kubernetes')) {
    const svc: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: ip, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: endpoint.port }], sessionAffinity: 'None', type: 'ClusterIP' },
    };
    reg.create(RES.services, svc);
  }
  // Kubernetes refuses loopback endpoint addresses; a control plane serving only
  // on loopback (standalone, no nodes) has no reachable endpoint to publish.
  if (/^127\./.test(endpoint.ip) || endpoint.ip === '::1') return;
  const want: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: endpoint.ip }], ports: [{ name: 'https', port: endpoint.port, protocol: 'TCP' }] }],
  };
  const have = reg.get<Endpoints>(RES.endpoints, 'default', 'kubernetes');
  if (!have) reg.create(RES.endpoints, want);
  else if (JSON.stringify(have.subsets) !== JSON.stringify(want.subsets)) reg.update(RES.endpoints, { ...have, subsets: want.subsets });
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { [LABEL_SERVICE_NAME]: 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [endpoint.ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port: endpoint.port, protocol: 'TCP' }],
  };
  const haveSlice = reg.get<EndpointSlice>(RES.endpointslices, 'default', 'kubernetes');
  if (!haveSlice) reg.create(RES.endpointslices, slice);
  else if (JSON.stringify([haveSlice.endpoints, haveSlice.ports]) !== JSON.stringify([slice.endpoints, slice.ports])) {
    reg.update(RES.endpointslices, { ...haveSlice, endpoints: slice.endpoints, ports: slice.ports });
  }
}
