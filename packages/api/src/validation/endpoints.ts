/**
 * Endpoints (core/v1) and EndpointSlice (discovery.k8s.io/v1) validation, as
 * ValidateEndpoints and discovery's ValidateEndpointSlice.
 *
 * Model: addresses must be valid, non-special IPs (IPv4/IPv6 per the slice's
 * addressType, FQDNs for FQDN slices); ports are named DNS-1123 labels (names
 * required when an Endpoints subset has several ports), with a protocol from
 * the enum. Slice limits (1000 endpoints, 100 addresses, 20000 ports) apply.
 */
import { checkDNS1123Label, checkDNS1123Subdomain, checkPortNum, checkQualifiedName, ipFamilyOf } from '../names.js';
import { validateLabels } from '../labels.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { PROTOCOLS, validateIP, validateNonSpecialIP } from './service.js';
import { duplicate, eachInvalid, invalid, notSupported, Reader, required, tooMany, type Obj } from './util.js';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

function validateProtocol(r: Reader, proto: string | undefined, path: string): void {
  if (proto === undefined || proto === '') r.push(required(path));
  else if (!(PROTOCOLS as readonly string[]).includes(proto)) r.push(notSupported(path, proto, PROTOCOLS));
}

function validateAddress(r: Reader, a: Obj, path: string): void {
  const ip = r.str(a, 'ip', `${path}.ip`) ?? '';
  r.push(...validateIP(ip, `${path}.ip`));
  const hostname = r.str(a, 'hostname', `${path}.hostname`) ?? '';
  if (hostname !== '') r.push(...eachInvalid(`${path}.hostname`, hostname, checkDNS1123Label(hostname)));
  const nodeName = r.str(a, 'nodeName', `${path}.nodeName`);
  if (nodeName !== undefined) r.push(...eachInvalid(`${path}.nodeName`, nodeName, checkDNS1123Subdomain(nodeName)));
  r.obj(a, 'targetRef', `${path}.targetRef`);
  r.push(...validateNonSpecialIP(ip, `${path}.ip`));
}

function validateEndpointsBody(r: Reader, obj: Obj): void {
  for (const [ss, p] of r.objList(obj, 'subsets', 'subsets')) {
    const addrs = r.objList(ss, 'addresses', `${p}.addresses`);
    const notReady = r.objList(ss, 'notReadyAddresses', `${p}.notReadyAddresses`);
    if (addrs.length === 0 && notReady.length === 0) r.push(required(p, 'must specify `addresses` or `notReadyAddresses`'));
    for (const [a, ap] of addrs) validateAddress(r, a, ap);
    for (const [a, ap] of notReady) validateAddress(r, a, ap);
    const ports = r.objList(ss, 'ports', `${p}.ports`);
    for (const [port, pp] of ports) {
      const name = r.str(port, 'name', `${pp}.name`) ?? '';
      if (ports.length > 1 && name === '') r.push(required(`${pp}.name`));
      else if (name !== '') r.push(...eachInvalid(`${pp}.name`, name, checkDNS1123Label(name)));
      const num = r.int(port, 'port', `${pp}.port`) ?? 0;
      r.push(...eachInvalid(`${pp}.port`, num, checkPortNum(num)));
      validateProtocol(r, r.str(port, 'protocol', `${pp}.protocol`), `${pp}.protocol`);
      const ap = r.str(port, 'appProtocol', `${pp}.appProtocol`);
      if (ap !== undefined) r.push(...eachInvalid(`${pp}.appProtocol`, ap, checkQualifiedName(ap)));
    }
  }
}

export function validateEndpoints(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  validateEndpointsBody(r, obj);
}

/** IsFullyQualifiedDomainName. */
function validateFQDN(name: string, path: string): ReturnType<typeof required>[] {
  if (name === '') return [required(path)];
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  const sub = checkDNS1123Subdomain(n);
  if (sub.length) return [invalid(path, n, sub.join(','))];
  const parts = n.split('.');
  if (parts.length < 2) return [invalid(path, n, 'should be a domain with at least two segments separated by dots')];
  for (const l of parts) {
    const e = checkDNS1123Label(l);
    if (e.length) return [invalid(path, l, e.join(','))];
  }
  return [];
}

function validateSliceBody(r: Reader, obj: Obj): void {
  const addressType = r.str(obj, 'addressType', 'addressType') ?? '';
  if (addressType === '') r.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(addressType)) r.push(notSupported('addressType', addressType, ADDRESS_TYPES));
  const eps = r.objList(obj, 'endpoints', 'endpoints');
  if (eps.length > 1000) r.push(tooMany('endpoints', eps.length, 1000));
  else {
    for (const [ep, p] of eps) {
      const ap = `${p}.addresses`;
      const addrs = r.strList(ep, 'addresses', ap) ?? [];
      if (addrs.length === 0) r.push(required(ap, 'must contain at least 1 address'));
      else if (addrs.length > 100) r.push(tooMany(ap, addrs.length, 100));
      addrs.forEach((a, i) => {
        const ip = `${ap}[${i}]`;
        if (addressType === 'IPv4') {
          if (ipFamilyOf(a) !== 4) r.push(invalid(ip, a, 'must be a valid IPv4 address'));
          else r.push(...validateNonSpecialIP(a, ip));
        } else if (addressType === 'IPv6') {
          if (ipFamilyOf(a) !== 6) r.push(invalid(ip, a, 'must be a valid IPv6 address'));
          else r.push(...validateNonSpecialIP(a, ip));
        } else if (addressType === 'FQDN') r.push(...validateFQDN(a, ip));
      });
      const cond = r.obj(ep, 'conditions', `${p}.conditions`);
      for (const c of ['ready', 'serving', 'terminating']) r.bool(cond, c, `${p}.conditions.${c}`);
      const nodeName = r.str(ep, 'nodeName', `${p}.nodeName`);
      if (nodeName !== undefined) r.push(...eachInvalid(`${p}.nodeName`, nodeName, checkDNS1123Subdomain(nodeName)));
      const topo = r.strMap(ep, 'deprecatedTopology', `${p}.deprecatedTopology`);
      if (topo) {
        if (Object.keys(topo).length > 16) r.push(tooMany(`${p}.deprecatedTopology`, Object.keys(topo).length, 16));
        r.push(...validateLabels(topo, `${p}.deprecatedTopology`));
      }
      for (const f of ['zone', 'hostname']) {
        const v = r.str(ep, f, `${p}.${f}`);
        if (v !== undefined) r.push(...eachInvalid(`${p}.${f}`, v, checkDNS1123Label(v)));
      }
      r.obj(ep, 'targetRef', `${p}.targetRef`);
      r.obj(ep, 'hints', `${p}.hints`);
    }
  }
  const ports = r.objList(obj, 'ports', 'ports');
  if (ports.length > 20000) r.push(tooMany('ports', ports.length, 20000));
  else {
    const names = new Set<string>();
    for (const [port, p] of ports) {
      const name = r.str(port, 'name', `${p}.name`) ?? '';
      if (name !== '') r.push(...eachInvalid(`${p}.name`, name, checkDNS1123Label(name)));
      if (names.has(name)) r.push(duplicate(`${p}.name`, name));
      else names.add(name);
      r.int(port, 'port', `${p}.port`);
      validateProtocol(r, r.str(port, 'protocol', `${p}.protocol`), `${p}.protocol`);
      const ap = r.str(port, 'appProtocol', `${p}.appProtocol`);
      if (ap !== undefined) r.push(...eachInvalid(`${p}.appProtocol`, ap, checkQualifiedName(ap)));
    }
  }
}

export function validateEndpointSlice(r: Reader, obj: Obj, old?: Obj): void {
  if (old) {
    validateObjectMetaUpdate(r, obj, old);
    const a = obj.addressType;
    if (a !== old.addressType) r.push(invalid('addressType', typeof a === 'string' ? a : null, 'field is immutable'));
  } else validateObjectMeta(r, obj, true, 'subdomain');
  validateSliceBody(r, obj);
}
