import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@kubemu/api/testing';
import { Supervisor } from './supervisor.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A process that appends its pid to `file` when it starts, then lives for `ms`. */
function child(file: string, ms: number) {
  return { command: process.execPath, args: ['-e', `require('fs').appendFileSync(${JSON.stringify(file)}, process.pid + '\\n'); setTimeout(() => {}, ${ms})`] };
}

/** The pid the latest start wrote. */
function pidOf(file: string): number {
  return Number(readFileSync(file, 'utf8').split('\n').filter(Boolean).at(-1));
}

function starts(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe('Supervisor', () => {
  it('starts a process again after it exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-'));
    dirs.push(dir);
    const log: string[] = [];
    const sup = new Supervisor({ holdDir: join(dir, 'hold'), log: (l) => log.push(l) });
    const file = join(dir, 'starts');
    sup.add({ name: 'short', ...child(file, 50) });
    await until('a restart', () => starts(file) >= 2, 5000);
    expect(log.some((l) => /short: exited \(code 0\).*restarting in 1 s/.test(l))).toBe(true);
    await sup.stop();
  });

  it('leaves a held process down until the hold file goes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-'));
    dirs.push(dir);
    const sup = new Supervisor({ holdDir: join(dir, 'hold'), log: () => {} });
    const file = join(dir, 'starts');
    sup.add({ name: 'long', ...child(file, 60_000) });
    await until('started', () => starts(file) === 1, 5000);
    // What chaos does: hold, then kill.
    writeFileSync(join(dir, 'hold', 'long'), '');
    process.kill(pidOf(file), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 2500)); // more than the 1 s restart delay
    expect(starts(file)).toBe(1);
    rmSync(join(dir, 'hold', 'long'));
    await until('started once the hold is gone', () => starts(file) === 2, 3000);
    await sup.stop();
  });

  it('stops every process on stop()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-'));
    dirs.push(dir);
    const sup = new Supervisor({ holdDir: join(dir, 'hold'), log: () => {} });
    const file = join(dir, 'starts');
    sup.add({ name: 'long', ...child(file, 60_000) });
    await until('started', () => starts(file) === 1, 5000);
    const t0 = Date.now();
    await sup.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(starts(file)).toBe(1);
  });
});
