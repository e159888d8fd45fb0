#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmark (api, cluster, dns, dataplane,
 * dashboard (page render and update latency), dashboard-cost; the
 * docker one with --with-docker), then prints one summary table — each
 * metric, its goal, the median and spread (min–max) over the rounds, met /
 * NOT MET / UNSTABLE — and writes it as JSON (the file is named at the end).
 *
 * Usage: sudo npm run bench -- [--smoke] [--only api,cluster,dns,dataplane] [--with-docker]
 *   [--against REV] [--out FILE] [-- options passed to every bench]
 * --smoke: each bench for a few seconds per path (CI: a bench that no longer
 *   starts fails; no figure is a result and no goal is checked).
 * --against REV: builds REV once in a temporary git worktree; dataplane, api
 *   and cluster run it beside this tree and report new ÷ old.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, fail, f, loadavg, onExit, options, prepareAgainst } from './lib.mjs';

const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
const own = dd >= 0 ? argv.slice(0, dd) : argv;
const passOn = dd >= 0 ? argv.slice(dd + 1) : [];
const o = options(own);
const SMOKE = o.flag('smoke');
const AGAINST = o.str('against', undefined);
const ALL = ['api', 'cluster', 'dns', 'dataplane', 'dashboard', 'dashboard-cost', ...(o.flag('with-docker') ? ['compose'] : [])];
const ONLY = o.list('only', ALL.join(','));
for (const b of ONLY) if (!['api', 'cluster', 'dns', 'dataplane', 'dashboard', 'dashboard-cost', 'compose'].includes(b)) fail(`--only: unknown bench ${b}; pick from api,cluster,dns,dataplane,dashboard,dashboard-cost,compose`);
const AGAINST_OK = new Set(['api', 'cluster', 'dataplane']);
if (process.getuid?.() !== 0 && ONLY.some((b) => b !== 'api' && b !== 'dashboard')) fail('npm run bench starts clusters (network namespaces): run it as root (sudo npm run bench), or --only api');

const tmp = mkdtempSync(join(tmpdir(), 'kubemu-bench-all-'));
const cleanups = [() => rmSync(tmp, { recursive: true, force: true })];
let child;
onExit(() => {
  child?.kill('SIGINT');
  for (const c of cleanups.reverse()) c();
});
let built;
if (AGAINST) {
  built = prepareAgainst(AGAINST);
  cleanups.push(built.cleanup);
}

const started = Date.now();
const results = [];
const failed = [];
for (const b of ONLY) {
  const json = join(tmp, `${b}.json`);
  const args = [join(ROOT, 'scripts/bench', `${b}.mjs`), '--json', json, ...(SMOKE ? ['--smoke'] : []), ...(built && AGAINST_OK.has(b) ? ['--against', AGAINST, '--against-built', built.dir] : []), ...passOn];
  console.log(`\n━━━ ${b}: node ${args.map((a) => a.replace(`${ROOT}/`, '')).join(' ')}`);
  const t0 = Date.now();
  const code = await new Promise((res) => {
    child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('exit', (c, sig) => res(c ?? sig));
  });
  child = undefined;
  console.log(`━━━ ${b}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${f((Date.now() - t0) / 1000, 0)} s`);
  if (code !== 0) failed.push(b);
  const wrote = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : undefined;
  if (Array.isArray(wrote?.metrics)) results.push(wrote);
  else if (code === 0 && b !== 'compose') failed.push(`${b} (wrote no metrics to --json; see writeMetrics in scripts/bench/lib.mjs)`);
}

const metrics = results.flatMap((r) => r.metrics);
const status = (m) => (SMOKE ? 'smoke' : m.unstable ? 'UNSTABLE' : m.met === null ? '—' : m.met ? 'met' : 'NOT MET');
const d = (m) => (m.unit === '×' ? 2 : m.unit === '/s' ? 0 : m.unit === 'ms' ? 2 : 1);
const rows = metrics.map((m) => [m.bench, m.name, m.goal ?? '—', f(m.median, d(m)), `${f(m.min, d(m))}–${f(m.max, d(m))}`, status(m), m.tool ?? '']);
const head = ['bench', 'metric', 'goal', 'median', 'spread (min–max)', 'status', 'tool'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => `  ${r.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ')}`.trimEnd();
console.log(`\n═══ summary${SMOKE ? ' (smoke: no figure is a result)' : ''}${built ? `; new = this tree, old = ${built.sha.slice(0, 12)} (--against ${AGAINST})` : ''} ═══`);
console.log(line(head));
console.log(line(w.map((n) => '─'.repeat(n))));
for (const r of rows) console.log(line(r));
const count = (s) => metrics.filter((m) => status(m) === s).length;
console.log(`\n${count('met')} met, ${count('NOT MET')} not met, ${count('UNSTABLE')} unstable (a ratio whose rounds spread > 0.1), ${count('—')} without a goal; ${f((Date.now() - started) / 60000, 1)} min; load average ${loadavg()}`);
if (failed.length) console.log(`FAILED: ${failed.join(', ')} (their output is above)`);

const out = o.str('out', join(ROOT, 'bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}${SMOKE ? '-smoke' : ''}.json`));
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), smoke: SMOKE, against: built?.sha ?? null, failed, loadavg: readFileSync('/proc/loadavg', 'utf8').trim(), benches: results }, null, 2));
console.log(`summary written to ${out}`);
process.exitCode = failed.length ? 1 : 0;
