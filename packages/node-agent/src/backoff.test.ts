import { describe, expect, it } from 'vitest';
import { RestartBackoff } from './backoff.js';

describe('RestartBackoff', () => {
  it('restarts at once, then 10 s doubling to 5 min, and resets after 10 min of running', () => {
    const b = new RestartBackoff();
    const seq = Array.from({ length: 8 }, () => b.next(1000));
    expect(seq).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(b.next(600_000)).toBe(0);
    expect(b.next(1000)).toBe(10_000);
  });
});
