import { describe, expect, it } from 'vitest';
import { ContainerConfigError, controlPlaneIP, loadBalancerIP, nodePlan, settingsFromEnv } from './container-role.js';

describe('container settings from KUBEMU_* variables', () => {
  it('defaults to the address plan of DESIGN.md', () => {
    const s = settingsFromEnv('control-plane', {});
    expect(s).toMatchObject({ cluster: 'kubemu', subnet: '172.30.0.0/24', nodes: 3, lbPool: '172.30.0.200-172.30.0.250', addons: ['dns', 'ingress'], nodeGraceSeconds: 40, hostApiPort: 6443 });
    expect(controlPlaneIP(s)).toBe('172.30.0.2');
    expect(loadBalancerIP(s)).toBe('172.30.0.3');
    expect(nodePlan(s, 2)).toEqual({ name: 'node-2', ip: '172.30.0.12', podCIDR: '10.244.2.0/24' });
  });

  it('follows KUBEMU_SUBNET for every address and the pool', () => {
    const s = settingsFromEnv('node', { KUBEMU_SUBNET: '172.31.7.0/24', KUBEMU_NODE: 'node-5', KUBEMU_NODES: '5', KUBEMU_ADDONS: 'none' });
    expect(s.nodeIndex).toBe(5);
    expect(s.addons).toEqual([]);
    expect(s.lbPool).toBe('172.31.7.200-172.31.7.250');
    expect(nodePlan(s, 5).ip).toBe('172.31.7.15');
  });

  it('names the variable that is wrong', () => {
    expect(() => settingsFromEnv('node', {})).toThrow(ContainerConfigError);
    expect(() => settingsFromEnv('node', { KUBEMU_NODE: 'worker-1' })).toThrow(/KUBEMU_NODE wants node-N/);
    expect(() => settingsFromEnv('node', { KUBEMU_NODE: 'node-0' })).toThrow(/KUBEMU_NODE/);
    expect(() => settingsFromEnv('control-plane', { KUBEMU_NODES: 'three' })).toThrow(/KUBEMU_NODES wants a whole number from 1 to 50, got "three"/);
    expect(() => settingsFromEnv('control-plane', { KUBEMU_ADDONS: 'dns,metrics' })).toThrow(/KUBEMU_ADDONS: unknown addon "metrics"/);
    expect(() => settingsFromEnv('control-plane', { KUBEMU_API_PORT: '70000' })).toThrow(/KUBEMU_API_PORT/);
  });
});
