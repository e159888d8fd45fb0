/**
 * ObjectMeta validation, as apimachinery's ValidateObjectMetaAccessor and
 * ValidateObjectMetaUpdate.
 *
 * Model: each kind picks a name rule (DNS-1123 subdomain for most, DNS-1035
 * label for Services, DNS-1123 label for Namespaces) and whether it is
 * namespaced. The caller is expected to have copied the request's namespace
 * into `metadata.namespace` and to have turned `generateName` into `name`
 * (as Kubernetes' registry does before validating); a lone `generateName` is
 * accepted here and only its prefix is checked.
 */
import type { FieldError } from '../errors.js';
import { validateLabels } from '../labels.js';
import { checkDNS1035Label, checkDNS1123Label, checkDNS1123Subdomain, checkQualifiedName, scalarString } from '../names.js';
import {
  FIELD_IMMUTABLE,
  child,
  forbidden,
  goStringSlice,
  invalid,
  invalidLit,
  isObj,
  nonNegative,
  Reader,
  required,
  tooLong,
  type Obj,
} from './util.js';

export type NameRule = 'subdomain' | 'dns1035' | 'label';

/** apimachinery maskTrailingDash: generateName prefixes may end in '-'. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

export function checkName(rule: NameRule, name: string, prefix = false): string[] {
  const n = prefix ? maskTrailingDash(name) : name;
  switch (rule) {
    case 'dns1035':
      return checkDNS1035Label(n);
    case 'label':
      return checkDNS1123Label(n);
    default:
      return checkDNS1123Subdomain(n);
  }
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateAnnotations(r: Reader, meta: Obj | undefined, path: string): Record<string, string> | undefined {
  const ann = r.strMap(meta, 'annotations', path);
  if (!ann) return undefined;
  let size = 0;
  for (const [k, v] of Object.entries(ann)) {
    for (const m of checkQualifiedName(k.toLowerCase())) r.push(invalid(path, k, m));
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) r.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return ann;
}

function validateOwnerReferences(r: Reader, meta: Obj | undefined, path: string): void {
  let controller = '';
  for (const [ref, p] of r.objList(meta, 'ownerReferences', path)) {
    const apiVersion = r.str(ref, 'apiVersion', `${p}.apiVersion`) ?? '';
    const kind = r.str(ref, 'kind', `${p}.kind`) ?? '';
    const name = r.str(ref, 'name', `${p}.name`) ?? '';
    const uid = r.str(ref, 'uid', `${p}.uid`) ?? '';
    const isController = r.bool(ref, 'controller', `${p}.controller`);
    r.bool(ref, 'blockOwnerDeletion', `${p}.blockOwnerDeletion`);
    // Kubernetes reports these at the list path, without the index.
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (version === '') r.push(invalid(child(path, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (kind === '') r.push(invalid(child(path, 'kind'), kind, 'must not be empty'));
    if (name === '') r.push(invalid(child(path, 'name'), name, 'must not be empty'));
    if (uid === '') r.push(invalid(child(path, 'uid'), uid, 'must not be empty'));
    if (apiVersion === 'v1' && kind === 'Event') r.push(invalidLit(path, 'v1.OwnerReference{...}', '/v1, Kind=Event is disallowed from being an owner'));
    if (isController) {
      const cur = `${kind}/${name}`;
      if (controller) {
        r.push(invalidLit(path, '[]v1.OwnerReference{...}', `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${cur}`));
      } else controller = cur;
    }
  }
}

function validateFinalizers(r: Reader, meta: Obj | undefined, path: string): string[] {
  const fins = r.strList(meta, 'finalizers', path) ?? [];
  for (const f of fins) for (const m of checkQualifiedName(f)) r.push(invalid(path, f, m));
  if (fins.includes('orphan') && fins.includes('foregroundDeletion')) {
    r.push(invalidLit(path, goStringSlice(fins), 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return fins;
}

/** The shared checks on labels, annotations, owner references and finalizers. */
function validateCommon(r: Reader, meta: Obj | undefined, path: string): void {
  const labels = r.strMap(meta, 'labels', child(path, 'labels'));
  if (labels) r.push(...validateLabels(labels, child(path, 'labels')));
  validateAnnotations(r, meta, child(path, 'annotations'));
  validateOwnerReferences(r, meta, child(path, 'ownerReferences'));
  validateFinalizers(r, meta, child(path, 'finalizers'));
}

/** Reads `obj.metadata`, reporting a type error when it is not an object. */
export function readMeta(r: Reader, obj: Obj): Obj {
  return r.obj(obj, 'metadata', 'metadata') ?? {};
}

/** ValidateObjectMeta for a create. */
export function validateObjectMeta(r: Reader, obj: Obj, namespaced: boolean, rule: NameRule, path = 'metadata'): void {
  const meta = readMeta(r, obj);
  const name = r.str(meta, 'name', child(path, 'name')) ?? '';
  const generateName = r.str(meta, 'generateName', child(path, 'generateName')) ?? '';
  const namespace = r.str(meta, 'namespace', child(path, 'namespace')) ?? '';
  if (generateName) for (const m of checkName(rule, generateName, true)) r.push(invalid(child(path, 'generateName'), generateName, m));
  if (name === '') {
    if (!generateName) r.push(required(child(path, 'name'), 'name or generateName is required'));
  } else {
    for (const m of checkName(rule, name)) r.push(invalid(child(path, 'name'), name, m));
  }
  if (namespaced) {
    if (namespace === '') r.push(required(child(path, 'namespace')));
    else for (const m of checkDNS1123Label(namespace)) r.push(invalid(child(path, 'namespace'), namespace, m));
  } else if (namespace !== '') {
    r.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  const gen = r.int(meta, 'generation', child(path, 'generation'), true) ?? 0;
  r.push(...nonNegative(gen, child(path, 'generation')));
  validateCommon(r, meta, path);
}

/** ValidateObjectMetaUpdate (fields the registry resets — creationTimestamp, generation, an empty uid — are not compared). */
export function validateObjectMetaUpdate(r: Reader, obj: Obj, old: Obj, path = 'metadata'): void {
  const meta = readMeta(r, obj);
  const oldMeta = isObj(old.metadata) ? old.metadata : {};
  const str = (m: Obj, k: string): string => (typeof m[k] === 'string' ? (m[k] as string) : '');
  for (const f of ['name', 'namespace'] as const) {
    const v = r.str(meta, f, child(path, f)) ?? '';
    if (v !== str(oldMeta, f)) r.push(invalid(child(path, f), v, FIELD_IMMUTABLE));
  }
  const uid = r.str(meta, 'uid', child(path, 'uid')) ?? '';
  if (uid !== '' && uid !== str(oldMeta, 'uid')) r.push(invalid(child(path, 'uid'), uid, FIELD_IMMUTABLE));
  if (str(oldMeta, 'deletionTimestamp') !== '') {
    const oldFins = new Set(Array.isArray(oldMeta.finalizers) ? oldMeta.finalizers.map(scalarString) : []);
    const fins = Array.isArray(meta.finalizers) ? meta.finalizers.filter((f): f is string => typeof f === 'string') : [];
    const extra = [...new Set(fins.filter((f) => !oldFins.has(f)))].sort();
    if (extra.length) {
      r.push(forbidden(child(path, 'finalizers'), `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra)}`));
    }
  }
  validateCommon(r, meta, path);
}
