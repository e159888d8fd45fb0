/**
 * Keeps a container's kubemu processes running, as systemd's Restart=always
 * keeps a real node's kubelet and kube-proxy: a process that exits is started
 * again after a backoff (1 s, doubling to 10 s, reset after a minute up).
 *
 * A process can be held down on purpose (chaos: "kill kube-proxy NODE"): while
 * the file `<holdDir>/<name>` exists it is not restarted; removing the file
 * starts it within a second. SIGTERM/SIGINT to the supervisor stop every
 * process (SIGTERM, SIGKILL after the grace period) and then the supervisor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface SupervisedProcess {
  /** Short name (`node-agent`, `kube-proxy`, …); also the hold file's name. */
  name: string;
  command: string;
  args: string[];
}

export interface SupervisorOptions {
  holdDir: string;
  /** One line per start/exit/hold, for the container's log. */
  log: (line: string) => void;
  stopGraceMs?: number;
}

interface Slot {
  spec: SupervisedProcess;
  child: ChildProcess | null;
  startedAt: number;
  backoffMs: number;
  timer: NodeJS.Timeout | null;
}

export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #slots = new Map<string, Slot>();
  #stopping = false;
  #poll: NodeJS.Timeout | null = null;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    mkdirSync(opts.holdDir, { recursive: true });
  }

  add(spec: SupervisedProcess): void {
    if (this.#slots.has(spec.name)) throw new Error(`${spec.name} is already supervised`);
    const slot: Slot = { spec, child: null, startedAt: 0, backoffMs: 1000, timer: null };
    this.#slots.set(spec.name, slot);
    this.#start(slot);
    // Held processes come back when their hold file goes away.
    this.#poll ??= setInterval(() => {
      for (const s of this.#slots.values()) if (!s.child && !s.timer && !this.#held(s)) this.#start(s);
    }, 500);
  }

  /** Stops every process and resolves when all have exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#poll) clearInterval(this.#poll);
    const waits: Promise<void>[] = [];
    for (const s of this.#slots.values()) {
      if (s.timer) clearTimeout(s.timer);
      const child = s.child;
      if (!child || child.exitCode !== null) continue;
      waits.push(new Promise((resolve) => child.once('exit', () => resolve())));
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), this.#opts.stopGraceMs ?? 10_000).unref();
    }
    await Promise.all(waits);
  }

  #held(slot: Slot): boolean {
    return existsSync(join(this.#opts.holdDir, slot.spec.name));
  }

  #start(slot: Slot): void {
    slot.timer = null;
    if (this.#stopping) return;
    if (this.#held(slot)) {
      this.#opts.log(`${slot.spec.name}: held (remove ${join(this.#opts.holdDir, slot.spec.name)} to start it)`);
      return;
    }
    const child = spawn(slot.spec.command, slot.spec.args, { stdio: ['ignore', 'inherit', 'inherit'] });
    slot.child = child;
    slot.startedAt = Date.now();
    child.on('error', (e) => this.#opts.log(`${slot.spec.name}: could not start: ${e.message}`));
    child.on('exit', (code, signal) => {
      slot.child = null;
      if (this.#stopping) return;
      const upMs = Date.now() - slot.startedAt;
      if (upMs > 60_000) slot.backoffMs = 1000;
      this.#opts.log(`${slot.spec.name}: exited (${signal ?? `code ${code}`}) after ${(upMs / 1000).toFixed(1)} s; ${this.#held(slot) ? 'held' : `restarting in ${slot.backoffMs / 1000} s`}`);
      if (this.#held(slot)) return;
      slot.timer = setTimeout(() => this.#start(slot), slot.backoffMs);
      slot.backoffMs = Math.min(slot.backoffMs * 2, 10_000);
    });
    this.#opts.log(`${slot.spec.name}: started (pid ${child.pid})`);
  }
}
