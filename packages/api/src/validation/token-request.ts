/**
 * TokenRequest validation (authentication.k8s.io/v1), as ValidateTokenRequest:
 * a token lives at least 10 minutes and at most 2^32 seconds. What the
 * request binds to (a Pod, Secret or Node that must exist) is the token
 * registry's check, not validation's.
 */
import { invalid, Reader, type Obj } from './util.js';

/** The shortest lifetime a TokenRequest may ask for. */
export const TOKEN_MIN_EXPIRATION_SECONDS = 10 * 60;
const MAX_UINT32 = 2 ** 32 - 1;

export function validateTokenRequest(r: Reader, obj: Obj): void {
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  r.strList(spec, 'audiences', 'spec.audiences');
  const ttl = r.int(spec, 'expirationSeconds', 'spec.expirationSeconds', true) ?? 0;
  if (ttl < TOKEN_MIN_EXPIRATION_SECONDS) r.push(invalid('spec.expirationSeconds', ttl, 'may not specify a duration less than 10 minutes'));
  if (ttl > MAX_UINT32) r.push(invalid('spec.expirationSeconds', ttl, 'may not specify a duration larger than 2^32 seconds'));
  const ref = r.obj(spec, 'boundObjectRef', 'spec.boundObjectRef');
  for (const k of ['kind', 'apiVersion', 'name', 'uid']) r.str(ref, k, `spec.boundObjectRef.${k}`);
}
