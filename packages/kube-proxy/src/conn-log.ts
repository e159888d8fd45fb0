/**
 * Per-connection accounting, kept cheaply: a fixed-size ring of records
 * written once when a connection (or UDP flow) ends — no per-byte work.
 * The tracing and explain tools read it (kube-proxy serves it on :10256).
 */

export interface ConnRecord {
  /** ms since the epoch when the connection was accepted. */
  start: number;
  durationMs: number;
  protocol: 'TCP' | 'UDP';
  /** Service port key, `ns/name:port/PROTO`. */
  service: string;
  /** What the client dialled: `cluster-ip`, `node-port`, `external-ip`. */
  via: string;
  client: string;
  node: string;
  /** `ip:port` chosen, or '' when none could be reached. */
  endpoint: string;
  bytesIn: number;
  bytesOut: number;
  /** `ok`, `no-endpoints`, `connect-failed`, `reset`. */
  result: string;
  attempts: number;
}

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
