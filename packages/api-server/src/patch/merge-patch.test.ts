import { describe, expect, it } from 'vitest';
import { applyMergePatch } from './merge-patch.js';

describe('applyMergePatch (RFC 7386)', () => {
  // The examples of RFC 7386 appendix A.
  const rfc: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(rfc)('%j + %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('adds and removes labels the way kubectl patch --type=merge does', () => {
    const svc = { metadata: { name: 'kubia', labels: { app: 'kubia', tier: 'web' } }, spec: { ports: [{ port: 80 }] } };
    const out = applyMergePatch(svc, { metadata: { labels: { tier: null, env: 'prod' } }, spec: { ports: [{ port: 8080 }] } });
    expect(out).toEqual({ metadata: { name: 'kubia', labels: { app: 'kubia', env: 'prod' } }, spec: { ports: [{ port: 8080 }] } });
  });

  it('never mutates its inputs nor shares structure with them', () => {
    const target = { spec: { replicas: 1, template: { metadata: { labels: { a: 'b' } } } } };
    const patch = { spec: { replicas: 3, selector: { matchLabels: { a: 'b' } } } };
    const before = structuredClone({ target, patch });
    const out = applyMergePatch(target, patch) as typeof target & { spec: { selector: unknown } };
    expect({ target, patch }).toEqual(before);
    out.spec.template.metadata.labels.a = 'changed';
    (out.spec.selector as { matchLabels: Record<string, string> }).matchLabels.a = 'changed';
    expect({ target, patch }).toEqual(before);
  });

  it('treats __proto__ as an ordinary key', () => {
    const target = JSON.parse('{"data":{"x":"1"}}');
    const out = applyMergePatch(target, JSON.parse('{"data":{"__proto__":{"polluted":true}}}')) as { data: Record<string, unknown> };
    expect(Object.keys(out.data)).toEqual(['x', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.data)).toBe(Object.prototype);
  });
});
