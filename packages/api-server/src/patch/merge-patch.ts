/**
 * JSON Merge Patch (RFC 7386), `application/merge-patch+json`.
 *
 * The model: a patch object is overlaid on the target key by key; `null`
 * deletes a key, nested objects merge recursively, and anything else (arrays
 * included) replaces the target value wholesale. A patch that is not an object
 * replaces the whole target. Inputs are never mutated.
 */
import { cloneJson, getOwn, isMap, setOwn, type JsonMap } from './json-value.js';

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return cloneJson(patch);
  return mergeInto(isMap(target) ? cloneJson(target) : {}, patch);
}

/** Overlays `patch` onto `target` (a private copy) and returns it. */
function mergeInto(target: JsonMap, patch: JsonMap): JsonMap {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
    } else if (isMap(value)) {
      const current = getOwn(target, key);
      setOwn(target, key, mergeInto(isMap(current) ? current : {}, value));
    } else {
      setOwn(target, key, cloneJson(value));
    }
  }
  return target;
}
