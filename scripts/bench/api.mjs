#!/usr/bin/env node
/**
 * API benchmark: a real control-plane process on loopback.
 *  1. objects created per second: 10,000 ConfigMaps over HTTPS keep-alive
 *     (16 in flight), against the direct path — the same inserts straight into
 *     SQLite with the same durability — printed as a ratio;
 *  2. watch delivery latency with 50 concurrent HTTP watchers: p50/p99 from
 *     the start of each write to its arrival at each watcher.
 * Usage: node scripts/bench/api.mjs [--objects N] [--watchers N]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const OBJECTS = opt('objects', 10_000);
const WATCHERS = opt('watchers', 50);
const WATCH_WRITES = opt('watch-writes', 500);

const root = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'kubemu-bench-'));
const port = 20000 + Math.floor(Math.random() * 20000);
const proc = spawn(process.execPath, [join(root, 'packages/cli/bin/kubemu.js'), 'control-plane', '--data-dir', dir, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'inherit' });
const cleanup = () => {
  proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

while (!existsSync(join(dir, 'kubeconfig'))) await new Promise((r) => setTimeout(r, 50));
const ca = readFileSync(join(dir, 'pki/ca.crt'), 'utf8');
const token = readFileSync(join(dir, 'pki/admin.token'), 'utf8').trim();
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const base = `https://127.0.0.1:${port}`;

function post(path, body) {
  return new Promise((res, rej) => {
    const req = request(`${base}${path}`, { method: 'POST', agent, ca, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (r) => {
      r.resume();
      r.on('end', () => (r.statusCode === 201 ? res() : rej(new Error(`HTTP ${r.statusCode}`))));
    });
    req.on('error', rej);
    req.end(JSON.stringify(body));
  });
}

const cm = (name, extra = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', ...extra }, data: { key: 'value', name } });

// ---- 1. creates per second -----------------------------------------------------
console.log(`creating ${OBJECTS} ConfigMaps over HTTPS (16 in flight)…`);
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < OBJECTS) {
      const i = next++;
      await post('/api/v1/namespaces/default/configmaps', cm(`bench-${i}`));
      if (i > 0 && i % 2000 === 0) console.log(`  ${i} created`);
    }
  }),
);
const apiRate = OBJECTS / ((performance.now() - t0) / 1000);

// Direct path: the same rows into SQLite, one durable transaction each.
const db = new Database(join(dir, 'direct.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE objects (resource TEXT, namespace TEXT, name TEXT, rv INTEGER, data TEXT, PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID; CREATE TABLE events (rv INTEGER PRIMARY KEY, data TEXT)');
const ins = db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?)');
const ev = db.prepare('INSERT INTO events VALUES (?, ?)');
const tx = db.transaction((i, data) => {
  ins.run('configmaps', 'default', `d-${i}`, i, data);
  ev.run(i, data);
});
const t1 = performance.now();
for (let i = 1; i <= OBJECTS; i++) tx(i, JSON.stringify(cm(`d-${i}`)));
const directRate = OBJECTS / ((performance.now() - t1) / 1000);
db.close();

// ---- 2. watch delivery latency -------------------------------------------------------
console.log(`opening ${WATCHERS} watchers, then ${WATCH_WRITES} writes…`);
const sent = new Map();
const latencies = [];
const watchAgent = new Agent({ keepAlive: true, maxSockets: WATCHERS + 1 });
let rvNow;
{
  const r = await new Promise((res, rej) => {
    const req = request(`${base}/api/v1/namespaces/default/configmaps?limit=1`, { agent, ca, headers: { Authorization: `Bearer ${token}` } }, (resp) => {
      let s = '';
      resp.on('data', (c) => (s += c));
      resp.on('end', () => res(JSON.parse(s)));
    });
    req.on('error', rej);
    req.end();
  });
  rvNow = r.metadata.resourceVersion;
}
const streams = [];
await Promise.all(
  Array.from({ length: WATCHERS }, () =>
    new Promise((res, rej) => {
      const req = request(`${base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rvNow}&labelSelector=bench%3Dwatch`, { agent: watchAgent, ca, headers: { Authorization: `Bearer ${token}` } }, (resp) => {
        let buf = '';
        resp.on('data', (c) => {
          buf += c;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const at = performance.now();
            const name = JSON.parse(line).object?.metadata?.name;
            const t = sent.get(name);
            if (t !== undefined) latencies.push(at - t);
          }
        });
        res();
      });
      req.on('error', rej);
      req.end();
      streams.push(req);
    }),
  ),
);
for (let i = 0; i < WATCH_WRITES; i++) {
  const name = `w-${i}`;
  sent.set(name, performance.now());
  await post('/api/v1/namespaces/default/configmaps', cm(name, { labels: { bench: 'watch' } }));
}
const want = WATCH_WRITES * WATCHERS;
const deadline = Date.now() + 30_000;
while (latencies.length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
for (const s of streams) s.destroy();
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];

console.log('\n== kubemu api benchmark ==');
console.log(`creates: ${apiRate.toFixed(0)} objects/s via API; direct SQLite (same durability): ${directRate.toFixed(0)}/s; ratio ${(apiRate / directRate).toFixed(2)}x`);
console.log(`watch delivery: ${latencies.length}/${want} events to ${WATCHERS} watchers; p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms (write start -> watcher)`);
cleanup();
process.exit(0);
