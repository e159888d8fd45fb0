import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';

const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
function node(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, status?: Record<string, unknown>): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', ...meta }, spec, ...(status ? { status } : {}) };
  applyDefaults(o);
  return o;
}

describe('Node validation', () => {
  it.each([
    ['valid', node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }, {}, { addresses: [{ type: 'InternalIP', address: '172.30.0.11' }], capacity: { cpu: '4' } }), []],
    ['not namespaced', node({}, { namespace: 'default' }), ['metadata.namespace: Forbidden: not allowed on this type']],
    [
      'taint effect enum',
      node({ taints: [{ key: 'a', effect: 'Sometimes' }] }),
      ['metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'],
    ],
    ['taint effect required', node({ taints: [{ key: 'a' }] }), ['metadata.taints[0].effect: Required value']],
    [
      'taints unique by key and effect',
      node({ taints: [{ key: 'a', value: 'x', effect: 'NoSchedule' }, { key: 'a', value: 'y', effect: 'NoSchedule' }] }),
      ['metadata.taints[1]: Duplicate value: core.Taint{Key:"a", Value:"y", Effect:"NoSchedule", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair'],
    ],
    ['podCIDRs are CIDRs', node({ podCIDRs: ['10.244.1.0'] }), ['spec.podCIDRs[0]: Invalid value: "10.244.1.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']],
    [
      'one podCIDR per family',
      node({ podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] }),
      ['spec.podCIDRs: Invalid value: []string{"10.244.1.0/24", "10.244.2.0/24"}: may specify no more than one CIDR for each IP family'],
    ],
  ] as [string, KubeObject, string[]][])('%s', (_n, o, want) => expect(errs(o)).toEqual(want));

  it('podCIDRs may only be set once', () => {
    const old = node({ podCIDRs: ['10.244.1.0/24'] });
    expect(errs(node({ podCIDRs: ['10.244.2.0/24'] }), old)).toEqual(['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']);
    expect(errs(node({ podCIDRs: ['10.244.1.0/24'] }), node())).toEqual([]);
  });

  it('status addresses are unique on update', () => {
    const st = { addresses: [{ type: 'InternalIP', address: '172.30.0.11' }, { type: 'InternalIP', address: '172.30.0.11' }] };
    expect(errs(node({}, {}, st), node())).toEqual(['status.addresses[1]: Duplicate value: core.NodeAddress{Type:"InternalIP", Address:"172.30.0.11"}']);
  });
});
