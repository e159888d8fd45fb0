import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';

const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
function ep(subsets: unknown[]): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'external-service', namespace: 'default' }, subsets };
  applyDefaults(o);
  return o;
}
function slice(extra: Record<string, unknown>): KubeObject {
  const o: KubeObject = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubia-abc', namespace: 'default' }, addressType: 'IPv4', endpoints: [], ports: [], ...extra };
  applyDefaults(o);
  return o;
}

describe('Endpoints validation', () => {
  const cases: [string, KubeObject, string[]][] = [
    ['valid (book external-service)', ep([{ addresses: [{ ip: '11.11.11.11' }, { ip: '22.22.22.22' }], ports: [{ port: 80 }] }]), []],
    ['headless subsets need no ports', ep([{ addresses: [{ ip: '10.244.1.5', hostname: 'kubia-0', nodeName: 'node-1' }] }]), []],
    ['no subsets', ep([]), []],
    ['addresses required', ep([{ ports: [{ port: 80 }] }]), ['subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`']],
    [
      'IPs valid',
      ep([{ addresses: [{ ip: 'abc' }] }]),
      ['subsets[0].addresses[0].ip: Invalid value: "abc": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)', 'subsets[0].addresses[0].ip: Invalid value: "abc": must be a valid IP address'],
    ],
    ['IPs not loopback', ep([{ notReadyAddresses: [{ ip: '127.0.0.1' }] }]), ['subsets[0].notReadyAddresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)']],
    ['names required with several ports', ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'http', port: 80 }, { port: 443 }] }]), ['subsets[0].ports[1].name: Required value']],
    ['port range', ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 0 }] }]), ['subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']],
    [
      'protocol enum',
      ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'ICMP' }] }]),
      ['subsets[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
    ],
  ];
  it.each(cases)('%s', (_n, o, want) => expect(errs(o)).toEqual(want));
});

describe('EndpointSlice validation', () => {
  const cases: [string, KubeObject, string[]][] = [
    [
      'valid',
      slice({ endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'p' } }], ports: [{ name: 'http', port: 8080 }] }),
      [],
    ],
    ['conditions may be absent', slice({ endpoints: [{ addresses: ['10.244.1.5'] }] }), []],
    ['addressType required', slice({ addressType: undefined }), ['addressType: Required value']],
    ['addressType enum', slice({ addressType: 'IPv5' }), ['addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"']],
    ['IPv4 addresses', slice({ endpoints: [{ addresses: ['fd00::1'] }] }), ['endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address']],
    ['IPv6 addresses', slice({ addressType: 'IPv6', endpoints: [{ addresses: ['fd00::1'] }] }), []],
    ['FQDN addresses', slice({ addressType: 'FQDN', endpoints: [{ addresses: ['example'] }] }), ['endpoints[0].addresses[0]: Invalid value: "example": should be a domain with at least two segments separated by dots']],
    ['at least one address', slice({ endpoints: [{ addresses: [] }] }), ['endpoints[0].addresses: Required value: must contain at least 1 address']],
    ['port names unique', slice({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }), ['ports[1].name: Duplicate value: "http"']],
    ['port protocol enum', slice({ ports: [{ name: 'a', port: 80, protocol: 'ICMP' }] }), ['ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']],
    ['too many endpoints', slice({ endpoints: Array.from({ length: 1001 }, () => ({ addresses: ['10.0.0.1'] })) }), ['endpoints: Too many: 1001: must have at most 1000 items']],
  ];
  it.each(cases)('%s', (_n, o, want) => expect(errs(o)).toEqual(want));

  it('addressType is immutable', () => {
    const old = slice({});
    const next = slice({ addressType: 'IPv6' });
    expect(errs(next, old)).toEqual(['addressType: Invalid value: "IPv6": field is immutable']);
  });
});
