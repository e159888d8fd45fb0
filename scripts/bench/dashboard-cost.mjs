#!/usr/bin/env node
/**
 * What watching costs the data plane: keep-alive and new-connection HTTP
 * throughput through a node port (the host → node-1's node port → kube-proxy
 * → the pod on node-2), with `kubemu dashboard` closed (the server runs, no
 * page: it asks the machines nothing) and open (a real page in headless
 * Chromium: every kube-proxy streams its connections, `conntrack -E` runs in
 * each node, the page redraws once a second). Runs are paired — closed and
 * open back to back, in alternating order — and each pair gives one ratio
 * open ÷ closed; min / median / max over the rounds. Every run is preceded
 * by --warmup s of the same load, thrown away, and by deleting the TIME_WAIT
 * sockets and conntrack entries earlier runs left (new-connection runs use up
 * the host's ports otherwise). Placement as in the data-plane bench (--cpus
 * client,server,proxy, default 0,1,1): wrk, the kubia pod's processes, the
 * kube-proxies; the dashboard server and what it starts are not pinned (they
 * are what is measured).
 *
 * Throughput on 2 cores moves ±15 % from one 5 s run to the next whatever is
 * open, so the ratio alone cannot show a 3 % cost. Each run therefore also
 * counts CPU time (/proc): what the collecting processes (every kube-proxy,
 * the load balancer, the dashboard server, and their children: conntrack,
 * nft) used, as a share of all the CPU time the machine spent in that run.
 * The cost of watching is that share open minus that share closed.
 * Goal (issue 14): collecting connection facts costs ≤ 3 % of keep-alive
 * throughput (ratio ≥ 0.97).
 * Usage: sudo node scripts/bench/dashboard-cost.mjs [--seconds 5] [--rounds 5] [--warmup 1] [--cpus 0,1,1] [--tests keepalive,newconn] [--socket-only] [--json FILE] [--smoke]
 * --socket-only: "open" is a WebSocket client instead of a browser page (the
 *   collection's own cost, without Chromium drawing on the same 2 cores).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { deleteTimeWait, fail, metric, needRoot, options, pin, placement, stats, writeMetrics } from './lib.mjs';

const o = options();
const SMOKE = o.flag('smoke');
const SECONDS = o.num('seconds', SMOKE ? 1 : 5);
const ROUNDS = o.num('rounds', SMOKE ? 2 : 5);
const WARMUP = o.num('warmup', SMOKE ? 0 : 1);
const CPUS = placement(o.str('cpus', '0,1,1'));
const TESTS = o.str('tests', 'keepalive,newconn').split(',');
const JSON_OUT = o.str('json', '');
const CHROMIUM = process.env.KUBEMU_CHROMIUM ?? '/usr/bin/chromium';
const NAME = 'benchdc';
const root = resolve(import.meta.dirname, '..', '..');
const KUBEMU = join(root, 'packages/cli/bin/kubemu.js');

needRoot('dashboard-cost (it starts a netns cluster)');
if (spawnSync('sh', ['-c', 'command -v wrk']).status !== 0) fail('wrk is not on PATH: apt-get install -y wrk');

let dashboard;
let browser;
const down = () => spawnSync(process.execPath, [KUBEMU, 'down', '--name', NAME], { stdio: 'ignore', timeout: 60_000 });
process.on('exit', () => {
  dashboard?.kill('SIGKILL');
  down();
});
process.on('SIGINT', () => process.exit(130));

const kubemu = (a, input) => {
  const r = spawnSync(process.execPath, [KUBEMU, ...a], { encoding: 'utf8', input, timeout: 180_000 });
  if (r.status !== 0) throw new Error(`kubemu ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
down();
console.log(`dashboard-cost: a 2-node cluster ${NAME} (nftables), a kubia pod on node-2 behind a node port`);
kubemu(['up', '--name', NAME, '--nodes', '2', '--addons', 'none', '--subnet', '172.30.229.0/24']);
const kc = kubemu(['kubeconfig', '--name', NAME]).trim();
const kubectl = (a, input) => {
  const r = spawnSync('kubectl', ['--kubeconfig', kc, ...a], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`kubectl ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
kubectl(['apply', '-f', '-'], `
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: node-2
  containers: [{name: web, image: luksa/kubia, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080, nodePort: 30090}]}
`);
const node1 = '172.30.229.11';
for (let t = Date.now(); ; ) {
  const r = spawnSync('curl', ['-s', '-m', '1', `http://${node1}:30090/`], { encoding: 'utf8' });
  if (r.stdout.startsWith("You've hit web")) break;
  if (Date.now() - t > 60_000) throw new Error('the node port never answered');
  await new Promise((r) => setTimeout(r, 300));
}

// Placement: the pod's processes on the server CPU, every kube-proxy on the proxy CPU (wrk on the client CPU, below).
const record = JSON.parse(readFileSync(`/var/lib/kubemu/${NAME}/cluster.json`, 'utf8'));
const podNetns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`km-${NAME}-p-`));
const podPids = podNetns.flatMap((ns) => spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
for (const pid of podPids) pin(pid, CPUS.server);
const proxies = Object.entries(record.pids).filter(([k]) => k.endsWith('/kube-proxy'));
for (const [, pid] of proxies) pin(pid, CPUS.proxy);
console.log(`placement (taskset): wrk on CPU ${CPUS.client}; the pod (${podPids.length} processes) on CPU ${CPUS.server}; ${proxies.map(([k]) => k).join(', ')} on CPU ${CPUS.proxy}; the dashboard server unpinned`);

/** Deletes what earlier runs left: TIME_WAIT sockets (host → subnet, node and pod namespaces) and their conntrack entries. */
const clearTimeWait = () => deleteTimeWait({ namespaces: record.nodes.map((n) => n.netns), podNamespaces: podNetns, subnet: record.subnet });

dashboard = spawn(process.execPath, [KUBEMU, 'dashboard', '--name', NAME, '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((res, rej) => {
  let out = '';
  dashboard.stdout.on('data', (d) => {
    out += d;
    const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out);
    if (m) res(m[1]);
  });
  dashboard.once('exit', (c) => rej(new Error(`kubemu dashboard exited ${c}`)));
});
browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });

// ---------------------------------------------------------------- CPU accounting (/proc)
const TICK = 100; // USER_HZ
/** utime+stime of a pid and of its reaped children (cutime+cstime), in ticks; 0 when gone. */
function ticks(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return { own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]), ppid: Number(f[1]), comm: st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')) };
  } catch {
    return undefined;
  }
}
/** The collectors: every kube-proxy, the LB, the dashboard server (with every process under them: conntrack, nft). */
const collectors = () => [...Object.entries(record.pids).filter(([k]) => k.endsWith('/kube-proxy') || k === 'load-balancer').map(([, p]) => p), dashboard.pid];
/** The page's browser (Chromium, which this process started, and its renderers). */
const browserRoots = (procs) => [...procs].filter(([, t]) => t.ppid === process.pid && /chrom/i.test(t.comm)).map(([pid]) => pid);
/**
 * CPU ticks of each process tree under `groups` (name → its root pids, or a
 * function of the process table (pid → ticks, ppid, comm) that finds them; each
 * member's own ticks and those of the children it reaped) and of the whole
 * machine (busy, all CPUs).
 */
function cpuSnapshot(groups) {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const t = ticks(d);
    if (t) procs.set(Number(d), t);
  }
  const out = {};
  for (const [name, rootsOf] of Object.entries(groups)) {
    const roots = typeof rootsOf === 'function' ? rootsOf(procs) : rootsOf;
    const members = new Map();
    const inTree = (pid, depth = 0) => roots.includes(pid) || (depth < 16 && procs.has(pid) && inTree(procs.get(pid).ppid, depth + 1));
    for (const [pid, t] of procs) if (inTree(pid)) members.set(pid, t.own + t.reaped);
    out[name] = members;
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { groups: out, busy: cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4] }; // all but idle and iowait
}
/** Each group's share of the machine's busy CPU between two snapshots. */
function cpuShares(a, b) {
  const busy = b.busy - a.busy;
  const out = {};
  for (const [name, now] of Object.entries(b.groups)) {
    const before = a.groups[name];
    let used = 0;
    for (const [pid, t] of now) used += t - (before.get(pid) ?? 0);
    // a member gone in between: its ticks are in its parent's reaped ticks now
    for (const [pid, t] of before) if (!now.has(pid)) used -= t;
    out[name] = busy > 0 ? used / busy : NaN;
  }
  return out;
}

function wrk(close, seconds = SECONDS) {
  if (seconds <= 0) return 0;
  clearTimeWait();
  const a = ['-c', String(CPUS.client), 'wrk', '-t1', '-c16', `-d${seconds}s`, '--timeout', '2s', ...(close ? ['-H', 'Connection: close'] : []), `http://${node1}:30090/`];
  const r = spawnSync('taskset', a, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`wrk printed no Requests/sec: ${r.stdout}${r.stderr}`);
  return rps;
}

let page;
let socket;
/** 'page': a real page in Chromium; 'socket': only a WebSocket client (what collecting costs, without a browser drawing). */
const VIEWER = o.flag('socket-only') ? 'socket' : 'page';
async function setOpen(open) {
  if (VIEWER === 'socket') {
    if (open && !socket) {
      const { WebSocket } = await import('ws');
      const m = /^http:\/\/([^/]+)\/#token=(\S+)$/.exec(url);
      socket = new WebSocket(`ws://${m[1]}/ws?token=${m[2]}`);
      socket.on('message', () => undefined);
      await new Promise((r) => socket.once('open', r));
      await new Promise((r) => setTimeout(r, 1500));
    } else if (!open && socket) {
      socket.close();
      socket = undefined;
      await new Promise((r) => setTimeout(r, 1500));
    }
    return;
  }
  if (open && !page) {
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    await page.waitForSelector('[data-service="default/web"]', { timeout: 20_000 });
    await page.waitForTimeout(1500); // streams subscribed
  } else if (!open && page) {
    await page.close();
    page = undefined;
    await new Promise((r) => setTimeout(r, 1500)); // streams and conntrack children gone
  }
}

const f = (x, d = 3) => x.toFixed(d);
const pct = (x) => `${(x * 100).toFixed(1)} %`;
const results = {};
for (const [test, close] of [['keep-alive req/s', false, 'keepalive'], ['new conn req/s', true, 'newconn']].filter((t) => TESTS.includes(t[2]))) {
  const closed = [];
  const open = [];
  const share = { closed: [], open: [], browser: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [true, false] : [false, true];
    for (const o of order) {
      await setOpen(o);
      wrk(close, WARMUP);
      const groups = () => ({ collectors: collectors(), browser: browserRoots });
      const before = cpuSnapshot(groups());
      (o ? open : closed).push(wrk(close));
      const shares = cpuShares(before, cpuSnapshot(groups()));
      share[o ? 'open' : 'closed'].push(shares.collectors);
      if (o && VIEWER === 'page') share.browser.push(shares.browser);
    }
    process.stdout.write(`  ${test}: round ${r + 1}/${ROUNDS} closed ${Math.round(closed.at(-1))} open ${Math.round(open.at(-1))}; collectors' CPU share closed ${pct(share.closed.at(-1))} open ${pct(share.open.at(-1))}\n`);
  }
  await setOpen(false);
  const ratios = open.map((x, i) => x / closed[i]);
  const added = share.open.map((x, i) => x - share.closed[i]);
  results[test] = { closed: stats(closed), open: stats(open), ratio: { ...stats(ratios), values: ratios }, cpu: { closed: stats(share.closed), open: stats(share.open), added: { ...stats(added), values: added }, browser: stats(share.browser) }, runs: { closed, open, share } };
}
console.log('');
console.log(`dashboard open (${VIEWER === 'page' ? 'a page in headless Chromium' : 'a WebSocket client only: the collection without a browser'}) ÷ closed, host → node port → pod, wrk -t1 -c16, ${ROUNDS} paired rounds of ${SECONDS} s (load average ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ')}):`);
for (const [test, r] of Object.entries(results)) {
  const spread = r.ratio.max - r.ratio.min;
  console.log(`  ${test.padEnd(18)} closed ${Math.round(r.closed.median)} open ${Math.round(r.open.median)}  ratio ${f(r.ratio.median)} (${f(r.ratio.min)}–${f(r.ratio.max)})${spread > 0.1 ? '  UNSTABLE' : ''}${test.startsWith('keep') ? `  goal ≥ 0.97: ${r.ratio.median >= 0.97 ? 'met' : 'NOT met'}` : ''}`);
  const c = r.cpu;
  console.log(`  ${''.padEnd(18)} collectors' share of the machine's CPU: closed ${pct(c.closed.median)}, open ${pct(c.open.median)}; watching adds ${pct(c.added.median)} (${pct(c.added.min)}–${pct(c.added.max)})${test.startsWith('keep') ? `  goal ≤ 3 %: ${c.added.median <= 0.03 ? 'met' : 'NOT met'}` : ''}`);
  if (c.browser.n) console.log(`  ${''.padEnd(18)} the page's Chromium (drawing, not collecting): ${pct(c.browser.median)} (${pct(c.browser.min)}–${pct(c.browser.max)}) of the machine's CPU`);
}
writeMetrics(JSON_OUT, 'dashboard-cost', [
  results['keep-alive req/s'] && metric({ bench: 'dashboard-cost', name: 'keep-alive, dashboard open ÷ closed', unit: '×', tool: 'wrk -t1 -c16', values: results['keep-alive req/s'].ratio.values, goal: ['>=', 0.97], ratio: true }),
  results['keep-alive req/s'] && metric({ bench: 'dashboard-cost', name: "keep-alive, CPU watching adds (collectors' share of the machine's, open − closed)", unit: '%', tool: '/proc stat', values: results['keep-alive req/s'].cpu.added.values.map((x) => x * 100), goal: ['<=', 3] }),
  results['new conn req/s'] && metric({ bench: 'dashboard-cost', name: 'new conn, dashboard open ÷ closed', unit: '×', tool: "wrk -t1 -c16 -H 'Connection: close'", values: results['new conn req/s'].ratio.values, ratio: true }),
].filter(Boolean), { raw: results });
await browser.close();
dashboard.kill('SIGINT');
process.exit(0);
