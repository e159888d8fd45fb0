#!/usr/bin/env node
/**
 * Cluster benchmark (root, netns runtime):
 *  - time from `kubemu up` to every node Ready, for 3 and 10 nodes;
 *  - memory per node (node agent + kube-proxy processes): resident (RSS) and
 *    proportional (PSS: pages shared with other processes, such as the node
 *    binary every node's processes map, count once, split between them);
 *  - time to start 100 pods (busybox `sleep`) on 3 nodes, until all Running.
 * Usage: sudo node scripts/bench/cluster.mjs
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = resolve(import.meta.dirname, '..', '..');
const kubemu = join(root, 'packages/cli/bin/kubemu.js');
const run = (...args) => execFileSync(process.execPath, [kubemu, ...args], { encoding: 'utf8' });

if (process.getuid?.() !== 0) {
  console.error('scripts/bench/cluster.mjs needs root (network namespaces): run it with sudo');
  process.exit(1);
}

/** { rss, pss } of a process, KiB. */
function memKiB(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
    return { rss: get('Rss'), pss: get('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

const results = [];
for (const n of [3, 10]) {
  const name = `bench${n}`;
  spawnSync(process.execPath, [kubemu, 'down', '--name', name]);
  const t0 = performance.now();
  run('up', '--name', name, '--nodes', String(n));
  const upMs = performance.now() - t0;
  const rec = JSON.parse(readFileSync(`/var/lib/kubemu/${name}/cluster.json`, 'utf8'));
  const perNode = rec.nodes.map((node) =>
    Object.entries(rec.pids)
      .filter(([k]) => k.startsWith(`${node.name}/`))
      .map(([, pid]) => memKiB(pid))
      .reduce((sum, m) => ({ rss: sum.rss + m.rss, pss: sum.pss + m.pss }), { rss: 0, pss: 0 }),
  );
  const avg = (k) => (perNode.reduce((a, m) => a + m[k], 0) / perNode.length / 1024).toFixed(1);
  const max = (k) => (Math.max(...perNode.map((m) => m[k])) / 1024).toFixed(1);
  results.push(`${n} nodes: up to all Ready ${(upMs / 1000).toFixed(2)} s; memory per node (agent + proxy) RSS ${avg('rss')} MiB (max ${max('rss')}), PSS ${avg('pss')} MiB (max ${max('pss')})`);
  if (n === 3) {
    const kc = run('kubeconfig', '--name', name).trim();
    const k = (...a) => execFileSync('kubectl', ['--kubeconfig', kc, ...a], { encoding: 'utf8' });
    const manifest = `apiVersion: v1
kind: ReplicationController
metadata: {name: sleepers}
spec:
  replicas: 100
  selector: {app: sleepers}
  template:
    metadata: {labels: {app: sleepers}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: s, image: busybox, command: [sleep, '3600']}]
`;
    const t1 = performance.now();
    execFileSync('kubectl', ['--kubeconfig', kc, 'apply', '-f', '-'], { input: manifest });
    let running = 0;
    let last = -1;
    while (running < 100) {
      const pods = JSON.parse(k('get', 'pods', '-l', 'app=sleepers', '-o', 'json')).items;
      running = pods.filter((p) => p.status?.phase === 'Running').length;
      if (running !== last) console.log(`  ${running}/100 pods Running`);
      last = running;
      if (performance.now() - t1 > 300_000) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    results.push(`100 pods on 3 nodes: all Running in ${((performance.now() - t1) / 1000).toFixed(2)} s`);
  }
  run('down', '--name', name);
}
console.log('\n== kubemu cluster benchmark ==');
for (const r of results) console.log(r);
console.log('goals: 10 nodes Ready < 10 s; < 80 MiB per node');
