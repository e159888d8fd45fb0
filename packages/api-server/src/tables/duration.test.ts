import { describe, expect, it } from 'vitest';
import { humanDuration, since } from './duration.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe('humanDuration (duration.HumanDuration)', () => {
  it.each([
    [-3 * s, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [999, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [5 * m + 2 * s, '5m2s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [5 * h + 30 * m, '5h30m'],
    [7 * h + 59 * m, '7h59m'],
    [8 * h + 20 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 3 * h, '2d3h'],
    [7 * d + 23 * h, '7d23h'],
    [8 * d + 5 * h, '8d'],
    [729 * d, '729d'],
    [730 * d, '2y'],
    [730 * d + 45 * d, '2y45d'],
    [8 * 365 * d + 100 * d, '8y'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('since (translateTimestampSince)', () => {
  const now = new Date('2024-05-01T12:00:00Z');
  it('ages a timestamp', () => {
    expect(since('2024-05-01T11:54:58Z', now)).toBe('5m2s');
    expect(since('2024-04-29T09:00:00Z', now)).toBe('2d3h');
  });
  it('is <unknown> without a timestamp', () => {
    for (const ts of [undefined, null, '', 'garbage', '0001-01-01T00:00:00Z']) expect(since(ts, now)).toBe('<unknown>');
  });
});
