#!/usr/bin/env node
/**
 * Cluster benchmark (root, netns runtime), in --rounds rounds (default 5):
 *  - time from `kubemu up` to every node Ready, for each --nodes size (3, 10);
 *  - memory per node (node agent + kube-proxy processes): resident (RSS) and
 *    proportional (PSS: pages shared with other processes, such as the node
 *    binary every node's processes map, count once, split between them);
 *  - time to start --pods pods (busybox `sleep`) on the 3-node cluster, until all Running.
 * Every figure prints min / median / max over the rounds.
 * --against REV builds REV in a temporary git worktree; each round then
 * starts both trees' clusters one after the other (alternating which goes
 * first) and new ÷ old is printed for every figure.
 * Usage: sudo node scripts/bench/cluster.mjs [--nodes 3,10] [--rounds 5] [--pods 100] [--against REV] [--json FILE] [--smoke]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, f, fs, metric, needRoot, onExit, options, againstTree, ratios, writeMetrics } from './lib.mjs';

const o = options();
const SMOKE = o.flag('smoke');
const SIZES = o.list('nodes', SMOKE ? '3' : '3,10').map(Number);
const ROUNDS = Math.max(1, o.num('rounds', SMOKE ? 1 : 5));
const PODS = o.num('pods', SMOKE ? 10 : 100);
const AGAINST = o.str('against', undefined);
const JSON_OUT = o.str('json', undefined);
needRoot('scripts/bench/cluster.mjs');

const trees = [{ label: 'new', root: ROOT }];
const live = new Map();
const cleanups = [];
onExit(() => {
  for (const [name, kubemu] of live) spawnSync(process.execPath, [kubemu, 'down', '--name', name]);
  for (const c of cleanups) c();
});
const old = againstTree(o, cleanups);
if (old) trees.push(old);

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

/** One cluster of `n` nodes from `tree`: up time, memory per node, pods to Running (3 nodes). */
async function once(tree, n) {
  const kubemu = join(tree.root, 'packages/cli/bin/kubemu.js');
  const name = `bench${n}${tree.label === 'old' ? 'o' : ''}`;
  const run = (...args) => execFileSync(process.execPath, [kubemu, ...args], { encoding: 'utf8' });
  spawnSync(process.execPath, [kubemu, 'down', '--name', name]);
  live.set(name, kubemu);
  const out = {};
  try {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [kubemu, 'up', '--name', name, '--nodes', String(n)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubemu up --name ${name} --nodes ${n} failed:\n${(r.stderr || r.stdout).slice(-2000)}\nsee /var/lib/kubemu/${name}/ for its logs`);
    out.up = (performance.now() - t0) / 1000;
    const rec = JSON.parse(readFileSync(`/var/lib/kubemu/${name}/cluster.json`, 'utf8'));
    const perNode = rec.nodes.map((node) =>
      Object.entries(rec.pids)
        .filter(([k]) => k.startsWith(`${node.name}/`))
        .map(([, pid]) => memKiB(pid))
        .reduce((sum, m) => ({ rss: sum.rss + m.rss, pss: sum.pss + m.pss }), { rss: 0, pss: 0 }),
    );
    out.rss = perNode.reduce((a, m) => a + m.rss, 0) / perNode.length / 1024;
    out.pss = perNode.reduce((a, m) => a + m.pss, 0) / perNode.length / 1024;
    if (n === 3 && PODS > 0) {
      const kc = run('kubeconfig', '--name', name).trim();
      const manifest = `apiVersion: v1
kind: ReplicationController
metadata: {name: sleepers}
spec:
  replicas: ${PODS}
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
      while (running < PODS) {
        const pods = JSON.parse(execFileSync('kubectl', ['--kubeconfig', kc, 'get', 'pods', '-l', 'app=sleepers', '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 })).items;
        running = pods.filter((p) => p.status?.phase === 'Running').length;
        if (performance.now() - t1 > 300_000) throw new Error(`${running}/${PODS} pods Running after 300 s in ${name}`);
        if (running < PODS) await new Promise((res) => setTimeout(res, 200));
      }
      out.pods = (performance.now() - t1) / 1000;
    }
  } finally {
    spawnSync(process.execPath, [kubemu, 'down', '--name', name]);
    live.delete(name);
  }
  console.log(`  ${name}: up ${f(out.up, 2)} s, per node RSS ${f(out.rss)} MiB PSS ${f(out.pss)} MiB${out.pods !== undefined ? `, ${PODS} pods Running in ${f(out.pods, 2)} s` : ''}`);
  return out;
}

const runs = {};
for (let r = 0; r < ROUNDS; r++) {
  console.log(`round ${r + 1}/${ROUNDS}`);
  for (const n of SIZES) {
    const order = r % 2 ? [...trees].reverse() : trees;
    for (const t of order) ((runs[`${t.label}:${n}`] ??= [])).push(await once(t, n));
  }
}

const metrics = [];
const col = (label, n, k) => runs[`${label}:${n}`].map((x) => x[k]);
for (const n of SIZES) {
  metrics.push(metric({ bench: 'cluster', name: `${n} nodes: up → all Ready, s`, unit: 's', tool: 'kubemu up', values: col('new', n, 'up'), goal: n === 10 ? ['<=', 10] : undefined }));
  metrics.push(metric({ bench: 'cluster', name: `${n} nodes: memory per node, PSS MiB`, unit: 'MiB', tool: '/proc/PID/smaps_rollup', values: col('new', n, 'pss'), goal: ['<=', 80] }));
  metrics.push(metric({ bench: 'cluster', name: `${n} nodes: memory per node, RSS MiB`, unit: 'MiB', tool: '/proc/PID/smaps_rollup', values: col('new', n, 'rss') }));
  if (n === 3 && PODS > 0) metrics.push(metric({ bench: 'cluster', name: `${PODS} pods on 3 nodes: all Running, s`, unit: 's', tool: 'kubectl get pods', values: col('new', n, 'pods') }));
  if (trees.length > 1) {
    for (const [k, what] of [['up', 'up → Ready'], ['pss', 'memory per node (PSS)'], ...(n === 3 && PODS > 0 ? [['pods', `${PODS} pods Running`]] : [])]) {
      metrics.push(metric({ bench: 'cluster', name: `${n} nodes: ${what} new ÷ old`, unit: '×', tool: 'kubemu up', values: ratios(col('new', n, k), col('old', n, k)), ratio: true, goal: ['<=', 1.05] }));
    }
  }
}
console.log('\n== kubemu cluster benchmark == median (min–max) over the rounds');
for (const m of metrics) console.log(`  ${m.name.padEnd(44)}${fs(m, 2).padStart(24)}${(m.goal ?? '').padStart(8)}${m.unstable ? '  UNSTABLE (max − min > 0.1)' : ''}`);
writeMetrics(JSON_OUT, 'cluster', metrics, { rounds: ROUNDS, sizes: SIZES, against: trees[1]?.sha ?? null });
if (JSON_OUT) console.log(`metrics written to ${JSON_OUT}`);
