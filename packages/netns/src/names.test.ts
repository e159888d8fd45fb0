import { describe, expect, it } from 'vitest';
import {
  IFNAME_MAX, bridgeName, clusterOf, hostVethName, isOurs, isPodNetns, netnsName, podHostname, podNetnsName,
  podUidKey, podVethName, resolveNetns, validateClusterName,
} from './names.js';

describe('names', () => {
  it('accepts cluster names ^[a-z][a-z0-9]{0,7}$ only, with a typed error', () => {
    for (const ok of ['a', 'demo', 'abcdefgh', 'k8s1']) expect(validateClusterName(ok)).toBe(ok);
    for (const bad of ['', 'Demo', '1abc', 'abcdefghi', 'a-b', 'a_b']) {
      expect(() => validateClusterName(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    }
  });

  it('keeps every interface name within 15 characters, even for the longest cluster name', () => {
    const c = 'abcdefgh';
    expect(bridgeName(c)).toBe('km-abcdefgh');
    const veths = Array.from({ length: 256 }, (_, i) => hostVethName(c, i));
    expect(new Set(veths).size).toBe(256);
    for (const v of veths) expect(v.length).toBeLessThanOrEqual(IFNAME_MAX);
    expect(hostVethName('demo', 11)).toBe('kmv-demo-0b');
    expect(podVethName(c, 'a1b2c3d4-e5f6-4a00-8000-00000000000a')).toMatch(/^kp[0-9a-f]{10}$/);
    expect(() => hostVethName(c, 256)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
  });

  it('derives namespace names from node names and pod UIDs', () => {
    expect(netnsName('demo', 'node-1')).toBe('km-demo-node-1');
    expect(resolveNetns('demo', 'node-1')).toBe('km-demo-node-1');
    expect(resolveNetns('demo', 'km-demo-node-1')).toBe('km-demo-node-1');
    expect(podNetnsName('demo', 'A1B2C3D4-E5F6-4a00-8000-00000000000a')).toBe('km-demo-p-a1b2c3d4e5f6');
    expect(podUidKey('not-a-uuid')).toMatch(/^[0-9a-f]{12}$/);
    expect(isPodNetns('km-demo-p-a1b2c3d4e5f6', 'demo')).toBe(true);
    expect(isPodNetns('km-demo-node-1', 'demo')).toBe(false);
    expect(() => netnsName('demo', 'p-a1b2c3d4e5f6')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => netnsName('demo', 'Node_1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
  });

  it('tells a cluster’s names from another cluster’s and from the host’s', () => {
    for (const n of ['km-demo', 'km-demo-node-1', 'km-demo-p-a1b2c3d4e5f6', 'kmv-demo-0b']) {
      expect(isOurs(n, 'demo')).toBe(true);
      expect(clusterOf(n)).toBe('demo');
    }
    for (const n of ['km-demo2', 'km-demo2-node-1', 'kmv-demo2-0b', 'eth0', 'kmx', 'km-', 'cbr0']) expect(isOurs(n, 'demo')).toBe(false);
    expect(clusterOf('eth0')).toBeNull();
    expect(clusterOf('km-Demo')).toBeNull();
  });

  it('makes the hostname from the pod name like Kubernetes (63 chars, no trailing - or .)', () => {
    expect(podHostname('kubia-7d9f8')).toBe('kubia-7d9f8');
    expect(podHostname(`${'a'.repeat(62)}-b`)).toBe('a'.repeat(62));
    expect(() => podHostname('Bad_Name')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
  });
});
