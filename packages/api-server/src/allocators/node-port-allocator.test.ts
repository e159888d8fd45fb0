import { describe, expect, it } from 'vitest';
import {
  NODE_PORT_RANGE_FULL_DETAIL,
  NodePortAllocator,
  RangeFullError,
  nodePortAllocationDetail,
  nodePortStaticBandSize,
  parsePortRange,
} from './node-port-allocator.js';

describe('NodePortAllocator', () => {
  it('covers 30000-32767 by default with a static band of 86 ports', () => {
    const a = new NodePortAllocator();
    expect(a.range).toBe('30000-32767');
    expect(a.size()).toBe(2768);
    expect(a.staticBandSize()).toBe(86);
    expect(nodePortStaticBandSize(2768)).toBe(86);
    expect(nodePortStaticBandSize(10000)).toBe(128);
    expect(nodePortStaticBandSize(100)).toBe(16);
    expect(nodePortStaticBandSize(16)).toBe(0);
    for (let i = 0; i < 500; i++) expect(a.allocate()).toBeGreaterThanOrEqual(30086);
  });

  it('parses base-max, base+offset and single ports', () => {
    expect(parsePortRange('30000-32767')).toEqual({ base: 30000, size: 2768 });
    expect(parsePortRange('30000+2767')).toEqual({ base: 30000, size: 2768 });
    expect(parsePortRange('8080')).toEqual({ base: 8080, size: 1 });
    expect(() => parsePortRange('a-b')).toThrow(/invalid port range/);
    expect(() => parsePortRange('300-200')).toThrow(/invalid port range/);
    expect(new NodePortAllocator('20000+10').range).toBe('20000-20010');
  });

  it('allocates specific ports: ok, taken, out-of-range', () => {
    const a = new NodePortAllocator('30000-32767');
    expect(a.allocateSpecific(30080)).toBe('ok');
    expect(a.allocateSpecific(30080)).toBe('taken');
    expect(a.allocateSpecific(8080)).toBe('out-of-range');
    expect(a.allocateSpecific(32768)).toBe('out-of-range');
    expect(a.allocateSpecific(32767)).toBe('ok');
    expect(a.used()).toBe(2);
    a.release(30080);
    expect(a.has(30080)).toBe(false);
    expect(a.allocateSpecific(30080)).toBe('ok');
  });

  it('falls back to the static band, then throws range is full', () => {
    const a = new NodePortAllocator('30000-30099'); // 100 ports, 16 static
    const got = new Set<number>();
    for (let i = 0; i < 84; i++) got.add(a.allocate());
    expect(Math.min(...got)).toBeGreaterThanOrEqual(30016);
    expect(a.allocate()).toBeLessThan(30016);
    for (let i = 0; i < 15; i++) a.allocate();
    expect(() => a.allocate()).toThrow(RangeFullError);
    a.reserve(30050); // already used: no change
    expect(a.used()).toBe(100);
  });

  it("words errors like Kubernetes' portallocator", () => {
    expect(nodePortAllocationDetail('taken', '30000-32767')).toBe('provided port is already allocated');
    expect(nodePortAllocationDetail('out-of-range', '30000-32767')).toBe(
      'provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
    expect(NODE_PORT_RANGE_FULL_DETAIL).toBe('failed to allocate a nodePort: range is full');
  });
});
