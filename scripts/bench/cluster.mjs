#!/usr/bin/env node
/**
 * Cluster benchmark (root, netns runtime):
 *  - time from `kubemu up` to every node Ready, for 3 and 10 nodes;
 *  - resident memory per node (node agent + kube-proxy processes);
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

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
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
      .reduce((sum, [, pid]) => sum + rssKiB(pid), 0),
  );
  const avgMiB = perNode.reduce((a, b) => a + b, 0) / perNode.length / 1024;
  results.push(`${n} nodes: up to all Ready ${(upMs / 1000).toFixed(2)} s; memory per node (agent + proxy) ${avgMiB.toFixed(1)} MiB (max ${(Math.max(...perNode) / 1024).toFixed(1)})`);
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
