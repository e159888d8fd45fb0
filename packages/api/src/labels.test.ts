import { describe, expect, it } from 'vitest';
import { ApiError, formatFieldError } from './errors.js';
import {
  parseLabelSelector,
  selectorFromLabelSelector,
  selectorFromMap,
  serviceSelector,
  validateLabels,
  validateLabelSelector,
} from './labels.js';

function parseErr(s: string): string {
  try {
    parseLabelSelector(s);
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe(400);
    expect((e as ApiError).reason).toBe('BadRequest');
    return (e as ApiError).message;
  }
  throw new Error(`expected ${JSON.stringify(s)} to fail`);
}

describe('parseLabelSelector', () => {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', {}, true],
    ['', undefined, true],
    ['app=kubia', { app: 'kubia' }, true],
    ['app=kubia', { app: 'other' }, false],
    ['app=kubia', {}, false],
    ['app==kubia', { app: 'kubia' }, true],
    ['app!=kubia', { app: 'kubia' }, false],
    ['app!=kubia', {}, true],
    ['app!=kubia', { app: 'x' }, true],
    ['env in (prod,dev)', { env: 'dev' }, true],
    ['env in (prod,dev)', { env: 'qa' }, false],
    ['env in (prod,dev)', {}, false],
    ['env notin (prod)', {}, true],
    ['env notin (prod)', { env: 'prod' }, false],
    ['app', { app: '' }, true],
    ['app', {}, false],
    ['!app', {}, true],
    ['!app', { app: 'x' }, false],
    ['app=kubia,rel=beta', { app: 'kubia', rel: 'beta' }, true],
    ['app=kubia,rel=beta', { app: 'kubia' }, false],
    ['  app = kubia ,  rel  in ( beta , canary ) ', { app: 'kubia', rel: 'canary' }, true],
    ['app=', { app: '' }, true],
    ['app=', { app: 'x' }, false],
    ['x in (a,,b)', { x: '' }, true],
    ['x in ()', { x: '' }, true],
    ['in in (in)', { in: 'in' }, true],
    ['replicas>2', { replicas: '3' }, true],
    ['replicas>2', { replicas: '2' }, false],
    ['replicas<2', { replicas: '1' }, true],
    ['replicas<2', { replicas: 'x' }, false],
    ['example.com/tier=fe', { 'example.com/tier': 'fe' }, true],
  ];
  it.each(cases)('%j on %j ⇒ %s', (sel, labels, want) => {
    expect(parseLabelSelector(sel).matches(labels)).toBe(want);
  });

  it('is empty only without requirements', () => {
    expect(parseLabelSelector('').empty).toBe(true);
    expect(parseLabelSelector('a').empty).toBe(false);
  });

  it('prints requirements sorted by key', () => {
    expect(parseLabelSelector('z=1,a in (c,b),!m,k,x!=y,q==w').toString()).toBe('a in (b,c),k,!m,q==w,x!=y,z=1');
  });

  it.each([
    ['a=b=c', "found '=', expected: ',' or 'end of string'"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a,', "found '', expected: identifier after ','"],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['a=(', "unable to parse requirement: found '(', expected: identifier"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['!=b', "found '!=', expected: !, identifier, or 'end of string'"],
    ['!,a', "unable to parse requirement: found ',', expected: identifier"],
    ['a > 1 2', "found '2', expected: ',' or 'end of string'"],
    ['a>b', "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"],
    [
      '-a=b',
      "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
    [
      'a=-b',
      "unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
  ])('rejects %j', (sel, msg) => {
    expect(parseErr(sel)).toBe(msg);
  });
});

describe('selectorFromLabelSelector', () => {
  it('nil matches nothing, {} everything', () => {
    expect(selectorFromLabelSelector(undefined).matches({ a: 'b' })).toBe(false);
    expect(selectorFromLabelSelector(null).matches({})).toBe(false);
    expect(selectorFromLabelSelector(null).empty).toBe(false);
    expect(selectorFromLabelSelector({}).matches({ a: 'b' })).toBe(true);
    expect(selectorFromLabelSelector({}).empty).toBe(true);
    expect(selectorFromLabelSelector({ matchLabels: {}, matchExpressions: [] }).matches(undefined)).toBe(true);
  });
  it('ANDs matchLabels and matchExpressions', () => {
    const s = selectorFromLabelSelector({
      matchLabels: { app: 'kubia' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'dev'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'tier', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
      ],
    });
    expect(s.matches({ app: 'kubia', env: 'prod', tier: 'x' })).toBe(true);
    expect(s.matches({ app: 'kubia', env: 'prod', tier: 'x', zone: 'a' })).toBe(false);
    expect(s.matches({ app: 'kubia', env: 'prod', tier: 'x', canary: '1' })).toBe(false);
    expect(s.matches({ app: 'kubia', env: 'qa', tier: 'x' })).toBe(false);
    expect(s.toString()).toBe('app=kubia,!canary,env in (dev,prod),tier,zone notin (a)');
  });
  it('treats a bad operator as nothing', () => {
    expect(selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' as never }] }).matches({ a: 'x' })).toBe(false);
  });
});

describe('selectorFromMap / serviceSelector', () => {
  it('map selector: nil ⇒ nothing, {} ⇒ everything', () => {
    expect(selectorFromMap(undefined).matches({})).toBe(false);
    expect(selectorFromMap(null).matches({ a: 'b' })).toBe(false);
    expect(selectorFromMap({}).matches({ a: 'b' })).toBe(true);
    expect(selectorFromMap({ app: 'kubia' }).matches({ app: 'kubia', x: 'y' })).toBe(true);
    expect(selectorFromMap({ app: 'kubia' }).matches({ x: 'y' })).toBe(false);
    expect(selectorFromMap({ b: '2', a: '1' }).toString()).toBe('a=1,b=2');
  });
  it('service selector: nil and {} ⇒ nothing', () => {
    expect(serviceSelector(undefined).matches({})).toBe(false);
    expect(serviceSelector({}).matches({ a: 'b' })).toBe(false);
    expect(serviceSelector({ app: 'kubia' }).matches({ app: 'kubia' })).toBe(true);
  });
});

describe('validateLabels', () => {
  const fmt = (l: unknown): string[] => validateLabels(l, 'metadata.labels').map(formatFieldError);
  it('accepts good labels', () => {
    expect(fmt({ app: 'kubia', 'example.com/tier': 'front_end.1', empty: '' })).toEqual([]);
    expect(fmt(undefined)).toEqual([]);
  });
  it('rejects bad keys and values with Kubernetes messages', () => {
    expect(fmt({ '-bad': 'x' })).toEqual([
      `metadata.labels: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ]);
    expect(fmt({ a: 'x'.repeat(64) })[0]).toBe(`metadata.labels: Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`);
    expect(fmt({ 'Example.com/a': 'b' })[0]).toContain('prefix part a lowercase RFC 1123 subdomain must consist of');
    expect(fmt({ '/a': 'b' })).toEqual(['metadata.labels: Invalid value: "/a": prefix part must be non-empty']);
    expect(fmt({ 'a/b/c': 'x' })[0]).toContain("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    expect(fmt({ 'a/': 'x' })).toHaveLength(2);
  });
  it('reports wrong types instead of throwing', () => {
    expect(fmt([])).toHaveLength(1);
    expect(fmt('x')).toHaveLength(1);
    expect(fmt({ a: 1 })).toHaveLength(1);
  });
});

describe('validateLabelSelector', () => {
  const fmt = (s: unknown): string[] => validateLabelSelector(s, 'spec.selector').map(formatFieldError);
  it('checks operators, values and keys', () => {
    expect(fmt({ matchLabels: { app: 'kubia' } })).toEqual([]);
    expect(fmt({ matchExpressions: [{ key: 'a', operator: 'In' }] })).toEqual([
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ]);
    expect(fmt({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })).toEqual([
      "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    ]);
    expect(fmt({ matchExpressions: [{ key: 'a', operator: 'Foo' }] })).toEqual([
      'spec.selector.matchExpressions[0].operator: Invalid value: "Foo": not a valid selector operator',
    ]);
    expect(fmt({ matchExpressions: [{ key: 'a', operator: 'In', values: ['-'] }] })[0]).toMatch(/^spec\.selector\.matchExpressions\[0\]\.values\[0\]: Invalid value: "-": a valid label/);
  });
  it('never throws on garbage', () => {
    for (const g of [1, 'x', [], { matchExpressions: {} }, { matchExpressions: [null, 1, { values: 'x' }] }, { matchLabels: [] }]) {
      expect(() => fmt(g)).not.toThrow();
      expect(fmt(g).length).toBeGreaterThan(0);
    }
  });
});

describe('parser robustness', () => {
  it('only ever throws ApiError 400 on random input', () => {
    const alphabet = ['a', 'b', '=', '!', '(', ')', ',', ' ', 'in', 'notin', '>', '<', '-', '.', '/', '1', '\\', '\0', '\t', 'é'];
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const n = Math.floor(rand() * 12);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      try {
        const m = parseLabelSelector(s);
        m.matches({ a: 'b' });
        // The canonical form parses back to the same selector.
        expect(parseLabelSelector(m.toString()).toString()).toBe(m.toString());
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).code).toBe(400);
      }
    }
  });
});
