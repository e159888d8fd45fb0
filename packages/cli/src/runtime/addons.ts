/**
 * The addons `kubemu up` deploys as ordinary objects, as a real cluster's
 * installer does: cluster DNS (Deployment + Service `kube-dns` on the
 * conventional 10th address of the service CIDR, in kube-system) and the
 * ingress controller (namespace ingress-kubemu: Deployment, a LoadBalancer
 * Service in front of it, IngressClass `kubemu` marked default). Their pods
 * read the API with the service account token the node agent mounts.
 */
import { clusterDNSIP, formatIPv4, resourceForKind, type KubeObject } from '@kubemu/api';
import { IpPool } from '@kubemu/load-balancer';
import { RestClient, RestError } from '../rest-client.js';

export const DNS_NAMESPACE = 'kube-system';
export const INGRESS_NAMESPACE = 'ingress-kubemu';
export const INGRESS_SERVICE = 'ingress-kubemu-controller';
export const INGRESS_CLASS = 'kubemu';

export function dnsAddon(serviceCIDR: string, podCIDR: string): KubeObject[] {
  const labels = { 'k8s-app': 'kube-dns' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kube-dns', namespace: DNS_NAMESPACE, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'cluster-dns',
                image: 'kubemu/cluster-dns',
                args: ['--zone', 'cluster.local', '--port', '53', '--health-port', '8080', '--ready-port', '8181', '--reverse-cidrs', `${serviceCIDR},${podCIDR}`],
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  { name: 'health', containerPort: 8080, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2, failureThreshold: 3 },
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10, failureThreshold: 5 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: DNS_NAMESPACE, labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        selector: labels,
        clusterIP: clusterDNSIP(serviceCIDR),
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    },
  ];
}

/** `address`: the controller's LoadBalancer address (kubemu up asks for the pool's last, so the first goes to the user's Services). */
export function ingressAddon(address?: string): KubeObject[] {
  const labels = { 'app.kubernetes.io/name': 'ingress-kubemu', 'app.kubernetes.io/component': 'controller' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE, labels: { 'app.kubernetes.io/name': 'ingress-kubemu' } } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: INGRESS_CLASS, annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' }, labels },
      spec: { controller: 'kubemu.io/ingress-controller' },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: INGRESS_SERVICE, namespace: INGRESS_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'controller',
                image: 'kubemu/ingress-controller',
                args: ['--http-port', '80', '--https-port', '443', '--health-port', '10254', '--ingress-class', INGRESS_CLASS, '--publish-service', `${INGRESS_NAMESPACE}/${INGRESS_SERVICE}`],
                ports: [
                  { name: 'http', containerPort: 80, protocol: 'TCP' },
                  { name: 'https', containerPort: 443, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/healthz', port: 10254 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/healthz', port: 10254 }, periodSeconds: 10, failureThreshold: 5 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: INGRESS_SERVICE, namespace: INGRESS_NAMESPACE, labels, ...(address ? { annotations: { 'metallb.universe.tf/loadBalancerIPs': address } } : {}) },
      spec: {
        type: 'LoadBalancer',
        selector: labels,
        ports: [
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
          { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
        ],
      },
    },
  ];
}

/** The last address of a pool spec ("172.30.0.200-172.30.0.250" → 172.30.0.250). */
export function lastPoolAddress(pool: string): string | undefined {
  try {
    const ranges = new IpPool(pool).ranges;
    return formatIPv4(ranges[ranges.length - 1]!.last);
  } catch {
    return undefined;
  }
}

/** Creates each object that does not exist yet (an existing one is left as the user changed it). */
export async function installAddons(client: RestClient, objects: KubeObject[]): Promise<void> {
  for (const o of objects) {
    const r = resourceForKind(o.apiVersion, o.kind);
    if (!r) throw new Error(`addon ${o.kind} ${o.metadata.name}: unknown kind`);
    const ns = r.namespaced ? o.metadata.namespace : undefined;
    const collection = client.path(r, ns);
    try {
      // Looked up first: creating an existing Service that asks for its cluster IP is a 422
      // ("provided IP is already allocated"), as on Kubernetes, not a 409.
      const found = await client.call('GET', client.path(r, ns, o.metadata.name)).then(() => true, (e) => {
        if (e instanceof RestError && e.code === 404) return false;
        throw e;
      });
      if (found) continue;
      await client.call('POST', collection, o);
    } catch (e) {
      if (e instanceof RestError && e.code === 409) continue;
      throw new Error(`installing addon ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}: ${(e as Error).message}`);
    }
  }
}
