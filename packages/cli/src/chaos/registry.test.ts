import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultRegistry, type ActiveFault } from './registry.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chaos-reg-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pause = (target: string, pids: number[]): ActiveFault => ({ kind: 'pause-node', target, machine: target, since: 't', description: `${target} paused`, undo: `kubemu chaos resume-node ${target}`, pids });

describe('FaultRegistry', () => {
  it('is empty without a file, and with a broken one', () => {
    expect(new FaultRegistry(dir).list()).toEqual([]);
    writeFileSync(join(dir, 'chaos.json'), '{nope');
    expect(new FaultRegistry(dir).list()).toEqual([]);
  });
  it('keeps faults across instances (another process heals)', () => {
    new FaultRegistry(dir).put(pause('node-1', [10, 11]));
    const again = new FaultRegistry(dir);
    expect(again.find('pause-node', 'node-1')).toMatchObject({ pids: [10, 11] });
    expect(JSON.parse(readFileSync(join(dir, 'chaos.json'), 'utf8')).faults).toHaveLength(1);
  });
  it('replaces an entry of the same kind and target, keeps others in order', () => {
    const r = new FaultRegistry(dir);
    r.put(pause('node-1', [1]));
    r.put(pause('node-2', [2]));
    r.put(pause('node-1', [3]));
    expect(r.list().map((f) => f.target)).toEqual(['node-2', 'node-1']);
    expect(r.find('pause-node', 'node-1')).toMatchObject({ pids: [3] });
  });
  it('removes one entry and says whether it was there', () => {
    const r = new FaultRegistry(dir);
    r.put(pause('node-1', [1]));
    expect(r.remove('pause-node', 'node-2')).toBe(false);
    expect(r.remove('pause-node', 'node-1')).toBe(true);
    expect(r.list()).toEqual([]);
  });
});
