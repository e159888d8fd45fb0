/**
 * A fixed-size allocation bitmap with Kubernetes' two-band policy (KEP-3070 for
 * cluster IPs, KEP-3668 for node ports), shared by the cluster-IP and node-port
 * allocators.
 *
 * Model: offsets 0..size-1. The lower `staticBand` offsets are kept for values
 * users ask for explicitly; dynamic allocation picks a random free offset in
 * the upper band first and falls back to the lower band only when the upper
 * one is full. A random start plus a forward scan that skips full 32-bit words
 * keeps allocation O(1) on average and bounded (one pass over the band, 32
 * offsets per step) when nearly full; a per-band free count makes a full band
 * cost nothing at all.
 */

/** Thrown by allocate() when no value is left. `message` is Kubernetes' text ("range is full"). */
export class RangeFullError extends Error {
  readonly code = 'RANGE_FULL';
  constructor() {
    super('range is full');
    this.name = 'RangeFullError';
  }
}

export class RangeBitmap {
  readonly size: number;
  readonly staticBand: number;
  #words: Uint32Array;
  #used = 0;
  #usedLower = 0;
  readonly #random: () => number;

  constructor(size: number, staticBand: number, random: () => number = Math.random) {
    this.size = Math.max(0, Math.floor(size));
    this.staticBand = Math.min(Math.max(0, Math.floor(staticBand)), this.size);
    this.#words = new Uint32Array(Math.ceil(this.size / 32));
    this.#random = random;
  }

  get used(): number {
    return this.#used;
  }

  has(offset: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) return false;
    return (this.#words[offset >>> 5]! & (1 << (offset & 31))) !== 0;
  }

  /** Marks `offset` used; false if it already was (or is out of range). */
  set(offset: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size || this.has(offset)) return false;
    this.#words[offset >>> 5]! |= 1 << (offset & 31);
    this.#used++;
    if (offset < this.staticBand) this.#usedLower++;
    return true;
  }

  /** Marks `offset` free; false if it was not used. */
  clear(offset: number): boolean {
    if (!this.has(offset)) return false;
    this.#words[offset >>> 5]! &= ~(1 << (offset & 31));
    this.#used--;
    if (offset < this.staticBand) this.#usedLower--;
    return true;
  }

  /** Takes a free offset, upper band first; throws RangeFullError when none is left. */
  allocate(): number {
    const upperSize = this.size - this.staticBand;
    const usedUpper = this.#used - this.#usedLower;
    if (upperSize > 0 && usedUpper < upperSize) {
      const o = this.#scan(this.staticBand, this.size);
      if (o >= 0) return o;
    }
    if (this.staticBand > 0 && this.#usedLower < this.staticBand) {
      const o = this.#scan(0, this.staticBand);
      if (o >= 0) return o;
    }
    throw new RangeFullError();
  }

  /** One pass over [lo, hi) from a random start, wrapping; claims and returns the first free offset, or -1. */
  #scan(lo: number, hi: number): number {
    const n = hi - lo;
    let i = lo + Math.min(n - 1, Math.floor(this.#random() * n));
    let left = n;
    while (left > 0) {
      // Skip a whole word when it is full and fully inside what is left of this pass.
      if ((i & 31) === 0 && this.#words[i >>> 5] === 0xffffffff && i + 32 <= hi && left >= 32) {
        i += 32;
        left -= 32;
      } else {
        if (!this.has(i)) {
          this.set(i);
          return i;
        }
        i++;
        left--;
      }
      if (i >= hi) i = lo;
    }
    return -1;
  }
}
