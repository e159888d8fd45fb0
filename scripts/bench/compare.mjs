#!/usr/bin/env node
/**
 * Do two bench runs agree? Reads two JSON files (a bench's --json, or the one
 * `npm run bench` writes) and prints, for every ratio both measured, its
 * median in each run, the difference and whether it is within ±--within
 * (default 0.05); then how many agree. Exits 1 when one does not (or when the
 * runs share no ratio), so a script can check a machine holds still.
 *
 * Usage: node scripts/bench/compare.mjs RUN1.json RUN2.json [--within 0.05] [--only keep-alive,new conn,bulk TCP]
 * --only: ratios whose name contains one of these (comma-separated).
 */
import { readFileSync } from 'node:fs';
import { f, fail, fs, options } from './lib.mjs';

const o = options();
// the files: arguments that are neither an option nor an option's value
const [a, b] = process.argv.slice(2).filter((x, i, all) => !x.startsWith('--') && !all[i - 1]?.startsWith('--'));
if (!a || !b) fail('usage: node scripts/bench/compare.mjs RUN1.json RUN2.json [--within 0.05] [--only keep-alive,new conn]');
const WITHIN = o.num('within', 0.05);
const ONLY = o.list('only', '');

/** The ratios of a run file by name (every bench in an `npm run bench` file). */
function ratiosOf(file) {
  let j;
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file}: ${e.message} (give a file written by a bench's --json or by npm run bench)`);
  }
  const metrics = Array.isArray(j.metrics) ? j.metrics : (j.benches ?? []).flatMap((x) => x.metrics ?? []);
  return new Map(metrics.filter((m) => m.ratio && (!ONLY.length || ONLY.some((s) => m.name.includes(s)))).map((m) => [m.name, m]));
}

const [ra, rb] = [ratiosOf(a), ratiosOf(b)];
const names = [...ra.keys()].filter((n) => rb.has(n));
if (!names.length) fail(`${a} and ${b} share no ratio${ONLY.length ? ` matching --only ${ONLY.join(',')}` : ''}`);
const w = Math.max(6, ...names.map((n) => n.length));
console.log(`  ${'ratio'.padEnd(w)}  ${'run 1'.padStart(18)}  ${'run 2'.padStart(18)}  ${'2 − 1'.padStart(6)}  within ±${WITHIN}`);
let agree = 0;
for (const n of names) {
  const [m1, m2] = [ra.get(n), rb.get(n)];
  const d = m2.median - m1.median;
  const ok = Math.abs(d) <= WITHIN + 1e-9;
  if (ok) agree++;
  console.log(`  ${n.padEnd(w)}  ${fs(m1).padStart(18)}  ${fs(m2).padStart(18)}  ${(d >= 0 ? '+' : '') + f(d, 2)}`.padEnd(w + 52) + `  ${ok ? 'yes' : 'NO'}`);
}
console.log(`\n${agree} of ${names.length} ratios agree within ±${WITHIN}${ra.size + rb.size > 2 * names.length ? ` (${ra.size + rb.size - 2 * names.length} measured in one run only)` : ''}`);
process.exitCode = agree === names.length ? 0 : 1;
