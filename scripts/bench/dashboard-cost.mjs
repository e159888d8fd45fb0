#!/usr/bin/env node
/**
 * What watching costs the data plane: keep-alive and new-connection HTTP
 * throughput through a node port (the host → node-1's node port → kube-proxy
 * → the pod on node-2), with `kubemu dashboard` closed (the server runs, no
 * page: it asks the machines nothing) and open (a real page in headless
 * Chromium: every kube-proxy streams its connections, `conntrack -E` runs in
 * each node, the page redraws once a second). Runs are paired — closed and
 * open back to back, in alternating order — and each pair gives one ratio
 * open ÷ closed; min / median / max over the rounds.
 * Goal (issue 14): collecting connection facts costs ≤ 3 % of keep-alive
 * throughput (ratio ≥ 0.97).
 * Usage: sudo node scripts/bench/dashboard-cost.mjs [--seconds 5] [--rounds 5] [--socket-only] [--json FILE] [--smoke]
 * --socket-only: "open" is a WebSocket client instead of a browser page (the
 *   collection's own cost, without Chromium drawing on the same 2 cores).
 */
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { fail, metric, needRoot, options, stats, writeMetrics } from './lib.mjs';

const o = options();
const SMOKE = o.flag('smoke');
const SECONDS = o.num('seconds', SMOKE ? 1 : 5);
const ROUNDS = o.num('rounds', SMOKE ? 2 : 5);
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

function wrk(close) {
  const a = ['-t1', '-c16', `-d${SECONDS}s`, '--timeout', '2s', ...(close ? ['-H', 'Connection: close'] : []), `http://${node1}:30090/`];
  const r = spawnSync('wrk', a, { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
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
const results = {};
for (const [test, close] of [['keep-alive req/s', false], ['new conn req/s', true]]) {
  const closed = [];
  const open = [];
  wrk(close); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [true, false] : [false, true];
    for (const o of order) {
      await setOpen(o);
      (o ? open : closed).push(wrk(close));
    }
    process.stdout.write(`  ${test}: round ${r + 1}/${ROUNDS} closed ${Math.round(closed.at(-1))} open ${Math.round(open.at(-1))}\n`);
  }
  await setOpen(false);
  const ratios = open.map((x, i) => x / closed[i]);
  results[test] = { closed: stats(closed), open: stats(open), ratio: { ...stats(ratios), values: ratios }, runs: { closed, open } };
}
console.log('');
console.log(`dashboard open (${VIEWER === 'page' ? 'a page in headless Chromium' : 'a WebSocket client only: the collection without a browser'}) ÷ closed, host → node port → pod, wrk -t1 -c16, ${ROUNDS} paired rounds of ${SECONDS} s (load average ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ')}):`);
for (const [test, r] of Object.entries(results)) {
  const spread = r.ratio.max - r.ratio.min;
  console.log(`  ${test.padEnd(18)} closed ${Math.round(r.closed.median)} open ${Math.round(r.open.median)}  ratio ${f(r.ratio.median)} (${f(r.ratio.min)}–${f(r.ratio.max)})${spread > 0.1 ? '  UNSTABLE' : ''}${test.startsWith('keep') ? `  goal ≥ 0.97: ${r.ratio.median >= 0.97 ? 'met' : 'NOT met'}` : ''}`);
}
writeMetrics(JSON_OUT, 'dashboard-cost', [
  metric({ bench: 'dashboard-cost', name: 'keep-alive, dashboard open ÷ closed', unit: '×', tool: 'wrk -t1 -c16', values: results['keep-alive req/s'].ratio.values, goal: ['>=', 0.97], ratio: true }),
  metric({ bench: 'dashboard-cost', name: 'new conn, dashboard open ÷ closed', unit: '×', tool: "wrk -t1 -c16 -H 'Connection: close'", values: results['new conn req/s'].ratio.values, ratio: true }),
], { raw: results });
await browser.close();
dashboard.kill('SIGINT');
process.exit(0);
