/**
 * Node port allocation for Services, as Kubernetes' portallocator.
 *
 * Model: one range for all protocols and Services (`--service-node-port-range`,
 * default 30000-32767 = base 30000, size 2768). KEP-3668 bands: the lowest
 * min(max(16, size/32), 128) ports (86 by default: 30000-30085) are kept for
 * ports users request explicitly; allocate() picks a random free port from the
 * upper band and falls back to the lower band only when the upper one is full.
 * In memory only; the registry rebuilds it from stored Services with reserve().
 */
import { DEFAULT_NODE_PORT_RANGE } from '@kubemu/api';
import { RangeBitmap, RangeFullError } from './range-bitmap.js';
import { RangeAllocator } from './range-allocator.js';

export { RangeFullError };

/** Kubernetes' portallocator.ErrAllocated text. */
export const PORT_ALREADY_ALLOCATED = 'provided port is already allocated';

/** Kubernetes' portallocator.ErrNotInRange text. */
export function portNotInRangeMessage(range: string): string {
  return `provided port is not in the valid range. The range of valid ports is ${range}`;
}

/** The detail of the `spec.ports[i].nodePort: Invalid value: <port>: <detail>` field error. */
export function nodePortAllocationDetail(result: 'taken' | 'out-of-range', range: string): string {
  return result === 'taken' ? PORT_ALREADY_ALLOCATED : portNotInRangeMessage(range);
}

/** The InternalError detail when the range is exhausted. */
export const NODE_PORT_RANGE_FULL_DETAIL = 'failed to allocate a nodePort: range is full';


/** KEP-3668 calculateRangeOffset: min(max(16, size/32), 128), 0 when the range has ≤ 16 ports. */
export function nodePortStaticBandSize(size: number): number {
  if (size <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(size / 32)), 128);
}

/** Parses Kubernetes' PortRange syntax: "30000-32767", "30000+2767" or a single "30000". */
export function parsePortRange(s: string): { base: number; size: number } {
  const text = (s ?? '').trim();
  let m: RegExpExecArray | null;
  let base: number;
  let max: number;
  if ((m = /^(\d+)-(\d+)$/.exec(text))) {
    base = Number(m[1]);
    max = Number(m[2]);
  } else if ((m = /^(\d+)\+(\d+)$/.exec(text))) {
    base = Number(m[1]);
    max = base + Number(m[2]);
  } else if ((m = /^(\d+)$/.exec(text))) {
    base = max = Number(m[1]);
  } else {
    throw new Error(`invalid port range ${JSON.stringify(s)}: want "30000-32767"`);
  }
  if (base < 1 || max > 65535 || max < base) throw new Error(`invalid port range ${JSON.stringify(s)}: ports must be 1-65535 and the end not below the start`);
  return { base, size: max - base + 1 };
}

export interface NodePortAllocatorOptions {
  /** Random source in [0, 1) for the start of the scan; Math.random by default. */
  random?: () => number;
}

export class NodePortAllocator extends RangeAllocator<number> {
  readonly base: number;
  /** Canonical "base-max" text, as error messages print it. */
  readonly range: string;
  protected readonly bits: RangeBitmap;

  constructor(range: string = DEFAULT_NODE_PORT_RANGE, opts: NodePortAllocatorOptions = {}) {
    super();
    const { base, size } = parsePortRange(range);
    this.base = base;
    this.range = `${base}-${base + size - 1}`;
    this.bits = new RangeBitmap(size, nodePortStaticBandSize(size), opts.random);
  }

  protected offsetOf(port: number): number | undefined {
    if (!Number.isInteger(port)) return undefined;
    const o = port - this.base;
    return o >= 0 && o < this.bits.size ? o : undefined;
  }

  protected valueAt(o: number): number {
    return this.base + o;
  }

  firstPort(): number {
    return this.base;
  }
}
