/**
 * The resource table: every kind kubemu serves, with its group, version, plural,
 * scope, short names and subresources — what discovery advertises and what the
 * REST router and the store key on.
 */

export type Subresource = 'status' | 'scale' | 'token' | 'ephemeralcontainers';

export interface ResourceInfo {
  /** API group; "" is the core group. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** URL segment, e.g. "services". */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** status and scale are generic; token is ServiceAccount's TokenRequest (authentication.k8s.io/v1); ephemeralcontainers is the Pod's (kubectl debug). */
  subresources: Subresource[];
  verbs: string[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function res(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  opts: { shortNames?: string[]; categories?: string[]; subresources?: Subresource[]; verbs?: string[] } = {},
): ResourceInfo {
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    subresources: opts.subresources ?? [],
    verbs: opts.verbs ?? ALL_VERBS,
  };
}

export const RESOURCES: readonly ResourceInfo[] = [
  res('', 'v1', 'Namespace', 'namespaces', false, { shortNames: ['ns'], subresources: ['status'], verbs: ALL_VERBS.filter((v) => v !== 'deletecollection') }),
  res('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], subresources: ['status'] }),
  res('', 'v1', 'Pod', 'pods', true, { shortNames: ['po'], categories: ['all'], subresources: ['ephemeralcontainers', 'status'] }),
  res('', 'v1', 'Service', 'services', true, { shortNames: ['svc'], categories: ['all'], subresources: ['status'], verbs: ALL_VERBS }),
  res('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'] }),
  res('', 'v1', 'Secret', 'secrets', true),
  res('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  res('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'], subresources: ['token'] }),
  res('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  res('', 'v1', 'ReplicationController', 'replicationcontrollers', true, { shortNames: ['rc'], categories: ['all'], subresources: ['status', 'scale'] }),
  res('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true),
  res('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, { shortNames: ['ing'], subresources: ['status'] }),
  res('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', false),
  res('apps', 'v1', 'Deployment', 'deployments', true, { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  res('apps', 'v1', 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
];

/** "v1" for the core group, "apps/v1" otherwise. */
export function groupVersion(r: { group: string; version: string }): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The store key of a resource: "services", "apps/deployments". */
export function resourceKey(r: { group: string; plural: string }): string {
  return r.group === '' ? r.plural : `${r.group}/${r.plural}`;
}

const byKind = new Map<string, ResourceInfo>();
const byPath = new Map<string, ResourceInfo>();
for (const r of RESOURCES) {
  byKind.set(`${groupVersion(r)}|${r.kind}`, r);
  byPath.set(`${r.group}|${r.version}|${r.plural}`, r);
}

/** The resource of an object's `apiVersion` + `kind`, or undefined if kubemu does not serve it. */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${apiVersion}|${kind}`);
}

/** The resource at /api(s)/<group>/<version>/<plural>. */
export function resourceForPath(group: string, version: string, plural: string): ResourceInfo | undefined {
  return byPath.get(`${group}|${version}|${plural}`);
}

/** Resolve a name a user types (kubectl style): plural, singular, short name or kind, optionally "name.group". */
export function resolveResourceName(name: string): ResourceInfo | undefined {
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  const base = dot >= 0 ? lower.slice(0, dot) : lower;
  const group = dot >= 0 ? lower.slice(dot + 1) : undefined;
  return RESOURCES.find(
    (r) =>
      (group === undefined || r.group === group || r.group.startsWith(group)) &&
      (r.plural === base || r.singular === base || r.shortNames.includes(base) || r.kind.toLowerCase() === base),
  );
}
