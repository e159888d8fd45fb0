/**
 * The part every range allocator shares: values (IPs, ports) map to offsets in
 * a RangeBitmap; the subclass only says how. Dynamic allocation prefers the
 * upper band, static requests may use either (KEP-3070 / KEP-3668).
 */
import type { RangeBitmap } from './range-bitmap.js';

export abstract class RangeAllocator<T> {
  protected abstract readonly bits: RangeBitmap;

  /** The offset of `v` in the range, or undefined when it is not in it. */
  protected abstract offsetOf(v: T): number | undefined;
  /** The value at offset `o`. */
  protected abstract valueAt(o: number): T;

  /** True when `v` belongs to the range. */
  contains(v: T): boolean {
    return this.offsetOf(v) !== undefined;
  }

  /** Marks `v` used whatever band it is in (startup rebuild); values outside are ignored. */
  reserve(v: T): void {
    const o = this.offsetOf(v);
    if (o !== undefined) this.bits.set(o);
  }

  /** A free value, upper band first. Throws RangeFullError ("range is full") when none is left. */
  allocate(): T {
    return this.valueAt(this.bits.allocate());
  }

  /** Takes a specific value (a user's clusterIP or nodePort). */
  allocateSpecific(v: T): 'ok' | 'taken' | 'out-of-range' {
    const o = this.offsetOf(v);
    if (o === undefined) return 'out-of-range';
    return this.bits.set(o) ? 'ok' : 'taken';
  }

  /** Gives `v` back; releasing a free or outside value is a no-op (as Kubernetes). */
  release(v: T): void {
    const o = this.offsetOf(v);
    if (o !== undefined) this.bits.clear(o);
  }

  /** True when `v` is currently allocated. */
  has(v: T): boolean {
    const o = this.offsetOf(v);
    return o !== undefined && this.bits.has(o);
  }

  used(): number {
    return this.bits.used;
  }

  /** How many values the range holds. */
  size(): number {
    return this.bits.size;
  }

  /** Values kept for static requests (the lower band). */
  staticBandSize(): number {
    return this.bits.staticBand;
  }
}
