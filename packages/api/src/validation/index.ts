/**
 * Object validation entry points: `validateObject(obj, old?)` dispatches on
 * `kind` to the per-kind validators (create rules, or update rules when `old`
 * is given) and returns Kubernetes-worded FieldErrors, in Kubernetes' order.
 *
 * Model: validation runs on the object as kube-apiserver would validate it —
 * after defaulting (`applyDefaults`), after the registry has set
 * `metadata.namespace` from the URL and generated a name from `generateName`,
 * and for Services after allocation. It never throws: wrong JSON types become
 * FieldValueTypeInvalid errors, and an unexpected bug becomes an InternalError
 * rather than an exception. Kinds kubemu does not serve get ObjectMeta checks only.
 */
import type { FieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateEndpoints, validateEndpointSlice } from './endpoints.js';
import { validateIngress, validateIngressClass } from './ingress.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { validateConfigMap, validateEvent, validateNamespace, validateSecret, validateServiceAccount } from './misc.js';
import { validateTokenRequest } from './token-request.js';
import { validateNode } from './node.js';
import { validatePod, validatePodEphemeralContainersUpdate, validatePodUpdate } from './pod.js';
import { validateService, validateServiceUpdate } from './service.js';
import { internal, isObj, Reader, type Obj } from './util.js';
import { validateDeployment, validateReplicaSet, validateReplicationController } from './workloads.js';

type Validator = (r: Reader, obj: Obj, old?: Obj) => void;

const BY_KIND: Record<string, Validator> = {
  Service: (r, o, old) => (old ? validateServiceUpdate(r, o, old) : validateService(r, o)),
  Pod: (r, o, old) => (old ? validatePodUpdate(r, o, old) : validatePod(r, o)),
  Endpoints: validateEndpoints,
  EndpointSlice: validateEndpointSlice,
  ReplicationController: validateReplicationController,
  ReplicaSet: validateReplicaSet,
  Deployment: validateDeployment,
  Ingress: validateIngress,
  IngressClass: validateIngressClass,
  Node: validateNode,
  Secret: validateSecret,
  ConfigMap: validateConfigMap,
  Namespace: validateNamespace,
  Event: validateEvent,
  ServiceAccount: validateServiceAccount,
  TokenRequest: (r, o) => validateTokenRequest(r, o),
};

function run(obj: unknown, old: unknown, only?: Validator): FieldError[] {
  const r = new Reader();
  try {
    if (!isObj(obj)) {
      r.typeError('', obj, 'object');
      return r.errs;
    }
    const o = isObj(old) ? old : undefined;
    const fn = only ?? (typeof obj.kind === 'string' && Object.hasOwn(BY_KIND, obj.kind) ? BY_KIND[obj.kind] : undefined);
    if (fn) fn(r, obj, o);
    else if (o) validateObjectMetaUpdate(r, obj, o);
    else validateObjectMeta(r, obj, isObj(obj.metadata) && typeof obj.metadata.namespace === 'string' && obj.metadata.namespace !== '', 'subdomain');
  } catch (e) {
    r.push(internal('', `validation failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  // A field with the wrong JSON type was read as its zero value; drop the follow-on errors about that zero value.
  const typeBad = new Set(r.errs.filter((e) => e.type === 'FieldValueTypeInvalid').map((e) => e.field));
  return typeBad.size ? r.errs.filter((e) => e.type === 'FieldValueTypeInvalid' || !typeBad.has(e.field)) : r.errs;
}

/** Validate an object for create, or for update when `old` is given. Never throws. */
export function validateObject(obj: KubeObject, old?: KubeObject): FieldError[] {
  return run(obj, old);
}

/** Validate a write to pods/ephemeralcontainers (ValidatePodEphemeralContainersUpdate). Never throws. */
export function validateEphemeralContainersUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  return run(obj, old ?? {}, (r, o, prev) => validatePodEphemeralContainersUpdate(r, o, prev ?? {}));
}

/** Validate an update (`old` is the stored object). Never throws. */
export function validateObjectUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  return run(obj, old ?? {});
}

export { MAX_DNS_NAMESERVERS, MAX_DNS_SEARCH_LIST_CHARS, MAX_DNS_SEARCH_PATHS } from './pod.js';
export { TOKEN_MIN_EXPIRATION_SECONDS } from './token-request.js';
export { normalizeServiceClusterIPs, patchServiceAllocatedValues } from './service.js';
