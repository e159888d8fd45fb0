/**
 * Node validation, as ValidateNode / ValidateNodeUpdate.
 *
 * Model: a cluster-scoped object named by a DNS-1123 subdomain; taints have a
 * qualified-name key, a label-value value, an effect from the enum and are
 * unique by (key, effect) — reported under `metadata.taints`, the path
 * Kubernetes itself uses; podCIDRs are CIDRs, at most one per family, and may
 * only go from unset to set; status addresses are unique.
 */
import { checkLabelValue, checkQualifiedName, ipFamilyOf, scalarString } from '../names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { validateCIDR } from './service.js';
import { duplicateLit, eachInvalid, forbidden, goStringSlice, invalid, invalidLit, isObj, notSupported, Reader, required, type Obj } from './util.js';

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function validateTaints(r: Reader, spec: Obj): void {
  const seen = new Map<string, Set<string>>();
  for (const [t, p] of r.objList(spec, 'taints', 'spec.taints')) {
    const path = p.replace(/^spec\.taints/, 'metadata.taints');
    const k = r.str(t, 'key', `${p}.key`) ?? '';
    const v = r.str(t, 'value', `${p}.value`) ?? '';
    const eff = r.str(t, 'effect', `${p}.effect`) ?? '';
    r.str(t, 'timeAdded', `${p}.timeAdded`);
    r.push(...eachInvalid(`${path}.key`, k, checkQualifiedName(k)));
    const vm = checkLabelValue(v);
    if (vm.length) r.push(invalid(`${path}.value`, v, vm.join(';')));
    if (eff === '') r.push(required(`${path}.effect`));
    else if (!EFFECTS.includes(eff)) r.push(notSupported(`${path}.effect`, eff, EFFECTS));
    const keys = seen.get(eff) ?? new Set<string>();
    if (keys.has(k)) {
      const lit = `core.Taint{Key:${JSON.stringify(k)}, Value:${JSON.stringify(v)}, Effect:${JSON.stringify(eff)}, TimeAdded:(*v1.Time)(nil)}`;
      r.push(duplicateLit(path, `${lit}: taints must be unique by key and effect pair`));
      continue;
    }
    keys.add(k);
    seen.set(eff, keys);
  }
}

function validatePodCIDRs(r: Reader, spec: Obj): string[] {
  r.str(spec, 'podCIDR', 'spec.podCIDR');
  const cidrs = r.strList(spec, 'podCIDRs', 'spec.podCIDRs') ?? [];
  cidrs.forEach((c, i) => r.push(...validateCIDR(c, `spec.podCIDRs[${i}]`)));
  if (cidrs.length > 1) {
    const fams = cidrs.map((c) => ipFamilyOf(c.split('/')[0] ?? ''));
    const dual = cidrs.length === 2 && fams[0] !== 0 && fams[1] !== 0 && fams[0] !== fams[1];
    if (!dual) r.push(invalidLit('spec.podCIDRs', goStringSlice(cidrs), 'may specify no more than one CIDR for each IP family'));
  }
  return cidrs;
}

function validateStatus(r: Reader, obj: Obj, update: boolean): void {
  const status = r.obj(obj, 'status', 'status');
  if (!status) return;
  const seen = new Set<string>();
  for (const [a, p] of r.objList(status, 'addresses', 'status.addresses')) {
    const type = r.str(a, 'type', `${p}.type`) ?? '';
    const address = r.str(a, 'address', `${p}.address`) ?? '';
    const k = `${type}\u0000${address}`;
    if (update && seen.has(k)) r.push(duplicateLit(p, `core.NodeAddress{Type:${JSON.stringify(type)}, Address:${JSON.stringify(address)}}`));
    seen.add(k);
  }
  r.obj(status, 'capacity', 'status.capacity');
  r.obj(status, 'allocatable', 'status.allocatable');
  r.objList(status, 'conditions', 'status.conditions');
}

export function validateNode(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, false, 'subdomain');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  validateTaints(r, spec);
  const cidrs = validatePodCIDRs(r, spec);
  r.bool(spec, 'unschedulable', 'spec.unschedulable');
  const providerID = r.str(spec, 'providerID', 'spec.providerID') ?? '';
  validateStatus(r, obj, !!old);
  if (old) {
    const oldSpec = isObj(old.spec) ? old.spec : {};
    const oldCIDRs = Array.isArray(oldSpec.podCIDRs) ? oldSpec.podCIDRs.map(scalarString) : [];
    const msg = 'node updates may not change podCIDR except from "" to valid';
    if (oldCIDRs.length > 0) {
      if (oldCIDRs.length !== cidrs.length) r.push(forbidden('spec.podCIDRs', msg));
      else oldCIDRs.forEach((c, i) => c !== cidrs[i] && r.push(forbidden('spec.podCIDRs', msg)));
    }
    const oldPID = typeof oldSpec.providerID === 'string' ? oldSpec.providerID : '';
    if (oldPID !== '' && oldPID !== providerID) r.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
}
