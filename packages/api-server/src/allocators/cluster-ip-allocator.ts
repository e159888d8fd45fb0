/**
 * Cluster IP allocation for Services, as Kubernetes' ipallocator (IPv4).
 *
 * Model: the usable addresses of the service CIDR are the CIDR minus its
 * network and broadcast addresses; the first usable one (10.96.0.1 for
 * 10.96.0.0/12) is what the `kubernetes` Service gets. KEP-3070 bands: the
 * lowest min(max(16, cidrSize/16), 256) usable addresses are kept for IPs users
 * request explicitly; allocate() takes a random free address from the upper
 * band and falls back to the lower band only when the upper one is full
 * (a /28 or smaller has no lower band). State is in memory only: the registry
 * rebuilds it from stored Services at start with reserve().
 *
 * The registry turns the results into Kubernetes' field errors; the exact
 * detail strings are exported below so every caller words them the same way.
 */
import { RangeBitmap, RangeFullError } from './range-bitmap.js';
import { RangeAllocator } from './range-allocator.js';
import { formatIPv4, tryParseIPv4 } from '@kubemu/api';

export { RangeFullError };

/** Kubernetes' ipallocator.ErrAllocated text. */
export const IP_ALREADY_ALLOCATED = 'provided IP is already allocated';

/** Kubernetes' ipallocator.ErrNotInRange text (1.29+ wording). */
export function ipNotInRangeMessage(ip: string, cidr: string): string {
  return `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${cidr}`;
}

/**
 * The detail of the `spec.clusterIPs: Invalid value: []string{"<ip>"}: <detail>` field error
 * Kubernetes returns when a requested cluster IP cannot be had (storage/alloc.go allocIPs).
 */
export function clusterIPAllocationDetail(ip: string, result: 'taken' | 'out-of-range', cidr: string): string {
  return `failed to allocate IP ${ip}: ${result === 'taken' ? IP_ALREADY_ALLOCATED : ipNotInRangeMessage(ip, cidr)}`;
}

/** The InternalError detail when the range is exhausted (`Internal error occurred: failed to allocate a serviceIP: range is full`). */
export const CLUSTER_IP_RANGE_FULL_DETAIL = 'failed to allocate a serviceIP: range is full';

/** KEP-3070 calculateRangeOffset: min(max(16, cidrSize/16), 256), 0 when the CIDR has ≤ 16 addresses. */
export function clusterIPStaticBandSize(cidrSize: number): number {
  if (cidrSize <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(cidrSize / 16)), 256);
}

export interface ClusterIPAllocatorOptions {
  /** Random source in [0, 1) for the start of the scan; Math.random by default. */
  random?: () => number;
}

export class ClusterIPAllocator extends RangeAllocator<string> {
  /** Canonical CIDR (network address / prefix), e.g. "10.96.0.0/12". */
  readonly cidr: string;
  readonly #first: number;
  protected readonly bits: RangeBitmap;

  constructor(cidr: string, opts: ClusterIPAllocatorOptions = {}) {
    super();
    const m = /^\s*([^/\s]+)\/(\d{1,2})\s*$/.exec(cidr ?? '');
    const base = m ? tryParseIPv4(m[1]!) : undefined;
    const prefix = m ? Number(m[2]) : NaN;
    if (base === undefined || !(prefix >= 0 && prefix <= 32)) throw new Error(`invalid service CIDR ${JSON.stringify(cidr)}: want an IPv4 CIDR like 10.96.0.0/12`);
    if (prefix > 30) throw new Error(`service CIDR ${cidr} is too small: it needs at least 2 usable addresses (/30 or larger)`);
    const total = 2 ** (32 - prefix);
    const network = base - (base % total);
    this.cidr = `${formatIPv4(network)}/${prefix}`;
    this.#first = network + 1;
    const usable = total - 2;
    this.bits = new RangeBitmap(usable, clusterIPStaticBandSize(total), opts.random);
  }

  protected offsetOf(ip: string): number | undefined {
    const n = tryParseIPv4(ip);
    if (n === undefined) return undefined;
    const o = n - this.#first;
    return o >= 0 && o < this.bits.size ? o : undefined;
  }

  protected valueAt(o: number): string {
    return formatIPv4(this.#first + o);
  }

  /** The first usable address: the `kubernetes` Service's cluster IP. */
  firstIP(): string {
    return formatIPv4(this.#first);
  }

  /** The address `n` usable addresses after the first (n=9 ⇒ 10.96.0.10, the conventional DNS IP). */
  nthIP(n: number): string {
    if (!Number.isInteger(n) || n < 0 || n >= this.bits.size) throw new Error(`index ${n} is outside ${this.cidr}`);
    return formatIPv4(this.#first + n);
  }
}
