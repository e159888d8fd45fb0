import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';
import { decodeBase64 } from './misc.js';

const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
function secret(extra: Record<string, unknown>): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls-secret', namespace: 'default' }, ...extra };
  applyDefaults(o);
  return o;
}
const CONFIG_KEY = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

describe('Secret validation', () => {
  it.each([
    ['valid Opaque', secret({ data: { foo: b64('bar') } }), []],
    ['valid TLS', secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY') } }), []],
    ['TLS keys required', secret({ type: 'kubernetes.io/tls', data: {} }), ['data[tls.crt]: Required value', 'data[tls.key]: Required value']],
    ['stringData counts', secret({ type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'CERT', 'tls.key': 'KEY' } }), []],
    ['base64 values', secret({ data: { foo: 'abc$' } }), ['data[foo]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 3']],
    ['string values', secret({ data: { foo: 5 } }), ['data[foo]: Invalid value: "integer": must be of type base64 string']],
    ['keys are config keys', secret({ data: { 'a b': b64('x') } }), [`data[a b]: Invalid value: "a b": ${CONFIG_KEY}`]],
    ['keys may not be ..', secret({ stringData: { '..': 'x' } }), [`data[..]: Invalid value: "..": must not be '..'`]],
    ['basic-auth', secret({ type: 'kubernetes.io/basic-auth', data: {} }), ['data[username]: Required value', 'data[password]: Required value']],
  ] as [string, KubeObject, string[]][])('%s', (_n, o, want) => expect(errs(o)).toEqual(want));

  it('dockerconfigjson content must be JSON', () => {
    const e = errs(secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{') } }));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/^data\[\.dockerconfigjson\]: Invalid value: "<secret contents redacted>": /);
  });

  it('type is immutable', () => {
    const old = secret({ data: {} });
    const next = secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } });
    expect(errs(next, old)).toEqual(['type: Invalid value: "kubernetes.io/tls": field is immutable']);
  });

  it('decodes base64 like Go', () => {
    expect(decodeBase64('YWJj')).toMatchObject({ ok: true });
    expect(decodeBase64('YWI=')).toMatchObject({ ok: true });
    expect(decodeBase64('YQ==')).toMatchObject({ ok: true });
    expect(decodeBase64('YW\nJj')).toMatchObject({ ok: true });
    expect(decodeBase64('YWJ')).toEqual({ ok: false, at: 0 });
    expect(decodeBase64('Y=Jj')).toEqual({ ok: false, at: 1 });
  });
});

describe('ConfigMap validation', () => {
  const cm = (extra: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, ...extra });
  it.each([
    ['valid', cm({ data: { 'app.properties': 'a=b', KEY: 'v' } }), []],
    ['keys', cm({ data: { 'a/b': 'x' } }), [`data[a/b]: Invalid value: "a/b": ${CONFIG_KEY}`]],
    ['not in both', cm({ data: { a: 'x' }, binaryData: { a: b64('y') } }), ['data[a]: Invalid value: "a": duplicate of key present in binaryData']],
    ['values are strings', cm({ data: { a: 1 } }), ['data[a]: Invalid value: "integer": must be of type string']],
  ] as [string, KubeObject, string[]][])('%s', (_n, o, want) => expect(errs(o)).toEqual(want));
});

describe('Namespace validation', () => {
  const ns = (name: string, spec?: Record<string, unknown>): KubeObject => {
    const o: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, ...(spec ? { spec } : {}) };
    applyDefaults(o);
    return o;
  };
  it.each([
    ['valid', ns('custom-namespace'), []],
    ['names are DNS-1123 labels', ns('my.ns'), ['metadata.name: Invalid value: "my.ns": must not contain dots']],
    [
      'names are lower case',
      ns('Dev'),
      [
        `metadata.name: Invalid value: "Dev": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      ],
    ],
    ['finalizers standard or qualified', ns('dev', { finalizers: ['foo'] }), ['spec.finalizers: Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified']],
    ['qualified finalizers', ns('dev', { finalizers: ['example.com/cleanup'] }), []],
  ] as [string, KubeObject, string[]][])('%s', (_n, o, want) => expect(errs(o)).toEqual(want));
});

describe('Event validation', () => {
  const ev = (extra: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'kubia.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'kubia', namespace: 'default' },
    reason: 'Started',
    type: 'Normal',
    ...extra,
  });
  it('checks the involved object namespace', () => {
    expect(errs(ev({}))).toEqual([]);
    expect(errs(ev({ involvedObject: { kind: 'Pod', name: 'x', namespace: 'other' } }))).toEqual(['involvedObject.namespace: Invalid value: "other": does not match event.namespace']);
    expect(errs(ev({ involvedObject: { kind: 'Node', name: 'node-1' } }))).toEqual([]);
  });
  it('checks new-style events', () => {
    expect(errs(ev({ eventTime: '2024-01-01T00:00:00.000000Z' }))).toEqual([
      'reportingComponent: Required value',
      'reportingComponent: Invalid value: "": name part must be non-empty',
      "reportingComponent: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      'reportingInstance: Required value',
      'action: Required value',
    ]);
  });
});

describe('ServiceAccount and TokenRequest validation', () => {
  const sa = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'default' }, ...extra });
  const tr = (spec: Record<string, unknown>): KubeObject => {
    const o: KubeObject = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec };
    applyDefaults(o);
    return o;
  };
  it('a ServiceAccount name is a DNS subdomain; automountServiceAccountToken a boolean', () => {
    expect(validateObject(sa('build-bot.ci'))).toEqual([]);
    expect(validateObject(sa('Robot')).map(formatFieldError)).toEqual([expect.stringMatching(/^metadata\.name: Invalid value: "Robot": a lowercase RFC 1123 subdomain/)]);
    expect(validateObject(sa('x', { automountServiceAccountToken: 'no' })).map(formatFieldError)).toEqual(['automountServiceAccountToken: Invalid value: "string": must be of type boolean']);
  });
  it('a TokenRequest lasts an hour by default, at least 10 minutes and at most 2^32 seconds', () => {
    expect(tr({}).spec.expirationSeconds).toBe(3600);
    expect(validateObject(tr({}))).toEqual([]);
    expect(validateObject(tr({ expirationSeconds: 599 })).map(formatFieldError)).toEqual(['spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes']);
    expect(validateObject(tr({ expirationSeconds: 2 ** 32 })).map(formatFieldError)).toEqual(['spec.expirationSeconds: Invalid value: 4294967296: may not specify a duration larger than 2^32 seconds']);
  });
});
