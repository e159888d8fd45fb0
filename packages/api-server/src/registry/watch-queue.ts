/**
 * Delivers events to one consumer asynchronously, in order, never re-entrantly:
 * a consumer that writes from inside its handler sees the resulting events on a
 * later turn, never nested inside the write.
 */
export class WatchQueue<T> {
  #items: T[] = [];
  #scheduled = false;
  #closed = false;
  readonly #fn: (item: T) => void;

  constructor(fn: (item: T) => void) {
    this.#fn = fn;
  }

  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#drain());
    }
  }

  #drain(): void {
    this.#scheduled = false;
    const items = this.#items;
    this.#items = [];
    for (const item of items) {
      if (this.#closed) return;
      try {
        this.#fn(item);
      } catch {
        // the consumer's failure must not stop delivery to it
      }
    }
  }

  close(): void {
    this.#closed = true;
    this.#items = [];
  }
}
