#!/usr/bin/env node
/**
 * The docker runtime's benchmark (root, a Docker engine, docker-compose or
 * compose v2):
 *  - image build time: the base image if missing (scripts/build-base-image),
 *    then `compose build` from a cold cache (the image removed first) and
 *    warm (nothing changed);
 *  - `compose up -d` → 3 nodes Ready (goal ≤ 30 s once the image exists),
 *    split into `up -d` returning (health checks gate the nodes on the
 *    control plane) and the nodes reporting Ready;
 *  - memory per container (the engine's cgroup figure, page cache left out),
 *    idle and with the demo applied (3 kubia pods), against the netns
 *    runtime's per-node figure in scripts/bench/cluster.mjs.
 * A project of its own (own network prefix, ports, bridge), removed at the end.
 * Usage: sudo node scripts/bench/compose.mjs [--keep-image]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';

const root = resolve(import.meta.dirname, '..', '..');
const docker = new Docker();
const IMAGE = 'kubemu/kubemu:dev';

if (process.getuid?.() !== 0) {
  console.error('scripts/bench/compose.mjs needs root: run it with sudo');
  process.exit(1);
}
try {
  await docker.ping();
} catch (e) {
  console.error(`scripts/bench/compose.mjs: no Docker engine answers (${e.message}); start dockerd and try again`);
  process.exit(1);
}
const composeCmd = [['docker-compose'], ['docker', 'compose']].find((c) => spawnSync(c[0], [...c.slice(1), 'version']).status === 0);
if (!composeCmd) {
  console.error('scripts/bench/compose.mjs: neither docker-compose nor `docker compose` is installed');
  process.exit(1);
}

const project = `kmbench${process.pid}`;
const out = mkdtempSync(join(tmpdir(), 'kubemu-bench-'));
const env = {
  ...process.env,
  KUBEMU_NET: '172.31.254',
  KUBEMU_BRIDGE: `kmb${process.pid % 100000}`,
  KUBEMU_OUT: out,
  KUBEMU_API_PORT: '26443',
  KUBEMU_HTTP_PORT: '28080',
  KUBEMU_HTTPS_PORT: '28443',
  KUBEMU_NODEPORTS_HOST: '42000-42009',
};
const compose = (...args) => {
  const r = spawnSync(composeCmd[0], [...composeCmd.slice(1), '-p', project, ...args], { cwd: root, env, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`compose ${args.join(' ')}: ${(r.stderr || r.stdout).slice(-1500)}`);
};
const kubectl = (...args) => execFileSync('kubectl', ['--kubeconfig', join(out, 'kubeconfig'), ...args], { encoding: 'utf8' });
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const step = (m) => console.log(`• ${m}`);

async function readyNodes() {
  try {
    const list = JSON.parse(kubectl('get', 'nodes', '-o', 'json'));
    return list.items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  } catch {
    return 0;
  }
}

async function memory() {
  const list = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`] } });
  const rows = [];
  for (const c of list) {
    const s = await docker.getContainer(c.Id).stats({ stream: false });
    const cache = s.memory_stats.stats?.inactive_file ?? s.memory_stats.stats?.total_inactive_file ?? s.memory_stats.stats?.cache ?? 0;
    rows.push({ machine: c.Labels['io.kubemu.node'] ?? c.Labels['io.kubemu.role'], mib: (s.memory_stats.usage - cache) / 2 ** 20 });
  }
  return rows.sort((a, b) => a.machine.localeCompare(b.machine));
}

const results = {};
try {
  if ((await docker.listImages({ filters: { reference: ['node:20-bookworm-slim'] } })).length === 0) {
    step('base image missing: scripts/build-base-image');
    const t = performance.now();
    execFileSync(join(root, 'scripts', 'build-base-image'), { stdio: 'inherit' });
    results.baseImage = performance.now() - t;
  }
  if (!process.argv.includes('--keep-image')) {
    step(`removing ${IMAGE} and the build cache for a cold build`);
    await docker.getImage(IMAGE).remove({ force: true }).catch(() => {});
    await docker.pruneImages({ filters: { dangling: ['true'] } }).catch(() => {});
    await docker.pruneBuilder?.().catch(() => {});
    step('compose build (cold)…');
    let t = performance.now();
    compose('build');
    results.buildCold = performance.now() - t;
  }
  step('compose build (warm)…');
  let t = performance.now();
  compose('build');
  results.buildWarm = performance.now() - t;

  step('compose up -d…');
  t = performance.now();
  compose('up', '-d');
  results.upReturned = performance.now() - t;
  while ((await readyNodes()) < 3) {
    if (performance.now() - t > 180_000) throw new Error('3 nodes not Ready in 180 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  results.upReady = performance.now() - t;
  await new Promise((r) => setTimeout(r, 15_000)); // addons settle
  results.memIdle = await memory();
  kubectl('apply', '-f', join(root, 'examples', 'demo.yaml'));
  kubectl('wait', '--for=condition=Available', 'deploy/kubia', '--timeout=120s');
  await new Promise((r) => setTimeout(r, 5_000));
  results.memDemo = await memory();
} finally {
  step('compose down -v');
  try {
    compose('down', '-v', '-t', '5');
  } catch (e) {
    console.error(e.message);
  }
  rmSync(out, { recursive: true, force: true });
}

console.log('\ndocker runtime');
if (results.baseImage) console.log(`  base image (debootstrap + Node.js):   ${secs(results.baseImage)}`);
if (results.buildCold) console.log(`  compose build, cold:                  ${secs(results.buildCold)}`);
console.log(`  compose build, warm (no change):      ${secs(results.buildWarm)}`);
console.log(`  up -d returned:                       ${secs(results.upReturned)}`);
console.log(`  up -d → 3 nodes Ready:                ${secs(results.upReady)}   (goal ≤ 30 s: ${results.upReady <= 30_000 ? 'met' : 'not met'})`);
console.log('  memory per container (MiB, cgroup, page cache left out)   idle   with demo');
for (const r of results.memIdle) {
  const d = results.memDemo.find((x) => x.machine === r.machine);
  console.log(`    ${r.machine.padEnd(16)} ${r.mib.toFixed(1).padStart(27)} ${(d?.mib ?? 0).toFixed(1).padStart(10)}`);
}
