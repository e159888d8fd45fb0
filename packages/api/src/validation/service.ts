/**
 * Service validation, as kube-apiserver's ValidateService / ValidateServiceUpdate
 * (pkg/apis/core/validation), in the same order, with the same paths and details.
 *
 * Model: Kubernetes validates a Service after defaulting, after the registry has
 * synced `clusterIP` with `clusterIPs` (normalizeClusterIPs) and after the
 * allocator has filled clusterIP(s), ipFamilies, nodePorts and
 * healthCheckNodePort. `normalizeServiceClusterIPs` and
 * `patchServiceAllocatedValues` reproduce the registry steps for callers; the
 * validator applies the clusterIP sync to a copy itself, so errors name
 * `spec.clusterIPs[0]` exactly as Kubernetes does. Kubernetes allocates before
 * validating, so its "healthCheckNodePort: Required value" for LoadBalancer +
 * Local is never visible to clients; here a zero healthCheckNodePort is left to
 * the allocator, so validating before or after allocation gives the same result.
 */
import type { FieldError } from '../errors.js';
import { validateLabels } from '../labels.js';
import {
  CIDR_ERROR,
  IP_ERROR,
  checkDNS1123Label,
  checkDNS1123Subdomain,
  checkPortName,
  checkPortNum,
  checkQualifiedName,
  ipFamilyOf,
  isValidCIDR,
  specialIPKinds,
} from '../names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import {
  child,
  duplicate,
  duplicateLit,
  eachInvalid,
  forbidden,
  index,
  invalid,
  invalidLit,
  isObj,
  goStringSlice,
  notSupported,
  Reader,
  required,
  type Obj,
} from './util.js';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;
const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const AFFINITIES = ['ClientIP', 'None'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILIES = ['IPv4', 'IPv6'];
const IP_FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const MAX_CLIENT_IP_AFFINITY_SECONDS = 86400;
const LB_SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';
const TOPOLOGY_MODE = 'service.kubernetes.io/topology-mode';
const TOPOLOGY_HINTS = 'service.kubernetes.io/topology-aware-hints';

// ---- shared checks -------------------------------------------------------------------

/** ValidatePortNumOrName. */
export function validatePortNumOrName(port: number | string | undefined, path: string): FieldError[] {
  if (typeof port === 'string') return eachInvalid(path, port, checkPortName(port));
  const n = port ?? 0;
  return eachInvalid(path, n, checkPortNum(n));
}

/** validation.IsValidIP (field form). */
export function validateIP(ip: string, path: string): FieldError[] {
  return ipFamilyOf(ip) === 0 ? [invalid(path, ip, IP_ERROR)] : [];
}

/** ValidateNonSpecialIP / ValidateEndpointIP. */
export function validateNonSpecialIP(ip: string, path: string): FieldError[] {
  if (ipFamilyOf(ip) === 0) return [invalid(path, ip, 'must be a valid IP address')];
  const out: FieldError[] = [];
  for (const k of specialIPKinds(ip)) {
    if (k === 'unspecified') out.push(invalid(path, ip, `may not be unspecified (${ip})`));
    if (k === 'loopback') out.push(invalid(path, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
    if (k === 'linkLocal') out.push(invalid(path, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
    if (k === 'linkLocalMulticast') out.push(invalid(path, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  }
  return out;
}

export function validateCIDR(v: string, path: string): FieldError[] {
  return isValidCIDR(v) ? [] : [invalid(path, v, CIDR_ERROR)];
}

// ---- registry helpers ------------------------------------------------------------------

const strOf = (v: unknown): string => (typeof v === 'string' ? v : '');
const strsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The registry's normalizeClusterIPs: keep `clusterIP` and `clusterIPs[0]` in sync
 * when the client only manages one of them. Mutates `spec`.
 */
export function normalizeServiceClusterIPs(spec: Obj, oldSpec?: Obj): void {
  const ip = strOf(spec.clusterIP);
  const ips = strsOf(spec.clusterIPs);
  if (!oldSpec) {
    if (ip !== '' && ips.length === 0) spec.clusterIPs = [ip];
    return;
  }
  const oldIP = strOf(oldSpec.clusterIP);
  const oldIPs = strsOf(oldSpec.clusterIPs);
  if (oldIP !== ip && sameList(oldIPs, ips)) {
    if (ip === '') delete spec.clusterIPs;
    else spec.clusterIPs = ips.length === 0 ? [ip] : [ip, ...ips.slice(1)];
    return;
  }
  if (oldIP === ip && !sameList(oldIPs, ips)) {
    if (ips.length === 0) delete spec.clusterIP;
    else spec.clusterIP = ips[0];
    return;
  }
  // Stored objects always carry both; fill the plural if an older write left it out.
  if (ip !== '' && ips.length === 0) spec.clusterIPs = [ip];
}

const needsClusterIP = (s: Obj): boolean => s.type !== 'ExternalName';
const needsNodePort = (s: Obj): boolean => s.type === 'NodePort' || s.type === 'LoadBalancer';
const needsHealthCheck = (s: Obj): boolean => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';

/**
 * The registry's patchAllocatedValues for an update: a client that omits the
 * allocated clusterIP(s), nodePorts or healthCheckNodePort keeps the old ones.
 */
export function patchServiceAllocatedValues(spec: Obj, oldSpec: Obj): void {
  if (needsClusterIP(oldSpec) && needsClusterIP(spec)) {
    if (strOf(spec.clusterIP) === '' && strOf(oldSpec.clusterIP) !== '') spec.clusterIP = oldSpec.clusterIP;
    if (strsOf(spec.clusterIPs).length === 0 && strsOf(oldSpec.clusterIPs).length > 0) spec.clusterIPs = [...strsOf(oldSpec.clusterIPs)];
  }
  const ports = (s: Obj): Obj[] => (Array.isArray(s.ports) ? s.ports.filter(isObj) : []);
  if (needsNodePort(oldSpec) && needsNodePort(spec)) {
    const used = (s: Obj): Set<number> => new Set(ports(s).map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n !== 0));
    const newUsed = used(spec);
    const both = new Set([...used(oldSpec)].filter((n) => newUsed.has(n)));
    const byName = new Map<string, number>();
    for (const p of ports(oldSpec)) byName.set(strOf(p.name), typeof p.nodePort === 'number' ? p.nodePort : 0);
    for (const p of ports(spec)) {
      if (p.nodePort === undefined || p.nodePort === null || p.nodePort === 0) {
        const v = byName.get(strOf(p.name)) ?? 0;
        if (v !== 0 && !both.has(v)) p.nodePort = v;
      }
    }
  }
  if (needsHealthCheck(oldSpec) && needsHealthCheck(spec)) {
    if ((spec.healthCheckNodePort ?? 0) === 0 && typeof oldSpec.healthCheckNodePort === 'number') spec.healthCheckNodePort = oldSpec.healthCheckNodePort;
  }
}

// ---- the spec --------------------------------------------------------------------------

interface PortIn {
  path: string;
  name: string;
  protocol: string;
  appProtocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort: number;
}

interface SpecIn {
  type: string;
  clusterIP: string;
  clusterIPs: string[];
  ipFamilies: string[];
  ipFamilyPolicy?: string;
  ports: PortIn[];
  selector?: Record<string, string>;
  sessionAffinity: string;
  sessionAffinityConfig?: Obj;
  externalIPs: string[];
  externalName: string;
  externalTrafficPolicy: string;
  internalTrafficPolicy?: string;
  healthCheckNodePort: number;
  loadBalancerSourceRanges: string[];
  loadBalancerClass?: string;
  allocateLoadBalancerNodePorts?: boolean;
  trafficDistribution?: string;
  headless: boolean;
}

function readSpec(r: Reader, raw: Obj): SpecIn {
  const p = 'spec';
  const ports: PortIn[] = r.objList(raw, 'ports', `${p}.ports`).map(([o, pp]) => ({
    path: pp,
    name: r.str(o, 'name', `${pp}.name`) ?? '',
    protocol: r.str(o, 'protocol', `${pp}.protocol`) ?? '',
    appProtocol: r.str(o, 'appProtocol', `${pp}.appProtocol`),
    port: r.int(o, 'port', `${pp}.port`) ?? 0,
    targetPort: r.intOrStr(o, 'targetPort', `${pp}.targetPort`),
    nodePort: r.int(o, 'nodePort', `${pp}.nodePort`) ?? 0,
  }));
  const clusterIPs = r.strList(raw, 'clusterIPs', `${p}.clusterIPs`) ?? [];
  return {
    type: r.str(raw, 'type', `${p}.type`) ?? '',
    clusterIP: r.str(raw, 'clusterIP', `${p}.clusterIP`) ?? '',
    clusterIPs,
    ipFamilies: r.strList(raw, 'ipFamilies', `${p}.ipFamilies`) ?? [],
    ipFamilyPolicy: r.str(raw, 'ipFamilyPolicy', `${p}.ipFamilyPolicy`),
    ports,
    selector: r.strMap(raw, 'selector', `${p}.selector`),
    sessionAffinity: r.str(raw, 'sessionAffinity', `${p}.sessionAffinity`) ?? '',
    sessionAffinityConfig: r.obj(raw, 'sessionAffinityConfig', `${p}.sessionAffinityConfig`),
    externalIPs: r.strList(raw, 'externalIPs', `${p}.externalIPs`) ?? [],
    externalName: r.str(raw, 'externalName', `${p}.externalName`) ?? '',
    externalTrafficPolicy: r.str(raw, 'externalTrafficPolicy', `${p}.externalTrafficPolicy`) ?? '',
    internalTrafficPolicy: r.str(raw, 'internalTrafficPolicy', `${p}.internalTrafficPolicy`),
    healthCheckNodePort: r.int(raw, 'healthCheckNodePort', `${p}.healthCheckNodePort`) ?? 0,
    loadBalancerSourceRanges: r.strList(raw, 'loadBalancerSourceRanges', `${p}.loadBalancerSourceRanges`) ?? [],
    loadBalancerClass: r.str(raw, 'loadBalancerClass', `${p}.loadBalancerClass`),
    allocateLoadBalancerNodePorts: r.bool(raw, 'allocateLoadBalancerNodePorts', `${p}.allocateLoadBalancerNodePorts`),
    trafficDistribution: r.str(raw, 'trafficDistribution', `${p}.trafficDistribution`),
    headless: clusterIPs.length === 1 && clusterIPs[0] === 'None',
  };
}

function externallyAccessible(s: SpecIn): boolean {
  return s.type === 'LoadBalancer' || s.type === 'NodePort' || (s.type === 'ClusterIP' && s.externalIPs.length > 0);
}

function validateServicePort(sp: PortIn, requireName: boolean, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && sp.name === '') errs.push(required(`${sp.path}.name`));
  else if (sp.name !== '') {
    errs.push(...eachInvalid(`${sp.path}.name`, sp.name, checkDNS1123Label(sp.name)));
    if (names.has(sp.name)) errs.push(duplicate(`${sp.path}.name`, sp.name));
    else names.add(sp.name);
  }
  errs.push(...eachInvalid(`${sp.path}.port`, sp.port, checkPortNum(sp.port)));
  if (sp.protocol === '') errs.push(required(`${sp.path}.protocol`));
  else if (!(PROTOCOLS as readonly string[]).includes(sp.protocol)) errs.push(notSupported(`${sp.path}.protocol`, sp.protocol, PROTOCOLS));
  errs.push(...validatePortNumOrName(sp.targetPort, `${sp.path}.targetPort`));
  if (sp.appProtocol !== undefined) errs.push(...eachInvalid(`${sp.path}.appProtocol`, sp.appProtocol, checkQualifiedName(sp.appProtocol)));
  return errs;
}

function validateClientIPAffinityConfig(r: Reader, cfg: Obj | undefined, path: string): FieldError[] {
  const detail = 'when session affinity type is ClientIP';
  if (!cfg) return [required(path, detail)];
  const clientIP = r.obj(cfg, 'clientIP', `${path}.clientIP`);
  if (!clientIP) return [required(`${path}.clientIP`, detail)];
  const t = r.int(clientIP, 'timeoutSeconds', `${path}.clientIP.timeoutSeconds`);
  if (t === undefined) return 'timeoutSeconds' in clientIP && clientIP.timeoutSeconds !== null ? [] : [required(`${path}.clientIP.timeoutSeconds`, detail)];
  if (t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS) {
    return [invalid(`${path}.clientIP.timeoutSeconds`, t, `must be greater than 0 and less than ${MAX_CLIENT_IP_AFFINITY_SECONDS}`)];
  }
  return [];
}

/** ValidateServiceClusterIPsRelatedFields. */
function validateClusterIPsRelated(s: SpecIn): FieldError[] {
  if (s.type === 'ExternalName') return [];
  const errs: FieldError[] = [];
  const ipsPath = 'spec.clusterIPs';
  if (s.clusterIP !== '') {
    if (s.clusterIPs.length === 0) errs.push(required(ipsPath));
    else if (s.clusterIPs[0] !== s.clusterIP) errs.push(invalidLit(ipsPath, goStringSlice(s.clusterIPs), 'first value must match `clusterIP`'));
  } else if (s.clusterIPs.length !== 0) {
    errs.push(invalidLit(ipsPath, goStringSlice(s.clusterIPs), 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  s.ipFamilies.forEach((f, i) => {
    if (!IP_FAMILIES.includes(f)) errs.push(notSupported(`spec.ipFamilies[${i}]`, f, IP_FAMILIES));
    if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (s.ipFamilyPolicy !== undefined && !IP_FAMILY_POLICIES.includes(s.ipFamilyPolicy)) {
    errs.push(notSupported('spec.ipFamilyPolicy', s.ipFamilyPolicy, IP_FAMILY_POLICIES));
  }
  let bad = false;
  s.clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (s.clusterIPs.length > 1) {
        bad = true;
        errs.push(invalidLit(ipsPath, goStringSlice(s.clusterIPs), "'None' must be the first and only value"));
      }
      return;
    }
    const e = validateIP(ip, index(ipsPath, i));
    if (e.length) bad = true;
    errs.push(...e);
  });
  if (s.clusterIPs.length > 2) errs.push(invalidLit(ipsPath, goStringSlice(s.clusterIPs), 'may only hold up to 2 values'));
  if (bad) return errs;
  if (s.clusterIPs.length > 1) {
    const fams = s.clusterIPs.map(ipFamilyOf);
    const dual = fams.length === 2 && fams[0] !== fams[1];
    if (!dual) errs.push(invalidLit(ipsPath, goStringSlice(s.clusterIPs), 'may specify no more than one IP for each IP family'));
  }
  if (!s.headless && s.clusterIPs.length > 0 && s.ipFamilies.length > 0) {
    s.clusterIPs.forEach((ip, i) => {
      if (i > s.ipFamilies.length - 1) return;
      const v6 = ipFamilyOf(ip) === 6;
      if (s.ipFamilies[i] === 'IPv4' && v6) errs.push(invalid(index(ipsPath, i), ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (s.ipFamilies[i] === 'IPv6' && !v6) errs.push(invalid(index(ipsPath, i), ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return errs;
}

function validateSpec(r: Reader, s: SpecIn, annotations: Record<string, string>): void {
  const errs: FieldError[] = [];
  if (s.ports.length === 0 && !s.headless && s.type !== 'ExternalName') errs.push(required('spec.ports'));
  switch (s.type) {
    case 'LoadBalancer':
      if (s.headless) errs.push(invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for LoadBalancer services"));
      break;
    case 'NodePort':
      if (s.headless) errs.push(invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for NodePort services"));
      break;
    case 'ExternalName': {
      if (s.clusterIPs.length > 0) errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
      if (s.ipFamilies.length > 0) errs.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
      if (s.ipFamilyPolicy !== undefined) errs.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
      const cname = s.externalName.endsWith('.') ? s.externalName.slice(0, -1) : s.externalName;
      if (cname.length > 0) errs.push(...eachInvalid('spec.externalName', cname, checkDNS1123Subdomain(cname)));
      else errs.push(required('spec.externalName'));
      break;
    }
  }
  const names = new Set<string>();
  for (const p of s.ports) errs.push(...validateServicePort(p, s.ports.length > 1, names));
  if (s.selector !== undefined) errs.push(...validateLabels(s.selector, 'spec.selector'));
  if (s.sessionAffinity === '') errs.push(required('spec.sessionAffinity'));
  else if (!AFFINITIES.includes(s.sessionAffinity)) errs.push(notSupported('spec.sessionAffinity', s.sessionAffinity, AFFINITIES));
  if (s.sessionAffinity === 'ClientIP') {
    errs.push(...validateClientIPAffinityConfig(r, s.sessionAffinityConfig, 'spec.sessionAffinityConfig'));
  } else if (s.sessionAffinity === 'None' && s.sessionAffinityConfig !== undefined) {
    errs.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }
  errs.push(...validateClusterIPsRelated(s));
  s.externalIPs.forEach((ip, i) => {
    const p = `spec.externalIPs[${i}]`;
    const e = validateIP(ip, p);
    errs.push(...(e.length ? e : validateNonSpecialIP(ip, p)));
  });
  if (s.type === '') errs.push(required('spec.type'));
  else if (!SERVICE_TYPES.includes(s.type)) errs.push(notSupported('spec.type', s.type, SERVICE_TYPES));
  if (s.type === 'ClusterIP') {
    for (const p of s.ports) if (p.nodePort !== 0) errs.push(forbidden(`${p.path}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
  }
  const nodePorts = new Set<string>();
  for (const p of s.ports) {
    if (p.nodePort === 0) continue;
    const k = `${p.protocol}/${p.nodePort}`;
    if (nodePorts.has(k)) errs.push(duplicate(`${p.path}.nodePort`, p.nodePort));
    nodePorts.add(k);
  }
  const ports = new Set<string>();
  for (const p of s.ports) {
    const k = `${p.protocol}/${p.port}`;
    if (ports.has(k)) {
      errs.push(
        duplicateLit(
          p.path,
          `core.ServicePort{Name:"", Protocol:${JSON.stringify(p.protocol)}, AppProtocol:(*string)(nil), Port:${p.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
        ),
      );
    }
    ports.add(k);
  }
  if (s.loadBalancerSourceRanges.length > 0) {
    const p = 'spec.LoadBalancerSourceRanges';
    if (s.type !== 'LoadBalancer') errs.push(forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    s.loadBalancerSourceRanges.forEach((v, i) => errs.push(...validateCIDR(v.trim(), index(p, i))));
  } else if (LB_SOURCE_RANGES_ANNOTATION in annotations) {
    const p = `metadata.annotations[${LB_SOURCE_RANGES_ANNOTATION}]`;
    if (s.type !== 'LoadBalancer') errs.push(forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    const val = annotations[LB_SOURCE_RANGES_ANNOTATION]!.trim();
    if (val !== '') for (const c of val.split(',')) errs.push(...validateCIDR(c.trim(), p));
  }
  if (s.allocateLoadBalancerNodePorts !== undefined && s.type !== 'LoadBalancer') {
    errs.push(forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts === undefined) errs.push(required('allocateLoadBalancerNodePorts'));
  if (s.type === 'LoadBalancer') {
    if (s.loadBalancerClass !== undefined) errs.push(...eachInvalid('spec.loadBalancerClass', s.loadBalancerClass, checkQualifiedName(s.loadBalancerClass)));
  } else if (s.loadBalancerClass !== undefined) {
    errs.push(forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  }
  // external traffic policy and health check node port
  if (!externallyAccessible(s)) {
    if (s.externalTrafficPolicy !== '') errs.push(invalid('spec.externalTrafficPolicy', s.externalTrafficPolicy, 'may only be set for externally-accessible services'));
  } else if (s.externalTrafficPolicy === '') errs.push(required('spec.externalTrafficPolicy'));
  else if (!TRAFFIC_POLICIES.includes(s.externalTrafficPolicy)) errs.push(notSupported('spec.externalTrafficPolicy', s.externalTrafficPolicy, TRAFFIC_POLICIES));
  const needsHC = s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
  if (!needsHC) {
    if (s.healthCheckNodePort !== 0) {
      errs.push(invalid('spec.healthCheckNodePort', s.healthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    }
  } else if (s.healthCheckNodePort !== 0) errs.push(...eachInvalid('spec.healthCheckNodePort', s.healthCheckNodePort, checkPortNum(s.healthCheckNodePort)));
  // internal traffic policy
  if (s.internalTrafficPolicy === undefined) {
    if (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP') errs.push(required('spec.internalTrafficPolicy'));
  } else if (!TRAFFIC_POLICIES.includes(s.internalTrafficPolicy)) {
    errs.push(notSupported('spec.internalTrafficPolicy', s.internalTrafficPolicy, TRAFFIC_POLICIES));
  }
  if (s.trafficDistribution !== undefined && s.trafficDistribution !== 'PreferClose') {
    errs.push(notSupported('spec.trafficDistribution', s.trafficDistribution, ['PreferClose']));
  }
  r.push(...errs);
}

function annotationsOf(obj: Obj): Record<string, string> {
  const m = isObj(obj.metadata) && isObj(obj.metadata.annotations) ? obj.metadata.annotations : {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'string') out[k] = v;
  return out;
}

function specCopy(obj: Obj, old?: Obj): Obj {
  const raw = isObj(obj.spec) ? { ...obj.spec } : {};
  normalizeServiceClusterIPs(raw, old && isObj(old.spec) ? old.spec : undefined);
  return raw;
}

function validateServiceBody(r: Reader, obj: Obj, spec: Obj): void {
  const ann = annotationsOf(obj);
  if (TOPOLOGY_MODE in ann && TOPOLOGY_HINTS in ann && ann[TOPOLOGY_MODE] !== ann[TOPOLOGY_HINTS]) {
    r.push(invalid(`metadata.annotations[${TOPOLOGY_MODE}]`, ann[TOPOLOGY_MODE], `must match annotations[${TOPOLOGY_HINTS}] when both are specified`));
  }
  if (obj.spec !== undefined && obj.spec !== null && !isObj(obj.spec)) r.typeError('spec', obj.spec, 'object');
  validateSpec(r, readSpec(r, spec), ann);
}

export function validateService(r: Reader, obj: Obj): void {
  validateObjectMeta(r, obj, true, 'dns1035');
  validateServiceBody(r, obj, specCopy(obj));
}

export function validateServiceUpdate(r: Reader, obj: Obj, old: Obj): void {
  validateObjectMetaUpdate(r, obj, old);
  const spec = specCopy(obj, old);
  const oldSpec = isObj(old.spec) ? old.spec : {};
  const type = strOf(spec.type);
  const oldType = strOf(oldSpec.type);
  const ips = strsOf(spec.clusterIPs);
  const oldIPs = strsOf(oldSpec.clusterIPs);
  const headless = ips.length === 1 && ips[0] === 'None';
  const oldHeadless = oldIPs.length === 1 && oldIPs[0] === 'None';
  const lit = goStringSlice(spec.clusterIPs === undefined ? undefined : ips);
  // validateUpgradeDowngradeClusterIPs
  if (type !== 'ExternalName' && oldType !== 'ExternalName' && !(headless && oldHeadless)) {
    if (oldIPs.length === ips.length) {
      oldIPs.forEach((ip, i) => {
        if (ip !== ips[i]) r.push(invalidLit(`spec.clusterIPs[${i}]`, lit, 'may not change once set'));
      });
    } else if (oldIPs.length > ips.length) {
      if (ips.length === 0) r.push(invalidLit('spec.clusterIPs[0]', lit, 'primary clusterIP can not be unset'));
      if (oldIPs.length > 0 && ips.length > 0 && ips[0] !== oldIPs[0]) r.push(invalidLit('spec.clusterIPs[0]', lit, 'may not change once set'));
      if (ips.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
        r.push(invalid('spec.ipFamilyPolicy', typeof spec.ipFamilyPolicy === 'string' ? spec.ipFamilyPolicy : null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
      }
    } else if (oldIPs.length > 0 && ips[0] !== oldIPs[0]) {
      r.push(invalidLit('spec.clusterIPs[0]', lit, 'may not change once set'));
    }
  }
  // validateUpgradeDowngradeIPFamilies
  const fams = strsOf(spec.ipFamilies);
  const oldFams = strsOf(oldSpec.ipFamilies);
  if (type !== 'ExternalName' && oldType !== 'ExternalName' && headless === oldHeadless && !headless) {
    const famLit = goStringSlice(spec.ipFamilies === undefined ? undefined : fams).replace('[]string', '[]core.IPFamily');
    if (oldFams.length === fams.length) {
      oldFams.forEach((f, i) => {
        if (f !== fams[i]) r.push(invalidLit('spec.ipFamilies[0]', famLit, 'may not change once set'));
      });
    } else if (oldFams.length > fams.length) {
      if (ips.length === 0) r.push(invalidLit('spec.ipFamilies[0]', famLit, 'primary ipFamily can not be unset'));
      if (fams.length > 0 && fams[0] !== oldFams[0]) r.push(invalidLit('spec.ipFamilies[0]', lit, 'may not change once set'));
      if (fams.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
        r.push(invalid('spec.ipFamilyPolicy', typeof spec.ipFamilyPolicy === 'string' ? spec.ipFamilyPolicy : null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
      }
    } else if (oldFams.length > 0 && fams.length > 0 && fams[0] !== oldFams[0]) {
      r.push(invalidLit('spec.ipFamilies[0]', lit, 'may not change once set'));
    }
  }
  // loadBalancerClass may not change while LoadBalancer
  if (type === 'LoadBalancer' && oldType === 'LoadBalancer') {
    const a = typeof spec.loadBalancerClass === 'string' ? spec.loadBalancerClass : undefined;
    const b = typeof oldSpec.loadBalancerClass === 'string' ? oldSpec.loadBalancerClass : undefined;
    if (a !== b) r.push(invalid('spec.loadBalancerClass', a ?? null, 'may not change once set'));
  }
  if (needsHealthCheck(oldSpec) && needsHealthCheck(spec) && (spec.healthCheckNodePort ?? 0) !== (oldSpec.healthCheckNodePort ?? 0)) {
    r.push(forbidden('spec.healthCheckNodePort', 'field is immutable'));
  }
  validateServiceBody(r, obj, spec);
}

/** The Service status (LoadBalancer ingress) as ValidateLoadBalancerStatus checks it. */
export function validateServiceStatus(r: Reader, obj: Obj): void {
  const status = r.obj(obj, 'status', 'status');
  const lb = r.obj(status, 'loadBalancer', 'status.loadBalancer');
  const ingress = r.objList(lb, 'ingress', 'status.loadBalancer.ingress');
  const type = isObj(obj.spec) ? strOf(obj.spec.type) : '';
  if (type !== 'LoadBalancer' && ingress.length !== 0) {
    r.push(forbidden('status.loadBalancer.ingress', "may only be used when `spec.type` is 'LoadBalancer'"));
    return;
  }
  for (const [ing, p] of ingress) {
    const ip = r.str(ing, 'ip', child(p, 'ip')) ?? '';
    const hostname = r.str(ing, 'hostname', child(p, 'hostname')) ?? '';
    const ipMode = r.str(ing, 'ipMode', child(p, 'ipMode'));
    if (ip) r.push(...validateIP(ip, child(p, 'ip')));
    if (ipMode === undefined) {
      if (ip) r.push(required(child(p, 'ipMode'), 'must be specified when `ip` is set'));
    } else if (!ip) r.push(forbidden(child(p, 'ipMode'), 'may not be specified when `ip` is not set'));
    else if (ipMode !== 'VIP' && ipMode !== 'Proxy') r.push(notSupported(child(p, 'ipMode'), ipMode, ['Proxy', 'VIP']));
    if (hostname) {
      r.push(...eachInvalid(child(p, 'hostname'), hostname, checkDNS1123Subdomain(hostname)));
      if (ipFamilyOf(hostname) !== 0) r.push(invalid(child(p, 'hostname'), hostname, 'must be a DNS name, not an IP address'));
    }
  }
}
