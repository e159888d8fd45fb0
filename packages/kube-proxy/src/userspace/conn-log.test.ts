import { describe, expect, it } from 'vitest';
import { ConnLog, type ConnRecord } from './conn-log.js';

const rec = (i: number): ConnRecord => ({ start: i, durationMs: 1, protocol: 'TCP', service: 's', via: 'cluster-ip', client: 'c', node: 'n', endpoint: 'e', bytesIn: i, bytesOut: 0, result: 'ok', attempts: 1 });

describe('ConnLog', () => {
  it('keeps the newest records in order', () => {
    const l = new ConnLog(3);
    expect(l.recent()).toEqual([]);
    for (let i = 0; i < 5; i++) l.add(rec(i));
    expect(l.total).toBe(5);
    expect(l.recent().map((r) => r.start)).toEqual([2, 3, 4]);
    expect(l.recent(2).map((r) => r.start)).toEqual([3, 4]);
  });
});
