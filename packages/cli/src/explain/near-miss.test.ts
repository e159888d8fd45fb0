import { describe, expect, it } from 'vitest';
import { editDistance, nearMisses } from './near-miss.js';
import { parseSs } from './listeners.js';
import { pod } from './testing/fixtures.js';

describe('near misses', () => {
  it('edit distance counts a swap of two letters as one edit', () => {
    expect(editDistance('kubia', 'kubai')).toBe(1);
    expect(editDistance('kubia', 'kubia')).toBe(0);
    expect(editDistance('app', 'appp')).toBe(1);
    expect(editDistance('frontend', 'kubia')).toBeGreaterThan(3);
  });

  it('prefers the close value and groups the pods carrying it', () => {
    const pods = [pod('a'), pod('b'), pod('c', { labels: { app: 'frontend' } })];
    expect(nearMisses({ app: 'kubai' }, pods)).toEqual([{ key: 'app', value: 'kubai', podKey: 'app', podValue: 'kubia', kind: 'value', pods: ['a', 'b'] }]);
  });

  it('falls back to any value of the same key when none is close', () => {
    const pods = [pod('c', { labels: { app: 'frontend' } })];
    expect(nearMisses({ app: 'backend-api' }, pods).map((m) => m.podValue)).toEqual(['frontend']);
  });

  it('finds a key a typo away', () => {
    expect(nearMisses({ ap: 'kubia' }, [pod('a')])).toEqual([{ key: 'ap', value: 'kubia', podKey: 'app', podValue: 'kubia', kind: 'key', pods: ['a'] }]);
  });
});

describe('ss -ltunH', () => {
  it('parses TCP and UDP listeners, IPv6 brackets and interface suffixes', () => {
    const out = ['tcp   LISTEN 0      511          0.0.0.0:8080      0.0.0.0:*', 'tcp   LISTEN 0      511        127.0.0.1:9000      0.0.0.0:*', 'tcp   LISTEN 0      4096     127.0.0.53%lo:53        0.0.0.0:*', 'udp   UNCONN 0      0               [::]:5353         [::]:*', ''].join('\n');
    expect(parseSs(out)).toEqual([
      { proto: 'TCP', address: '0.0.0.0', port: 8080 },
      { proto: 'TCP', address: '127.0.0.1', port: 9000 },
      { proto: 'TCP', address: '127.0.0.53', port: 53 },
      { proto: 'UDP', address: '::', port: 5353 },
    ]);
  });
});
