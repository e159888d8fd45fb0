import { describe, expect, it } from 'vitest';
import { cidrOf, cidrsOverlap, cidrWithin, formatCidr, formatIPv4, parseCidr, parseIPv4, tryParseIPv4 } from './ip4.js';

describe('ip4', () => {
  it('parses, formats and compares', () => {
    expect(formatIPv4(parseIPv4('172.30.0.11'))).toBe('172.30.0.11');
    expect(cidrWithin(parseCidr('10.244.3.0/24'), parseCidr('10.244.0.0/16'))).toBe(true);
    expect(cidrsOverlap(parseCidr('10.96.0.0/12'), parseCidr('10.100.0.0/16'))).toBe(true);
    expect(cidrsOverlap(parseCidr('10.96.0.0/12'), parseCidr('10.244.0.0/16'))).toBe(false);
    for (const bad of ['10.0.0.1/24', '10.0.0.0', '256.0.0.0/8', '10.0.0.0/33']) {
      expect(() => parseCidr(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' }));
    }
  });

  it('reads a CIDR with host bits set as its network only when asked, and tells non-addresses apart without throwing', () => {
    expect(formatCidr(cidrOf('10.96.0.5/12'))).toBe('10.96.0.0/12');
    expect(tryParseIPv4('10.96.0.1')).toBe(parseIPv4('10.96.0.1'));
    for (const bad of ['10.96.0.01', '1.2.3', 'a.b.c.d', '', '300.1.1.1']) expect(tryParseIPv4(bad)).toBeUndefined();
  });
});

describe('cluster defaults', () => {
  it('derives the well-known addresses from the CIDRs', async () => {
    const { clusterDNSIP, addressInCidr, nodePodCIDR } = await import('./cluster-defaults.js');
    expect(clusterDNSIP()).toBe('10.96.0.10');
    expect(addressInCidr('10.100.0.0/16', 1)).toBe('10.100.0.1');
    expect(nodePodCIDR('10.244.0.0/16', 3)).toBe('10.244.3.0/24');
    expect(nodePodCIDR('10.32.0.0/12', 257)).toBe('10.33.1.0/24');
    expect(() => nodePodCIDR('10.244.0.0/24', 1)).toThrow(/no \/24 for node 1/);
  });
});
