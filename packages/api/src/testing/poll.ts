/**
 * Waiting for something to become true, the one way every test does it
 * (unit tests beside the code, e2e tests in test/). `fn` may be synchronous
 * or asynchronous; what it throws counts as "not yet".
 *
 *   until(what, fn)   resolves with fn's first truthy value; on timeout the
 *                     error names `what` and the last thing fn threw
 *   eventually(fn)    resolves with fn's value once it stops throwing (an
 *                     assertion, say); on timeout it rethrows fn's last error
 */

async function poll<T>(fn: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs: number, everyMs: number): Promise<{ value?: T; error?: unknown; ok: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let error: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (done(value)) return { value, ok: true };
      error = undefined;
    } catch (err) {
      error = err;
    }
    if (Date.now() > deadline) return { error, ok: false };
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function until<T>(what: string, fn: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const r = await poll(fn, (v) => !!v, timeoutMs, everyMs);
  if (r.ok) return r.value as T;
  const why = r.error instanceof Error ? `: ${r.error.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 3000, everyMs = 5): Promise<T> {
  const r = await poll(fn, () => true, timeoutMs, everyMs);
  if (r.ok) return r.value as T;
  throw r.error;
}
