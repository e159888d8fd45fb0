/**
 * Strategic-merge-patch metadata: which lists merge (and on which key) for
 * each kind, mirroring the `patchStrategy`/`patchMergeKey` struct tags of
 * k8s.io/api (core/v1, apps/v1, batch/v1, networking/v1) and
 * k8s.io/apimachinery meta/v1 ObjectMeta.
 *
 * The model: a Schema maps a JSON field name to its PatchMeta. A field that is
 * not listed has no strategy — objects still merge key by key, lists are
 * replaced wholesale. Only paths that lead to a merging list are spelled out.
 * `fields` is the schema of the nested object (for an object field) or of each
 * element (for a list field). `retainKeys` strategies are not listed: the
 * `$retainKeys` directive is honoured wherever it appears, as the server does.
 */

export interface PatchMeta {
  /** 'merge': list elements merge by `mergeKey` (or as a set of primitives when it is absent). */
  strategy?: 'merge' | 'replace';
  mergeKey?: string;
  fields?: Schema;
}

export type Schema = Readonly<Record<string, PatchMeta>>;

const mergeBy = (mergeKey: string, fields?: Schema): PatchMeta => (fields ? { strategy: 'merge', mergeKey, fields } : { strategy: 'merge', mergeKey });
/** A list of primitives merged as a set (`patchStrategy:"merge"` without a merge key). */
const mergeSet: PatchMeta = { strategy: 'merge' };
const struct = (fields: Schema): PatchMeta => ({ fields });

// meta/v1 ObjectMeta
const objectMeta: Schema = {
  ownerReferences: mergeBy('uid'),
  finalizers: mergeSet,
};

// core/v1 Container and EphemeralContainer (same tags)
const container: Schema = {
  ports: mergeBy('containerPort'),
  env: mergeBy('name'),
  volumeMounts: mergeBy('mountPath'),
  volumeDevices: mergeBy('devicePath'),
};

// core/v1 PodSpec
const podSpec: Schema = {
  volumes: mergeBy('name'), // merge,retainKeys
  initContainers: mergeBy('name', container),
  containers: mergeBy('name', container),
  ephemeralContainers: mergeBy('name', container),
  imagePullSecrets: mergeBy('name'),
  hostAliases: mergeBy('ip'),
  topologySpreadConstraints: mergeBy('topologyKey'),
  schedulingGates: mergeBy('name'),
  resourceClaims: mergeBy('name'), // merge,retainKeys
};

// core/v1 PodStatus
const podStatus: Schema = {
  conditions: mergeBy('type'),
  hostIPs: mergeBy('ip'),
  podIPs: mergeBy('ip'),
  resourceClaimStatuses: mergeBy('name'),
};

const podTemplateSpec: Schema = { metadata: struct(objectMeta), spec: struct(podSpec) };
/** Status types whose only merging list is `conditions` keyed by `type`. */
const conditionsStatus: Schema = { conditions: mergeBy('type') };

/** Root schema of an object whose spec has a pod template (RC, RS, Deployment, ...). */
function workload(extraSpec: Schema = {}): Schema {
  return {
    metadata: struct(objectMeta),
    spec: struct({ template: struct(podTemplateSpec), ...extraSpec }),
    status: struct(conditionsStatus),
  };
}

const generic: Schema = { metadata: struct(objectMeta) };

const BY_KIND: Readonly<Record<string, Schema>> = {
  Pod: { metadata: struct(objectMeta), spec: struct(podSpec), status: struct(podStatus) },
  PodTemplate: { metadata: struct(objectMeta), template: struct(podTemplateSpec) },
  Service: {
    metadata: struct(objectMeta),
    spec: struct({ ports: mergeBy('port') }),
    status: struct(conditionsStatus),
  },
  Node: {
    metadata: struct(objectMeta),
    spec: struct({ podCIDRs: mergeSet }),
    status: struct({ conditions: mergeBy('type'), addresses: mergeBy('type') }),
  },
  Namespace: { metadata: struct(objectMeta), status: struct(conditionsStatus) },
  ReplicationController: workload(),
  ReplicaSet: workload(),
  Deployment: workload(),
  DaemonSet: workload(),
  StatefulSet: workload(),
  Job: workload(),
  CronJob: {
    metadata: struct(objectMeta),
    spec: struct({ jobTemplate: struct({ metadata: struct(objectMeta), spec: struct({ template: struct(podTemplateSpec) }) }) }),
  },
};

/** The patch schema of a kind; kinds without merging lists get ObjectMeta's only. */
export function schemaForKind(kind: string): Schema {
  return Object.prototype.hasOwnProperty.call(BY_KIND, kind) ? BY_KIND[kind] : generic;
}
