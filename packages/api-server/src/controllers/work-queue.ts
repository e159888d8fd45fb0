/**
 * The controllers' work queue: client-go's rate-limited workqueue, reduced to
 * what one in-process worker needs.
 *
 * Model: keys (usually "namespace/name") go in; a key already waiting is not
 * added twice (coalescing), so a burst of watch events for one object costs
 * one sync. One worker takes keys in FIFO order and runs the handler; a key
 * added while it is being handled is queued again and handled once more after
 * (the handler always reads the latest state, so nothing is lost). A handler
 * that throws is retried after an exponential backoff per key (base doubling
 * up to a cap; 409 Conflict retries sooner, since the next read fixes it);
 * success forgets the key's failures. Nothing escapes: errors are logged,
 * never rethrown, and the worker yields to the event loop between keys.
 */
import type { Logger } from 'pino';
import { isApiError } from '@kubemu/api';

export interface WorkQueueOptions {
  /** Shows in logs. */
  name: string;
  log: Logger;
  /** First retry delay after a failure (default 10 ms); doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Cap of the retry delay (default 30 s). */
  maxDelayMs?: number;
  /** Retry delay after a 409 Conflict (default 5 ms, also doubling, capped at 1 s). */
  conflictDelayMs?: number;
}

export type WorkHandler = (key: string) => void | Promise<void>;

export class WorkQueue {
  readonly name: string;
  readonly #handler: WorkHandler;
  readonly #log: Logger;
  readonly #base: number;
  readonly #max: number;
  readonly #conflict: number;
  #order: string[] = [];
  #head = 0;
  #queued = new Set<string>();
  #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #failures = new Map<string, number>();
  #running = false;
  #processing: string | undefined;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(handler: WorkHandler, opts: WorkQueueOptions) {
    this.#handler = handler;
    this.name = opts.name;
    this.#log = opts.log;
    this.#base = opts.baseDelayMs ?? 10;
    this.#max = opts.maxDelayMs ?? 30_000;
    this.#conflict = opts.conflictDelayMs ?? 5;
  }

  /** Keys waiting (not counting delayed ones or the one being handled). */
  get length(): number {
    return this.#order.length - this.#head;
  }

  /** Queues `key` unless it is already waiting. */
  add(key: string): void {
    if (this.#stopped || this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#order.push(key);
    this.#pump();
  }

  /** Queues `key` after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    if (!(delayMs > 0)) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.#timers.set(key, { at, timer });
  }

  /** Number of consecutive failures of `key` so far. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Drops everything and stops the worker after the key in hand. */
  stop(): void {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#order = [];
    this.#head = 0;
    this.#queued.clear();
    this.#wakeIdle();
  }

  /** Resolves when no key is waiting or being handled (delayed keys excepted). For tests and shutdown. */
  idle(): Promise<void> {
    if (!this.#running && this.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #wakeIdle(): void {
    if (this.#running && !this.#stopped) return;
    if (this.length > 0 && !this.#stopped) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #pump(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    // Start on a later tick so that a burst of add() calls coalesces first.
    setImmediate(() => {
      this.#work().catch((err) => this.#log.error({ err, queue: this.name }, 'work queue worker failed'));
    });
  }

  async #work(): Promise<void> {
    try {
      while (!this.#stopped && this.length > 0) {
        const key = this.#order[this.#head++]!;
        if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
          this.#order = this.#order.slice(this.#head);
          this.#head = 0;
        }
        this.#queued.delete(key);
        this.#processing = key;
        await this.#handle(key);
        this.#processing = undefined;
        // Yield so watch deliveries and timers run between keys.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.#running = false;
      this.#processing = undefined;
      this.#wakeIdle();
      if (!this.#stopped && this.length > 0) this.#pump();
    }
  }

  async #handle(key: string): Promise<void> {
    try {
      await this.#handler(key);
      this.#failures.delete(key);
    } catch (err) {
      if (this.#stopped) return;
      const n = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, n);
      const conflict = isApiError(err) && err.code === 409;
      const delay = conflict
        ? Math.min(this.#conflict * 2 ** Math.min(n - 1, 20), 1000)
        : Math.min(this.#base * 2 ** Math.min(n - 1, 30), this.#max);
      const fields = { queue: this.name, key, attempt: n, retryInMs: delay };
      if (conflict) this.#log.debug(fields, `conflict syncing ${key}; retrying`);
      else this.#log.warn({ ...fields, err }, `error syncing ${key}; retrying`);
      this.addAfter(key, delay);
    }
  }

  /** The key being handled right now, if any. */
  get processing(): string | undefined {
    return this.#processing;
  }
}
