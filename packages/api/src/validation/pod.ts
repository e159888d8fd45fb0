/**
 * Pod and pod template validation, as ValidatePodCreate / ValidatePodSpec /
 * validateContainers / validateProbe and friends in kube-apiserver.
 *
 * Model: the checks kubemu's users meet are implemented with Kubernetes'
 * paths and details — containers (names, image, pull policy, ports, env,
 * probes, lifecycle handlers, volume mounts), volumes (names, one source,
 * required source fields), pod-level policies and names, and the pod update
 * rule (only images, activeDeadlineSeconds, tolerations additions and
 * terminationGracePeriodSeconds may change). Security contexts, affinity,
 * topology spread and resource quantities are only type-checked.
 * Env var names follow the 1.32 default (RelaxedEnvironmentVariableValidation on).
 */
import type { FieldError } from '../errors.js';
import { validateLabels } from '../labels.js';
import {
  checkConfigMapKey,
  checkDNS1123Label,
  checkDNS1123Subdomain,
  checkPortName,
  checkPortNum,
  checkQualifiedName,
  inclusiveRangeError,
  regexError,
} from '../names.js';
import { validateObjectMeta, validateObjectMetaUpdate, validateAnnotations } from './meta.js';
import { PROTOCOLS, validateIP, validatePortNumOrName } from './service.js';
import {
  child,
  duplicate,
  eachInvalid,
  forbidden,
  goStringSlice,
  invalid,
  invalidLit,
  isObj,
  nonNegative,
  notFound,
  notSupported,
  Reader,
  required,
  sortedStrings,
  type Obj,
} from './util.js';

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const HTTP_SCHEMES = ['HTTP', 'HTTPS'];
const INT32_MAX = 2147483647;
const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const VOLUME_SOURCES = [
  'emptyDir', 'hostPath', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'flexVolume', 'persistentVolumeClaim', 'rbd', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'configMap', 'projected',
  'csi', 'ephemeral', 'image',
];

/** IsRelaxedEnvVarName: printable ASCII other than '='. */
function checkRelaxedEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (v.length === 0) errs.push('environment variable name must be non-empty');
  for (const c of v) {
    const cp = c.codePointAt(0)!;
    if (cp > 0x7e || cp < 0x20 || c === '=') {
      errs.push("a valid environment variable name must consist only of printable ASCII characters other than '='");
      break;
    }
  }
  return errs;
}

function checkHTTPHeaderName(v: string): string[] {
  return /^[-A-Za-z0-9]+$/.test(v) ? [] : [regexError("a valid HTTP header must consist of alphanumeric characters or '-'", '[-A-Za-z0-9]+', 'X-Header-Name')];
}

// ---- handlers and probes ----------------------------------------------------------------------

function validateHandler(r: Reader, h: Obj, path: string, lifecycle: boolean, grace = 30): void {
  let n = 0;
  const one = (k: string): boolean => {
    if (h[k] === undefined || h[k] === null) return false;
    if (n > 0) {
      r.push(forbidden(child(path, k), 'may not specify more than 1 handler type'));
      return false;
    }
    n++;
    return true;
  };
  if (one('exec')) {
    const e = r.obj(h, 'exec', child(path, 'exec')) ?? {};
    const cmd = r.strList(e, 'command', child(path, 'exec.command')) ?? [];
    if (cmd.length === 0) r.push(required(child(path, 'exec.command')));
  }
  if (one('httpGet')) {
    const p = child(path, 'httpGet');
    const g = r.obj(h, 'httpGet', p) ?? {};
    const hp = r.str(g, 'path', `${p}.path`) ?? '';
    if (hp === '') r.push(required(`${p}.path`));
    r.push(...validatePortNumOrName(r.intOrStr(g, 'port', `${p}.port`), `${p}.port`));
    const scheme = r.str(g, 'scheme', `${p}.scheme`) ?? '';
    if (!HTTP_SCHEMES.includes(scheme)) r.push(notSupported(`${p}.scheme`, scheme, HTTP_SCHEMES));
    r.str(g, 'host', `${p}.host`);
    for (const [hdr, hp2] of r.objList(g, 'httpHeaders', `${p}.httpHeaders`)) {
      const name = r.str(hdr, 'name', `${hp2}.name`) ?? '';
      r.str(hdr, 'value', `${hp2}.value`);
      r.push(...eachInvalid(`${p}.httpHeaders`, name, checkHTTPHeaderName(name)));
    }
  }
  if (one('tcpSocket')) {
    const p = child(path, 'tcpSocket');
    const t = r.obj(h, 'tcpSocket', p) ?? {};
    r.push(...validatePortNumOrName(r.intOrStr(t, 'port', `${p}.port`), `${p}.port`));
    r.str(t, 'host', `${p}.host`);
  }
  if (!lifecycle && one('grpc')) {
    const p = child(path, 'grpc');
    const g = r.obj(h, 'grpc', p) ?? {};
    r.push(...validatePortNumOrName(r.int(g, 'port', `${p}.port`) ?? 0, `${p}.port`));
    r.str(g, 'service', `${p}.service`);
  }
  if (lifecycle && one('sleep')) {
    const p = child(path, 'sleep');
    const s = r.obj(h, 'sleep', p) ?? {};
    const secs = r.int(s, 'seconds', `${p}.seconds`, true) ?? 0;
    if (secs <= 0 || secs > grace) {
      r.push(invalid(p, secs, `must be greater than 0 and less than terminationGracePeriodSeconds (${grace}). Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep.`));
    }
  }
  if (n === 0) r.push(required(path, 'must specify a handler type'));
}

type ProbeKind = 'liveness' | 'readiness' | 'startup';

function validateProbe(r: Reader, c: Obj, k: string, path: string, kind: ProbeKind): void {
  const p = r.obj(c, k, path);
  if (!p) return;
  validateHandler(r, p, path, false);
  const num = (f: string): number => r.int(p, f, child(path, f)) ?? 0;
  r.push(...nonNegative(num('initialDelaySeconds'), child(path, 'initialDelaySeconds')));
  r.push(...nonNegative(num('timeoutSeconds'), child(path, 'timeoutSeconds')));
  r.push(...nonNegative(num('periodSeconds'), child(path, 'periodSeconds')));
  const success = num('successThreshold');
  r.push(...nonNegative(success, child(path, 'successThreshold')));
  r.push(...nonNegative(num('failureThreshold'), child(path, 'failureThreshold')));
  const tgps = r.int(p, 'terminationGracePeriodSeconds', child(path, 'terminationGracePeriodSeconds'), true);
  if (tgps !== undefined && tgps <= 0) r.push(invalid(child(path, 'terminationGracePeriodSeconds'), tgps, 'must be greater than 0'));
  if (kind !== 'readiness' && success !== 1) r.push(invalid(child(path, 'successThreshold'), success, 'must be 1'));
  if (kind === 'readiness' && tgps !== undefined) r.push(invalid(child(path, 'terminationGracePeriodSeconds'), tgps, 'must not be set for readinessProbes'));
}

// ---- env ------------------------------------------------------------------------------------------

function validateKeySelector(r: Reader, o: Obj, path: string): void {
  const name = r.str(o, 'name', `${path}.name`) ?? '';
  r.push(...eachInvalid(`${path}.name`, name, checkDNS1123Subdomain(name)));
  const k = r.str(o, 'key', `${path}.key`) ?? '';
  if (k === '') r.push(required(`${path}.key`));
  else r.push(...eachInvalid(`${path}.key`, k, checkConfigMapKey(k)));
  r.bool(o, 'optional', `${path}.optional`);
}

function validateFieldRef(r: Reader, f: Obj, path: string): void {
  const apiVersion = r.str(f, 'apiVersion', `${path}.apiVersion`) ?? '';
  const fp = r.str(f, 'fieldPath', `${path}.fieldPath`) ?? '';
  if (apiVersion === '') return r.push(required(`${path}.apiVersion`));
  if (fp === '') return r.push(required(`${path}.fieldPath`));
  const sub = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(fp);
  if (sub) {
    const k = sub[2]!;
    if (sub[1] === 'metadata.annotations') r.push(...eachInvalid(`${path}.fieldPath`, k.toLowerCase(), checkQualifiedName(k.toLowerCase())));
    else r.push(...eachInvalid(`${path}.fieldPath`, k, checkQualifiedName(k)));
    return;
  }
  if (!ENV_FIELD_PATHS.includes(fp)) r.push(notSupported(`${path}.fieldPath`, fp, sortedStrings(ENV_FIELD_PATHS)));
}

function validateEnv(r: Reader, c: Obj, path: string): void {
  for (const [ev, p] of r.objList(c, 'env', path)) {
    const name = r.str(ev, 'name', `${p}.name`) ?? '';
    const value = r.str(ev, 'value', `${p}.value`) ?? '';
    if (name === '') r.push(required(`${p}.name`));
    else r.push(...eachInvalid(`${p}.name`, name, checkRelaxedEnvVarName(name)));
    const vf = r.obj(ev, 'valueFrom', `${p}.valueFrom`);
    if (!vf) continue;
    const vp = `${p}.valueFrom`;
    let n = 0;
    const fr = r.obj(vf, 'fieldRef', `${vp}.fieldRef`);
    if (fr) {
      n++;
      validateFieldRef(r, fr, `${vp}.fieldRef`);
    }
    const rr = r.obj(vf, 'resourceFieldRef', `${vp}.resourceFieldRef`);
    if (rr) {
      n++;
      const res = r.str(rr, 'resource', `${vp}.resourceFieldRef.resource`) ?? '';
      if (res === '') r.push(required(`${vp}.resourceFieldRef.resource`));
    }
    for (const k of ['configMapKeyRef', 'secretKeyRef']) {
      const o = r.obj(vf, k, `${vp}.${k}`);
      if (o) {
        n++;
        validateKeySelector(r, o, `${vp}.${k}`);
      }
    }
    if (n === 0) r.push(invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (value !== '') r.push(invalid(vp, '', 'may not be specified when `value` is not empty'));
    else if (n > 1) r.push(invalid(vp, '', 'may not have more than one field specified at a time'));
  }
  for (const [ef, p] of r.objList(c, 'envFrom', child(path.replace(/\.env$/, ''), 'envFrom'))) {
    const prefix = r.str(ef, 'prefix', `${p}.prefix`) ?? '';
    if (prefix !== '') r.push(...eachInvalid(`${p}.prefix`, prefix, checkRelaxedEnvVarName(prefix)));
    let n = 0;
    for (const k of ['configMapRef', 'secretRef']) {
      const o = r.obj(ef, k, `${p}.${k}`);
      if (!o) continue;
      n++;
      const nm = r.str(o, 'name', `${p}.${k}.name`) ?? '';
      r.push(...eachInvalid(`${p}.${k}.name`, nm, checkDNS1123Subdomain(nm)));
    }
    if (n === 0) r.push(invalid(p, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) r.push(invalid(p, '', 'may not have more than one field specified at a time'));
  }
}

// ---- containers -------------------------------------------------------------------------------------

function validateContainerPorts(r: Reader, c: Obj, path: string): void {
  const names = new Set<string>();
  for (const [port, p] of r.objList(c, 'ports', path)) {
    const name = r.str(port, 'name', `${p}.name`) ?? '';
    const cp = r.int(port, 'containerPort', `${p}.containerPort`) ?? 0;
    const hp = r.int(port, 'hostPort', `${p}.hostPort`) ?? 0;
    const proto = r.str(port, 'protocol', `${p}.protocol`) ?? '';
    r.str(port, 'hostIP', `${p}.hostIP`);
    if (name !== '') {
      const msgs = checkPortName(name);
      if (msgs.length) r.push(...eachInvalid(`${p}.name`, name, msgs));
      else if (names.has(name)) r.push(duplicate(`${p}.name`, name));
      else names.add(name);
    }
    if (cp === 0) r.push(required(`${p}.containerPort`));
    else r.push(...eachInvalid(`${p}.containerPort`, cp, checkPortNum(cp)));
    if (hp !== 0) r.push(...eachInvalid(`${p}.hostPort`, hp, checkPortNum(hp)));
    if (proto === '') r.push(required(`${p}.protocol`));
    else if (!(PROTOCOLS as readonly string[]).includes(proto)) r.push(notSupported(`${p}.protocol`, proto, PROTOCOLS));
  }
}

function validateVolumeMounts(r: Reader, c: Obj, path: string, volumes: Set<string>): void {
  const points = new Set<string>();
  for (const [m, p] of r.objList(c, 'volumeMounts', path)) {
    const name = r.str(m, 'name', `${p}.name`) ?? '';
    const mountPath = r.str(m, 'mountPath', `${p}.mountPath`) ?? '';
    r.bool(m, 'readOnly', `${p}.readOnly`);
    const subPath = r.str(m, 'subPath', `${p}.subPath`) ?? '';
    if (name === '') r.push(required(`${p}.name`));
    // Kubernetes says `Not found: "<name>"` here (field.NotFound), which FieldError cannot express.
    if (!volumes.has(name)) r.push(invalid(`${p}.name`, name, 'not found'));
    if (mountPath === '') r.push(required(`${p}.mountPath`));
    if (points.has(mountPath)) r.push(invalid(`${p}.mountPath`, mountPath, 'must be unique'));
    points.add(mountPath);
    if (subPath !== '') {
      if (subPath.startsWith('/')) r.push(invalid(`${path}.subPath`, subPath, 'must be a relative path'));
      if (subPath.split('/').includes('..')) r.push(invalid(`${path}.subPath`, subPath, "must not contain '..'"));
    }
  }
}

type ContainerKind = 'regular' | 'init' | 'ephemeral';

function validateContainer(r: Reader, c: Obj, path: string, kind: ContainerKind, volumes: Set<string>, grace: number): string {
  const name = r.str(c, 'name', `${path}.name`) ?? '';
  if (name === '') r.push(required(`${path}.name`));
  else r.push(...eachInvalid(`${path}.name`, name, checkDNS1123Label(name)));
  const image = r.str(c, 'image', `${path}.image`) ?? '';
  if (image === '') r.push(required(`${path}.image`));
  r.strList(c, 'command', `${path}.command`);
  r.strList(c, 'args', `${path}.args`);
  r.str(c, 'workingDir', `${path}.workingDir`);
  const tmp = r.str(c, 'terminationMessagePolicy', `${path}.terminationMessagePolicy`) ?? '';
  if (tmp === '') r.push(required(`${path}.terminationMessagePolicy`));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') r.push(notSupported(`${path}.terminationMessagePolicy`, tmp, ['File', 'FallbackToLogsOnError']));
  r.str(c, 'terminationMessagePath', `${path}.terminationMessagePath`);
  // An ephemeral container's ports are checked like any container's, then refused by its allow-list (validateEphemeralContainers).
  validateContainerPorts(r, c, `${path}.ports`);
  validateEnv(r, c, `${path}.env`);
  validateVolumeMounts(r, c, `${path}.volumeMounts`, volumes);
  const pull = r.str(c, 'imagePullPolicy', `${path}.imagePullPolicy`) ?? '';
  if (pull === '') r.push(required(`${path}.imagePullPolicy`));
  else if (!PULL_POLICIES.includes(pull)) r.push(notSupported(`${path}.imagePullPolicy`, pull, PULL_POLICIES));
  const res = r.obj(c, 'resources', `${path}.resources`);
  if (res) {
    for (const k of ['limits', 'requests']) {
      const m = r.obj(res, k, `${path}.resources.${k}`);
      for (const [rk, rv] of Object.entries(m ?? {})) {
        if (typeof rv !== 'string' && typeof rv !== 'number') r.typeError(`${path}.resources.${k}[${rk}]`, rv, 'quantity');
      }
    }
  }
  r.obj(c, 'securityContext', `${path}.securityContext`);
  const restartPolicy = r.str(c, 'restartPolicy', `${path}.restartPolicy`);
  const sidecar = kind === 'init' && restartPolicy === 'Always';
  if (kind === 'regular') {
    if (restartPolicy !== undefined) r.push(forbidden(`${path}.restartPolicy`, 'may not be set for non-init containers'));
  } else if (kind === 'init' && restartPolicy !== undefined && restartPolicy !== 'Always') {
    r.push(notSupported(`${path}.restartPolicy`, restartPolicy, ['Always']));
  }
  const lifecycle = r.obj(c, 'lifecycle', `${path}.lifecycle`);
  const probes: [string, ProbeKind][] = [
    ['livenessProbe', 'liveness'],
    ['readinessProbe', 'readiness'],
    ['startupProbe', 'startup'],
  ];
  if (kind === 'regular' || sidecar) {
    if (lifecycle) {
      for (const h of ['postStart', 'preStop']) {
        const ho = r.obj(lifecycle, h, `${path}.lifecycle.${h}`);
        if (ho) validateHandler(r, ho, `${path}.lifecycle.${h}`, true, grace);
      }
    }
    for (const [k, pk] of probes) validateProbe(r, c, k, `${path}.${k}`, pk);
  } else if (kind === 'init') {
    const why = 'may not be set for init containers without restartPolicy=Always';
    if (lifecycle) r.push(forbidden(`${path}.lifecycle`, why));
    for (const [k] of probes) if (c[k] !== undefined && c[k] !== null) r.push(forbidden(`${path}.${k}`, why));
  }
  return name;
}

/**
 * The fields of EphemeralContainerCommon that an ephemeral container may not
 * set, in the Go struct's order (validateFieldAllowList reports them so):
 * everything a pod relies on for its own service — ports, resources, restarts,
 * probes, lifecycle hooks.
 */
const EPHEMERAL_FORBIDDEN_FIELDS = ['ports', 'resources', 'resizePolicy', 'restartPolicy', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'];
const EPHEMERAL_FORBIDDEN = 'cannot be set for an Ephemeral Container';

/** Whether a field differs from its Go zero value (a ResourceRequirements with no limits, requests or claims is zero). */
function isSet(c: Obj, k: string): boolean {
  const v = c[k];
  if (v === undefined || v === null) return false;
  if (k === 'resources') return isObj(v) && Object.values(v).some((x) => x !== undefined && x !== null);
  if (typeof v === 'string') return v !== '';
  return true;
}

/**
 * validateEphemeralContainers: each one as a container (name, image, env,
 * mounts, ...), a name unique across every container of the pod, a
 * targetContainerName naming a regular or init container, none of the
 * allow-listed-out fields, and no subPath mounts.
 */
function validateEphemeralContainers(r: Reader, eph: [Obj, string][], otherNames: Set<string>, volumes: Set<string>, grace: number): void {
  const allNames = new Set(otherNames);
  for (const [c, p] of eph) {
    const name = validateContainer(r, c, p, 'ephemeral', volumes, grace);
    const image = typeof c.image === 'string' ? c.image : '';
    if (image !== '' && image.trim() !== image) r.push(invalid(`${p}.image`, image, 'must not have leading or trailing whitespace'));
    if (allNames.has(name)) r.push(duplicate(`${p}.name`, name));
    else allNames.add(name);
    const target = r.str(c, 'targetContainerName', `${p}.targetContainerName`) ?? '';
    if (target !== '' && !otherNames.has(target)) r.push(notFound(`${p}.targetContainerName`, target));
    for (const k of EPHEMERAL_FORBIDDEN_FIELDS) if (isSet(c, k)) r.push(forbidden(`${p}.${k}`, EPHEMERAL_FORBIDDEN));
    r.bool(c, 'stdin', `${p}.stdin`);
    r.bool(c, 'stdinOnce', `${p}.stdinOnce`);
    r.bool(c, 'tty', `${p}.tty`);
    if (!Array.isArray(c.volumeMounts)) continue;
    c.volumeMounts.forEach((m: unknown, i: number) => {
      if (!isObj(m)) return;
      for (const k of ['subPath', 'subPathExpr']) {
        if (typeof m[k] === 'string' && m[k] !== '') r.push(forbidden(`${p}.volumeMounts[${i}].${k}`, EPHEMERAL_FORBIDDEN));
      }
    });
  }
}

function validateVolumes(r: Reader, spec: Obj, path: string): Set<string> {
  const names = new Set<string>();
  for (const [v, p] of r.objList(spec, 'volumes', path)) {
    const errs: FieldError[] = [];
    const sub = new Reader();
    let n = 0;
    for (const src of VOLUME_SOURCES) {
      if (v[src] === undefined || v[src] === null) continue;
      if (n > 0) {
        errs.push(forbidden(`${p}.${src}`, 'may not specify more than 1 volume type'));
        continue;
      }
      n++;
      const s = sub.obj(v, src, `${p}.${src}`) ?? {};
      const need = (k: string): void => {
        if ((sub.str(s, k, `${p}.${src}.${k}`) ?? '') === '') errs.push(required(`${p}.${src}.${k}`));
      };
      if (src === 'hostPath') need('path');
      if (src === 'secret') need('secretName');
      if (src === 'configMap') need('name');
      if (src === 'persistentVolumeClaim') need('claimName');
      if (src === 'nfs') {
        need('server');
        need('path');
      }
    }
    if (n === 0) errs.push(required(p, 'must specify a volume type'));
    const name = sub.str(v, 'name', `${p}.name`) ?? '';
    if (name === '') errs.push(required(`${p}.name`));
    else errs.push(...eachInvalid(`${p}.name`, name, checkDNS1123Label(name)));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    r.push(...sub.errs, ...errs);
    // A volume with errors is not registered (its mounts then report "not found"), as in Kubernetes.
    if (errs.length === 0 && sub.errs.length === 0) names.add(name);
  }
  return names;
}

/** Limits of a pod's resolver configuration (MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars). */
export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;

/** validatePodDNSConfig: None needs nameservers; at most 3 nameservers (IPs), 32 search domains (subdomains, 2048 characters), named options. */
function validatePodDNSConfig(r: Reader, spec: Obj, policy: string, path: string): void {
  const dnsConfig = r.obj(spec, 'dnsConfig', path);
  const nameservers = r.strList(dnsConfig, 'nameservers', `${path}.nameservers`) ?? [];
  if (policy === 'None') {
    if (!dnsConfig) return r.push(required(path, 'must provide `dnsConfig` when `dnsPolicy` is None'));
    if (nameservers.length === 0) return r.push(required(`${path}.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
  }
  if (!dnsConfig) return;
  if (nameservers.length > MAX_DNS_NAMESERVERS) r.push(invalidLit(`${path}.nameservers`, goStringSlice(nameservers), `must not have more than ${MAX_DNS_NAMESERVERS} nameservers`));
  nameservers.forEach((ns, i) => r.push(...validateIP(ns, `${path}.nameservers[${i}]`)));
  const searches = r.strList(dnsConfig, 'searches', `${path}.searches`) ?? [];
  if (searches.length > MAX_DNS_SEARCH_PATHS) r.push(invalidLit(`${path}.searches`, goStringSlice(searches), `must not have more than ${MAX_DNS_SEARCH_PATHS} search paths`));
  if (searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) {
    r.push(invalidLit(`${path}.searches`, goStringSlice(searches), `must not have more than ${MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list`));
  }
  searches.forEach((sd, i) => {
    // A trailing dot is fine.
    const v = sd.endsWith('.') ? sd.slice(0, -1) : sd;
    r.push(...eachInvalid(`${path}.searches[${i}]`, v, checkDNS1123Subdomain(v)));
  });
  for (const [o, p] of r.objList(dnsConfig, 'options', `${path}.options`)) {
    const name = r.str(o, 'name', `${p}.name`) ?? '';
    r.str(o, 'value', `${p}.value`);
    if (name === '') r.push(required(p, 'must not be empty'));
  }
}

/** ValidateHostAliases: each ip an IP address, each hostname a DNS subdomain. */
function validateHostAliases(r: Reader, spec: Obj, path: string): void {
  for (const [a, p] of r.objList(spec, 'hostAliases', path)) {
    r.push(...validateIP(r.str(a, 'ip', `${p}.ip`) ?? '', `${p}.ip`));
    (r.strList(a, 'hostnames', `${p}.hostnames`) ?? []).forEach((h, j) => r.push(...eachInvalid(`${p}.hostnames[${j}]`, h, checkDNS1123Subdomain(h))));
  }
}

export interface PodSpecOptions {
  template: boolean;
  /** Create (ephemeral containers forbidden) rather than update. */
  create?: boolean;
}

/** ValidatePodSpec (and the template-only rules when `opts.template`). */
export function validatePodSpec(r: Reader, spec: Obj, path: string, opts: PodSpecOptions): void {
  const volumes = validateVolumes(r, spec, `${path}.volumes`);
  const tg = spec.terminationGracePeriodSeconds;
  const grace = typeof tg === 'number' && Number.isInteger(tg) ? tg : 30;
  const containers = r.objList(spec, 'containers', `${path}.containers`);
  const names = new Set<string>();
  if (containers.length === 0 && !(Array.isArray(spec.containers) && spec.containers.length > 0)) r.push(required(`${path}.containers`));
  for (const [c, p] of containers) {
    const name = validateContainer(r, c, p, 'regular', volumes, grace);
    if (names.has(name)) r.push(duplicate(`${p}.name`, name));
    else names.add(name);
  }
  const hostPorts = new Set<string>();
  for (const [c, p] of containers) {
    if (!Array.isArray(c.ports)) continue;
    c.ports.forEach((port: unknown, i: number) => {
      if (!isObj(port) || typeof port.hostPort !== 'number' || port.hostPort === 0) return;
      const k = `${typeof port.hostIP === 'string' ? port.hostIP : ''}/${typeof port.protocol === 'string' ? port.protocol : ''}/${port.hostPort}`;
      if (hostPorts.has(k)) r.push(duplicate(`${p}.ports[${i}].hostPort`, k));
      else hostPorts.add(k);
    });
  }
  for (const [c, p] of r.objList(spec, 'initContainers', `${path}.initContainers`)) {
    const name = validateContainer(r, c, p, 'init', volumes, grace);
    if (names.has(name)) r.push(duplicate(`${p}.name`, name));
    else names.add(name);
  }
  const eph = r.objList(spec, 'ephemeralContainers', `${path}.ephemeralContainers`);
  if (eph.length > 0) {
    if (opts.template) r.push(forbidden(`${path}.ephemeralContainers`, 'ephemeral containers not allowed in pod template'));
    else if (opts.create) r.push(forbidden(`${path}.ephemeralContainers`, 'cannot be set on create'));
    else validateEphemeralContainers(r, eph, names, volumes, grace);
  }
  if (spec.hostNetwork === true) {
    for (const [c, p] of containers) {
      if (!Array.isArray(c.ports)) continue;
      c.ports.forEach((port: unknown, i: number) => {
        if (!isObj(port)) return;
        const hp = typeof port.hostPort === 'number' ? port.hostPort : 0;
        const cp = typeof port.containerPort === 'number' ? port.containerPort : 0;
        if ((!opts.template || hp !== 0) && hp !== cp) r.push(invalid(`${p}.ports[${i}].hostPort`, hp, 'must match `containerPort` when `hostNetwork` is true'));
      });
    }
  }
  const restart = r.str(spec, 'restartPolicy', `${path}.restartPolicy`) ?? '';
  if (restart === '') r.push(required(`${path}.restartPolicy`));
  else if (!RESTART_POLICIES.includes(restart)) r.push(notSupported(`${path}.restartPolicy`, restart, RESTART_POLICIES));
  const dns = r.str(spec, 'dnsPolicy', `${path}.dnsPolicy`) ?? '';
  if (dns === '') r.push(required(`${path}.dnsPolicy`));
  else if (!DNS_POLICIES.includes(dns)) r.push(notSupported(`${path}.dnsPolicy`, dns, DNS_POLICIES));
  const nodeSelector = r.strMap(spec, 'nodeSelector', `${path}.nodeSelector`);
  if (nodeSelector) r.push(...validateLabels(nodeSelector, `${path}.nodeSelector`));
  r.obj(spec, 'securityContext', `${path}.securityContext`);
  r.obj(spec, 'affinity', `${path}.affinity`);
  validatePodDNSConfig(r, spec, dns, `${path}.dnsConfig`);
  validateHostAliases(r, spec, `${path}.hostAliases`);
  for (const [g, p] of r.objList(spec, 'readinessGates', `${path}.readinessGates`)) {
    const ct = r.str(g, 'conditionType', `${p}.conditionType`) ?? '';
    r.push(...eachInvalid(`${p}.conditionType`, ct, checkQualifiedName(ct)));
  }
  const sa = r.str(spec, 'serviceAccountName', `${path}.serviceAccountName`) ?? '';
  if (sa !== '') r.push(...eachInvalid(`${path}.serviceAccountName`, sa, checkDNS1123Subdomain(sa)));
  const nodeName = r.str(spec, 'nodeName', `${path}.nodeName`) ?? '';
  if (nodeName !== '') r.push(...eachInvalid(`${path}.nodeName`, nodeName, checkDNS1123Subdomain(nodeName)));
  const ads = r.int(spec, 'activeDeadlineSeconds', `${path}.activeDeadlineSeconds`, true);
  if (ads !== undefined && (ads < 1 || ads > INT32_MAX)) r.push(invalid(`${path}.activeDeadlineSeconds`, ads, inclusiveRangeError(1, INT32_MAX)));
  for (const f of ['hostname', 'subdomain']) {
    const v = r.str(spec, f, `${path}.${f}`) ?? '';
    if (v !== '') r.push(...eachInvalid(`${path}.${f}`, v, checkDNS1123Label(v)));
  }
  r.int(spec, 'terminationGracePeriodSeconds', `${path}.terminationGracePeriodSeconds`, true);
  r.bool(spec, 'hostNetwork', `${path}.hostNetwork`);
  r.bool(spec, 'automountServiceAccountToken', `${path}.automountServiceAccountToken`);
  r.bool(spec, 'enableServiceLinks', `${path}.enableServiceLinks`);
  r.str(spec, 'schedulerName', `${path}.schedulerName`);
  for (const [t, p] of r.objList(spec, 'tolerations', `${path}.tolerations`)) {
    const k = r.str(t, 'key', `${p}.key`) ?? '';
    const op = r.str(t, 'operator', `${p}.operator`) ?? '';
    const val = r.str(t, 'value', `${p}.value`) ?? '';
    const eff = r.str(t, 'effect', `${p}.effect`) ?? '';
    if (k !== '') r.push(...eachInvalid(`${p}.key`, k, checkQualifiedName(k)));
    if (k === '' && op !== 'Exists') r.push(invalid(`${p}.operator`, op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (op === 'Exists' && val !== '') r.push(invalid(`${p}.operator`, t, 'value must be empty when `operator` is \'Exists\''));
    else if (op !== '' && op !== 'Equal' && op !== 'Exists') r.push(notSupported(`${p}.operator`, op, ['Equal', 'Exists']));
    if (eff !== '' && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(eff)) r.push(notSupported(`${p}.effect`, eff, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
  }
}

/** ValidatePodTemplateSpec (labels, annotations, spec) for workloads. */
export function validatePodTemplateSpec(r: Reader, tpl: Obj, path: string): void {
  const meta = r.obj(tpl, 'metadata', `${path}.metadata`) ?? {};
  const labels = r.strMap(meta, 'labels', `${path}.labels`);
  if (labels) r.push(...validateLabels(labels, `${path}.labels`));
  validateAnnotations(r, meta, `${path}.annotations`);
  const spec = r.obj(tpl, 'spec', `${path}.spec`) ?? {};
  validatePodSpec(r, spec, `${path}.spec`, { template: true });
}

function validatePodStatusIPs(r: Reader, obj: Obj): void {
  const status = r.obj(obj, 'status', 'status');
  if (!status) return;
  const podIP = r.str(status, 'podIP', 'status.podIP');
  const ips = r.objList(status, 'podIPs', 'status.podIPs');
  ips.forEach(([o, p]) => {
    const ip = r.str(o, 'ip', `${p}.ip`) ?? '';
    r.push(...validateIP(ip, `${p}.ip`));
  });
  if (ips.length === 0 && podIP) r.push(...validateIP(podIP, 'status.podIP'));
}

export function validatePod(r: Reader, obj: Obj): void {
  validateObjectMeta(r, obj, true, 'subdomain');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  validatePodSpec(r, spec, 'spec', { template: false, create: true });
  validatePodStatusIPs(r, obj);
}

const UPDATABLE_POD_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable(v[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

export function validatePodUpdate(r: Reader, obj: Obj, old: Obj): void {
  validateObjectMetaUpdate(r, obj, old);
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  validatePodSpec(r, spec, 'spec', { template: false });
  const oldSpec = isObj(old.spec) ? old.spec : {};
  for (const list of ['containers', 'initContainers'] as const) {
    const a = Array.isArray(spec[list]) ? (spec[list] as unknown[]) : [];
    const b = Array.isArray(oldSpec[list]) ? (oldSpec[list] as unknown[]) : [];
    if (a.length !== b.length) {
      r.push(forbidden(`spec.${list}`, 'pod updates may not add or remove containers'));
      return;
    }
    a.forEach((c, i) => {
      const image = isObj(c) && typeof c.image === 'string' ? c.image : '';
      if (image !== '' && image.trim() !== image) r.push(invalid(`spec.${list}[${i}].image`, image, 'must not have leading or trailing whitespace'));
    });
  }
  const ads = typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds : undefined;
  const oldAds = typeof oldSpec.activeDeadlineSeconds === 'number' ? oldSpec.activeDeadlineSeconds : undefined;
  if (ads !== undefined) {
    if (ads < 0 || ads > INT32_MAX) return r.push(invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, INT32_MAX)));
    if (oldAds !== undefined && oldAds < ads) return r.push(invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value'));
  } else if (oldAds !== undefined) {
    r.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  // Munge the updatable fields from the old spec and compare the rest.
  const munged: Obj = { ...spec };
  for (const list of ['containers', 'initContainers'] as const) {
    const a = Array.isArray(spec[list]) ? (spec[list] as unknown[]) : undefined;
    const b = Array.isArray(oldSpec[list]) ? (oldSpec[list] as unknown[]) : [];
    if (a) munged[list] = a.map((c, i) => (isObj(c) && isObj(b[i]) ? { ...c, image: (b[i] as Obj).image } : c));
  }
  for (const k of ['activeDeadlineSeconds', 'tolerations']) {
    if (oldSpec[k] === undefined) delete munged[k];
    else munged[k] = oldSpec[k];
  }
  const oldTGPS = oldSpec.terminationGracePeriodSeconds;
  if (typeof oldTGPS === 'number' && oldTGPS < 0 && spec.terminationGracePeriodSeconds === 1) munged.terminationGracePeriodSeconds = oldTGPS;
  const oldTol = Array.isArray(oldSpec.tolerations) ? oldSpec.tolerations.map(stable) : [];
  const newTol = Array.isArray(spec.tolerations) ? spec.tolerations.map(stable) : [];
  const tolerationsOk = oldTol.every((t) => newTol.includes(t));
  if (!tolerationsOk) munged.tolerations = spec.tolerations;
  if (stable(munged) !== stable(oldSpec)) {
    const changed = sortedStrings(new Set([...Object.keys(munged), ...Object.keys(oldSpec)])).filter((k) => stable(munged[k]) !== stable(oldSpec[k]));
    r.push(forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_FIELDS.join(',')}\n  core.PodSpec{\n${changed.map((k) => `  \t${k}: changed\n`).join('')}  }\n`));
  }
}

/**
 * ValidatePodEphemeralContainersUpdate (the pods/ephemeralcontainers
 * subresource): the new pod is valid as a whole (its new ephemeral containers
 * included), and every existing ephemeral container is still there,
 * unchanged — they may be added, never removed or edited. Order is not
 * compared (a patch may reorder them).
 */
export function validatePodEphemeralContainersUpdate(r: Reader, obj: Obj, old: Obj): void {
  validateObjectMetaUpdate(r, obj, old);
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  validatePodSpec(r, spec, 'spec', { template: false });
  const oldMeta = isObj(old.metadata) ? old.metadata : {};
  if (isObj(oldMeta.annotations) && oldMeta.annotations['kubernetes.io/config.mirror'] !== undefined) {
    r.errs.length = 0;
    r.push(forbidden('', 'static pods do not support ephemeral containers'));
    return;
  }
  const oldSpec = isObj(old.spec) ? old.spec : {};
  const byName = new Map<string, Obj>();
  for (const c of Array.isArray(spec.ephemeralContainers) ? spec.ephemeralContainers : []) if (isObj(c) && typeof c.name === 'string') byName.set(c.name, c);
  for (const prev of Array.isArray(oldSpec.ephemeralContainers) ? oldSpec.ephemeralContainers : []) {
    if (!isObj(prev)) continue;
    const name = typeof prev.name === 'string' ? prev.name : '';
    const now = byName.get(name);
    if (!now) r.push(forbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(name)} may not be removed\n`));
    else if (stable(now) !== stable(prev)) {
      r.push(forbidden(`spec.ephemeralContainers[${name}]`, `existing ephemeral containers ${JSON.stringify(name)} may not be changed\n${fieldDiff(prev, now)}`));
    }
  }
}

/** A short diff of two containers, one changed field a line (`-` old, `+` new), in the spirit of cmp.Diff. */
function fieldDiff(a: Obj, b: Obj): string {
  const lines: string[] = [];
  for (const k of sortedStrings(new Set([...Object.keys(a), ...Object.keys(b)]))) {
    if (stable(a[k]) === stable(b[k])) continue;
    if (a[k] !== undefined) lines.push(`  - ${k}: ${JSON.stringify(a[k])}`);
    if (b[k] !== undefined) lines.push(`  + ${k}: ${JSON.stringify(b[k])}`);
  }
  return lines.join('\n');
}
