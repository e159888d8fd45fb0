/**
 * PATCH bodies, dispatched on the request's Content-Type as kube-apiserver does:
 *   application/json-patch+json            RFC 6902 (json-patch.ts)
 *   application/merge-patch+json           RFC 7386 (merge-patch.ts)
 *   application/strategic-merge-patch+json Kubernetes SMP (strategic-merge-patch.ts)
 *   application/apply-patch+yaml           server-side apply, which is not a patch of
 *                                          the object alone: http/apply.ts serves it
 *                                          (415 here, for endpoints that do not)
 * Anything else is 415 UnsupportedMediaType. The body may be given parsed or
 * as raw JSON text/bytes. The target is never mutated; the caller validates the
 * result (name, namespace, immutable fields) as for an update; only a missing
 * apiVersion/kind is restored from the target, as typed decoding does.
 */
import { ApiError, type KubeObject } from '@kubemu/api';
import { applyJsonPatch } from './json-patch.js';
import { goJsonKind, isMap } from './json-value.js';
import { applyMergePatch } from './merge-patch.js';
import { badPatch } from './patch-errors.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

export { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json-patch.js';
export { applyMergePatch } from './merge-patch.js';
export { applyStrategicMergePatch } from './strategic-merge-patch.js';
export { UNPROCESSABLE_MESSAGE } from './patch-errors.js';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** The media types a PATCH may carry, as kube-apiserver lists them in its 415. */
export const PATCH_MEDIA_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH] as const;

/** `application/merge-patch+json; charset=utf-8` → `application/merge-patch+json`. */
export function patchMediaType(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

export function applyPatch(contentType: string, target: KubeObject, patchBody: unknown, kind: string): KubeObject {
  const mediaType = patchMediaType(contentType);
  let result: unknown;
  switch (mediaType) {
    case JSON_PATCH:
      result = applyJsonPatch(target, parseBody(patchBody));
      break;
    case MERGE_PATCH:
      result = applyMergePatch(target, objectBody(parseBody(patchBody)));
      break;
    case STRATEGIC_MERGE_PATCH:
      result = applyStrategicMergePatch(target, objectBody(parseBody(patchBody)), kind);
      break;
    case APPLY_PATCH:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'server-side apply (application/apply-patch+yaml) is not supported on this endpoint; use kubectl apply --server-side on the object itself, or a merge patch',
      );
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_MEDIA_TYPES.join(', ')}`,
      );
  }
  if (!isMap(result)) throw badPatch(`the patched object is not a JSON object (got ${goJsonKind(result)})`);
  // kube-apiserver decodes the result into the typed object, which always has
  // its apiVersion and kind; a patch that removed them (`$patch: replace`,
  // `{"kind": null}`) does not make the object typeless.
  const out = result as KubeObject;
  if (out.apiVersion === undefined || out.apiVersion === null) out.apiVersion = target.apiVersion;
  if (out.kind === undefined || out.kind === null) out.kind = target.kind;
  return out;
}

/** Accepts an already-parsed body, or JSON text / bytes. */
function parseBody(body: unknown): unknown {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) return body;
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badPatch(`error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Merge and strategic patches must be JSON objects (kube decodes them into a map). */
function objectBody(body: unknown): unknown {
  if (!isMap(body)) throw badPatch(`json: cannot unmarshal ${goJsonKind(body)} into Go value of type map[string]interface {}`);
  return body;
}
