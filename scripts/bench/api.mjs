#!/usr/bin/env node
/**
 * API benchmark: a real control-plane process on loopback, in --rounds
 * interleaved rounds (default 5):
 *  1. objects created per second: --objects ConfigMaps per round over HTTPS
 *     keep-alive (16 in flight), against the direct path — the same inserts
 *     straight into SQLite with the same durability, in the same round —
 *     printed as a ratio (min / median / max over the rounds);
 *  2. watch delivery latency with --watchers concurrent HTTP watchers:
 *     p50/p99 from the start of each write to its arrival at each watcher,
 *     --watch-writes writes per round.
 * --against REV builds REV in a temporary git worktree and runs its control
 * plane beside this tree's: each round runs both (in alternating order) and
 * new ÷ old is printed for creates/s and watch p99.
 * Usage: node scripts/bench/api.mjs [--objects 2000] [--rounds 5] [--watchers 50] [--watch-writes 100]
 *   [--against REV] [--json FILE] [--smoke]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { ROOT, f, fs, metric, onExit, options, againstTree, ratios, writeMetrics } from './lib.mjs';

const o = options();
const SMOKE = o.flag('smoke');
const OBJECTS = o.num('objects', SMOKE ? 200 : 2000);
const ROUNDS = Math.max(1, o.num('rounds', SMOKE ? 1 : 5));
const WATCHERS = o.num('watchers', SMOKE ? 5 : 50);
const WATCH_WRITES = o.num('watch-writes', SMOKE ? 20 : 100);
const AGAINST = o.str('against', undefined);
const JSON_OUT = o.str('json', undefined);

const servers = [];
const cleanups = [];
onExit(() => {
  for (const s of servers) s.stop();
  for (const c of cleanups) c();
});
const trees = [{ label: 'new', root: ROOT }];
const old = againstTree(o, cleanups);
if (old) trees.push(old);

/** One control plane (from `tree`) on a loopback port, with its watchers. */
async function startServer(tree) {
  const dir = mkdtempSync(join(tmpdir(), 'kubemu-bench-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = spawn(process.execPath, [join(tree.root, 'packages/cli/bin/kubemu.js'), 'control-plane', '--data-dir', dir, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'inherit' });
  const s = {
    label: tree.label,
    dir,
    stop() {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  servers.push(s);
  for (let i = 0; !existsSync(join(dir, 'kubeconfig')); i++) {
    if (i > 600 || proc.exitCode !== null) throw new Error(`the control plane of ${tree.label} (${tree.root}) did not start in 30 s; run it by hand: node ${join(tree.root, 'packages/cli/bin/kubemu.js')} control-plane --data-dir /tmp/x`);
    await new Promise((r) => setTimeout(r, 50));
  }
  s.ca = readFileSync(join(dir, 'pki/ca.crt'), 'utf8');
  s.token = readFileSync(join(dir, 'pki/admin.token'), 'utf8').trim();
  s.agent = new Agent({ keepAlive: true, maxSockets: 64 });
  s.base = `https://127.0.0.1:${port}`;
  s.sent = new Map();
  s.latencies = [];
  return s;
}

function post(s, path, body) {
  return new Promise((res, rej) => {
    const req = request(`${s.base}${path}`, { method: 'POST', agent: s.agent, ca: s.ca, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' } }, (r) => {
      r.resume();
      r.on('end', () => (r.statusCode === 201 ? res() : rej(new Error(`POST ${path}: HTTP ${r.statusCode}`))));
    });
    req.on('error', rej);
    req.end(JSON.stringify(body));
  });
}

function getJSON(s, path) {
  return new Promise((res, rej) => {
    const req = request(`${s.base}${path}`, { agent: s.agent, ca: s.ca, headers: { Authorization: `Bearer ${s.token}` } }, (resp) => {
      let b = '';
      resp.on('data', (c) => (b += c));
      resp.on('end', () => res(JSON.parse(b)));
    });
    req.on('error', rej);
    req.end();
  });
}

const cm = (name, extra = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', ...extra }, data: { key: 'value', name } });

/** Objects/s for OBJECTS creates over HTTPS, 16 in flight. */
async function creates(s, round) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < OBJECTS) await post(s, '/api/v1/namespaces/default/configmaps', cm(`bench-${round}-${next++}`));
  }));
  return OBJECTS / ((performance.now() - t0) / 1000);
}

// Direct path: the same rows into SQLite, one durable transaction each.
const directDir = mkdtempSync(join(tmpdir(), 'kubemu-bench-direct-'));
cleanups.push(() => rmSync(directDir, { recursive: true, force: true }));
const db = new Database(join(directDir, 'direct.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE objects (resource TEXT, namespace TEXT, name TEXT, rv INTEGER, data TEXT, PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID; CREATE TABLE events (rv INTEGER PRIMARY KEY, data TEXT)');
const ins = db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?)');
const ev = db.prepare('INSERT INTO events VALUES (?, ?)');
const tx = db.transaction((i, data) => {
  ins.run('configmaps', 'default', `d-${i}`, i, data);
  ev.run(i, data);
});
let rowNo = 0;
function direct() {
  const t1 = performance.now();
  for (let i = 0; i < OBJECTS; i++) {
    rowNo++;
    tx(rowNo, JSON.stringify(cm(`d-${rowNo}`)));
  }
  return OBJECTS / ((performance.now() - t1) / 1000);
}

/** Opens WATCHERS watches on ConfigMaps labelled bench=watch; each event's delay is pushed to s.latencies. */
async function openWatchers(s) {
  const rv = (await getJSON(s, '/api/v1/namespaces/default/configmaps?limit=1')).metadata.resourceVersion;
  const watchAgent = new Agent({ keepAlive: true, maxSockets: WATCHERS + 1 });
  s.streams = [];
  await Promise.all(Array.from({ length: WATCHERS }, () => new Promise((res, rej) => {
    const req = request(`${s.base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&labelSelector=bench%3Dwatch`, { agent: watchAgent, ca: s.ca, headers: { Authorization: `Bearer ${s.token}` } }, (resp) => {
      let buf = '';
      resp.on('data', (c) => {
        buf += c;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const at = performance.now();
          const t = s.sent.get(JSON.parse(line).object?.metadata?.name);
          if (t !== undefined) s.latencies.push(at - t);
        }
      });
      res();
    });
    req.on('error', rej);
    req.end();
    s.streams.push(req);
  })));
}

/** WATCH_WRITES labelled writes; returns { p50, p99, delivered, want } for this round. */
async function watchRound(s, round) {
  s.latencies = [];
  for (let i = 0; i < WATCH_WRITES; i++) {
    const name = `w-${round}-${i}`;
    s.sent.set(name, performance.now());
    await post(s, '/api/v1/namespaces/default/configmaps', cm(name, { labels: { bench: 'watch' } }));
  }
  const want = WATCH_WRITES * WATCHERS;
  const deadline = Date.now() + 30_000;
  while (s.latencies.length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const l = [...s.latencies].sort((a, b) => a - b);
  const pct = (p) => l[Math.min(l.length - 1, Math.floor((p / 100) * l.length))];
  return { p50: pct(50), p99: pct(99), delivered: l.length, want };
}

for (const tree of trees) await startServer(tree);
for (const s of servers) await openWatchers(s);
console.log(`${ROUNDS} round(s): ${OBJECTS} ConfigMaps over HTTPS (16 in flight) and the same rows into SQLite; ${WATCH_WRITES} writes to ${WATCHERS} watchers${servers.length > 1 ? `; this tree and ${trees[1].sha.slice(0, 12)} (--against ${AGAINST}) side by side` : ''}`);
const rates = Object.fromEntries(servers.map((s) => [s.label, []]));
const p99s = Object.fromEntries(servers.map((s) => [s.label, []]));
const directRates = [];
let undelivered = 0;
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...servers].reverse() : servers;
  for (const s of order) rates[s.label].push(await creates(s, r));
  directRates.push(direct());
  for (const s of order) {
    const w = await watchRound(s, r);
    p99s[s.label].push(w.p99);
    undelivered += w.want - w.delivered;
  }
  console.log(`  round ${r + 1}/${ROUNDS}: ${servers.map((s) => `${s.label} ${f(rates[s.label][r], 0)}/s, watch p99 ${f(p99s[s.label][r], 2)} ms`).join('; ')}; direct ${f(directRates[r], 0)}/s`);
}
db.close();
for (const s of servers) for (const st of s.streams) st.destroy();

const metrics = [
  metric({ bench: 'api', name: 'creates/s via API ÷ direct SQLite', unit: '×', tool: 'https keep-alive, 16 in flight', values: ratios(rates.new, directRates), ratio: true }),
  metric({ bench: 'api', name: 'creates/s via API', unit: '/s', tool: 'https keep-alive, 16 in flight', values: rates.new }),
  metric({ bench: 'api', name: `watch delivery p99 ms (${WATCHERS} watchers)`, unit: 'ms', tool: 'http watch streams', values: p99s.new }),
];
if (servers.length > 1) {
  metrics.push(metric({ bench: 'api', name: 'creates/s new ÷ old', unit: '×', tool: 'https keep-alive, 16 in flight', values: ratios(rates.new, rates.old), ratio: true, goal: ['>=', 0.95] }));
  metrics.push(metric({ bench: 'api', name: 'watch delivery p99 new − old, ms', unit: 'ms', tool: 'http watch streams', values: p99s.new.map((x, i) => x - p99s.old[i]) }));
}
console.log('\n== kubemu api benchmark == median (min–max) over the rounds');
for (const m of metrics) console.log(`  ${m.name.padEnd(40)}${fs(m, m.unit === '/s' ? 0 : 2).padStart(26)}${m.unstable ? '  UNSTABLE (max − min > 0.1)' : ''}`);
if (undelivered) console.log(`  ${undelivered} watch events not delivered within 30 s`);
writeMetrics(JSON_OUT, 'api', metrics, { rounds: ROUNDS, objects: OBJECTS, against: trees[1]?.sha ?? null });
if (JSON_OUT) console.log(`metrics written to ${JSON_OUT}`);
process.exit(0);
