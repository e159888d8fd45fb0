/**
 * The live connection stream (`GET /connections?watch=1` on kube-proxy's
 * :10256 and the load balancer's :10257): one event per connection as it
 * opens (endpoint chosen) and as it closes (bytes, result), fanned out to
 * every watcher. The sources (the userspace relays, a `conntrack -E` child)
 * ask `watched` before building an event, and the fan-out starts and stops
 * its source with the first and the last watcher: nothing is done, and no
 * child runs, while nobody watches.
 *
 * A stream line is one of
 *   {"type":"open"|"close", ...ConnRecord}
 *   {"type":"error","message":"…"}   (the source failed; the stream goes on,
 *                                     or ends right after when it cannot)
 */
import type { ConnRecord } from './proxier.js';

export type ConnEvent = { type: 'open' | 'close' } & ConnRecord;
export type ConnStreamItem = ConnEvent | { type: 'error'; message: string };

export interface ConnSink {
  write(item: ConnStreamItem): void;
  /** The stream ends (the source cannot go on). */
  end(): void;
}

export class ConnFanout {
  readonly #sinks = new Set<ConnSink>();
  readonly #first?: () => void;
  readonly #last?: () => void;

  /** `first`: the first watcher came (start the source); `last`: the last one left (stop it). */
  constructor(hooks: { first?: () => void; last?: () => void } = {}) {
    this.#first = hooks.first;
    this.#last = hooks.last;
  }

  /** True while someone watches: sources build events only then. */
  get watched(): boolean {
    return this.#sinks.size > 0;
  }

  get watchers(): number {
    return this.#sinks.size;
  }

  /** Adds a watcher; returns how to remove it (idempotent). */
  subscribe(sink: ConnSink): () => void {
    this.#sinks.add(sink);
    if (this.#sinks.size === 1) this.#first?.();
    return () => this.#remove(sink);
  }

  emit(item: ConnStreamItem): void {
    for (const s of this.#sinks) {
      try {
        s.write(item);
      } catch {
        this.#remove(s); // a broken watcher is dropped, not the source
      }
    }
  }

  /** Sends `message` as an error line to every watcher and ends every stream. */
  fail(message: string): void {
    const all = [...this.#sinks];
    this.emit({ type: 'error', message });
    for (const s of all) {
      this.#remove(s);
      try {
        s.end();
      } catch {
        /* gone */
      }
    }
  }

  #remove(sink: ConnSink): void {
    if (!this.#sinks.delete(sink)) return;
    if (this.#sinks.size === 0) this.#last?.();
  }
}
