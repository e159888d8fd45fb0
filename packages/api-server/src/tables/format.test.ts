import { describe, expect, it } from 'vitest';
import { containerCells, formatLabels, formatLabelSelector, joinHostPort, listWithMore, selectorString } from './format.js';

describe('label and selector formatting', () => {
  it('formats label maps with sorted keys, <none> when empty', () => {
    expect(formatLabels({ tier: 'web', app: 'kubia' })).toBe('app=kubia,tier=web');
    expect(formatLabels({})).toBe('<none>');
    expect(formatLabels(undefined)).toBe('<none>');
  });

  it('formats label selectors like labels.Selector.String()', () => {
    const sel = {
      matchLabels: { app: 'kubia' },
      matchExpressions: [
        { key: 'tier', operator: 'In' as const, values: ['web', 'api'] },
        { key: 'env', operator: 'NotIn' as const, values: ['prod'] },
        { key: 'canary', operator: 'DoesNotExist' as const },
        { key: 'release', operator: 'Exists' as const },
      ],
    };
    expect(selectorString(sel)).toBe('app=kubia,!canary,env notin (prod),release,tier in (api,web)');
    expect(selectorString({})).toBe('');
    expect(formatLabelSelector({})).toBe('<none>');
    expect(formatLabelSelector(undefined)).toBe('<none>');
    expect(formatLabelSelector({ matchLabels: { app: 'web' } })).toBe('app=web');
  });
});

describe('other cells', () => {
  it('joins host and port, bracketing IPv6', () => {
    expect(joinHostPort('10.244.1.5', 8080)).toBe('10.244.1.5:8080');
    expect(joinHostPort('fd00::5', 80)).toBe('[fd00::5]:80');
  });

  it('caps lists at max with "+ N more..."', () => {
    expect(listWithMore(['a', 'b', 'c', 'd', 'e'], 5, 3)).toBe('a,b,c + 2 more...');
    expect(listWithMore(['a', 'b'], 2, 3)).toBe('a,b');
    expect(listWithMore([], 0, 3)).toBe('<unset>');
  });

  it('lays out container names and images', () => {
    expect(containerCells([{ name: 'app', image: 'nginx:1.25' }, { name: 'sidecar', image: 'busybox' }])).toEqual(['app,sidecar', 'nginx:1.25,busybox']);
    expect(containerCells(undefined)).toEqual(['', '']);
  });
});
