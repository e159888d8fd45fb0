/**
 * Per-connection accounting, kept cheaply: a fixed-size ring of records
 * written once when a connection (or UDP flow) ends — no per-byte work.
 * The tracing and explain tools read it (kube-proxy serves it on :10256).
 * With `events`, each record is also a close event on the live stream, and
 * the relays report opens through `opened` — only while someone watches
 * (`watched`: a relay builds no open record otherwise).
 */

import type { ConnRecord } from '../proxier.js';
import type { ConnFanout } from '../conn-events.js';

export type { ConnRecord };

export class ConnLog {
  readonly #ring: (ConnRecord | undefined)[];
  #next = 0;
  #total = 0;

  constructor(
    readonly capacity = 4096,
    readonly events?: ConnFanout,
  ) {
    this.#ring = new Array(capacity);
  }

  /** True while the live stream has a watcher. */
  get watched(): boolean {
    return this.events?.watched ?? false;
  }

  /** A connection was made to an endpoint (call only when `watched`). */
  opened(r: ConnRecord): void {
    this.events?.emit({ type: 'open', ...r });
  }

  add(r: ConnRecord): void {
    if (this.events?.watched) this.events.emit({ type: 'close', ...r });
    this.#ring[this.#next] = r;
    this.#next = (this.#next + 1) % this.capacity;
    this.#total++;
  }

  /** Records ever added. */
  get total(): number {
    return this.#total;
  }

  /** The newest `limit` records, oldest first. */
  recent(limit = this.capacity): ConnRecord[] {
    const n = Math.min(limit, this.#total, this.capacity);
    const out: ConnRecord[] = [];
    for (let i = n; i > 0; i--) out.push(this.#ring[(this.#next - i + this.capacity) % this.capacity]!);
    return out;
  }
}
