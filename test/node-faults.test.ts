/**
 * Faults on a real netns cluster: a pod's process dies, a node agent restarts,
 * a node's namespace disappears.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';

const c = new NetnsCluster(3, ['--node-monitor-grace-period', '5']);
beforeAll(() => c.up(), 120_000);
afterAll(() => c.down(), 60_000);


function record(): { pids: Record<string, number> } {
  return JSON.parse(readFileSync(`/var/lib/kubemu/${c.name}/cluster.json`, 'utf8'));
}

function podNetnsCount(): number {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(`km-${c.name}-p-`)).length;
}

describe.skipIf(!IS_ROOT)('node and pod faults (netns)', () => {
  it('restarts a container whose process dies', async () => {
    c.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  nodeName: node-1
  containers: [{name: app, image: luksa/kubia}]
`);
    const pod = await until('victim running', () => {
      const p = c.json<PodJ>(['get', 'pod', 'victim']);
      return p.status.phase === 'Running' && p.status.containerStatuses?.[0].ready && p;
    });
    const pid = Number(readFileSync(`/run/kubemu/${c.name}/node-1/pods/${pod.metadata.uid}/pids/app.pid`, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await until('a restart', () => (c.json<PodJ>(['get', 'pod', 'victim']).status.containerStatuses?.[0].restartCount ?? 0) === 1, 20_000);
    await until('running again', () => c.json<PodJ>(['get', 'pod', 'victim']).status.containerStatuses?.[0].ready === true, 20_000);
  });

  it('re-adopts pods after a node agent restart: same pod IPs, no duplicate sandboxes', async () => {
    c.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 3
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`);
    await until('3 web pods running', () => c.json<{ items: PodJ[] }>(['get', 'pods', '-l', 'app=web']).items.filter((p) => p.status.phase === 'Running').length === 3);
    const before = c.json<{ items: PodJ[] }>(['get', 'pods']).items.map((p) => `${p.metadata.name}=${p.status.podIP}`).sort();
    const sandboxes = podNetnsCount();
    const agentPid = record().pids['node-1/node-agent'];
    const argv = readFileSync(`/proc/${agentPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(agentPid, 'SIGKILL');
    const again = spawn('nsenter', [`--net=/run/netns/km-${c.name}-node-1`, '--', ...argv], { detached: true, stdio: 'ignore' });
    again.unref();
    try {
      await new Promise((r) => setTimeout(r, 2000));
      await until('all pods running again', () => c.json<{ items: PodJ[] }>(['get', 'pods']).items.every((p) => p.status.phase === 'Running' && p.status.containerStatuses?.every((s) => s.ready)), 30_000);
      const after = c.json<{ items: PodJ[] }>(['get', 'pods']).items.map((p) => `${p.metadata.name}=${p.status.podIP}`).sort();
      expect(after).toEqual(before);
      expect(podNetnsCount()).toBe(sandboxes);
    } finally {
      if (again.pid) {
        try {
          process.kill(again.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });

  it('marks a node NotReady and its pods not ready when its namespace disappears', async () => {
    c.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: on-node-3}
spec:
  nodeName: node-3
  containers: [{name: app, image: luksa/kubia}]
`);
    const onNode3 = await until('a pod on node-3', () => {
      const p = c.json<PodJ>(['get', 'pod', 'on-node-3']);
      return p.status.conditions?.find((x) => x.type === 'Ready')?.status === 'True' && p;
    });
    const ns = `km-${c.name}-node-3`;
    for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    execFileSync('ip', ['netns', 'del', ns]);
    await until('node-3 not Ready', () => {
      const n = c.json<{ status: { conditions: { type: string; status: string }[] } }>(['get', 'node', 'node-3']);
      return n.status.conditions.find((x) => x.type === 'Ready')?.status !== 'True';
    }, 30_000);
    expect(c.kubectl(['get', 'nodes']).stdout).toMatch(/^node-3\s+NotReady/m);
    await until('its pod not ready', () => c.json<PodJ>(['get', 'pod', onNode3.metadata.name]).status.conditions?.find((x) => x.type === 'Ready')?.status === 'False', 15_000);
  });
});
