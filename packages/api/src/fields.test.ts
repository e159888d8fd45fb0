import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { fieldValue, parseFieldSelector, supportedFieldLabels } from './fields.js';
import type { KubeObject } from './types.js';

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'kubia-abc', namespace: 'default' },
  spec: { nodeName: 'node-1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default', containers: [] },
  status: { phase: 'Running', podIP: '10.244.1.5' },
};
const event: KubeObject = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'kubia-abc.1', namespace: 'default' },
  involvedObject: { kind: 'Pod', name: 'kubia-abc', namespace: 'default', uid: 'u-1' },
  reason: 'Started',
  type: 'Normal',
  source: { component: 'kubelet' },
};
const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubia', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.0.12' } };

function err(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe(400);
    return (e as ApiError).message;
  }
  throw new Error('expected failure');
}

describe('parseFieldSelector', () => {
  it('empty matches everything', () => {
    const m = parseFieldSelector('');
    expect(m.empty).toBe(true);
    expect(m.matches(pod)).toBe(true);
  });

  it.each([
    ['metadata.name=kubia-abc', true],
    ['metadata.name==kubia-abc', true],
    ['metadata.name!=kubia-abc', false],
    ['metadata.namespace=default,status.phase=Running', true],
    ['status.phase!=Running', false],
    ['spec.nodeName=node-2', false],
    ['spec.restartPolicy=Always,spec.schedulerName=default-scheduler,spec.serviceAccountName=default', true],
    ['status.podIP=10.244.1.5', true],
    ['status.nominatedNodeName=', true],
    ['spec.hostNetwork=false', true],
  ])('pod %s ⇒ %s', (sel, want) => {
    expect(parseFieldSelector(sel, 'Pod').matches(pod)).toBe(want);
  });

  it('supports what kubectl describe sends for events', () => {
    const m = parseFieldSelector('involvedObject.name=kubia-abc,involvedObject.namespace=default,involvedObject.uid=u-1', 'Event');
    expect(m.matches(event)).toBe(true);
    expect(parseFieldSelector('involvedObject.kind=Pod,reason=Started,type=Normal,source=kubelet', 'Event').matches(event)).toBe(true);
    expect(parseFieldSelector('involvedObject.uid=u-2', 'Event').matches(event)).toBe(false);
  });

  it('supports services spec.type and secrets type', () => {
    expect(parseFieldSelector('spec.type=NodePort', 'Service').matches(svc)).toBe(true);
    expect(parseFieldSelector('spec.clusterIP=10.96.0.12', 'Service').matches(svc)).toBe(true);
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls' };
    expect(parseFieldSelector('type=kubernetes.io/tls', 'Secret').matches(secret)).toBe(true);
  });

  it('rejects unsupported labels with Kubernetes wording', () => {
    expect(err(() => parseFieldSelector('status.phase=Running', 'Service'))).toBe('field label not supported: status.phase');
    expect(err(() => parseFieldSelector('foo=bar', 'Pod'))).toBe('field label not supported: foo');
    expect(err(() => parseFieldSelector('foo.bar=baz', 'Ingress'))).toBe('"foo.bar" is not a known field selector: only "metadata.name", "metadata.namespace"');
    expect(err(() => parseFieldSelector('metadata.namespace=x', 'Node'))).toBe('field label not supported: metadata.namespace');
    expect(err(() => parseFieldSelector('nope=1'))).toBe('field label not supported: nope');
  });

  it('rejects bad syntax', () => {
    expect(err(() => parseFieldSelector('metadata.name'))).toBe("invalid selector: 'metadata.name'; can't understand 'metadata.name'");
    expect(err(() => parseFieldSelector('metadata.name=a=b'))).toBe('invalid field selector: unescaped character in value: 61');
    expect(err(() => parseFieldSelector('metadata.name=a\\x'))).toBe('invalid field selector: invalid escape sequence: \\x');
    expect(err(() => parseFieldSelector('metadata.name=a\\'))).toBe('invalid field selector: invalid escape sequence: \\');
  });

  it('unescapes values and prints canonically', () => {
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a,b' } };
    const m = parseFieldSelector('metadata.name=a\\,b', 'ConfigMap');
    expect(m.matches(obj)).toBe(true);
    expect(m.toString()).toBe('metadata.name=a\\,b');
    expect(parseFieldSelector('status.phase=Running,metadata.name==x', 'Pod').toString()).toBe('metadata.name=x,status.phase=Running');
    expect(parseFieldSelector('metadata.name=x', 'Pod').requiresExactMatch('metadata.name')).toBe('x');
  });

  it('lists labels and reads values', () => {
    expect(supportedFieldLabels('Endpoints')).toEqual(['metadata.name', 'metadata.namespace']);
    expect(supportedFieldLabels('Pod')).toContain('status.podIP');
    expect(fieldValue(pod, 'status.phase')).toBe('Running');
    expect(fieldValue({ apiVersion: 'v1', kind: 'Pod', metadata: {} }, 'spec.nodeName')).toBe('');
  });
});

describe('field selector robustness', () => {
  it('only ever throws ApiError 400 on random input', () => {
    const alphabet = ['metadata.name', 'status.phase', '=', '==', '!=', ',', '\\', 'x', ' ', 'constructor', '__proto__', 'toString'];
    let seed = 11;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = Math.floor(rand() * 8);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      for (const kind of [undefined, 'Pod', 'Service', 'constructor', 'Endpoints']) {
        try {
          parseFieldSelector(s, kind).matches(pod);
        } catch (e) {
          expect(e).toBeInstanceOf(ApiError);
        }
      }
    }
    expect(err(() => parseFieldSelector('constructor=x', 'Pod'))).toBe('field label not supported: constructor');
  });
});
