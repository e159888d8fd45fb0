/**
 * Defaulting, as kube-apiserver's SetDefaults_* functions (core/v1, apps/v1,
 * discovery/v1, networking/v1) plus the few registry PrepareForCreate values
 * every client sees (Namespace finalizers, Service IP families in a
 * single-stack IPv4 cluster).
 *
 * Model: `applyDefaults(obj)` mutates a decoded wire object in place, filling
 * only fields that are absent (or Go's zero value where Kubernetes tests for
 * the zero value). It runs before validation on untrusted input, so it only
 * touches values of the expected JSON shape and never throws; malformed
 * values are left for validation to report.
 *
 * Not done here (the registry's job): clusterIP(s) and nodePort allocation,
 * Pod status.phase/qosClass on create, serviceAccountName `default` (admission).
 */
import type { KubeObject } from './types.js';

type Obj = Record<string, any>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const absent = (v: unknown): boolean => v === undefined || v === null;
/** Go's zero-value test for a string field. */
const emptyStr = (v: unknown): boolean => v === undefined || v === null || v === '';
/** Go's zero-value test for an int field. */
const zeroInt = (v: unknown): boolean => v === undefined || v === null || v === 0;

// ---- pods and pod templates -------------------------------------------------------

/** The image's tag as the container runtime parser reads it; "latest" when neither tag nor digest is given. */
export function imageTag(image: unknown): string {
  if (typeof image !== 'string' || image === '') return '';
  let ref = image;
  let digest = '';
  const at = ref.indexOf('@');
  if (at >= 0) {
    digest = ref.slice(at + 1);
    ref = ref.slice(0, at);
  }
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  let tag = '';
  let name = ref;
  if (colon > slash) {
    tag = ref.slice(colon + 1);
    name = ref.slice(0, colon);
  }
  // A repository path must be lower case (the domain part may not be); an unparseable name yields no tag.
  const path = name.includes('/') && /[.:]|^localhost$/.test(name.split('/')[0]!) ? name.slice(name.indexOf('/') + 1) : name;
  if (!/^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$/.test(path)) return '';
  if (tag !== '' && !/^[\w][\w.-]{0,127}$/.test(tag)) return '';
  if (tag === '' && digest === '') return 'latest';
  return tag;
}

function defaultHTTPGet(h: unknown): void {
  if (!isObj(h)) return;
  if (emptyStr(h.path)) h.path = '/';
  if (emptyStr(h.scheme)) h.scheme = 'HTTP';
}

function defaultHandler(h: unknown): void {
  if (!isObj(h)) return;
  defaultHTTPGet(h.httpGet);
  if (isObj(h.grpc) && absent(h.grpc.service)) h.grpc.service = '';
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  if (zeroInt(p.timeoutSeconds)) p.timeoutSeconds = 1;
  if (zeroInt(p.periodSeconds)) p.periodSeconds = 10;
  if (zeroInt(p.successThreshold)) p.successThreshold = 1;
  if (zeroInt(p.failureThreshold)) p.failureThreshold = 3;
  defaultHandler(p);
}

function defaultContainer(c: Obj): void {
  if (emptyStr(c.imagePullPolicy)) c.imagePullPolicy = imageTag(c.image) === 'latest' ? 'Always' : 'IfNotPresent';
  if (emptyStr(c.terminationMessagePath)) c.terminationMessagePath = '/dev/termination-log';
  if (emptyStr(c.terminationMessagePolicy)) c.terminationMessagePolicy = 'File';
  for (const p of objs(c.ports)) if (emptyStr(p.protocol)) p.protocol = 'TCP';
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    defaultHandler(c.lifecycle.postStart);
    defaultHandler(c.lifecycle.preStop);
  }
  for (const e of objs(c.env)) {
    if (isObj(e.valueFrom) && isObj(e.valueFrom.fieldRef) && emptyStr(e.valueFrom.fieldRef.apiVersion)) e.valueFrom.fieldRef.apiVersion = 'v1';
  }
}

const VOLUME_SOURCES = [
  'emptyDir', 'hostPath', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'flexVolume', 'persistentVolumeClaim', 'rbd', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'configMap', 'projected',
  'csi', 'ephemeral', 'image',
];

function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCES.some((k) => !absent(v[k]))) v.emptyDir = {};
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (isObj(v[k]) && absent(v[k].defaultMode)) v[k].defaultMode = 420;
  }
  if (isObj(v.hostPath) && absent(v.hostPath.type)) v.hostPath.type = '';
  if (isObj(v.downwardAPI)) for (const i of objs(v.downwardAPI.items)) if (isObj(i.fieldRef) && emptyStr(i.fieldRef.apiVersion)) i.fieldRef.apiVersion = 'v1';
}

/**
 * v1's deprecated `serviceAccount` is an alias of `serviceAccountName`: it
 * fills an empty serviceAccountName on the way in, and always mirrors it on
 * the way out (the v1 ⇄ internal conversion).
 */
export function mirrorServiceAccount(spec: Obj): void {
  if (emptyStr(spec.serviceAccountName) && typeof spec.serviceAccount === 'string' && spec.serviceAccount !== '') spec.serviceAccountName = spec.serviceAccount;
  if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '') spec.serviceAccount = spec.serviceAccountName;
  else if (typeof spec.serviceAccount === 'string') delete spec.serviceAccount;
}

/** SetDefaults_PodSpec and everything nested in a PodSpec (pods and templates alike). */
export function defaultPodSpec(spec: unknown): void {
  if (!isObj(spec)) return;
  if (emptyStr(spec.dnsPolicy)) spec.dnsPolicy = 'ClusterFirst';
  if (emptyStr(spec.restartPolicy)) spec.restartPolicy = 'Always';
  if (absent(spec.securityContext)) spec.securityContext = {};
  if (absent(spec.terminationGracePeriodSeconds)) spec.terminationGracePeriodSeconds = 30;
  if (emptyStr(spec.schedulerName)) spec.schedulerName = 'default-scheduler';
  mirrorServiceAccount(spec);
  for (const c of objs(spec.containers)) defaultContainer(c);
  for (const c of objs(spec.initContainers)) defaultContainer(c);
  for (const c of objs(spec.ephemeralContainers)) defaultContainer(c);
  for (const v of objs(spec.volumes)) defaultVolume(v);
}

/** SetDefaults_Pod: only on Pod objects, not on templates. */
function defaultPod(pod: Obj): void {
  const spec = pod.spec;
  if (!isObj(spec)) return;
  for (const list of [spec.containers, spec.initContainers]) {
    for (const c of objs(list)) {
      const r = c.resources;
      if (isObj(r) && isObj(r.limits)) {
        if (!isObj(r.requests)) r.requests = {};
        for (const [k, v] of Object.entries(r.limits)) if (!(k in r.requests)) r.requests[k] = v;
      }
    }
  }
  if (absent(spec.enableServiceLinks)) spec.enableServiceLinks = true;
  if (spec.hostNetwork === true) {
    for (const list of [spec.containers, spec.initContainers]) {
      for (const c of objs(list)) for (const p of objs(c.ports)) if (zeroInt(p.hostPort)) p.hostPort = p.containerPort;
    }
  }
  defaultPodSpec(spec);
}

function defaultTemplate(t: unknown): void {
  if (isObj(t)) defaultPodSpec(t.spec);
}

// ---- services ----------------------------------------------------------------------

/** pkg/api/service/util.go ExternallyAccessible. */
export function externallyAccessible(spec: unknown): boolean {
  if (!isObj(spec)) return false;
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);
}

function defaultService(svc: Obj): void {
  const spec = svc.spec;
  if (!isObj(spec)) return;
  if (emptyStr(spec.sessionAffinity)) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const c = spec.sessionAffinityConfig;
    if (!isObj(c) || !isObj(c.clientIP) || absent(c.clientIP.timeoutSeconds)) {
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
    }
  }
  if (emptyStr(spec.type)) spec.type = 'ClusterIP';
  for (const p of objs(spec.ports)) {
    if (emptyStr(p.protocol)) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && emptyStr(spec.externalTrafficPolicy)) spec.externalTrafficPolicy = 'Cluster';
  if (absent(spec.internalTrafficPolicy) && (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || spec.type === 'ClusterIP')) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer') {
    if (absent(spec.allocateLoadBalancerNodePorts)) spec.allocateLoadBalancerNodePorts = true;
    const st = svc.status;
    if (isObj(st) && isObj(st.loadBalancer)) {
      for (const ing of objs(st.loadBalancer.ingress)) if (!emptyStr(ing.ip) && absent(ing.ipMode)) ing.ipMode = 'VIP';
    }
  }
  // Registry defaults in a single-stack IPv4 cluster (every type but ExternalName, headless included).
  if (spec.type !== 'ExternalName') {
    if (absent(spec.ipFamilies) || (Array.isArray(spec.ipFamilies) && spec.ipFamilies.length === 0)) spec.ipFamilies = ['IPv4'];
    if (emptyStr(spec.ipFamilyPolicy)) spec.ipFamilyPolicy = 'SingleStack';
  }
}

// ---- other kinds ------------------------------------------------------------------------

function defaultEndpoints(ep: Obj): void {
  for (const ss of objs(ep.subsets)) for (const p of objs(ss.ports)) if (emptyStr(p.protocol)) p.protocol = 'TCP';
}

function defaultEndpointSlice(es: Obj): void {
  for (const p of objs(es.ports)) {
    if (absent(p.name)) p.name = '';
    if (absent(p.protocol)) p.protocol = 'TCP';
  }
}

function defaultReplicationController(rc: Obj): void {
  const spec = rc.spec;
  if (!isObj(spec)) return;
  const tpl = spec.template;
  const labels = isObj(tpl) && isObj(tpl.metadata) && isObj(tpl.metadata.labels) ? tpl.metadata.labels : undefined;
  if (labels) {
    if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    if (isObj(rc.metadata) && (!isObj(rc.metadata.labels) || Object.keys(rc.metadata.labels).length === 0)) rc.metadata.labels = { ...labels };
  }
  if (absent(spec.replicas)) spec.replicas = 1;
  defaultTemplate(tpl);
}

function defaultReplicaSet(rs: Obj): void {
  const spec = rs.spec;
  if (!isObj(spec)) return;
  if (absent(spec.replicas)) spec.replicas = 1;
  defaultTemplate(spec.template);
}

function defaultDeployment(d: Obj): void {
  const spec = d.spec;
  if (!isObj(spec)) return;
  if (absent(spec.replicas)) spec.replicas = 1;
  if (absent(spec.strategy)) spec.strategy = {};
  const s = spec.strategy;
  if (isObj(s)) {
    if (emptyStr(s.type)) s.type = 'RollingUpdate';
    if (s.type === 'RollingUpdate') {
      if (absent(s.rollingUpdate)) s.rollingUpdate = {};
      if (isObj(s.rollingUpdate)) {
        if (absent(s.rollingUpdate.maxUnavailable)) s.rollingUpdate.maxUnavailable = '25%';
        if (absent(s.rollingUpdate.maxSurge)) s.rollingUpdate.maxSurge = '25%';
      }
    }
  }
  if (absent(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  if (absent(spec.progressDeadlineSeconds)) spec.progressDeadlineSeconds = 600;
  defaultTemplate(spec.template);
}

function defaultNamespace(ns: Obj): void {
  const name = isObj(ns.metadata) ? ns.metadata.name : undefined;
  if (typeof name === 'string' && name.length > 0) {
    if (!isObj(ns.metadata.labels)) ns.metadata.labels = {};
    ns.metadata.labels['kubernetes.io/metadata.name'] = name;
  }
  if (absent(ns.spec)) ns.spec = {};
  if (isObj(ns.spec) && absent(ns.spec.finalizers)) ns.spec.finalizers = ['kubernetes'];
  if (absent(ns.status)) ns.status = {};
  if (isObj(ns.status) && emptyStr(ns.status.phase)) ns.status.phase = 'Active';
}

function defaultNode(n: Obj): void {
  const st = n.status;
  if (isObj(st) && absent(st.allocatable) && isObj(st.capacity)) st.allocatable = { ...st.capacity };
}

function defaultIngressClass(ic: Obj): void {
  const p = isObj(ic.spec) ? ic.spec.parameters : undefined;
  if (isObj(p) && absent(p.scope)) p.scope = 'Cluster';
}

const BY_KIND: Record<string, (o: Obj) => void> = {
  Pod: defaultPod,
  Service: defaultService,
  Endpoints: defaultEndpoints,
  EndpointSlice: defaultEndpointSlice,
  ReplicationController: defaultReplicationController,
  ReplicaSet: defaultReplicaSet,
  Deployment: defaultDeployment,
  Secret: (s) => {
    if (emptyStr(s.type)) s.type = 'Opaque';
  },
  Namespace: defaultNamespace,
  Node: defaultNode,
  IngressClass: defaultIngressClass,
  TokenRequest: (tr) => {
    if (isObj(tr.spec) && absent(tr.spec.expirationSeconds)) tr.spec.expirationSeconds = 3600;
  },
  // ConfigMap (data nil ⇒ {} is invisible on the wire), Event, Ingress: nothing.
};

/** Apply Kubernetes' defaults for the object's kind, in place. Never throws. */
export function applyDefaults(obj: KubeObject): void {
  if (!isObj(obj)) return;
  const fn = typeof obj.kind === 'string' && Object.hasOwn(BY_KIND, obj.kind) ? BY_KIND[obj.kind] : undefined;
  if (fn) fn(obj);
}
