/**
 * Server-side apply: PATCH with `Content-Type: application/apply-patch+yaml`
 * (k8s.io/apiserver handlers/patch.go applyPatcher + the field manager).
 *
 *  - ?fieldManager is required (422 PatchOptions); ?force=true takes
 *    conflicting fields; ?dryRun=All writes nothing.
 *  - The body is a YAML (or JSON) object of the endpoint's apiVersion, without
 *    metadata.managedFields; it must fit the kind (unknown fields and list
 *    items without their keys are refused with the field's path).
 *  - A missing object is created (201); an apply that changes nothing, not
 *    even ownership, writes nothing (no new resourceVersion, no watch event).
 *  - Conflicts are a 409 whose causes name each manager and field.
 *  - For the manager `kubectl`: conflicts with fields client-side apply set
 *    (the last-applied-configuration annotation, where the object still has
 *    those values) are taken without --force-conflicts, and that annotation,
 *    when present, follows the applied configuration (lastAppliedManager,
 *    lastAppliedUpdater).
 */
import { ApiError, errors, groupVersion, metaTime, type KubeObject, type ResourceInfo } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import { APPLY_PATCH } from '../patch/index.js';
import { decodeBody } from './body.js';
import { type FieldValidation, unknownFields } from './field-validation.js';
import {
  ApplyConflicts,
  applyConfig,
  buildLastApplied,
  decodeManagedFields,
  encodeManagedFields,
  isPrintable,
  LAST_APPLIED,
  lastAppliedFields,
  type Managers,
  printManager,
  type Scope,
} from '../managedfields/managers.js';
import { pathString } from '../managedfields/fieldpath.js';
import { dropNulls, isObject, TypedError } from '../managedfields/typed.js';

export interface ApplyRequest {
  resource: ResourceInfo;
  namespace?: string;
  name: string;
  subresource?: string;
  body: Buffer;
  fieldManager: string;
  force: boolean;
  dryRun: boolean;
  directive: FieldValidation;
  now: () => Date;
  warn: (texts: string[]) => void;
}

const MAX_ATTEMPTS = 5;

export function serverSideApply(reg: Registry, q: ApplyRequest): { code: number; object: KubeObject } {
  const r = q.resource;
  const apiVersion = groupVersion(r);
  if (q.subresource && q.subresource !== 'status') {
    throw new ApiError(415, 'UnsupportedMediaType', `server-side apply is not supported on the ${q.subresource} subresource`);
  }
  if (!q.fieldManager) {
    throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
    });
  }
  validateFieldManager('PatchOptions', q.fieldManager);
  const config = decodeBody(q.body, APPLY_PATCH);
  if (!isObject(config)) {
    throw errors.badRequest(`error decoding YAML: json: cannot unmarshal ${Array.isArray(config) ? 'array' : typeof config} into Go value of type map[string]interface {}`);
  }
  const meta = config.metadata;
  if (meta !== undefined && meta !== null && !isObject(meta)) throw errors.badRequest('json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta');
  const m = (meta ?? {}) as Record<string, unknown>;
  if (m.managedFields !== undefined && m.managedFields !== null) throw errors.badRequest('metadata.managedFields must be nil');
  if (config.apiVersion !== apiVersion) {
    throw errors.badRequest(`Incorrect version specified in apply patch. Specified patch version: ${typeof config.apiVersion === 'string' ? config.apiVersion : ''}, expected: ${apiVersion}`);
  }
  if (config.kind !== r.kind) {
    throw errors.badRequest(`the API version in the data (${String(config.apiVersion)}) does not match the expected API version (${apiVersion}) or kind (${String(config.kind)} vs ${r.kind})`);
  }
  if (m.name !== undefined && m.name !== q.name) throw errors.badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${q.name})`);
  const namespace = r.namespaced ? q.namespace ?? 'default' : undefined;
  if (r.namespaced && m.namespace !== undefined && m.namespace !== '' && m.namespace !== namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const typedError = (detail: string) =>
    errors.badRequest(`failed to create typed patch object (${namespace ?? ''}/${q.name}; ${r.group ? apiVersion : `/${apiVersion}`}, Kind=${r.kind}): ${detail}`);
  const unknown = unknownFields(config, r.kind, apiVersion);
  if (unknown.length) throw typedError(`.${unknown[0]}: field not declared in schema`);

  const scope: Scope = q.subresource === 'status' ? 'status' : r.subresources.includes('status') ? 'main-without-status' : 'main';
  for (let attempt = 0; ; attempt++) {
    const current = reg.get(r, namespace, q.name);
    if (!current && q.subresource) throw errors.notFound({ group: r.group, resource: r.plural, name: q.name });
    // A resourceVersion in the configuration is a precondition, as for any write.
    if (current && typeof m.resourceVersion === 'string' && m.resourceVersion !== '' && m.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict({ group: r.group, resource: r.plural, name: q.name }, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const live: Record<string, unknown> = current ? structuredClone(current) : { apiVersion, kind: r.kind, metadata: { name: q.name, ...(namespace ? { namespace } : {}) } };
    let liveManagers: Managers;
    try {
      liveManagers = decodeManagedFields((current?.metadata as { managedFields?: unknown } | undefined)?.managedFields);
    } catch {
      liveManagers = new Map();
    }
    const ctx = { kind: r.kind, apiVersion, scope, subresource: q.subresource === 'status' ? 'status' : undefined, now: metaTime(q.now()) };
    let result;
    try {
      result = applyConfig(live, liveManagers, config, q.fieldManager, {
        ...ctx,
        force: q.force,
        allowedConflicts: q.fieldManager === 'kubectl' ? (l) => lastAppliedFields(l, ctx) : undefined,
      });
    } catch (e) {
      if (e instanceof ApplyConflicts) throw conflictError(e);
      if (e instanceof TypedError) throw typedError(e.message);
      throw e;
    }
    const obj = dropNulls(structuredClone(result.object)) as KubeObject;
    obj.metadata ??= {};
    const list = encodeManagedFields(result.managers);
    if (list.length) obj.metadata.managedFields = list;
    else delete obj.metadata.managedFields;
    // lastAppliedUpdater: kubectl's server-side apply keeps client-side apply's annotation in step.
    let annotationChanged = false;
    const annotations = obj.metadata.annotations as Record<string, string> | undefined;
    if (current && scope !== 'status' && q.fieldManager === 'kubectl' && annotations?.[LAST_APPLIED]) {
      const next = buildLastApplied(config);
      if (annotations[LAST_APPLIED] !== next) {
        obj.metadata.annotations = { ...annotations, [LAST_APPLIED]: next };
        annotationChanged = true;
      }
    }
    if (current && result.noop && !annotationChanged) return { code: 200, object: current };
    try {
      if (!current) {
        obj.metadata.name = q.name;
        if (namespace) obj.metadata.namespace = namespace;
        return { code: 201, object: reg.create(r, obj, { dryRun: q.dryRun, applied: true }) };
      }
      obj.metadata.resourceVersion = current.metadata.resourceVersion;
      const opts = { dryRun: q.dryRun, applied: true };
      return { code: 200, object: scope === 'status' ? reg.updateStatus(r, obj, opts) : reg.update(r, obj, opts) };
    } catch (e) {
      const reason = (e as { reason?: string }).reason;
      if (attempt < MAX_ATTEMPTS && (reason === 'Conflict' || (reason === 'AlreadyExists' && !current) || (reason === 'NotFound' && current))) continue;
      throw e;
    }
  }
}

/** The 409 kube-apiserver answers an apply with conflicts: one FieldManagerConflict cause per field. */
function conflictError(e: ApplyConflicts): ApiError {
  return new ApiError(409, 'Conflict', e.message, {
    causes: e.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) })),
  });
}

function optionsInvalid(options: string, field: string, reason: string, text: string): ApiError {
  return new ApiError(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: ${field}: ${text}`, {
    group: 'meta.k8s.io',
    kind: options,
    causes: [{ reason, message: text, field }],
  });
}

/** ValidateFieldManager: at most 128 bytes, printable characters only. */
export function validateFieldManager(options: string, manager: string): void {
  if (Buffer.byteLength(manager) > 128) throw optionsInvalid(options, 'fieldManager', 'FieldValueTooLong', 'Too long: may not be more than 128 bytes');
  if ([...manager].some((c) => !isPrintable(c))) throw optionsInvalid(options, 'fieldManager', 'FieldValueInvalid', `Invalid value: ${JSON.stringify(manager)}: must only contain printable characters`);
}

/** ValidatePatchOptions: force only with apply. */
export function forbidForce(): ApiError {
  return optionsInvalid('PatchOptions', 'force', 'FieldValueForbidden', 'Forbidden: may not be specified for non-apply patch');
}
