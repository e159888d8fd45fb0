/**
 * `kubectl top` with the machine's kubectl on a real netns cluster: the
 * metrics.k8s.io API shows a busy pod's CPU (about one core) and an idle
 * one's (near zero) within 30 s, and every node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';

const c = new NetnsCluster(2);

/** `kubectl top pods` as {pod: millicores}. */
function topPods(): Record<string, number> {
  const r = c.kubectl(['top', 'pods', '--no-headers']);
  if (r.status !== 0) throw new Error(r.stderr);
  const out: Record<string, number> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const [name, cpu] = line.trim().split(/\s+/);
    if (name && cpu) out[name] = Number(cpu.replace(/m$/, ''));
  }
  return out;
}

describe.skipIf(!IS_ROOT)('kubectl top (e2e, root)', () => {
  beforeAll(() => {
    c.up();
    c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: busy}
spec:
  containers: [{name: spin, image: busybox, command: [sh, -c, 'while :; do :; done']}]
---
apiVersion: v1
kind: Pod
metadata: {name: idle}
spec:
  containers: [{name: sleep, image: busybox, command: [sleep, '3600']}]
`);
  }, 120_000);
  afterAll(() => c.down(), 60_000);

  it('shows a busy pod near a core and an idle one near zero within 30 s, and every node', async () => {
    const t0 = Date.now();
    const top = await until('kubectl top pods showing both pods', () => {
      try {
        const t = topPods();
        return t.busy !== undefined && t.idle !== undefined && t.busy > 0 ? t : undefined;
      } catch {
        return undefined;
      }
    }, 30_000, 1000);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(top.busy).toBeGreaterThan(300);
    expect(top.idle).toBeLessThan(50);
    c.kubectl(['delete', 'pod', 'busy', '--grace-period=0', '--force']);
    const nodes = c.kubectl(['top', 'nodes', '--no-headers']).stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]);
    expect(nodes).toEqual(['node-1', 'node-2']);
  }, 60_000);
});
