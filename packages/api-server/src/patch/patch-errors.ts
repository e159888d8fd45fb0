/**
 * The Status errors a failed patch produces, shaped like kube-apiserver's.
 *
 * kube-apiserver answers a JSON patch that cannot be applied (a failed `test`,
 * a path that does not exist) and a few strategic-merge-patch failures (lists
 * of lists) with apierrors.NewGenericServerResponse(422): reason Invalid, a
 * fixed message, empty details — kubectl prints "The request is invalid: the
 * server rejected our request due to an error in our request". We return the
 * same Status; the underlying reason travels on `cause` for logs and tests.
 */
import { ApiError } from '@kubemu/api';

export const UNPROCESSABLE_MESSAGE = 'the server rejected our request due to an error in our request';

/** 422 Invalid exactly as kube-apiserver sends it; `reason` is kept on `cause` only. */
export function unprocessable(reason: string): ApiError {
  const err = new ApiError(422, 'Invalid', UNPROCESSABLE_MESSAGE, {});
  Object.defineProperty(err, 'cause', { value: reason, enumerable: false, configurable: true, writable: true });
  return err;
}

/** 400 BadRequest with `message` verbatim. */
export function badPatch(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}
