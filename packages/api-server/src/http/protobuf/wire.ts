/**
 * The protobuf wire format, read side: tags, varints, fixed32/64 and
 * length-delimited fields, with every read bounds-checked. Malformed input
 * raises a 400 ApiError, never anything else.
 */
import { errors, type ApiError } from '@kubemu/api';

export const WireType = {
  VARINT: 0,
  FIXED64: 1,
  LEN: 2,
  START_GROUP: 3,
  END_GROUP: 4,
  FIXED32: 5,
} as const;

/** Groups nest; bound how deep a skipped group may go. */
const MAX_GROUP_DEPTH = 100;

export function protobufError(detail: string): ApiError {
  return errors.badRequest(`error decoding protobuf body: ${detail}`);
}

/** A varint as two unsigned 32-bit halves (protobuf varints carry up to 64 bits). */
export interface Varint {
  lo: number;
  hi: number;
}

export function varintToBigInt(v: Varint): bigint {
  return (BigInt(v.hi >>> 0) << 32n) | BigInt(v.lo >>> 0);
}

/** Go's int64(v): two's complement; a JSON number (exact up to 2^53). */
export function varintToInt64(v: Varint): number {
  if (v.hi === 0 && v.lo >= 0) return v.lo;
  return Number(BigInt.asIntN(64, varintToBigInt(v)));
}

/** Go's int32(v): the low 32 bits, signed. */
export function varintToInt32(v: Varint): number {
  return v.lo | 0;
}

export function varintToUint64(v: Varint): number {
  return Number(varintToBigInt(v));
}

export class WireReader {
  readonly #buf: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) throw protobufError('invalid buffer bounds');
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get pos(): number {
    return this.#pos;
  }

  eof(): boolean {
    return this.#pos >= this.#end;
  }

  #byte(): number {
    if (this.#pos >= this.#end) throw protobufError('unexpected EOF');
    return this.#buf[this.#pos++];
  }

  /** Reads a varint of up to 10 bytes (64 bits); longer ones overflow. */
  varint(): Varint {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte();
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    throw protobufError('integer overflow');
  }

  /** A varint that must fit in a non-negative safe integer (lengths, tags). */
  uvarint(): number {
    const v = this.varint();
    if (v.hi > 0x1fffff) throw protobufError('integer overflow');
    return v.hi * 0x100000000 + v.lo;
  }

  tag(): { no: number; wire: number } {
    const t = this.uvarint();
    const no = Math.floor(t / 8);
    const wire = t & 7;
    if (no < 1 || no > 0x1fffffff) throw protobufError(`illegal tag ${no} (wire type ${wire})`);
    return { no, wire };
  }

  fixed32(): number {
    if (this.#end - this.#pos < 4) throw protobufError('unexpected EOF');
    const b = this.#buf;
    const p = this.#pos;
    this.#pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  fixed64(): Varint {
    const lo = this.fixed32();
    const hi = this.fixed32();
    return { lo, hi };
  }

  /** The payload of a length-delimited field, as a view (no copy). */
  bytes(): Uint8Array {
    const len = this.uvarint();
    if (len > this.#end - this.#pos) throw protobufError('unexpected EOF');
    const out = this.#buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  /** Skips the value of a field whose tag was just read. */
  skip(wire: number, no: number): void {
    switch (wire) {
      case WireType.VARINT:
        this.varint();
        return;
      case WireType.FIXED64:
        this.fixed64();
        return;
      case WireType.LEN:
        this.bytes();
        return;
      case WireType.FIXED32:
        this.fixed32();
        return;
      case WireType.START_GROUP: {
        // Skip to the matching END_GROUP, however deep (within bounds).
        const stack = [no];
        while (stack.length) {
          const t = this.tag();
          if (t.wire === WireType.END_GROUP) {
            if (t.no !== stack.pop()) throw protobufError('mismatched end group');
          } else if (t.wire === WireType.START_GROUP) {
            if (stack.length >= MAX_GROUP_DEPTH) throw protobufError('groups nested too deeply');
            stack.push(t.no);
          } else this.skip(t.wire, t.no);
        }
        return;
      }
      case WireType.END_GROUP:
        throw protobufError('unexpected end group');
      default:
        throw protobufError(`illegal wire type ${wire} for field ${no}`);
    }
  }
}
