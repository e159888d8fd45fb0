import { describe, expect, it } from 'vitest';
import {
  CLUSTER_IP_RANGE_FULL_DETAIL,
  ClusterIPAllocator,
  RangeFullError,
  clusterIPAllocationDetail,
  clusterIPStaticBandSize,
} from './cluster-ip-allocator.js';

function toInt(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

describe('ClusterIPAllocator', () => {
  it('excludes network and broadcast; the kubernetes service gets the first IP', () => {
    const a = new ClusterIPAllocator('10.96.0.0/12');
    expect(a.cidr).toBe('10.96.0.0/12');
    expect(a.size()).toBe(2 ** 20 - 2);
    expect(a.firstIP()).toBe('10.96.0.1');
    expect(a.nthIP(9)).toBe('10.96.0.10');
    expect(a.contains('10.96.0.0')).toBe(false);
    expect(a.contains('10.111.255.255')).toBe(false);
    expect(a.contains('10.111.255.254')).toBe(true);
    expect(a.contains('10.112.0.1')).toBe(false);
    expect(a.contains('not-an-ip')).toBe(false);
    expect(a.allocateSpecific('10.96.0.1')).toBe('ok');
    expect(a.allocateSpecific('10.96.0.1')).toBe('taken');
    expect(a.allocateSpecific('10.96.0.0')).toBe('out-of-range');
    expect(a.allocateSpecific('1.1.1.1')).toBe('out-of-range');
    expect(a.used()).toBe(1);
  });

  it('normalises a CIDR given with host bits', () => {
    expect(new ClusterIPAllocator('10.96.3.7/12').cidr).toBe('10.96.0.0/12');
    expect(() => new ClusterIPAllocator('10.96.0.0')).toThrow(/invalid service CIDR/);
    expect(() => new ClusterIPAllocator('10.96.0.0/31')).toThrow(/too small/);
  });

  it('keeps a lower band of min(max(16, size/16), 256) for static IPs', () => {
    expect(clusterIPStaticBandSize(2 ** 20)).toBe(256); // /12
    expect(clusterIPStaticBandSize(256)).toBe(16); // /24
    expect(clusterIPStaticBandSize(4096)).toBe(256); // /20
    expect(clusterIPStaticBandSize(1024)).toBe(64); // /22
    expect(clusterIPStaticBandSize(16)).toBe(0); // /28
    const a = new ClusterIPAllocator('10.96.0.0/12');
    expect(a.staticBandSize()).toBe(256);
    // 10.96.0.1 .. 10.96.1.0 is the static band; dynamic IPs never land there while the upper band has room.
    for (let i = 0; i < 2000; i++) {
      const ip = a.allocate();
      expect(toInt(ip)).toBeGreaterThan(toInt('10.96.1.0'));
      expect(a.contains(ip)).toBe(true);
    }
    expect(a.used()).toBe(2000);
  });

  it('falls back to the lower band when the upper band is full, then reports range is full', () => {
    const a = new ClusterIPAllocator('10.0.0.0/24'); // 254 usable, 16 static
    expect(a.staticBandSize()).toBe(16);
    const seen = new Set<string>();
    for (let i = 0; i < 254 - 16; i++) seen.add(a.allocate());
    expect(seen.size).toBe(238);
    for (const ip of seen) expect(toInt(ip)).toBeGreaterThanOrEqual(toInt('10.0.0.17'));
    // Upper band full: the next ones come from the lower band.
    const low = a.allocate();
    expect(toInt(low)).toBeLessThanOrEqual(toInt('10.0.0.16'));
    for (let i = 0; i < 15; i++) a.allocate();
    expect(a.used()).toBe(254);
    expect(() => a.allocate()).toThrow(RangeFullError);
    expect(() => a.allocate()).toThrow('range is full');
    a.release('10.0.0.200');
    expect(a.allocate()).toBe('10.0.0.200');
  });

  it('allocates deterministically with an injected random source and wraps around the band', () => {
    const a = new ClusterIPAllocator('10.0.0.0/24', { random: () => 0.999999 });
    expect(a.allocate()).toBe('10.0.0.254');
    expect(a.allocate()).toBe('10.0.0.17'); // wrapped to the start of the upper band
  });

  it('reserve marks used IPs at startup, release frees them, both ignore junk', () => {
    const a = new ClusterIPAllocator('10.96.0.0/12');
    a.reserve('10.96.0.10');
    a.reserve('10.96.0.10');
    a.reserve('192.168.0.1');
    expect(a.used()).toBe(1);
    expect(a.has('10.96.0.10')).toBe(true);
    expect(a.allocateSpecific('10.96.0.10')).toBe('taken');
    a.release('10.96.0.10');
    a.release('10.96.0.10');
    a.release('192.168.0.1');
    expect(a.used()).toBe(0);
    expect(a.allocateSpecific('10.96.0.10')).toBe('ok');
  });

  it('is fast on a nearly full large range (no unbounded scanning)', () => {
    const a = new ClusterIPAllocator('10.96.0.0/16', { random: () => 0 });
    const size = a.size();
    for (let i = 0; i < size - 1; i++) a.allocate();
    const t0 = performance.now();
    const last = a.allocate();
    expect(a.contains(last)).toBe(true);
    expect(() => a.allocate()).toThrow(RangeFullError);
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it("words errors like Kubernetes' ipallocator", () => {
    expect(clusterIPAllocationDetail('10.96.0.10', 'taken', '10.96.0.0/12')).toBe('failed to allocate IP 10.96.0.10: provided IP is already allocated');
    expect(clusterIPAllocationDetail('1.1.1.1', 'out-of-range', '10.96.0.0/12')).toBe(
      'failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
    );
    expect(CLUSTER_IP_RANGE_FULL_DETAIL).toBe('failed to allocate a serviceIP: range is full');
  });
});
