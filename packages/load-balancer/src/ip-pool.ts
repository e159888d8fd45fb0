/**
 * The external addresses the load balancer hands out (MetalLB's
 * IPAddressPool): a range `a.b.c.d-a.b.c.e` or a CIDR, or several joined by
 * commas. Allocation is the lowest free address, or a requested one when it is
 * in the pool and free; an address is held by one Service key at a time.
 */
import { cidrOf, formatIPv4, tryParseIPv4 } from '@kubemu/api';

export class PoolError extends Error {
  readonly code = 'ERR_LB_POOL';
}

interface Range {
  first: number;
  last: number;
}

/** Parses "172.30.0.200-172.30.0.250", "172.30.0.192/27" or a comma list; throws PoolError with the bad part. */
export function parsePool(spec: string): Range[] {
  const ranges: Range[] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    if (part.includes('/')) {
      let c;
      try {
        c = cidrOf(part, true);
      } catch (e) {
        throw new PoolError(`pool "${part}": ${(e as Error).message}`);
      }
      const size = 2 ** (32 - c.prefix);
      // A subnet's network and broadcast addresses are not given out (as MetalLB's avoidBuggyIPs would).
      const first = size > 2 ? c.network + 1 : c.network;
      const last = size > 2 ? c.network + size - 2 : c.network + size - 1;
      ranges.push({ first, last });
      continue;
    }
    const [a, b, extra] = part.split('-').map((s) => s.trim());
    const first = tryParseIPv4(a ?? '');
    const last = b === undefined ? first : tryParseIPv4(b);
    if (extra !== undefined || first === undefined || last === undefined) throw new PoolError(`pool "${part}": want an IPv4 range like 172.30.0.200-172.30.0.250 or a CIDR`);
    if (last < first) throw new PoolError(`pool "${part}": the range ends before it starts`);
    ranges.push({ first, last });
  }
  if (!ranges.length) throw new PoolError('the pool is empty: give a range like 172.30.0.200-172.30.0.250');
  for (let i = 0; i < ranges.length; i++)
    for (let j = i + 1; j < ranges.length; j++)
      if (ranges[i]!.first <= ranges[j]!.last && ranges[j]!.first <= ranges[i]!.last) throw new PoolError(`pool "${spec}": ranges overlap`);
  return ranges;
}

export type Allocation = { ok: true; ip: string } | { ok: false; reason: 'exhausted' | 'not-in-pool' | 'taken'; message: string };

export class IpPool {
  readonly ranges: Range[];
  /** ip (as number) → owner key */
  readonly #owner = new Map<number, string>();

  constructor(readonly spec: string) {
    this.ranges = parsePool(spec);
  }

  get size(): number {
    return this.ranges.reduce((n, r) => n + r.last - r.first + 1, 0);
  }

  get used(): number {
    return this.#owner.size;
  }

  contains(ip: string): boolean {
    const n = tryParseIPv4(ip);
    return n !== undefined && this.ranges.some((r) => n >= r.first && n <= r.last);
  }

  ownerOf(ip: string): string | undefined {
    const n = tryParseIPv4(ip);
    return n === undefined ? undefined : this.#owner.get(n);
  }

  /** Every address `owner` holds. */
  heldBy(owner: string): string[] {
    const out: string[] = [];
    for (const [n, o] of this.#owner) if (o === owner) out.push(formatIPv4(n));
    return out;
  }

  /** Gives `owner` the address `want` (must be in the pool and free or already its own), or the lowest free one. */
  allocate(owner: string, want?: string): Allocation {
    if (want !== undefined) {
      const n = tryParseIPv4(want);
      if (n === undefined || !this.contains(want)) return { ok: false, reason: 'not-in-pool', message: `${want} is not in the load balancer's pool ${this.spec}` };
      const held = this.#owner.get(n);
      if (held !== undefined && held !== owner) return { ok: false, reason: 'taken', message: `${want} is already assigned to Service ${held}` };
      this.#owner.set(n, owner);
      return { ok: true, ip: want };
    }
    for (const r of this.ranges) {
      for (let n = r.first; n <= r.last; n++) {
        if (!this.#owner.has(n)) {
          this.#owner.set(n, owner);
          return { ok: true, ip: formatIPv4(n) };
        }
      }
    }
    return { ok: false, reason: 'exhausted', message: `no free address left in the load balancer's pool ${this.spec} (${this.size} addresses, all assigned)` };
  }

  /** Frees `ip` if `owner` holds it. */
  release(owner: string, ip: string): void {
    const n = tryParseIPv4(ip);
    if (n !== undefined && this.#owner.get(n) === owner) this.#owner.delete(n);
  }

  releaseAll(owner: string): string[] {
    const freed = this.heldBy(owner);
    for (const ip of freed) this.release(owner, ip);
    return freed;
  }
}
