import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';

function svc(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubia', namespace: 'default', ...meta }, spec };
  applyDefaults(o);
  return o;
}
const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
const base = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ selector: { app: 'kubia' }, ports: [{ port: 80, targetPort: 8080 }], ...extra });

const LABEL_1123 = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('Service validation (create)', () => {
  const cases: [string, KubeObject, string[]][] = [
    ['valid ClusterIP', svc(base()), []],
    ['ports required', svc({ selector: { app: 'kubia' } }), ['spec.ports: Required value']],
    ['headless needs no ports', svc({ clusterIP: 'None', selector: { app: 'kubia' } }), []],
    [
      'name required when several ports',
      svc(base({ ports: [{ name: 'http', port: 80 }, { port: 443 }] })),
      ['spec.ports[1].name: Required value'],
    ],
    ['port name is a DNS-1123 label', svc(base({ ports: [{ name: 'HTTP', port: 80 }] })), [`spec.ports[0].name: Invalid value: "HTTP": ${LABEL_1123}`]],
    [
      'port names unique',
      svc(base({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] })),
      ['spec.ports[1].name: Duplicate value: "http"'],
    ],
    ['port range', svc(base({ ports: [{ port: 70000, targetPort: 8080 }] })), ['spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive']],
    ['port zero', svc(base({ ports: [{ port: 0, targetPort: 8080 }] })), ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']],
    [
      'protocol enum',
      svc(base({ ports: [{ port: 80, protocol: 'HTTP' }] })),
      ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
    ],
    [
      'targetPort name charset',
      svc(base({ ports: [{ port: 80, targetPort: 'http_x' }] })),
      ['spec.ports[0].targetPort: Invalid value: "http_x": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    ],
    [
      'targetPort name length',
      svc(base({ ports: [{ port: 80, targetPort: 'this-name-is-too-long' }] })),
      ['spec.ports[0].targetPort: Invalid value: "this-name-is-too-long": must be no more than 15 characters'],
    ],
    [
      'targetPort name needs a letter',
      svc(base({ ports: [{ port: 80, targetPort: '8080' }] })),
      ['spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)'],
    ],
    ['targetPort range', svc(base({ ports: [{ port: 80, targetPort: 70000 }] })), ['spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive']],
    [
      'duplicate (protocol, port)',
      svc(base({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] })),
      ['spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'],
    ],
    ['same port, different protocol', svc(base({ ports: [{ name: 'dns', port: 53 }, { name: 'dns-udp', port: 53, protocol: 'UDP' }] })), []],
    [
      'nodePort on ClusterIP',
      svc(base({ ports: [{ port: 80, nodePort: 30123 }] })),
      ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ],
    [
      'duplicate nodePort',
      svc(base({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30123 }, { name: 'b', port: 81, nodePort: 30123 }] })),
      ['spec.ports[1].nodePort: Duplicate value: 30123'],
    ],
    [
      'sessionAffinity enum',
      svc(base({ sessionAffinity: 'Sticky' })),
      ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
    ],
    [
      'ClientIP timeout too big',
      svc(base({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } })),
      ['spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400'],
    ],
    [
      'ClientIP timeout zero',
      svc(base({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } })),
      ['spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400'],
    ],
    ['ClientIP timeout 86400 ok', svc(base({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86400 } } })), []],
    [
      'externalTrafficPolicy on ClusterIP',
      svc(base({ externalTrafficPolicy: 'Local' })),
      ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'],
    ],
    [
      'externalTrafficPolicy enum',
      svc(base({ type: 'NodePort', externalTrafficPolicy: 'Global' })),
      ['spec.externalTrafficPolicy: Unsupported value: "Global": supported values: "Cluster", "Local"'],
    ],
    ['NodePort + Local is fine', svc(base({ type: 'NodePort', externalTrafficPolicy: 'Local' })), []],
    [
      'healthCheckNodePort only for LoadBalancer + Local',
      svc(base({ type: 'NodePort', externalTrafficPolicy: 'Local', healthCheckNodePort: 30000 })),
      ["spec.healthCheckNodePort: Invalid value: 30000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"],
    ],
    ['LoadBalancer + Local with healthCheckNodePort', svc(base({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 30500 })), []],
    [
      'healthCheckNodePort range',
      svc(base({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 70000 })),
      ['spec.healthCheckNodePort: Invalid value: 70000: must be between 1 and 65535, inclusive'],
    ],
    [
      'internalTrafficPolicy enum',
      svc(base({ internalTrafficPolicy: 'Node' })),
      ['spec.internalTrafficPolicy: Unsupported value: "Node": supported values: "Cluster", "Local"'],
    ],
    ['ExternalName requires externalName', svc({ type: 'ExternalName' }), ['spec.externalName: Required value']],
    ['ExternalName with trailing dot', svc({ type: 'ExternalName', externalName: 'api.example.com.' }), []],
    [
      'ExternalName must be a subdomain',
      svc({ type: 'ExternalName', externalName: 'my_db.example.com' }),
      [`spec.externalName: Invalid value: "my_db.example.com": ${SUBDOMAIN}`],
    ],
    [
      'ExternalName may not have a clusterIP',
      svc({ type: 'ExternalName', externalName: 'example.com', clusterIP: '10.96.0.5' }),
      ['spec.clusterIPs: Forbidden: may not be set for ExternalName services'],
    ],
    [
      'ExternalName may not have ipFamilies',
      svc({ type: 'ExternalName', externalName: 'example.com', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' }),
      ['spec.ipFamilies: Forbidden: may not be set for ExternalName services', 'spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services'],
    ],
    [
      'headless NodePort',
      svc(base({ type: 'NodePort', clusterIP: 'None' })),
      ['spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for NodePort services'],
    ],
    [
      'headless LoadBalancer',
      svc(base({ type: 'LoadBalancer', clusterIP: 'None' })),
      ['spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for LoadBalancer services'],
    ],
    ['clusterIP must be an IP', svc(base({ clusterIP: 'abc' })), ['spec.clusterIPs[0]: Invalid value: "abc": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']],
    ['clusterIP may be an IP', svc(base({ clusterIP: '10.96.0.50' })), []],
    [
      'clusterIP family must match ipFamilies',
      svc(base({ clusterIP: 'fd00::5' })),
      ['spec.clusterIPs[0]: Invalid value: "fd00::5": expected an IPv4 value as indicated by `ipFamilies[0]`'],
    ],
    [
      'clusterIPs[0] must match clusterIP',
      svc(base({ clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.51'] })),
      ['spec.clusterIPs: Invalid value: []string{"10.96.0.51"}: first value must match `clusterIP`'],
    ],
    [
      'externalIPs not loopback',
      svc(base({ externalIPs: ['127.0.0.1'] })),
      ['spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ],
    [
      'externalIPs valid',
      svc(base({ externalIPs: ['1.2.3'] })),
      ['spec.externalIPs[0]: Invalid value: "1.2.3": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ],
    [
      'externalIPs not link-local or unspecified',
      svc(base({ externalIPs: ['169.254.1.1', '0.0.0.0'] })),
      [
        'spec.externalIPs[0]: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)',
        'spec.externalIPs[1]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
      ],
    ],
    ['externalIPs ok', svc(base({ externalIPs: ['172.30.0.100'] })), []],
    [
      'loadBalancerSourceRanges only for LoadBalancer',
      svc(base({ loadBalancerSourceRanges: ['10.0.0.0/8'] })),
      ["spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"],
    ],
    [
      'loadBalancerSourceRanges are CIDRs',
      svc(base({ type: 'LoadBalancer', loadBalancerSourceRanges: [' 10.0.0.0/8 ', '10.0.0.0'] })),
      ['spec.LoadBalancerSourceRanges[1]: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ],
    [
      'allocateLoadBalancerNodePorts only for LoadBalancer',
      svc(base({ allocateLoadBalancerNodePorts: false })),
      ["spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"],
    ],
    [
      'loadBalancerClass only for LoadBalancer',
      svc(base({ type: 'NodePort', loadBalancerClass: 'example.com/lb' })),
      ["spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"],
    ],
    [
      'type enum',
      svc(base({ type: 'Foo' })),
      ['spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
    ],
    [
      'selector labels',
      svc(base({ selector: { app: '-x' } })),
      [
        `spec.selector: Invalid value: "-x": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      ],
    ],
    [
      'name is a DNS-1035 label',
      svc(base(), { name: 'Kubia' }),
      [
        `metadata.name: Invalid value: "Kubia": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
      ],
    ],
    [
      'name may not start with a digit',
      svc(base(), { name: '1kubia' }),
      [
        `metadata.name: Invalid value: "1kubia": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
      ],
    ],
    ['namespace required', svc(base(), { namespace: undefined }), ['metadata.namespace: Required value']],
    [
      'appProtocol is a qualified name',
      svc(base({ ports: [{ port: 80, appProtocol: 'kubernetes.io/h2c' }, { port: 81, name: 'x', appProtocol: '-bad' }] })),
      [
        'spec.ports[0].name: Required value',
        `spec.ports[1].appProtocol: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      ],
    ],
  ];
  it.each(cases)('%s', (_name, obj, want) => {
    expect(errs(obj)).toEqual(want);
  });

  it('rejects sessionAffinityConfig with None when not cleared by defaults', () => {
    const o: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'default' }, spec: { ...base({ ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] }), type: 'ClusterIP', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', sessionAffinityConfig: {} } };
    expect(errs(o)).toEqual(['spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None']);
  });

  it('requires the defaulted fields when defaults were skipped', () => {
    const o: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'default' }, spec: { ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] } };
    expect(errs(o)).toEqual(['spec.sessionAffinity: Required value', 'spec.type: Required value']);
  });
});

describe('Service validation (update)', () => {
  const stored = (): KubeObject => {
    const o = svc(base({ clusterIP: '10.96.0.10' }));
    o.spec.clusterIPs = ['10.96.0.10'];
    o.metadata.uid = 'u1';
    o.metadata.resourceVersion = '5';
    return o;
  };

  it('clusterIP may not change', () => {
    const next = stored();
    next.spec.clusterIP = '10.96.0.11';
    expect(errs(next, stored())).toEqual(['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']);
  });

  it('clusterIP may go away when switching to ExternalName', () => {
    const next = svc({ type: 'ExternalName', externalName: 'example.com' });
    next.metadata.uid = 'u1';
    expect(errs(next, stored())).toEqual([]);
  });

  it('name is immutable', () => {
    const next = stored();
    next.metadata.name = 'other';
    expect(errs(next, stored())).toEqual(['metadata.name: Invalid value: "other": field is immutable']);
  });

  it('healthCheckNodePort is immutable while needed', () => {
    const old = svc(base({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 30500 }));
    const next = svc(base({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 30501 }));
    expect(errs(next, old)).toEqual(['spec.healthCheckNodePort: Forbidden: field is immutable']);
  });

  it('unchanged update is valid', () => {
    expect(errs(stored(), stored())).toEqual([]);
  });
});

describe('Service validation (types)', () => {
  it('reports wrong JSON types as field errors', () => {
    expect(errs(svc(base({ ports: [{ port: 'abc', targetPort: 8080 }] })))).toEqual(['spec.ports[0].port: Invalid value: "string": must be of type int32']);
    expect(errs(svc(base({ ports: {} })))).toEqual(['spec.ports: Invalid value: "object": must be of type array']);
    expect(errs(svc(base(), { labels: [] }))).toEqual(['metadata.labels: Invalid value: "array": must be of type object']);
    expect(errs(svc(base({ ports: [{ port: 80, targetPort: true }] })))).toEqual(['spec.ports[0].targetPort: Invalid value: "boolean": must be of type int-or-string']);
    expect(errs({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'default' }, spec: 5 } as KubeObject)[0]).toBe('spec: Invalid value: "integer": must be of type object');
  });
});
