import { describe, expect, it } from 'vitest';
import { ApiError } from '@kubemu/api';
import { varintToInt32, varintToInt64, WireReader, WireType } from './wire.js';

const r = (...bytes: number[]) => new WireReader(Uint8Array.from(bytes));

function badRequest(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe(400);
    return e as ApiError;
  }
  throw new Error('expected a 400');
}

describe('WireReader', () => {
  it('reads varints of every length', () => {
    expect(r(0x00).varint()).toEqual({ lo: 0, hi: 0 });
    expect(r(0x96, 0x01).varint()).toEqual({ lo: 150, hi: 0 });
    expect(r(0xff, 0xff, 0xff, 0xff, 0x0f).varint()).toEqual({ lo: 0xffffffff, hi: 0 });
    expect(r(0x80, 0x80, 0x80, 0x80, 0x10).varint()).toEqual({ lo: 0, hi: 1 });
    // 2^63 - 1 and the 10-byte encoding of -1.
    expect(r(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f).varint()).toEqual({ lo: 0xffffffff, hi: 0x7fffffff });
    const minusOne = r(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01).varint();
    expect(varintToInt64(minusOne)).toBe(-1);
    expect(varintToInt32(minusOne)).toBe(-1);
  });

  it('converts to Go int32/int64', () => {
    expect(varintToInt64({ lo: 123, hi: 0 })).toBe(123);
    expect(varintToInt64({ lo: 0, hi: 1 })).toBe(2 ** 32);
    expect(varintToInt64({ lo: 0xfffffffe, hi: 0xffffffff })).toBe(-2);
    expect(varintToInt32({ lo: 0x80000000, hi: 0 })).toBe(-(2 ** 31));
  });

  it('rejects varints longer than 10 bytes and truncated ones', () => {
    expect(badRequest(() => r(...Array(10).fill(0xff), 0x01).varint()).message).toMatch(/overflow/);
    expect(badRequest(() => r(0x80, 0x80).varint()).message).toMatch(/unexpected EOF/);
    badRequest(() => r().varint());
  });

  it('reads tags and rejects field number 0', () => {
    expect(r(0x0a).tag()).toEqual({ no: 1, wire: WireType.LEN });
    expect(r(0x80, 0x01).tag()).toEqual({ no: 16, wire: WireType.VARINT });
    expect(r(0xfd, 0xff, 0xff, 0xff, 0x0f).tag()).toEqual({ no: 0x1fffffff, wire: WireType.FIXED32 });
    badRequest(() => r(0x02).tag());
    badRequest(() => r(0xff, 0xff, 0xff, 0xff, 0x7f).tag()); // field number beyond 2^29-1
  });

  it('reads fixed32 and fixed64 little-endian', () => {
    expect(r(0x78, 0x56, 0x34, 0x12).fixed32()).toBe(0x12345678);
    expect(r(1, 0, 0, 0, 2, 0, 0, 0).fixed64()).toEqual({ lo: 1, hi: 2 });
    badRequest(() => r(1, 2, 3).fixed32());
    badRequest(() => r(1, 2, 3, 4, 5, 6, 7).fixed64());
  });

  it('reads length-delimited payloads as bounded views', () => {
    const buf = Uint8Array.from([0x03, 0x61, 0x62, 0x63, 0x09]);
    const rd = new WireReader(buf);
    expect(Buffer.from(rd.bytes()).toString()).toBe('abc');
    expect(rd.pos).toBe(4);
    badRequest(() => r(0x05, 0x61).bytes());
    // A length that does not fit in a safe integer.
    badRequest(() => r(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01).bytes());
    // A reader over a sub-range cannot read past its end.
    badRequest(() => new WireReader(Uint8Array.from([0x02, 0x61, 0x62]), 0, 2).bytes());
  });

  it('skips every wire type, including nested groups', () => {
    // varint, fixed64, len, fixed32, then a group { varint, group {} } and a final varint field 2.
    const rd = r(0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x01, 0x00, 0x25, 1, 2, 3, 4, 0x2b, 0x08, 0x01, 0x33, 0x34, 0x2c, 0x10, 0x07);
    for (let i = 0; i < 5; i++) {
      const t = rd.tag();
      rd.skip(t.wire, t.no);
    }
    expect(rd.tag()).toEqual({ no: 2, wire: WireType.VARINT });
    expect(rd.varint().lo).toBe(7);
    expect(rd.eof()).toBe(true);
  });

  it('rejects bad groups and illegal wire types', () => {
    expect(badRequest(() => r(0x0b, 0x14).skip(WireType.START_GROUP, 1)).message).toMatch(/mismatched/); // start 1, end 2
    badRequest(() => r().skip(WireType.END_GROUP, 1));
    badRequest(() => r(0x0b).skip(WireType.START_GROUP, 1)); // never closed
    badRequest(() => r().skip(6, 1));
    badRequest(() => r().skip(7, 1));
    // Deeply nested groups stop at a bound instead of exhausting the stack or memory.
    const deep = new WireReader(Uint8Array.from(Array(100_000).fill(0x0b)));
    expect(badRequest(() => deep.skip(WireType.START_GROUP, 1)).message).toMatch(/nested too deeply/);
  });
});
