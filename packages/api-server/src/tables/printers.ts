/**
 * Row printers for every kind except pods (pod.ts), after kube-apiserver's
 * pkg/printers/internalversion. Each returns all cells, wide ones included —
 * the server always renders with Wide=true and kubectl hides priority-1
 * columns unless `-o wide`. Fields the API server always defaults (Service
 * type/protocol, replicas, Secret type, Namespace phase) are defaulted here
 * too, so a row reads the same whether or not the stored object spelled them.
 */
import type { EndpointSubset, KubeObject, LoadBalancerIngress, SliceEndpoint } from '@kubemu/api';
import { since, timestampMillis } from './duration.js';
import { containerCells, formatLabels, formatLabelSelector, joinHostPort, listWithMore, selectorString, sortedSet } from './format.js';
import { metaTime } from '@kubemu/api';

export type Cells = unknown[];

const name = (o: KubeObject) => o.metadata.name ?? '';
const count = (m: unknown) => (m && typeof m === 'object' ? Object.keys(m).length : 0);

// ---- services -------------------------------------------------------------------

/** IPs (or hostnames) of a load balancer status, sorted and de-duplicated. */
function loadBalancerAddresses(ingress: LoadBalancerIngress[] | undefined): string {
  return sortedSet((ingress ?? []).map((i) => i.ip || i.hostname || '').filter((a) => a !== ''));
}

function externalIP(svc: KubeObject, type: string): string {
  const externalIPs: string[] = svc.spec?.externalIPs ?? [];
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerAddresses(svc.status?.loadBalancer?.ingress);
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return svc.spec?.externalName ?? '';
    default:
      return '<unknown>';
  }
}

export function serviceCells(svc: KubeObject, now: Date): Cells {
  const spec = svc.spec ?? {};
  const type: string = spec.type || 'ClusterIP';
  const clusterIP: string = spec.clusterIPs?.[0] || spec.clusterIP || '<none>';
  const ports = ((spec.ports ?? []) as { port: number; nodePort?: number; protocol?: string }[])
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol || 'TCP'}` : `${p.port}/${p.protocol || 'TCP'}`))
    .join(',');
  return [name(svc), type, clusterIP, externalIP(svc, type), ports || '<none>', since(svc.metadata.creationTimestamp, now), formatLabels(spec.selector)];
}

// ---- endpoints -------------------------------------------------------------------

/** `ip:port` for every ready address and port, the first 3 then "+ N more...". */
export function formatEndpoints(subsets: EndpointSubset[] | undefined): string {
  if (!subsets || subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let total = 0;
  const add = (entry: string) => {
    if (list.length === max) {
      more = true;
      return false;
    }
    list.push(entry);
    return true;
  };
  for (const ss of subsets) {
    const addresses = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      // headless services without ports list bare IPs
      total += addresses.length;
      for (const a of addresses) if (!add(a.ip)) break;
      continue;
    }
    for (const port of ports) {
      total += addresses.length;
      for (const a of addresses) if (!add(joinHostPort(a.ip, port.port))) break;
    }
  }
  const joined = list.join(',');
  return more ? `${joined} + ${total - max} more...` : joined;
}

export function endpointsCells(ep: KubeObject, now: Date): Cells {
  return [name(ep), formatEndpoints(ep.subsets as EndpointSubset[] | undefined), since(ep.metadata.creationTimestamp, now)];
}

export function endpointSliceCells(slice: KubeObject, now: Date): Cells {
  const ports = (slice.ports ?? []) as { port?: number | null; name?: string | null }[];
  const portList = ports.map((p) => (p.port !== undefined && p.port !== null ? String(p.port) : p.name ?? '*'));
  const addresses = ((slice.endpoints ?? []) as SliceEndpoint[]).flatMap((e) => e.addresses ?? []);
  return [
    name(slice),
    String(slice.addressType ?? ''),
    listWithMore(portList, portList.length, 3),
    listWithMore(addresses, addresses.length, 3),
    since(slice.metadata.creationTimestamp, now),
  ];
}

// ---- nodes -------------------------------------------------------------------------

export function nodeCells(node: KubeObject, now: Date): Cells {
  const status = node.status ?? {};
  const ready = (status.conditions ?? []).find((c: { type: string }) => c.type === 'Ready') as { status: string } | undefined;
  const states = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) states.push('SchedulingDisabled');

  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (key === 'kubernetes.io/role' && value) {
      roles.add(value);
    }
  }
  const address = (type: string) => ((status.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === type)?.address ?? '<none>';
  const info: Record<string, string> = status.nodeInfo ?? {};
  return [
    name(node),
    states.join(','),
    sortedSet(roles) || '<none>',
    since(node.metadata.creationTimestamp, now),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage || '<unknown>',
    info.kernelVersion || '<unknown>',
    info.containerRuntimeVersion || '<unknown>',
  ];
}

// ---- networking.k8s.io ---------------------------------------------------------------

/** Up to 3 rule hosts, `*` when no rule names one. */
function formatHosts(rules: { host?: string }[]): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const rule of rules) {
    if (list.length === max) more = true;
    if (!more && rule.host) list.push(rule.host);
  }
  if (list.length === 0) return '*';
  return more ? `${list.join(',')} + ${rules.length - max} more...` : list.join(',');
}

export function ingressCells(ing: KubeObject, now: Date): Cells {
  const spec = ing.spec ?? {};
  return [
    name(ing),
    spec.ingressClassName ?? '<none>',
    formatHosts(spec.rules ?? []),
    loadBalancerAddresses(ing.status?.loadBalancer?.ingress),
    (spec.tls ?? []).length > 0 ? '80, 443' : '80',
    since(ing.metadata.creationTimestamp, now),
  ];
}

export function ingressClassCells(ic: KubeObject, now: Date): Cells {
  const params = ic.spec?.parameters as { apiGroup?: string; kind?: string; name?: string } | undefined;
  let parameters = '<none>';
  if (params) parameters = `${params.kind ?? ''}${params.apiGroup !== undefined && params.apiGroup !== null ? `.${params.apiGroup}` : ''}/${params.name ?? ''}`;
  return [name(ic), ic.spec?.controller ?? '', parameters, since(ic.metadata.creationTimestamp, now)];
}

// ---- workloads -------------------------------------------------------------------

const desired = (o: KubeObject): number => o.spec?.replicas ?? 1;

export function deploymentCells(d: KubeObject, now: Date): Cells {
  const status = d.status ?? {};
  const [names, images] = containerCells(d.spec?.template?.spec?.containers);
  return [
    name(d),
    `${status.readyReplicas ?? 0}/${desired(d)}`,
    status.updatedReplicas ?? 0,
    status.availableReplicas ?? 0,
    since(d.metadata.creationTimestamp, now),
    names,
    images,
    selectorString(d.spec?.selector),
  ];
}

export function replicaSetCells(rs: KubeObject, now: Date): Cells {
  const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
  return [
    name(rs),
    desired(rs),
    rs.status?.replicas ?? 0,
    rs.status?.readyReplicas ?? 0,
    since(rs.metadata.creationTimestamp, now),
    names,
    images,
    formatLabelSelector(rs.spec?.selector),
  ];
}

export function replicationControllerCells(rc: KubeObject, now: Date): Cells {
  const [names, images] = containerCells(rc.spec?.template?.spec?.containers);
  return [
    name(rc),
    desired(rc),
    rc.status?.replicas ?? 0,
    rc.status?.readyReplicas ?? 0,
    since(rc.metadata.creationTimestamp, now),
    names,
    images,
    formatLabels(rc.spec?.selector),
  ];
}

// ---- config and namespaces ------------------------------------------------------------

export function namespaceCells(ns: KubeObject, now: Date): Cells {
  return [name(ns), ns.status?.phase || 'Active', since(ns.metadata.creationTimestamp, now)];
}

export function secretCells(secret: KubeObject, now: Date): Cells {
  const keys = new Set([...Object.keys((secret.data as object | undefined) ?? {}), ...Object.keys((secret.stringData as object | undefined) ?? {})]);
  return [name(secret), (secret.type as string | undefined) || 'Opaque', keys.size, since(secret.metadata.creationTimestamp, now)];
}

export function configMapCells(cm: KubeObject, now: Date): Cells {
  return [name(cm), count(cm.data) + count(cm.binaryData), since(cm.metadata.creationTimestamp, now)];
}

export function serviceAccountCells(sa: KubeObject, now: Date): Cells {
  return [name(sa), Array.isArray(sa.secrets) ? sa.secrets.length : 0, since(sa.metadata.creationTimestamp, now)];
}

// ---- events --------------------------------------------------------------------------

interface EventFields {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  involvedObject?: { kind?: string; name?: string; fieldPath?: string };
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

export function eventCells(obj: KubeObject, now: Date): Cells {
  const ev = obj as KubeObject & EventFields;
  const first = timestampMillis(ev.firstTimestamp) !== undefined ? since(ev.firstTimestamp, now) : since(ev.eventTime, now);
  let last = timestampMillis(ev.lastTimestamp) !== undefined ? since(ev.lastTimestamp, now) : first;
  let n = ev.count ?? 0;
  if (ev.series) {
    last = since(ev.series.lastObservedTime, now);
    n = ev.series.count ?? 0;
  } else if (n === 0) {
    n = 1; // singleton events of the new API carry no count
  }
  const kind = (ev.involvedObject?.kind ?? '').toLowerCase();
  const target = ev.involvedObject?.name ? `${kind}/${ev.involvedObject.name}` : kind;
  const component = ev.source?.component || ev.reportingComponent || '';
  const instance = ev.source?.host || ev.reportingInstance || '';
  return [
    last,
    ev.type ?? '',
    ev.reason ?? '',
    target,
    ev.involvedObject?.fieldPath ?? '',
    instance ? `${component}, ${instance}` : component,
    (ev.message ?? '').trim(),
    first,
    n,
    name(obj),
  ];
}

// ---- anything else -----------------------------------------------------------------------

/** RFC 3339 in UTC at second precision, Go's zero time when unset. */
function createdAt(ts: unknown): string {
  const ms = timestampMillis(ts);
  return ms === undefined ? '0001-01-01T00:00:00Z' : metaTime(ms);
}

export function defaultCells(obj: KubeObject, now: Date): Cells {
  return [name(obj), since(obj.metadata.creationTimestamp, now), createdAt(obj.metadata.creationTimestamp)];
}
