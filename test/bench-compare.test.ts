/**
 * scripts/bench/compare.mjs: do two bench runs agree on every ratio? Run as a
 * user runs it, on files in the formats the benches write (a bench's --json
 * and the summary `npm run bench` writes).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'bench', 'compare.mjs');
const dir = mkdtempSync(join(tmpdir(), 'kubemu-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ratio = (name: string, median: number) => ({ bench: 'dataplane', name, unit: '×', ratio: true, median, min: median - 0.02, max: median + 0.02 });
function file(name: string, body: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(body));
  return p;
}
const compare = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });

describe('scripts/bench/compare.mjs', () => {
  it('says which ratios of two runs differ by more than ±0.05, and exits 1', () => {
    const one = file('one.json', { bench: 'dataplane', metrics: [ratio('nftables nodeport keep-alive req/s ÷ direct', 0.8), ratio('nftables nodeport bulk TCP Mbit/s ÷ direct', 0.9), { name: 'p99 ms', unit: 'ms', ratio: false, median: 3 }] });
    // the shape npm run bench writes: every bench's metrics under `benches`
    const two = file('two.json', { benches: [{ bench: 'dataplane', metrics: [ratio('nftables nodeport keep-alive req/s ÷ direct', 0.83), ratio('nftables nodeport bulk TCP Mbit/s ÷ direct', 0.82)] }] });
    const r = compare(one, two);
    expect(r.status).toBe(1);
    const rows = r.stdout.split('\n');
    expect(rows.find((l) => l.includes('keep-alive'))).toMatch(/0\.80 \(0\.78–0\.82\)\s+0\.83 \(0\.81–0\.85\)\s+\+0\.03\s+yes$/);
    expect(rows.find((l) => l.includes('bulk'))).toMatch(/0\.90 .*0\.82 .*-0\.08\s+NO$/);
    expect(r.stdout).toContain('1 of 2 ratios agree within ±0.05');
    expect(r.stdout).not.toContain('p99');
  });

  it('exits 0 when every shared ratio agrees; --within and --only narrow it', () => {
    const one = file('a.json', { metrics: [ratio('keep-alive ÷ direct', 0.8), ratio('bulk ÷ direct', 0.9), ratio('only in one', 1)] });
    const two = file('b.json', { metrics: [ratio('keep-alive ÷ direct', 0.84), ratio('bulk ÷ direct', 0.7), ratio('only in two', 1)] });
    const agreeing = compare(one, two, '--only', 'keep-alive,only');
    expect(agreeing.status).toBe(0);
    expect(agreeing.stdout).toContain('1 of 1 ratios agree within ±0.05 (2 measured in one run only)');
    const strict = compare(one, two, '--only', 'keep-alive', '--within', '0.03');
    expect(strict.status).toBe(1);
    expect(strict.stdout).toContain('0 of 1 ratios agree within ±0.03');
  });

  it('refuses what it cannot compare with a one-line message', () => {
    const r = compare(join(dir, 'missing.json'), join(dir, 'missing.json'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/missing\.json: .*give a file written by a bench's --json/);
    const none = compare(file('x.json', { metrics: [ratio('a', 1)] }), file('y.json', { metrics: [ratio('b', 1)] }));
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('share no ratio');
  });
});
