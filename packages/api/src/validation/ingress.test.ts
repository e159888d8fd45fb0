import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';

const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
const backend = { service: { name: 'kubia-nodeport', port: { number: 80 } } };
function ing(rulePath: Record<string, unknown> = {}, spec: Record<string, unknown> = {}, host = 'kubia.example.com'): KubeObject {
  const o: KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'kubia', namespace: 'default' },
    spec: {
      tls: [{ hosts: ['kubia.example.com'], secretName: 'tls-secret' }],
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend, ...rulePath }] } }],
      ...spec,
    },
  };
  applyDefaults(o);
  return o;
}
const P = 'spec.rules[0].http.paths[0]';
const SUBDOMAIN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('Ingress validation', () => {
  const cases: [string, KubeObject, string[]][] = [
    ['valid (book kubia.example.com with TLS)', ing(), []],
    ['pathType required', ing({ pathType: undefined }), [`${P}.pathType: Required value: pathType must be specified`]],
    ['pathType enum', ing({ pathType: 'Regex' }), [`${P}.pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"`]],
    ['path absolute', ing({ path: 'foo' }), [`${P}.path: Invalid value: "foo": must be an absolute path`]],
    ['path empty for Exact', ing({ path: undefined, pathType: 'Exact' }), [`${P}.path: Invalid value: "": must be an absolute path`]],
    ['ImplementationSpecific may omit path', ing({ path: undefined, pathType: 'ImplementationSpecific' }), []],
    ['no //', ing({ path: '/a//b' }), [`${P}.path: Invalid value: "/a//b": must not contain '//'`]],
    ['no %2f', ing({ path: '/a%2fb' }), [`${P}.path: Invalid value: "/a%2fb": must not contain '%2f'`]],
    ['no trailing /..', ing({ path: '/a/..' }), [`${P}.path: Invalid value: "/a/..": cannot end with '/..'`]],
    ['no trailing /.', ing({ path: '/a/.' }), [`${P}.path: Invalid value: "/a/.": cannot end with '/.'`]],
    ['host not an IP', ing({}, {}, '1.2.3.4'), ['spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address']],
    ['host is a subdomain', ing({}, {}, 'Kubia.example.com'), [`spec.rules[0].host: Invalid value: "Kubia.example.com": ${SUBDOMAIN}`]],
    ['wildcard host', ing({}, {}, '*.example.com'), []],
    [
      'bad wildcard host',
      ing({}, {}, '*.*.example.com'),
      [
        `spec.rules[0].host: Invalid value: "*.*.example.com": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      ],
    ],
    [
      'backend: not both',
      ing({ backend: { ...backend, resource: { kind: 'StorageBucket', name: 'b' } } }),
      [`${P}.backend: Invalid value: "": cannot set both resource and service backends`],
    ],
    ['backend required', ing({ backend: {} }), [`${P}.backend: Invalid value: "": resource or service backend is required`]],
    ['resource backend', ing({ backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } } }), []],
    [
      'port name and number',
      ing({ backend: { service: { name: 'kubia', port: { number: 80, name: 'http' } } } }),
      [`${P}.backend: Invalid value: "": cannot set both port name & port number`],
    ],
    ['port required', ing({ backend: { service: { name: 'kubia', port: {} } } }), [`${P}.backend: Required value: port name or number is required`]],
    ['port by name', ing({ backend: { service: { name: 'kubia', port: { name: 'http' } } } }), []],
    [
      'port number range',
      ing({ backend: { service: { name: 'kubia', port: { number: 70000 } } } }),
      [`${P}.backend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive`],
    ],
    [
      'service name is a DNS-1035 label',
      ing({ backend: { service: { name: '1kubia', port: { number: 80 } } } }),
      [
        `${P}.backend.service.name: Invalid value: "1kubia": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
      ],
    ],
    ['rules or default backend', ing({}, { rules: undefined }), ['spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified']],
    ['default backend only', ing({}, { rules: undefined, defaultBackend: backend }), []],
    ['paths required', ing({}, { rules: [{ host: 'a.example.com', http: { paths: [] } }] }), ['spec.rules[0].http.paths: Required value']],
    ['tls hosts', ing({}, { tls: [{ hosts: ['Bad_Host'], secretName: 'tls-secret' }] }), [`spec.tls[0].hosts[0]: Invalid value: "Bad_Host": ${SUBDOMAIN}`]],
    ['tls secretName', ing({}, { tls: [{ secretName: 'TLS' }] }), [`spec.tls[0].secretName: Invalid value: "TLS": ${SUBDOMAIN}`]],
  ];
  it.each(cases)('%s', (_n, o, want) => expect(errs(o)).toEqual(want));
});

describe('IngressClass validation', () => {
  const ic = (spec: Record<string, unknown>): KubeObject => {
    const o: KubeObject = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec };
    applyDefaults(o);
    return o;
  };
  it.each([
    ['valid', ic({ controller: 'k8s.io/ingress-nginx' }), []],
    ['controller required', ic({}), ['spec.controller: Required value']],
    ['controller is a domain-prefixed path', ic({ controller: 'nginx' }), ['spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")']],
    ['parameters need kind and name', ic({ controller: 'k8s.io/x', parameters: { apiGroup: 'x.io' } }), ['spec.parameters.kind: Required value: kind is required', 'spec.parameters.name: Required value: name is required']],
  ] as [string, KubeObject, string[]][])('%s', (_n, o, want) => expect(errs(o)).toEqual(want));

  it('controller is immutable', () => {
    expect(errs(ic({ controller: 'k8s.io/b' }), ic({ controller: 'k8s.io/a' }))).toEqual(['spec.controller: Invalid value: "k8s.io/b": field is immutable']);
  });
});
