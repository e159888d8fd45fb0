import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';
import { checkName } from './meta.js';

const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
const cm = (meta: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', ...meta } });

describe('ObjectMeta validation', () => {
  it.each([
    ['name or generateName', cm({}), ['metadata.name: Required value: name or generateName is required']],
    ['generateName alone is fine (the registry fills the name)', cm({ generateName: 'kubia-' }), []],
    [
      'generateName prefix checked',
      cm({ generateName: 'Kubia-' }),
      [
        "metadata.generateName: Invalid value: \"Kubia-\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    ],
    ['name length', cm({ name: 'a'.repeat(254) }), ['metadata.name: Invalid value: "' + 'a'.repeat(254) + '": must be no more than 253 characters']],
    [
      'namespace is a DNS-1123 label',
      cm({ name: 'a', namespace: 'my.ns' }),
      ['metadata.namespace: Invalid value: "my.ns": must not contain dots'],
    ],
    ['generation not negative', cm({ name: 'a', generation: -1 }), ['metadata.generation: Invalid value: -1: must be greater than or equal to 0']],
    [
      'annotation keys (case-insensitive)',
      cm({ name: 'a', annotations: { 'Example.COM/Note': 'x', 'bad key': 'y' } }),
      [
        `metadata.annotations: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      ],
    ],
    ['annotation size', cm({ name: 'a', annotations: { big: 'x'.repeat(256 * 1024) } }), ['metadata.annotations: Too long: may not be more than 262144 bytes']],
    [
      'owner references',
      cm({ name: 'a', ownerReferences: [{ kind: 'ReplicaSet', name: 'rs' }] }),
      ['metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty', 'metadata.ownerReferences.uid: Invalid value: "": must not be empty'],
    ],
    [
      'finalizers are qualified names',
      cm({ name: 'a', finalizers: ['-x'] }),
      [
        `metadata.finalizers: Invalid value: "-x": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      ],
    ],
    ['metadata must be an object', { apiVersion: 'v1', kind: 'ConfigMap', metadata: 'x' } as unknown as KubeObject, ['metadata: Invalid value: "string": must be of type object', 'metadata.name: Required value: name or generateName is required', 'metadata.namespace: Required value']],
  ] as [string, KubeObject, string[]][])('%s', (_n, o, want) => expect(errs(o)).toEqual(want));

  it('masks a trailing dash in generateName like Kubernetes', () => {
    expect(checkName('subdomain', 'kubia-', true)).toEqual([]);
    expect(checkName('dns1035', 'web-', true)).toEqual([]);
  });

  it('forbids new finalizers while deleting', () => {
    const old = cm({ name: 'a', uid: 'u', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/a'] });
    const next = cm({ name: 'a', uid: 'u', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/a', 'example.com/b'] });
    expect(errs(next, old)).toEqual(['metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/b"}']);
  });

  it('name, namespace and uid are immutable', () => {
    const old = cm({ name: 'a', uid: 'u1' });
    expect(errs(cm({ name: 'a', namespace: 'other', uid: 'u2' }), old)).toEqual([
      'metadata.namespace: Invalid value: "other": field is immutable',
      'metadata.uid: Invalid value: "u2": field is immutable',
    ]);
  });
});
