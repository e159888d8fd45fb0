/**
 * What the benchmarks share: options, rounds and their spread, CPU placement,
 * results as JSON for `npm run bench` (scripts/bench/all.mjs), cleanup on
 * Ctrl-C, and `--against REV` (the same bench on another commit, built in a
 * temporary git worktree, measured in the same run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** `--key value` options (and bare `--flag`s) of argv, with defaults. */
export function options(argv = process.argv.slice(2)) {
  const get = (k, d) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[i + 1] : d;
  };
  return {
    str: get,
    num: (k, d) => {
      const v = get(k, undefined);
      if (v === undefined) return d;
      const n = Number(v);
      if (!Number.isFinite(n)) fail(`--${k} ${v} is not a number`);
      return n;
    },
    list: (k, d) => get(k, d).split(',').filter(Boolean),
    flag: (k) => argv.includes(`--${k}`),
  };
}

export function fail(msg) {
  console.error(msg);
  process.exit(2);
}

export function needRoot(script) {
  if (process.getuid?.() !== 0) fail(`${script} needs root (network namespaces): run it with sudo`);
}

/** min / median / max of a list of numbers (NaN when empty). */
export function stats(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return { min: NaN, median: NaN, max: NaN, n: 0 };
  const m = s.length >> 1;
  return { min: s[0], median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2, max: s[s.length - 1], n: s.length };
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** A ratio whose rounds spread more than this (max − min) is not a result. */
export const UNSTABLE_SPREAD = 0.1;

/** Per-round ratios a[i] / b[i] (the rounds are interleaved, so each pair ran side by side). */
export const ratios = (a, b) => a.map((x, i) => x / b[i]);

export const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
/** "median (min–max)". */
export const fs = (s, d = 2) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;

/**
 * One measured figure for the summary and the JSON file. `goal` is
 * ['>=', 0.95] or ['<=', 100] or undefined; a ratio (`ratio: true`) whose
 * spread exceeds UNSTABLE_SPREAD (or of a single round) is marked unstable
 * and is neither met nor not met.
 */
export function metric({ bench, name, unit, tool, values, goal, ratio = false }) {
  const s = stats(values);
  // one round shows no spread at all: not a result either
  const unstable = ratio && (s.n < 2 || s.max - s.min > UNSTABLE_SPREAD);
  let met = null;
  if (goal && Number.isFinite(s.median) && !unstable) met = goal[0] === '>=' ? s.median >= goal[1] : s.median <= goal[1];
  return { bench, name, unit, tool, goal: goal ? `${goal[0] === '>=' ? '≥' : '≤'} ${goal[1]}` : null, ...s, spread: s.max - s.min, ratio, unstable, met, rounds: values };
}

/** Writes this bench's metrics to `--json FILE` when asked. */
export function writeMetrics(file, bench, metrics, extra = {}) {
  if (!file) return;
  writeFileSync(file, JSON.stringify({ bench, at: new Date().toISOString(), ...extra, metrics }, null, 2));
}

/** Runs `fn` once on exit, Ctrl-C, SIGTERM or a crash (teardown of what a bench started). */
export function onExit(fn) {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    try {
      fn();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  };
  process.on('exit', once);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`\n${sig}: tearing down what this bench started…`);
      once();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (e) => {
    console.error(e);
    once();
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    console.error(e);
    once();
    process.exit(1);
  });
  return once;
}

/**
 * Deletes what earlier runs left, so later runs (and other clusters) do not pay
 * for them: TIME_WAIT sockets in `namespaces` (nodes, LB) and `podNamespaces`,
 * the TIME_WAIT conntrack entries of `namespaces`, and on the host (whose bridge
 * netfilter tracks every packet between nodes) the entries to or from `subnet`
 * or to `hostDsts` (e.g. a pod's address) and the host's sockets to `subnet`.
 * A new-connection run leaves ~5,000 a second, kept 60 s (sockets) and 120 s
 * (conntrack): without this a client runs out of ports and a full table drops
 * new connections.
 */
export function deleteTimeWait({ namespaces, podNamespaces = [], subnet, hostDsts = [] }) {
  const del = ['conntrack', '-D', '-p', 'tcp', '--state', 'TIME_WAIT'];
  const kill = ['ss', '-K', 'state', 'time-wait'];
  for (const ns of namespaces) spawnSync('ip', ['netns', 'exec', ns, ...del], { stdio: 'ignore' });
  for (const ns of [...namespaces, ...podNamespaces]) spawnSync('ip', ['netns', 'exec', ns, ...kill], { stdio: 'ignore' });
  for (const sel of [['-s', subnet], ['-d', subnet], ...hostDsts.map((d) => ['-d', d])]) spawnSync(del[0], [...del.slice(1), ...sel], { stdio: 'ignore' });
  spawnSync(kill[0], [...kill.slice(1), 'dst', subnet], { stdio: 'ignore' });
}

/** Pins every thread of `pid` to `cpu` (taskset); returns false when the process is gone. */
export function pin(pid, cpu) {
  return spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0;
}

/** CPU placement: --cpus client,server,proxy (default 0,1,1 on this machine's first two CPUs). */
export function placement(spec) {
  const [client, server, proxy] = spec.split(',').map(Number);
  if (![client, server, proxy].every(Number.isInteger)) fail(`--cpus ${spec}: give three CPU numbers, client,server,proxy (e.g. 0,1,1)`);
  return { client, server, proxy };
}

/**
 * The tree to measure against: REV checked out in a temporary git worktree,
 * node_modules copied from this tree (the workspace links are relative, so
 * they point into the worktree) and built with `npx tsc -b`. Returns its
 * directory, the commit and a cleanup that removes the worktree.
 */
export function prepareAgainst(rev) {
  const sha = execFileSync('git', ['-C', ROOT, 'rev-parse', '--verify', `${rev}^{commit}`], { encoding: 'utf8' }).trim();
  const here = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'kubemu-against-'));
  rmSync(dir, { recursive: true, force: true });
  const cleanup = () => {
    spawnSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
    spawnSync('git', ['-C', ROOT, 'worktree', 'prune'], { stdio: 'ignore' });
  };
  console.log(`• --against ${rev}: building ${sha.slice(0, 12)} in ${dir} (this tree: ${here.slice(0, 12)}${dirty() ? ', with uncommitted changes' : ''})`);
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, sha], { stdio: 'ignore' });
  try {
    const lock = (root) => (existsSync(join(root, 'package-lock.json')) ? readFileSync(join(root, 'package-lock.json'), 'utf8') : '');
    if (lock(ROOT) === lock(dir)) {
      console.log('  copying node_modules…');
      cpSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      for (const pkg of readdirSync(join(ROOT, 'packages'))) {
        const nm = join(ROOT, 'packages', pkg, 'node_modules');
        if (existsSync(nm) && existsSync(join(dir, 'packages', pkg))) cpSync(nm, join(dir, 'packages', pkg, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      }
    } else {
      // other dependencies than this tree's: install REV's own
      console.log(`  ${rev} has another package-lock.json: npm ci there…`);
      const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`npm ci failed in ${dir} for ${rev}:\n${(r.stdout + r.stderr).slice(-2000)}`);
    }
    console.log('  npx tsc -b…');
    const r = spawnSync('npx', ['tsc', '-b'], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npx tsc -b failed in ${dir} for ${rev}:\n${(r.stdout + r.stderr).slice(0, 2000)}\nfix the build of ${rev} or pick another revision`);
  } catch (e) {
    cleanup();
    throw e;
  }
  return { dir, sha, rev, cleanup };
}

/**
 * The --against tree of a bench, or undefined: `--against REV` builds it
 * (cleanup pushed to `cleanups`); `--against-built DIR` (given by
 * scripts/bench/all.mjs, which builds once for every bench) reuses one.
 */
export function againstTree(o, cleanups) {
  const rev = o.str('against', undefined);
  if (!rev) return undefined;
  const built = o.str('against-built', undefined);
  if (built) return { label: 'old', root: built, sha: execFileSync('git', ['-C', built, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim() };
  const wt = prepareAgainst(rev);
  cleanups.push(wt.cleanup);
  return { label: 'old', root: wt.dir, sha: wt.sha };
}

function dirty() {
  return execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
}

/**
 * Interleaved rounds: each round runs every series once, in reverse order on
 * odd rounds (A B C, C B A, …), so drift over the run falls on all of them alike.
 * `runOne(series, round)` returns one run; the result maps each series key to its runs.
 */
export async function interleave(series, rounds, runOne, label) {
  const runs = new Map(series.map((s) => [s.key, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...series].reverse() : series;
    process.stdout.write(`  ${label}: round ${r + 1}/${rounds} `);
    for (const s of order) {
      runs.get(s.key).push(await runOne(s, r));
      process.stdout.write('.');
    }
    process.stdout.write('\n');
  }
  return runs;
}
