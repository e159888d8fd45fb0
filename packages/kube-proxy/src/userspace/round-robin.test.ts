import { describe, expect, it } from 'vitest';
import { RoundRobin } from './round-robin.js';

const EPS = ['10.244.1.2:8080', '10.244.2.2:8080', '10.244.3.2:8080'];

describe('RoundRobin', () => {
  it('returns undefined with no endpoints', () => {
    expect(new RoundRobin().next('1.1.1.1', 0)).toBeUndefined();
  });

  it('cycles through every endpoint once per round', () => {
    const rr = new RoundRobin();
    rr.setEndpoints(EPS);
    const round = [0, 1, 2].map(() => rr.next('c', 0));
    expect([...round].sort()).toEqual(EPS);
    expect([0, 1, 2].map(() => rr.next('c', 0))).toEqual(round);
  });

  it('spreads many clients evenly (measured)', () => {
    const rr = new RoundRobin();
    const eps = Array.from({ length: 7 }, (_, i) => `10.244.1.${i + 2}:80`);
    rr.setEndpoints(eps);
    const counts = new Map<string, number>();
    const N = 70_000;
    for (let i = 0; i < N; i++) {
      const e = rr.next(`10.0.${i >> 8}.${i & 255}`, i)!;
      counts.set(e, (counts.get(e) ?? 0) + 1);
      if (i % 5000 === 4999) rr.setEndpoints(i % 10000 === 9999 ? eps : eps.slice(0, 6).concat(eps[6]));
    }
    expect(counts.size).toBe(7);
    for (const c of counts.values()) expect(Math.abs(c - N / 7) / (N / 7)).toBeLessThan(0.02);
  });

  it('reshuffles and restarts when the set changes, keeps order when it does not', () => {
    let seed = 1;
    const rr = new RoundRobin(() => ((seed = (seed * 16807) % 2147483647) / 2147483647));
    rr.setEndpoints(EPS);
    const before = [...rr.endpoints];
    rr.setEndpoints([...EPS].reverse());
    expect(rr.endpoints).toEqual(before);
    rr.setEndpoints(EPS.slice(0, 2));
    expect([...rr.endpoints].sort()).toEqual(EPS.slice(0, 2));
  });

  it('sticks a client to one endpoint with ClientIP affinity, sliding the timeout', () => {
    const rr = new RoundRobin();
    rr.setEndpoints(EPS);
    rr.setAffinity(10);
    const first = rr.next('10.244.1.9', 0);
    for (let t = 1000; t < 60_000; t += 5000) expect(rr.next('10.244.1.9', t)).toBe(first);
    // other clients still rotate
    const others = new Set([1, 2, 3, 4, 5, 6].map((i) => rr.next(`10.244.2.${i}`, 60_000)));
    expect(others.size).toBe(3);
  });

  it('forgets a client after the timeout', () => {
    const rr = new RoundRobin();
    rr.setEndpoints(EPS);
    rr.setAffinity(1);
    const a = rr.next('c', 0);
    expect(rr.stickyClients(500)).toBe(1);
    expect(rr.stickyClients(1000)).toBe(0);
    const b = rr.next('c', 1001);
    expect(b).not.toBe(a); // round robin moved on
  });

  it('lists the clients held now with the time they have left (/affinity)', () => {
    const rr = new RoundRobin();
    rr.setEndpoints(['a:1', 'b:1']);
    rr.setAffinity(10);
    const ep = rr.next('10.0.0.5', 1000)!;
    rr.next('10.0.0.6', 4000);
    expect(rr.stickies(5000)).toEqual([
      { client: '10.0.0.5', endpoint: ep, msLeft: 6000 },
      { client: '10.0.0.6', endpoint: expect.any(String), msLeft: 9000 },
    ]);
    // Expired, or its endpoint gone: not listed.
    expect(rr.stickies(12_000).map((s) => s.client)).toEqual(['10.0.0.6']);
    rr.setEndpoints([ep === 'a:1' ? 'b:1' : 'a:1']);
    expect(rr.stickies(5000).map((s) => s.client)).not.toContain('10.0.0.5');
  });

  it('drops affinity entries whose endpoint left', () => {
    const rr = new RoundRobin();
    rr.setEndpoints(EPS);
    rr.setAffinity(100);
    const a = rr.next('c', 0)!;
    rr.setEndpoints(EPS.filter((e) => e !== a));
    expect(rr.next('c', 1)).not.toBe(a);
  });

  it('ignores stickiness when asked to after a failed dial', () => {
    const rr = new RoundRobin();
    rr.setEndpoints(EPS);
    rr.setAffinity(100);
    const a = rr.next('c', 0);
    const b = rr.next('c', 1, true);
    expect(b).not.toBe(a);
    expect(rr.next('c', 2)).toBe(b);
  });

  it('turning affinity off spreads again', () => {
    const rr = new RoundRobin();
    rr.setEndpoints(EPS);
    rr.setAffinity(100);
    rr.next('c', 0);
    rr.setAffinity(0);
    expect(new Set([1, 2, 3].map((t) => rr.next('c', t))).size).toBe(3);
  });
});
