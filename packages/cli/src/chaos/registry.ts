/**
 * The faults still in force, kept in the cluster's state dir (chaos.json) so
 * `kubemu chaos heal` works from any process, after the one that made them
 * is gone. One entry per (kind, target): doing a fault again replaces it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentRef } from './runtime.js';
import type { NetemSpec } from './netem.js';

export type FaultKind = 'kill-node' | 'pause-node' | 'partition' | 'netem' | 'fail-readiness' | 'kill';

interface FaultBase {
  kind: FaultKind;
  /** What it acts on: a node, `ns/pod`, `node-1/kube-proxy`. */
  target: string;
  /** The machine it lives on (heal NODE undoes the faults of one machine). */
  machine: string;
  since: string;
  /** One line: what was done. */
  description: string;
  /** The kubemu command that undoes it. */
  undo: string;
}

export type ActiveFault = FaultBase &
  (
    | { kind: 'kill-node' }
    | { kind: 'pause-node'; pids: number[] }
    | { kind: 'partition'; from: string[]; cut: string[] }
    | { kind: 'netem'; netem: NetemSpec }
    | { kind: 'fail-readiness'; namespace: string; pod: string }
    | { kind: 'kill'; ref: ComponentRef }
  );

export const CHAOS_FILE = 'chaos.json';

export class FaultRegistry {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, CHAOS_FILE);
  }

  /** Every active fault, oldest first. */
  list(): ActiveFault[] {
    if (!existsSync(this.file)) return [];
    try {
      const j = JSON.parse(readFileSync(this.file, 'utf8')) as { faults?: ActiveFault[] };
      return Array.isArray(j.faults) ? j.faults : [];
    } catch {
      return [];
    }
  }

  find(kind: FaultKind, target: string): ActiveFault | undefined {
    return this.list().find((f) => f.kind === kind && f.target === target);
  }

  /** Records `f`, replacing an entry of the same kind and target. */
  put(f: ActiveFault): void {
    this.#write([...this.list().filter((x) => !(x.kind === f.kind && x.target === f.target)), f]);
  }

  /** Forgets the entry of this kind and target; true when there was one. */
  remove(kind: FaultKind, target: string): boolean {
    const all = this.list();
    const rest = all.filter((x) => !(x.kind === kind && x.target === target));
    if (rest.length !== all.length) this.#write(rest);
    return rest.length !== all.length;
  }

  #write(faults: ActiveFault[]): void {
    mkdirSync(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ faults }, null, 2));
    renameSync(tmp, this.file);
  }
}
