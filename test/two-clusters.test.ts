/**
 * Two clusters with different names side by side: separate subnets, separate
 * API servers, and taking one down leaves the other untouched.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster } from './helpers/netns-cluster.js';

const a = new NetnsCluster(1);
const b = new NetnsCluster(1);
afterAll(() => {
  a.down();
  b.down();
}, 60_000);

function ours(name: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`km-${name}-`));
}

describe.skipIf(!IS_ROOT)('two clusters', () => {
  it('run side by side and come down independently', () => {
    a.up();
    b.up();
    const serverOf = (c: NetnsCluster) => c.kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']).stdout;
    expect(serverOf(a)).not.toBe(serverOf(b));
    for (const c of [a, b]) expect(c.kubectl(['get', 'nodes']).stdout).toMatch(/^node-1\s+Ready/m);
    a.down();
    expect(ours(a.name)).toEqual([]);
    expect(ours(b.name).length).toBeGreaterThan(0);
    expect(b.kubectl(['get', 'nodes']).stdout).toMatch(/^node-1\s+Ready/m);
  });
});
