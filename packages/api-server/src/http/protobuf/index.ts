/**
 * Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf),
 * which kubectl ≥ 1.32's typed clients send for `kubectl create deployment`,
 * `create configmap|secret|service|namespace|ingress`, ... . They are decoded
 * into the JSON object the same client would have sent as JSON, so the rest of
 * the server sees no difference. Responses stay JSON: those clients send
 * `Accept: application/vnd.kubernetes.protobuf,application/json` and decode
 * whichever of the two the server answers with.
 */
import { errors, isApiError } from '@kubemu/api';
import { envelopeToJSON } from './to-json.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** Decodes an enveloped object; any malformed input is a 400 ApiError. */
export function decodeProtobuf(buf: Uint8Array): Record<string, unknown> {
  try {
    return envelopeToJSON(buf);
  } catch (e) {
    if (isApiError(e)) throw e;
    // Defensive: the decoder bounds every read, but nothing else may escape.
    throw errors.badRequest(`error decoding protobuf body: ${(e as Error)?.message ?? String(e)}`);
  }
}

export { envelopeToJSON, messageToJSON, messageForKind } from './to-json.js';
