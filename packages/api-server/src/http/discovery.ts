/**
 * Discovery documents (/api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>) and
 * /version, built from the resource table. Served as legacy (unaggregated)
 * discovery, which every kubectl version falls back to.
 */
import { RESOURCES, groupVersion, type ResourceInfo } from '@kubemu/api';

/** The Kubernetes version kubemu reports: kubectl 1.32 speaks exec over WebSocket. */
export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-kubemu' };

export function versionInfo(): object {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: KUBE_VERSION.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-11-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

function groups(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (r.group === '') continue;
    const vs = m.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    m.set(r.group, vs);
  }
  return m;
}

function apiGroup(name: string, versions: string[]): object {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/**
 * Connect subresources, listed as kube-apiserver lists them: pods/exec,
 * pods/log, pods/portforward and pods/attach are served (streams/).
 */
const CONNECT_SUBRESOURCES: Record<string, { name: string; kind: string; verbs: string[] }[]> = {
  'v1/pods': [
    { name: 'pods/attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
    { name: 'pods/exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
    { name: 'pods/log', kind: 'Pod', verbs: ['get'] },
    { name: 'pods/portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  ],
};

function resourceEntries(r: ResourceInfo): object[] {
  const main = {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    storageVersionHash: Buffer.from(`${groupVersion(r)}/${r.kind}`).toString('base64').slice(0, 11),
  };
  const subs = r.subresources.map((s) =>
    s === 'scale'
      ? { name: `${r.plural}/scale`, singularName: '', namespaced: r.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }
      : s === 'token'
        ? { name: `${r.plural}/token`, singularName: '', namespaced: r.namespaced, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }
        : // status and pods/ephemeralcontainers: the kind itself, read and written whole or patched
          { name: `${r.plural}/${s}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] },
  );
  const connect = (CONNECT_SUBRESOURCES[`${groupVersion(r)}/${r.plural}`] ?? []).map((c) => ({ name: c.name, singularName: '', namespaced: r.namespaced, kind: c.kind, verbs: c.verbs }));
  const all = [...subs, ...connect].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [main, ...all];
}

/** The discovery document at `path`, or undefined if there is none. */
export function discoveryDocument(path: string, serverAddress: string): object | undefined {
  const p = path.replace(/\/+$/, '');
  if (p === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  if (p === '/apis') {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups()].map(([g, vs]) => apiGroup(g, vs)) };
  }
  const m = /^\/apis\/([^/]+)$/.exec(p);
  if (m) {
    const vs = groups().get(m[1]);
    return vs ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(m[1], vs) } : undefined;
  }
  const list = /^\/api\/(v1)$/.exec(p) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(p);
  if (list) {
    const gv = list[1];
    const rs = RESOURCES.filter((r) => groupVersion(r) === gv);
    if (!rs.length) return undefined;
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: rs.flatMap(resourceEntries) };
  }
  return undefined;
}
