/**
 * A per-source fair queue: jobs wait in one FIFO per source (a client
 * address) and are taken round-robin across sources, so a client flooding
 * the server fills and overflows only its own queue while every other
 * client is served within one round. Bounded per source and in total;
 * a job that does not fit is refused (the caller drops it).
 */

interface SourceQueue<T> {
  key: string;
  items: T[];
  head: number;
  active: boolean;
}

export interface FairQueueOptions {
  /** Jobs one source may have waiting (default 256). */
  perSource?: number;
  /** Jobs waiting in all (default 8192). */
  total?: number;
}

export class FairQueue<T> {
  readonly #perSource: number;
  readonly #totalLimit: number;
  readonly #queues = new Map<string, SourceQueue<T>>();
  /** Sources with waiting jobs, in service order. */
  #ring: SourceQueue<T>[] = [];
  #cursor = 0;
  #size = 0;
  /** Jobs refused since the last `takeDropped()`. */
  #dropped = 0;

  constructor(opts: FairQueueOptions = {}) {
    this.#perSource = opts.perSource ?? 256;
    this.#totalLimit = opts.total ?? 8192;
  }

  get size(): number {
    return this.#size;
  }

  /** Queues `job` for `source`; false (and counted as dropped) when its queue or the whole is full. */
  push(source: string, job: T): boolean {
    let q = this.#queues.get(source);
    if (!q) {
      if (this.#queues.size >= this.#totalLimit) this.#prune();
      q = { key: source, items: [], head: 0, active: false };
      this.#queues.set(source, q);
    }
    if (q.items.length - q.head >= this.#perSource || this.#size >= this.#totalLimit) {
      this.#dropped++;
      return false;
    }
    q.items.push(job);
    this.#size++;
    if (!q.active) {
      q.active = true;
      this.#ring.push(q);
    }
    return true;
  }

  /** The next job, round-robin over sources; undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    if (this.#cursor >= this.#ring.length) this.#cursor = 0;
    const q = this.#ring[this.#cursor];
    const job = q.items[q.head];
    q.items[q.head++] = undefined as T;
    this.#size--;
    if (q.head === q.items.length) {
      q.items.length = 0;
      q.head = 0;
      q.active = false;
      this.#ring.splice(this.#cursor, 1);
    } else {
      this.#cursor++;
    }
    return job;
  }

  /** Jobs refused since the last call. */
  takeDropped(): number {
    const d = this.#dropped;
    this.#dropped = 0;
    return d;
  }

  /** Forgets idle sources (called when too many are known). */
  #prune(): void {
    for (const [k, q] of this.#queues) if (!q.active) this.#queues.delete(k);
  }
}
