/**
 * Runs a scenario's steps against running traffic: each step at its `at`
 * (or right after the previous one), in order, through a FaultExecutor, so
 * tests drive it with a fake one. Traffic starts first and stops when the
 * scenario's duration is up; steps not started by then are reported as not
 * run, and a step still running is let finish (its own timeout bounds it).
 * Then the cleanup steps run, whatever happened.
 */
import { performance } from 'node:perf_hooks';
import type { StepResult } from './report.js';
import type { Scenario, Step } from './schema.js';

export interface CommandOutcome {
  ok: boolean;
  exitCode: number | null;
  /** stdout and stderr, trimmed (or why it could not run). */
  output: string;
}

/** Runs the commands behind fault and kubectl steps. */
export interface FaultExecutor {
  /** `kubemu chaos <args…>` against the scenario's cluster. */
  fault(args: string[], timeoutMs: number): Promise<CommandOutcome>;
  /** kubectl <args…> with the cluster's kubeconfig. */
  kubectl(args: string[], timeoutMs: number): Promise<CommandOutcome>;
  /** How a fault command is shown in the report. */
  describe?(kind: 'fault' | 'kubectl', args: string[]): string;
}

/** What the runner needs of the traffic generator. */
export interface TrafficControl {
  /** Starts traffic; returns performance.now() at its start (offsets count from it). */
  start(): number;
  stop(): Promise<void>;
}

export interface RunOptions {
  executor: FaultExecutor;
  traffic: TrafficControl;
  /** Fills templates ({{pod:app=kubia}}) in a command when its step runs; throwing fails the step. */
  expand?: (args: string[]) => string[];
  /** Stops the run early: traffic ends, steps not yet started are not run. */
  signal?: AbortSignal;
  /** Told as each step starts and ends (progress lines). */
  onStep?: (s: StepResult, phase: 'start' | 'end') => void;
}

export interface RunResult {
  startedAt: Date;
  /** performance.now() when traffic started. */
  origin: number;
  steps: StepResult[];
  /** The scenario's cleanup steps, run after traffic stopped. */
  cleanup: StepResult[];
  /** How long traffic ran: the scenario's duration, or less when stopped. */
  durationMs: number;
  stopped: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

function command(step: Step, ex: FaultExecutor): string {
  const a = step.action;
  if (a.kind === 'sleep') return `sleep ${a.ms / 1000}s`;
  return ex.describe?.(a.kind, a.args) ?? `${a.kind === 'fault' ? 'kubemu chaos' : 'kubectl'} ${a.args.join(' ')}`;
}

/**
 * Runs one step into `r` (its result, startMs already set): fills its
 * templates, runs its command or its sleep (`wait`), and records how it went.
 */
async function execute(step: Step, r: StepResult, o: Pick<RunOptions, 'executor' | 'expand' | 'onStep'>, wait: (ms: number) => Promise<void>, elapsed: () => number): Promise<void> {
  let a = step.action;
  try {
    if (a.kind !== 'sleep' && o.expand) {
      a = { ...a, args: o.expand(a.args) };
      r.command = command({ ...step, action: a }, o.executor);
    }
    o.onStep?.(r, 'start');
    const out = a.kind === 'sleep' ? (await wait(a.ms), { ok: true, exitCode: 0, output: '' }) : a.kind === 'fault' ? await o.executor.fault(a.args, step.timeoutMs) : await o.executor.kubectl(a.args, step.timeoutMs);
    Object.assign(r, { ok: out.ok, exitCode: out.exitCode, output: out.output });
  } catch (e) {
    Object.assign(r, { ok: false, exitCode: null, output: (e as Error).message });
  }
  r.endMs = Math.round(elapsed());
  o.onStep?.(r, 'end');
}

/** Runs `steps` one after the other, now (a scenario's cleanup: after traffic stops, whatever happened). */
export async function runSteps(steps: Step[], o: Pick<RunOptions, 'executor' | 'expand' | 'onStep'>, origin = performance.now()): Promise<StepResult[]> {
  const elapsed = () => performance.now() - origin;
  const out: StepResult[] = [];
  for (const step of steps) {
    const r: StepResult = { index: step.index, name: step.name, kind: step.action.kind, command: command(step, o.executor), ok: false, output: '', startMs: Math.round(elapsed()) };
    await execute(step, r, o, sleep, elapsed);
    out.push(r);
  }
  return out;
}

export async function runScenario(sc: Scenario, o: RunOptions): Promise<RunResult> {
  const startedAt = new Date();
  const origin = o.traffic.start();
  const elapsed = () => performance.now() - origin;
  const aborted = new Promise<void>((r) => (o.signal?.aborted ? r() : o.signal?.addEventListener('abort', () => r(), { once: true })));
  /** Sleeps until `ms` after the start (timers may fire a little early), or until the run is stopped. */
  const until = async (ms: number) => {
    while (elapsed() < ms && !o.signal?.aborted) await Promise.race([sleep(Math.ceil(ms - elapsed())), aborted]);
  };
  const results: StepResult[] = sc.steps.map((s) => ({ index: s.index, name: s.name, kind: s.action.kind, command: command(s, o.executor), plannedAtMs: s.atMs, ok: false, output: 'not run: the scenario ended first' }));

  const stepsDone = (async () => {
    for (const step of sc.steps) {
      const r = results[step.index]!;
      if (step.atMs !== undefined) await until(step.atMs);
      if (elapsed() >= sc.durationMs || o.signal?.aborted) return;
      r.startMs = Math.round(elapsed());
      await execute(step, r, o, (ms) => until(Math.min(elapsed() + ms, sc.durationMs)), elapsed);
    }
  })();

  await until(sc.durationMs);
  const durationMs = Math.min(sc.durationMs, Math.round(elapsed()));
  const finished = await Promise.race([stepsDone.then(() => true), sleep(0).then(() => false)]);
  await o.traffic.stop();
  if (!finished) await stepsDone;
  for (const r of results) if (r.startMs === undefined && o.signal?.aborted) r.output = 'not run: the run was stopped';
  const cleanup = await runSteps(sc.cleanup, o, origin);
  return { startedAt, origin, steps: results, cleanup, durationMs, stopped: !!o.signal?.aborted && durationMs < sc.durationMs };
}
