/**
 * Small helpers every controller shares: object keys, pod state predicates
 * (Kubernetes' podutil), error classification, owner references, semantic
 * equality, an injectable clock, and the `BaseController` skeleton
 * (watch ⇒ enqueue keys ⇒ work queue ⇒ sync, plus a full resync at start and
 * every `resyncPeriodMs`).
 */
import type { Logger } from 'pino';
import { isApiError, type Condition, type KubeObject, type OwnerReference, type Pod, type ResourceInfo, metaTime } from '@kubemu/api';
import type { ObjectClient, ObjectEvent, WatchOptions } from '../registry/object-client.js';
import type { ObjectIndex } from './object-index.js';
import { WorkQueue, type WorkQueueOptions } from './work-queue.js';

// ---- time ---------------------------------------------------------------------

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 with second precision, as Kubernetes' metav1.Time serialises. */
export function rfc3339(ms: number): string {
  return metaTime(ms);
}

export function parseTime(s: string | undefined | null): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

// ---- keys -----------------------------------------------------------------------

export function keyOf(obj: { metadata: { namespace?: string; name?: string } }): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '');
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

// ---- errors -------------------------------------------------------------------------

export function isNotFound(err: unknown): boolean {
  return isApiError(err) && err.code === 404;
}
export function isConflict(err: unknown): boolean {
  return isApiError(err) && err.code === 409 && err.reason === 'Conflict';
}
export function isApiErrorCode(err: unknown, code: number): boolean {
  return isApiError(err) && err.code === code;
}
export function isAlreadyExists(err: unknown): boolean {
  return isApiError(err) && err.code === 409 && err.reason === 'AlreadyExists';
}

// ---- pods ---------------------------------------------------------------------------

export function getCondition(conds: Condition[] | undefined | null, type: string): Condition | undefined {
  return Array.isArray(conds) ? conds.find((c) => c && c.type === type) : undefined;
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return getCondition(pod.status?.conditions, 'Ready')?.status === 'True';
}

/** Succeeded or Failed (evicted pods are Failed). */
export function isPodTerminal(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

export function isTerminating(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

/** controller.IsPodActive: not terminal and not being deleted. */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && !isTerminating(pod);
}

/** podutil.IsPodAvailable: ready for at least minReadySeconds. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const c = getCondition(pod.status?.conditions, 'Ready');
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = parseTime(c.lastTransitionTime);
  return since !== undefined && since + minReadySeconds * 1000 <= now;
}

/** The pod's IPv4 addresses: status.podIPs, else status.podIP. */
export function podIPv4s(pod: Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p?.ip).filter((ip): ip is string => !!ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.filter((ip) => !ip.includes(':'));
}

// ---- owners ------------------------------------------------------------------------------

export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r && r.controller === true);
}

export function ownerRefFor(owner: KubeObject, blockOwnerDeletion = true): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion,
  };
}

// ---- equality ---------------------------------------------------------------------------------

/** JSON with object keys sorted and undefined dropped: equal strings ⇔ semantically equal values. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
export function semanticEqual(a: unknown, b: unknown): boolean {
  return canonicalJSON(a) === canonicalJSON(b);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Labels maps compare equal when both are empty or missing. */
export function labelsEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  return semanticEqual(a ?? {}, b ?? {});
}

// ---- the controller skeleton ---------------------------------------------------------------

export interface BaseControllerOptions {
  /** Full resync period (default 30 s; 0 disables the timer, the start resync still runs). */
  resyncPeriodMs?: number;
  /** Work queue tuning (retry backoff). */
  queue?: Partial<Omit<WorkQueueOptions, 'name' | 'log'>>;
}

/**
 * Watches feed keys into one WorkQueue; `sync(key)` reconciles one key from
 * the current state in the store. `resync()` enqueues every key the
 * controller owns; it runs at start (after the watches are open, so nothing
 * falls between the list and the watch) and every `resyncPeriodMs`.
 */
export abstract class BaseController {
  protected readonly client: ObjectClient;
  protected readonly log: Logger;
  protected readonly queue: WorkQueue;
  readonly #resyncMs: number;
  #stops: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(client: ObjectClient, log: Logger, name: string, opts: BaseControllerOptions = {}) {
    this.client = client;
    this.log = log.child({ component: name });
    this.#resyncMs = opts.resyncPeriodMs ?? 30_000;
    this.queue = new WorkQueue((key) => this.sync(key), { ...opts.queue, name, log: this.log });
  }

  /** Opens the watches (via `watch`). */
  protected abstract setupWatches(): void;
  /** Enqueues every key (a full resync). */
  protected abstract resync(): void;
  /** Reconciles one key; throwing retries it with backoff. */
  protected abstract sync(key: string): void | Promise<void>;

  start(): void {
    if (this.#started) return;
    this.#started = true;
    try {
      this.setupWatches();
    } catch (err) {
      this.log.error({ err }, 'could not open watches; relying on periodic resync');
    }
    this.#safeResync();
    if (this.#resyncMs > 0) {
      this.#timer = setInterval(() => this.#safeResync(), this.#resyncMs);
      this.#timer.unref?.();
    }
    this.log.debug('started');
  }

  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const s of this.#stops) {
      try {
        s();
      } catch {
        /* already closed */
      }
    }
    this.#stops = [];
    this.queue.stop();
    this.log.debug('stopped');
  }

  get started(): boolean {
    return this.#started;
  }

  /** Resolves when the work queue has nothing waiting or in hand (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Keys waiting in the work queue. */
  pendingKeys(): number {
    return this.queue.length;
  }

  /** Runs a full resync now. */
  resyncNow(): void {
    this.#safeResync();
  }

  #safeResync(): void {
    try {
      this.resync();
    } catch (err) {
      this.log.warn({ err }, 'resync failed; will try again');
    }
  }

  /** Opens a watch whose handler errors are logged, never thrown into the client. */
  protected watch<T extends KubeObject>(resource: ResourceInfo, opts: WatchOptions, fn: (ev: ObjectEvent<T>) => void): void {
    const stop = this.client.watch<T>(resource, opts, (ev) => {
      if (!this.#started) return;
      try {
        fn(ev);
      } catch (err) {
        this.log.warn({ err, resource: resource.plural }, 'watch handler failed');
      }
    });
    this.#stops.push(stop);
  }

  /**
   * Watches `resource` into `index` (an informer-like cache), then calls `fn`
   * with each event. The index is filled from a list taken in the same tick
   * the watch opened: every event the watch delivers comes after that list.
   */
  protected watchIndexed<T extends KubeObject>(resource: ResourceInfo, index: ObjectIndex<T>, fn: (ev: ObjectEvent<T>) => void): void {
    index.reset();
    this.watch<T>(resource, {}, (ev) => {
      index.apply(ev);
      fn(ev);
    });
    index.fill(this.client.list<T>(resource).items);
  }
}
