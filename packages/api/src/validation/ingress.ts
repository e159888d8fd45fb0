/**
 * Ingress and IngressClass validation (networking.k8s.io/v1), as
 * pkg/apis/networking/validation ValidateIngressCreate / ValidateIngressClass.
 *
 * Model: an Ingress needs rules or a defaultBackend; hosts are DNS-1123
 * subdomains (optionally `*.`-wildcarded, never IPs); every path has a
 * pathType (Exact | Prefix | ImplementationSpecific) and Exact/Prefix paths are
 * absolute without `//`, `/./`, `/../`, `%2f` and not ending in `/..` or `/.`;
 * a backend is exactly one of service (name + port number or name) or
 * resource; TLS hosts and secret names are checked too.
 */
import {
  checkDNS1035Label,
  checkDNS1123Subdomain,
  checkPortName,
  checkPortNum,
  checkWildcardDNS1123Subdomain,
  ipFamilyOf,
  regexError,
} from '../names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { eachInvalid, forbidden, invalid, invalidLit, notSupported, Reader, required, tooLong, type Obj } from './util.js';

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_SUFFIXES = ['/..', '/.'];
const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

function checkPathSegmentName(v: string): string[] {
  if (v === '.' || v === '..') return [`may not be '${v}'`];
  const out: string[] = [];
  for (const bad of ['/', '%']) if (v.includes(bad)) out.push(`may not contain '${bad}'`);
  return out;
}

function validateTypedRef(r: Reader, ref: Obj, path: string): void {
  const apiGroup = r.str(ref, 'apiGroup', `${path}.apiGroup`);
  if (apiGroup !== undefined) r.push(...eachInvalid(`${path}.apiGroup`, apiGroup, checkDNS1123Subdomain(apiGroup)));
  const kind = r.str(ref, 'kind', `${path}.kind`) ?? '';
  if (kind === '') r.push(required(`${path}.kind`, 'kind is required'));
  else r.push(...eachInvalid(`${path}.kind`, kind, checkPathSegmentName(kind)));
  const name = r.str(ref, 'name', `${path}.name`) ?? '';
  if (name === '') r.push(required(`${path}.name`, 'name is required'));
  else r.push(...eachInvalid(`${path}.name`, name, checkPathSegmentName(name)));
}

function validateBackend(r: Reader, b: Obj, path: string): void {
  const resource = r.obj(b, 'resource', `${path}.resource`);
  const service = r.obj(b, 'service', `${path}.service`);
  if (resource && service) return r.push(invalid(path, '', 'cannot set both resource and service backends'));
  if (resource) return validateTypedRef(r, resource, `${path}.resource`);
  if (!service) return r.push(invalid(path, '', 'resource or service backend is required'));
  const name = r.str(service, 'name', `${path}.service.name`) ?? '';
  if (name === '') r.push(required(`${path}.service.name`));
  else r.push(...eachInvalid(`${path}.service.name`, name, checkDNS1035Label(name)));
  const port = r.obj(service, 'port', `${path}.service.port`) ?? {};
  const pname = r.str(port, 'name', `${path}.service.port.name`) ?? '';
  const pnum = r.int(port, 'number', `${path}.service.port.number`) ?? 0;
  if (pname !== '' && pnum !== 0) r.push(invalid(path, '', 'cannot set both port name & port number'));
  else if (pname !== '') r.push(...eachInvalid(`${path}.service.port.name`, pname, checkPortName(pname)));
  else if (pnum !== 0) r.push(...eachInvalid(`${path}.service.port.number`, pnum, checkPortNum(pnum)));
  else r.push(required(path, 'port name or number is required'));
}

function validateHost(r: Reader, host: string, path: string): boolean {
  if (ipFamilyOf(host) !== 0) r.push(invalid(path, host, 'must be a DNS name, not an IP address'));
  if (host.includes('*')) {
    r.push(...eachInvalid(path, host, checkWildcardDNS1123Subdomain(host)));
    return true;
  }
  r.push(...eachInvalid(path, host, checkDNS1123Subdomain(host)));
  return false;
}

function validateHTTPPath(r: Reader, p: Obj, path: string): void {
  const pathType = r.str(p, 'pathType', `${path}.pathType`);
  if (pathType === undefined) return r.push(required(`${path}.pathType`, 'pathType must be specified'));
  const value = r.str(p, 'path', `${path}.path`) ?? '';
  if (pathType === 'Exact' || pathType === 'Prefix') {
    if (!value.startsWith('/')) r.push(invalid(`${path}.path`, value, 'must be an absolute path'));
    if (value.length > 0) {
      for (const seq of INVALID_SEQUENCES) if (value.includes(seq)) r.push(invalid(`${path}.path`, value, `must not contain '${seq}'`));
      for (const suf of INVALID_SUFFIXES) if (value.endsWith(suf)) r.push(invalid(`${path}.path`, value, `cannot end with '${suf}'`));
    }
  } else if (pathType === 'ImplementationSpecific') {
    if (value.length > 0 && !value.startsWith('/')) r.push(invalid(`${path}.path`, value, 'must be an absolute path'));
  } else {
    r.push(notSupported(`${path}.pathType`, pathType, PATH_TYPES));
  }
  validateBackend(r, r.obj(p, 'backend', `${path}.backend`) ?? {}, `${path}.backend`);
}

function validateSpec(r: Reader, spec: Obj): void {
  const rulesRaw = r.arr(spec, 'rules', 'spec.rules');
  const rules = r.objList(spec, 'rules', 'spec.rules');
  const def = r.obj(spec, 'defaultBackend', 'spec.defaultBackend');
  if (rules.length === 0 && !def) {
    r.push(invalidLit('spec', rulesRaw ? '[]networking.IngressRule{}' : '[]networking.IngressRule(nil)', 'either `defaultBackend` or `rules` must be specified'));
  }
  if (def) validateBackend(r, def, 'spec.defaultBackend');
  for (const [rule, p] of rules) {
    const host = r.str(rule, 'host', `${p}.host`) ?? '';
    if (host.length > 0) validateHost(r, host, `${p}.host`);
    const http = r.obj(rule, 'http', `${p}.http`);
    if (!http) continue;
    const paths = r.objList(http, 'paths', `${p}.http.paths`);
    if (paths.length === 0) r.push(required(`${p}.http.paths`));
    for (const [hp, pp] of paths) validateHTTPPath(r, hp, pp);
  }
  for (const [tls, p] of r.objList(spec, 'tls', 'spec.tls')) {
    const hosts = r.strList(tls, 'hosts', `${p}.hosts`) ?? [];
    hosts.forEach((h, i) => {
      const hp = `${p}.hosts[${i}]`;
      if (h.includes('*')) r.push(...eachInvalid(hp, h, checkWildcardDNS1123Subdomain(h)));
      else r.push(...eachInvalid(hp, h, checkDNS1123Subdomain(h)));
    });
    const secretName = r.str(tls, 'secretName', `${p}.secretName`) ?? '';
    if (secretName !== '') r.push(...eachInvalid(`${p}.secretName`, secretName, checkDNS1123Subdomain(secretName)));
  }
  const cls = r.str(spec, 'ingressClassName', 'spec.ingressClassName');
  if (cls !== undefined) r.push(...eachInvalid('spec.ingressClassName', cls, checkDNS1123Subdomain(cls)));
}

export function validateIngress(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  validateSpec(r, spec);
  if (!old) {
    const meta = obj.metadata as Obj | undefined;
    const ann = meta && typeof meta === 'object' && meta.annotations && typeof meta.annotations === 'object' ? (meta.annotations as Obj) : {};
    const a = ann[CLASS_ANNOTATION];
    if (typeof a === 'string' && typeof spec.ingressClassName === 'string' && a !== spec.ingressClassName) {
      r.push(invalid(`annotations.${CLASS_ANNOTATION}`, a, 'must match `ingressClassName` when both are specified'));
    }
  }
}

const HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const HTTP_PATH_RE = new RegExp(`^${HTTP_PATH_FMT}$`);

/** IsDomainPrefixedPath. */
function validateDomainPrefixedPath(r: Reader, v: string, path: string): void {
  if (v === '') return r.push(required(path));
  const slash = v.indexOf('/');
  const host = slash < 0 ? v : v.slice(0, slash);
  const rest = slash < 0 ? '' : v.slice(slash + 1);
  if (slash < 0 || host === '' || rest === '') return r.push(invalid(path, v, 'must be a domain-prefixed path (such as "acme.io/foo")'));
  r.push(...eachInvalid(path, host, checkDNS1123Subdomain(host)));
  if (!HTTP_PATH_RE.test(rest)) r.push(invalid(path, rest, regexError('Invalid path', HTTP_PATH_FMT)));
}

export function validateIngressClass(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, false, 'subdomain');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  const controller = r.str(spec, 'controller', 'spec.controller') ?? '';
  if (controller.length > 250) r.push(tooLong('spec.controller', 250));
  validateDomainPrefixedPath(r, controller, 'spec.controller');
  const params = r.obj(spec, 'parameters', 'spec.parameters');
  if (params) {
    const p = 'spec.parameters';
    const kind = r.str(params, 'kind', `${p}.kind`) ?? '';
    const name = r.str(params, 'name', `${p}.name`) ?? '';
    const scope = r.str(params, 'scope', `${p}.scope`);
    const ns = r.str(params, 'namespace', `${p}.namespace`);
    r.str(params, 'apiGroup', `${p}.apiGroup`);
    if (kind === '') r.push(required(`${p}.kind`, 'kind is required'));
    if (name === '') r.push(required(`${p}.name`, 'name is required'));
    if (scope === 'Namespace' && ns === undefined) r.push(required(`${p}.namespace`, '`parameters.scope` is set to "Namespace"'));
    if (scope === 'Cluster' && ns !== undefined) r.push(forbidden(`${p}.namespace`, '`parameters.scope` is set to "Cluster"'));
    if (scope !== undefined && scope !== 'Cluster' && scope !== 'Namespace') r.push(notSupported(`${p}.scope`, scope, ['Cluster', 'Namespace']));
  }
  if (old) {
    const oldSpec = old.spec && typeof old.spec === 'object' ? (old.spec as Obj) : {};
    if (controller !== oldSpec.controller) r.push(invalid('spec.controller', controller, 'field is immutable'));
  }
}
