import { ApiError } from '@kubemu/api';

/** The ApiError `fn` throws; fails the test when it throws nothing or something else. */
export function thrownApiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}
