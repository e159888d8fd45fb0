/**
 * One container of a pod: starts its program in the pod sandbox, writes its
 * output to a log file per run, restarts it per restartPolicy with kubelet's
 * back-off, and runs its probes (readiness flips `ready`; liveness and startup
 * failures kill and restart it).
 */
import { openSync, closeSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { shellQuote, tool } from '@kubemu/netns';
import { resizeTerminal } from './terminal.js';
import type { Container, ContainerState, Probe } from '@kubemu/api';
import type { PodSandbox } from './sandbox/pod-sandbox.js';

/** What a container needs of its pod's sandbox (a PodSandbox, or a HostNetworkSandbox). */
export type Sandbox = Pick<PodSandbox, 'spawn' | 'exec' | 'pids' | 'destroy' | 'setMounts'>;
import { containerProgram } from './container-command.js';
import { RestartBackoff } from './backoff.js';
import { ProbeWorker, type ProbeKind } from './probes/probe-worker.js';
import { runHook, runProbe, type ProbeTarget } from './probes/probe.js';
import { metaTime } from '@kubemu/api';

/** kubelet's floor for SIGTERM → SIGKILL once a preStop hook has used up the grace period. */
const MIN_GRACE_AFTER_HOOK_SECONDS = 2;

export interface ContainerDeps {
  sandbox: Sandbox;
  podName: string;
  podIP: string;
  logDir: string;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  terminationGraceSeconds: number;
  workloadsEntry: string;
  kubeMinor: string;
  /** The container's environment, computed at each start (service env vars are per start). */
  env(): Promise<Record<string, string>>;
  /**
   * An ephemeral container's targetContainerName: the pid of that container's
   * program when it runs (the new one joins its namespaces), else undefined.
   */
  targetPid?(): number | undefined;
  onChange(): void;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export class ContainerRunner {
  readonly spec: Container;
  readonly #d: ContainerDeps;
  state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  lastState: ContainerState = {};
  restartCount = 0;
  #proc?: ChildProcess;
  #pid?: number;
  #startedAtMs = 0;
  #probes: ProbeWorker[] = [];
  #backoff = new RestartBackoff();
  #restartTimer?: NodeJS.Timeout;
  #stopping = false;
  #killReason?: string;
  #everStarted = false;
  /** Set by `kubemu chaos fail-readiness` (the pod annotation): readiness fails with this message. */
  #chaosReadiness?: string;
  /** The program's stdin (spec.stdin or spec.tty): held open here, written by attach sessions. */
  #stdin?: Writable | null;
  /** The run (restartCount) whose output an attach session has already replayed. */
  #replayedRun = -1;

  constructor(spec: Container, deps: ContainerDeps) {
    this.spec = spec;
    this.#d = deps;
  }

  get ready(): boolean {
    if (!this.state.running) return false;
    if (this.#chaosReadiness !== undefined) return false;
    const r = this.#probes.find((p) => p.kind === 'Readiness');
    const s = this.#probes.find((p) => p.kind === 'Startup');
    return (s ? s.result : true) && (r ? r.result : true);
  }

  /**
   * Fails readiness on purpose (message set) or stops doing so (undefined):
   * `kubemu chaos fail-readiness`. Takes effect at once, with an Unhealthy
   * event as a failed readiness probe gets; the container keeps running and
   * its real probes keep running underneath, so clearing it gives their
   * result back.
   */
  setChaosReadiness(message: string | undefined): void {
    if (message === this.#chaosReadiness) return;
    this.#chaosReadiness = message;
    if (message !== undefined) this.#d.event('Warning', 'Unhealthy', `Readiness probe failed: ${message}`);
    this.#d.onChange();
  }

  get started(): boolean {
    if (!this.state.running) return false;
    const s = this.#probes.find((p) => p.kind === 'Startup');
    return s ? s.result : true;
  }

  get pid(): number | undefined {
    return this.state.running ? this.#pid : undefined;
  }

  /**
   * Whether the program is still alive right now: unlike `state`, which
   * changes when Node has reaped it, this also sees a program that has just
   * exited (a zombie, or gone) — attach refuses those, so kubectl falls back
   * to the logs instead of waiting on output that was already written.
   */
  get alive(): boolean {
    const pid = this.pid;
    if (!pid) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }

  /**
   * True for the first attach session of the current run, false after: that
   * session also gets what the run printed before it connected. kubectl
   * attaches as soon as the status says running, and a kubemu node reports
   * that within milliseconds (kubelet's status lags by its relist period),
   * so a short program would otherwise print before anyone listens.
   */
  firstAttach(): boolean {
    if (this.#replayedRun === this.restartCount) return false;
    this.#replayedRun = this.restartCount;
    return true;
  }

  /**
   * An attach session's stdin, for a container with `stdin: true`: writes go
   * to the program; `detach()` ends the session, closing the program's stdin
   * when the container has `stdinOnce`. Undefined when the container has no
   * stdin (or is not running).
   */
  attachStdin(): { write(data: Buffer): void; detach(): void } | undefined {
    const pipe = this.#stdin;
    if (this.spec.stdin !== true || !pipe || !this.state.running) return undefined;
    let detached = false;
    return {
      write: (data) => {
        if (!detached && !pipe.destroyed && !pipe.writableEnded) pipe.write(data);
      },
      detach: () => {
        if (detached) return;
        detached = true;
        if (this.spec.stdinOnce === true && !pipe.writableEnded) pipe.end();
      },
    };
  }

  /** kubectl's terminal size (attach -t): the container's terminal follows it. */
  resize(width: number, height: number): void {
    const pid = this.pid;
    if (this.spec.tty === true && pid) void resizeTerminal(pid, width, height);
  }

  /** The log file of run `n` (default: the current one). */
  logFile(run = this.restartCount): string {
    return join(this.#d.logDir, `${this.spec.name}-${run}.log`);
  }

  async start(): Promise<void> {
    if (this.#stopping) return;
    const prog = containerProgram(this.spec, this.#d.workloadsEntry);
    if (!prog.ok) {
      const first = !this.state.waiting || this.state.waiting.reason === 'ContainerCreating';
      this.state = { waiting: { reason: first ? prog.reason : 'ImagePullBackOff', message: first ? prog.message : `Back-off pulling image "${this.spec.image ?? ''}"` } };
      this.#d.event('Warning', 'Failed', prog.message);
      this.#d.onChange();
      // Kubelet keeps retrying the pull; so do we, slowly, so the status alternates like Kubernetes'.
      this.#restartTimer = setTimeout(() => void this.start(), first ? 5000 : 20_000);
      return;
    }
    if (this.restartCount === 0 && !this.#everStarted) this.#d.event('Normal', 'Pulled', `Container image "${this.spec.image ?? ''}" already present on machine`);
    mkdirSync(this.#d.logDir, { recursive: true });
    const fd = openSync(this.logFile(), 'a');
    let env: Record<string, string>;
    try {
      env = await this.#d.env();
    } catch (e) {
      closeSync(fd);
      this.state = { waiting: { reason: 'CreateContainerConfigError', message: (e as Error).message } };
      this.#d.event('Warning', 'Failed', `Error: ${(e as Error).message}`);
      this.#d.onChange();
      this.#restartTimer = setTimeout(() => void this.start(), 10_000);
      return;
    }
    if (this.#stopping) {
      closeSync(fd);
      return;
    }
    let target: number | undefined;
    if (this.spec.targetContainerName) {
      target = this.#d.targetPid?.();
      if (target === undefined) {
        // kubelet: the target must be running when the ephemeral container starts; it retries on the next sync.
        closeSync(fd);
        const message = `unable to find target container ${String(this.spec.targetContainerName)}`;
        this.state = { waiting: { reason: 'CreateContainerConfigError', message } };
        this.#d.event('Warning', 'Failed', `Error: ${message}`);
        this.#d.onChange();
        this.#restartTimer = setTimeout(() => void this.start(), 5000);
        return;
      }
    }
    // A container with stdin or a terminal keeps a pipe to its program open (attach writes to it); a terminal is
    // util-linux `script`'s pseudo-terminal, whose output (the terminal's) goes to the log like any output.
    const interactive = this.spec.stdin === true || this.spec.tty === true;
    let argv = prog.argv;
    if (this.spec.tty === true) {
      env.TERM ??= 'xterm';
      argv = [tool('script'), '-qefc', argv.map(shellQuote).join(' '), '/dev/null'];
    }
    let proc: ChildProcess;
    try {
      proc = this.#d.sandbox.spawn({ command: argv, env, cwd: this.spec.workingDir, stdin: interactive ? 'pipe' : 'ignore', stdout: fd, stderr: fd, name: this.spec.name, target });
    } catch (e) {
      closeSync(fd);
      // Only joining a target can fail this way (it exited just now): retried as kubelet retries. Anything else is the sandbox's.
      if (target === undefined) throw e;
      const message = (e as Error).message;
      this.state = { waiting: { reason: 'CreateContainerError', message } };
      this.#d.event('Warning', 'Failed', `Error: ${message}`);
      this.#d.onChange();
      this.#restartTimer = setTimeout(() => void this.start(), 5000);
      return;
    }
    closeSync(fd);
    this.#stdin = interactive ? proc.stdin : null;
    proc.stdin?.on('error', () => {});
    this.#proc = proc;
    this.#pid = proc.pid;
    this.#startedAtMs = Date.now();
    this.#everStarted = true;
    this.state = { running: { startedAt: metaTime() } };
    this.#d.event('Normal', 'Created', `Created container ${this.spec.name}`);
    this.#d.event('Normal', 'Started', `Started container ${this.spec.name}`);
    proc.once('exit', (code, signal) => this.#exited(code, signal));
    proc.once('error', (err) => {
      this.#d.event('Warning', 'Failed', `Error: failed to start container "${this.spec.name}": ${err.message}`);
    });
    this.#startProbes();
    this.#d.onChange();
  }

  #startProbes(): void {
    this.#stopProbes();
    const add = (kind: ProbeKind, probe: Probe | undefined) => {
      if (!probe) return;
      const w = new ProbeWorker(kind, probe, () => this.#probeOnce(probe), {
        onChange: (ok) => this.#probeChanged(kind, ok, probe),
        onFailure: (r) => this.#d.event('Warning', 'Unhealthy', `${kind} probe failed: ${r.message}`),
      });
      this.#probes.push(w);
    };
    add('Startup', this.spec.startupProbe);
    add('Readiness', this.spec.readinessProbe);
    add('Liveness', this.spec.livenessProbe);
    const startup = this.#probes.find((p) => p.kind === 'Startup');
    for (const p of this.#probes) if (!startup || p === startup) p.start();
  }

  #probeOnce(probe: Probe) {
    return runProbe(probe, this.#target());
  }

  /** What probes and hooks act on: this container in its pod. */
  #target(): ProbeTarget {
    return {
      podIP: this.#d.podIP,
      container: this.spec,
      kubeMinor: this.#d.kubeMinor,
      exec: (command, timeoutMs) => this.execCapture(command, timeoutMs),
    };
  }

  #probeChanged(kind: ProbeKind, ok: boolean, probe: Probe): void {
    if (kind === 'Startup' && ok) {
      for (const p of this.#probes) if (p.kind !== 'Startup') p.start();
    }
    if ((kind === 'Liveness' || kind === 'Startup') && !ok) {
      this.#d.event('Normal', 'Killing', `Container ${this.spec.name} failed ${kind.toLowerCase()} probe, will be restarted`);
      this.#killReason = 'Error';
      const grace = probe.terminationGracePeriodSeconds ?? this.#d.terminationGraceSeconds;
      void this.#kill(grace, false);
      return;
    }
    this.#d.onChange();
  }

  /** Runs a command inside the container (exec probes). */
  execCapture(command: string[], timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
    const pid = this.pid;
    if (!pid) return Promise.resolve({ code: null, output: 'container is not running', timedOut: false });
    return new Promise((resolve) => {
      const child = this.#d.sandbox.exec(pid, command);
      let output = '';
      let timedOut = false;
      child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4096)));
      child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4096)));
      const t = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.once('error', (e) => {
        clearTimeout(t);
        resolve({ code: null, output: e.message, timedOut: false });
      });
      child.once('close', (code) => {
        clearTimeout(t);
        resolve({ code, output, timedOut });
      });
    });
  }

  #exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.#stopProbes();
    const exitCode = code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1) : 1);
    const reason = this.#killReason ?? (exitCode === 0 ? 'Completed' : 'Error');
    this.#killReason = undefined;
    const terminated: ContainerState = {
      terminated: { exitCode, reason, startedAt: this.state.running?.startedAt, finishedAt: metaTime(), ...(signal ? { signal: exitCode - 128 } : {}) },
    };
    this.#proc = undefined;
    this.#stdin?.destroy();
    this.#stdin = undefined;
    const ranMs = Date.now() - this.#startedAtMs;
    const restart = !this.#stopping && (this.#d.restartPolicy === 'Always' || (this.#d.restartPolicy === 'OnFailure' && exitCode !== 0));
    if (!restart) {
      this.state = terminated;
      this.#d.onChange();
      return;
    }
    this.lastState = terminated;
    const delay = this.#backoff.next(ranMs);
    this.restartCount++;
    if (delay > 0) {
      this.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.spec.name} pod=${this.#d.podName}` } };
      this.#d.event('Warning', 'BackOff', 'Back-off restarting failed container');
    } else this.state = { waiting: { reason: 'ContainerCreating' } };
    this.#d.onChange();
    this.#restartTimer = setTimeout(() => void this.start(), delay);
  }

  #stopProbes(): void {
    for (const p of this.#probes) p.stop();
    this.#probes = [];
  }

  async #kill(graceSeconds: number, final: boolean): Promise<void> {
    const proc = this.#proc;
    if (final) this.#stopping = true;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), Math.max(0, graceSeconds) * 1000);
    await exited;
    clearTimeout(t);
  }

  /**
   * Stops for good, as kubelet does: the preStop hook (bounded by the grace
   * period), then SIGTERM, then SIGKILL when what is left of the grace period
   * (at least 2 s after a hook) has passed. A grace period of 0 skips the hook.
   */
  async stop(graceSeconds: number): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#stopProbes();
    if (this.state.running) this.#d.event('Normal', 'Killing', `Stopping container ${this.spec.name}`);
    const hook = this.spec.lifecycle?.preStop;
    if (hook && graceSeconds > 0 && this.#proc && this.#proc.exitCode === null) {
      const t0 = Date.now();
      const exited = new Promise<void>((r) => this.#proc?.once('exit', () => r()));
      // A container that exits by itself ends its hook's wait.
      const r = await Promise.race([runHook(hook, this.#target(), graceSeconds * 1000), exited.then(() => ({ ok: true, message: '' }))]);
      if (!r.ok) this.#d.event('Warning', 'FailedPreStopHook', `PreStopHook failed: ${r.message}`);
      graceSeconds = Math.max(MIN_GRACE_AFTER_HOOK_SECONDS, graceSeconds - (Date.now() - t0) / 1000);
    }
    await this.#kill(graceSeconds, true);
  }
}
