/**
 * Writes core/v1 Events for controllers, as client-go's record.EventRecorder
 * with its EventCorrelator reduced to the part users see.
 *
 * Model: `event(obj, type, reason, message)` writes an Event in the object's
 * namespace ("default" for cluster-scoped objects) named
 * `<object name>.<hex unix nanos>`, with involvedObject pointing at the object,
 * source.component set, firstTimestamp = lastTimestamp, count 1. An identical
 * event (same object, type, reason, message, source) seen again is aggregated:
 * the existing Event's count goes up and lastTimestamp moves, which is what
 * `kubectl describe` shows as "(x3 over 2m)". The recorder remembers the last
 * 4096 distinct events. Recording never throws: a failure is logged and the
 * controller carries on.
 */
import type { Logger } from 'pino';
import type { KubeObject, ObjectReference } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import { R } from './resources.js';
import { isNotFound, rfc3339, systemClock, type Clock } from './controller-utils.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** source.component / reportingComponent, e.g. "replicaset-controller". */
  component: string;
  /** source.host (the scheduler and node controllers leave it empty). */
  host?: string;
  clock?: Clock;
  /** How many distinct events to remember for aggregation (default 4096). */
  cacheSize?: number;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
}

export class EventRecorder {
  readonly #client: ObjectClient;
  readonly #log: Logger;
  readonly #component: string;
  readonly #host: string | undefined;
  readonly #clock: Clock;
  readonly #max: number;
  readonly #seen = new Map<string, Seen>();
  #lastNanos = 0n;

  constructor(client: ObjectClient, log: Logger, opts: EventRecorderOptions) {
    this.#client = client;
    this.#log = log;
    this.#component = opts.component;
    this.#host = opts.host;
    this.#clock = opts.clock ?? systemClock;
    this.#max = opts.cacheSize ?? 4096;
  }

  /** Records an event about `obj`; never throws. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    try {
      this.#record(obj, type, reason, message);
    } catch (err) {
      this.#log.debug({ err, reason }, 'could not record event');
    }
  }

  #record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const ref: ObjectReference = {
      kind: obj.kind,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      apiVersion: obj.apiVersion,
      resourceVersion: obj.metadata.resourceVersion,
    };
    const namespace = obj.metadata.namespace || 'default';
    const now = rfc3339(this.#clock.now());
    const aggKey = JSON.stringify([this.#component, this.#host ?? '', ref.kind, ref.namespace ?? '', ref.name, ref.uid ?? '', type, reason, message]);
    const seen = this.#seen.get(aggKey);
    if (seen) {
      const existing = this.#client.get<KubeObject>(R.events, seen.namespace, seen.name);
      if (existing) {
        const count = (typeof existing.count === 'number' ? existing.count : seen.count) + 1;
        const updated = { ...existing, count, lastTimestamp: now };
        delete (updated.metadata as { resourceVersion?: string }).resourceVersion;
        try {
          this.#client.update(R.events, updated);
          seen.count = count;
          this.#touch(aggKey, seen);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      this.#seen.delete(aggKey);
    }
    const name = `${ref.name ?? 'unknown'}.${this.#uniqueNanos().toString(16)}`;
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: this.#host ? { component: this.#component, host: this.#host } : { component: this.#component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: this.#component,
      reportingInstance: this.#host ?? '',
    };
    this.#client.create(R.events, ev);
    this.#touch(aggKey, { namespace, name, count: 1 });
  }

  #uniqueNanos(): bigint {
    let n = BigInt(this.#clock.now()) * 1_000_000n;
    if (n <= this.#lastNanos) n = this.#lastNanos + 1n;
    this.#lastNanos = n;
    return n;
  }

  #touch(key: string, seen: Seen): void {
    this.#seen.delete(key);
    this.#seen.set(key, seen);
    while (this.#seen.size > this.#max) {
      const oldest = this.#seen.keys().next().value as string;
      this.#seen.delete(oldest);
    }
  }
}
