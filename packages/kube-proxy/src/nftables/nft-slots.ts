/**
 * Slot blocks in the table-wide endpoint maps (@eps, @ep-chains): each
 * endpoint selection owns `cap` consecutive slots, a power of two, so a
 * selection keeps its block (and its rule) while its endpoints come and go
 * within the capacity. Freed blocks are reused for the same capacity.
 */
export interface SlotBlock {
  base: number;
  cap: number;
}

const MIN_CAP = 4;

export class SlotSpace {
  readonly #free = new Map<number, number[]>();
  #next = 0;

  /** A block with room for `n` slots. */
  take(n: number): SlotBlock {
    let cap = MIN_CAP;
    while (cap < n) cap *= 2;
    const base = this.#free.get(cap)?.pop() ?? this.#grow(cap);
    return { base, cap };
  }

  give(b: SlotBlock): void {
    const list = this.#free.get(b.cap);
    if (list) list.push(b.base);
    else this.#free.set(b.cap, [b.base]);
  }

  /** Everything back (the table is rebuilt from scratch). */
  reset(): void {
    this.#free.clear();
    this.#next = 0;
  }

  #grow(cap: number): number {
    const base = this.#next;
    this.#next += cap;
    return base;
  }
}
