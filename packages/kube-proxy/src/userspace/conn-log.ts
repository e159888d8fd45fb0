/**
 * Per-connection accounting, kept cheaply: a fixed-size ring of records
 * written once when a connection (or UDP flow) ends — no per-byte work.
 * The tracing and explain tools read it (kube-proxy serves it on :10256).
 */

import type { ConnRecord } from '../proxier.js';

export type { ConnRecord };

export class ConnLog {
  readonly #ring: (ConnRecord | undefined)[];
  #next = 0;
  #total = 0;

  constructor(readonly capacity = 4096) {
    this.#ring = new Array(capacity);
  }

  add(r: ConnRecord): void {
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
