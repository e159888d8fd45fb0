/**
 * JSON Patch (RFC 6902), `application/json-patch+json`.
 *
 * The operations (add, remove, replace, move, copy, test) are applied in order
 * to a private copy of the target by fast-json-patch with its validator on, so
 * a patch either applies completely or not at all. Errors follow
 * kube-apiserver's jsonPatcher:
 *  - a body that is not a list of operation objects: 400 BadRequest with the
 *    decoder's message;
 *  - more than 10000 operations: 413 RequestEntityTooLarge;
 *  - any operation that cannot be applied (failed `test`, missing path, bad
 *    index, unknown op): 422 Invalid "the server rejected our request due to an
 *    error in our request" (see patch-errors.ts).
 */
import { ApiError } from '@kubemu/api';
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { cloneJson, goJsonKind, isMap } from './json-value.js';
import { badPatch, unprocessable } from './patch-errors.js';

/** kube-apiserver's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    throw badPatch(`json: cannot unmarshal ${goJsonKind(ops)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of ops) {
    if (!isMap(op)) throw badPatch(`json: cannot unmarshal ${goJsonKind(op)} into Go value of type jsonpatch.Operation`);
  }
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new ApiError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  ops.forEach((op, i) => {
    const kind = (op as Record<string, unknown>).op;
    if (typeof kind !== 'string' || !OPS.has(kind)) throw unprocessable(`operation ${i}: Unexpected kind: ${String(kind)}`);
  });
  try {
    return jsonpatch.applyPatch(cloneJson(target), cloneJson(ops) as Operation[], true, true).newDocument;
  } catch (e) {
    const name = e instanceof Error ? e.name : 'Error';
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw unprocessable(`${name}: ${message}`);
  }
}
