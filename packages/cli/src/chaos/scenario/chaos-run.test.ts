import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenario } from './chaos-run.js';

const dir = mkdtempSync(join(tmpdir(), 'chaos-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('loadScenario', () => {
  it('names the file and the field in one line', () => {
    const p = file('bad.yaml', 'name: x\ntarget: {url: http://127.0.0.1/}\nduration: 5s\nsteps: [{at: 1s, fault: kill-nod node-2}]\n');
    expect(() => loadScenario(p)).toThrow(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: steps\\[0\\]\\.fault: unknown fault "kill-nod" \\(kubemu chaos has: kill-node, `));
    expect(() => loadScenario(join(dir, 'missing.yaml'))).toThrow(`cannot read scenario ${join(dir, 'missing.yaml')}: ENOENT`);
  });

  it('accepts the fault commands the chaos group has besides the known ones', () => {
    const p = file('extra.yaml', 'name: x\ntarget: {url: http://127.0.0.1/}\nduration: 5s\nsteps: [{fault: corrupt node-1}]\n');
    expect(() => loadScenario(p)).toThrow('unknown fault "corrupt"');
    expect(loadScenario(p, ['corrupt']).steps[0]!.action).toEqual({ kind: 'fault', args: ['corrupt', 'node-1'] });
  });

  it('reads every example scenario', async () => {
    const { readdirSync } = await import('node:fs');
    const root = join(import.meta.dirname, '..', '..', '..', '..', '..', 'scripts', 'chaos', 'scenarios');
    const names = readdirSync(root).filter((f) => f.endsWith('.yaml'));
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const n of names) expect(loadScenario(join(root, n)).name).toBe(n.replace(/\.yaml$/, ''));
  });
});
