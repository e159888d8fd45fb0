import { describe, expect, it } from 'vitest';
import { SlotSpace } from './nft-slots.js';

describe('SlotSpace', () => {
  it('hands out disjoint power-of-two blocks and reuses freed ones of the same size', () => {
    const s = new SlotSpace();
    const a = s.take(3);
    const b = s.take(10);
    const c = s.take(4);
    expect([a, b, c]).toEqual([{ base: 0, cap: 4 }, { base: 4, cap: 16 }, { base: 20, cap: 4 }]);
    s.give(a);
    expect(s.take(2)).toEqual({ base: 0, cap: 4 });
    expect(s.take(1)).toEqual({ base: 24, cap: 4 });
    s.give(b);
    expect(s.take(9)).toEqual({ base: 4, cap: 16 });
    s.reset();
    expect(s.take(1)).toEqual({ base: 0, cap: 4 });
  });
});
