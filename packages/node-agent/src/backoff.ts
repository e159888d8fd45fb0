/**
 * Kubelet's container restart back-off: the first restart is immediate, then
 * 10 s doubling to 5 min; reset after the container ran 10 min.
 */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
export const BACKOFF_RESET_MS = 600_000;

export class RestartBackoff {
  #delay = -1;

  /** Delay before restarting a container that just exited after running `ranMs`. */
  next(ranMs: number): number {
    if (ranMs >= BACKOFF_RESET_MS) this.#delay = -1;
    this.#delay = this.#delay < 0 ? 0 : this.#delay === 0 ? BACKOFF_INITIAL_MS : Math.min(BACKOFF_MAX_MS, this.#delay * 2);
    return this.#delay;
  }
}
