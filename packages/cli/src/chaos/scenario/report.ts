/**
 * The numbers of a chaos run, from its request records and what its steps
 * did: per phase (phases split at each step) success rate, latency
 * percentiles, errors by kind; per step the time to recover; answers from
 * pods that were not ready; each pod's share; a per-bucket timeline; and the
 * scenario's assertions. Pure functions: the unit tests feed synthetic records.
 */
import type { PodEvent } from './pod-tracker.js';
import { errorKind, isOk, type RequestRecord } from './record.js';
import { BASELINE_PHASE, type Assertion, type Scope, type StepAction } from './schema.js';

/** What running one step did. */
export interface StepResult {
  index: number;
  name: string;
  kind: StepAction['kind'];
  /** The command as run (`kubemu chaos kill-node node-2`, `kubectl delete pod x`, `sleep 5s`). */
  command: string;
  plannedAtMs?: number;
  /** Offsets from the start of traffic; absent when the step never ran (the run ended first). */
  startMs?: number;
  endMs?: number;
  ok: boolean;
  exitCode?: number | null;
  /** The command's output (trimmed), or why it failed. */
  output: string;
}

export interface Stats {
  requests: number;
  ok: number;
  /** ok / requests; 1 when there were none. */
  successRate: number;
  /** Over requests that got an HTTP answer (ms); undefined when none did. */
  p50Ms?: number;
  p99Ms?: number;
  errors: Record<string, number>;
  notReadyAnswers: number;
}

export interface PhaseReport extends Stats {
  name: string;
  fromMs: number;
  toMs: number;
}

export interface StepReport extends StepResult {
  /** The success rate recovery is measured against: the phase before the step. */
  baselineRate?: number;
  /**
   * From the step's start to the moment from which every 1 s window's success
   * rate stays ≥ the baseline, until the next group of steps (or the end);
   * null: not recovered; absent: a sleep, or a step that continues the one before.
   */
  recoveryMs?: number | null;
}

export interface PodShare {
  pod: string;
  node?: string;
  requests: number;
  share: number;
  notReady: number;
}

export interface TimelineBucket {
  fromMs: number;
  ok: number;
  errors: number;
  /** The most frequent error kind in the bucket. */
  topError?: string;
  /** Steps that started in the bucket. */
  steps: string[];
}

export interface AssertionResult {
  path: string;
  description: string;
  ok: boolean;
  actual: string;
}

export interface Report {
  scenario: string;
  cluster: string;
  target: string;
  mode: string;
  startedAt: string;
  durationMs: number;
  resultsFile?: string;
  total: Stats;
  phases: PhaseReport[];
  steps: StepReport[];
  /** Cleanup steps, run after traffic stopped (a failure is shown but does not fail the run: there may have been nothing to undo). */
  cleanup: StepResult[];
  pods: PodShare[];
  bucketMs: number;
  timeline: TimelineBucket[];
  assertions: AssertionResult[];
  /** Pods' changes during the run (ready, not ready, deleted), from the pod tracker. */
  podEvents: PodEvent[];
  stopped: boolean;
  /** Every assertion held, every step ran and succeeded, and the run was not stopped early (cleanup is best effort: shown, not counted). */
  passed: boolean;
}

/** The line of a command's output that says most: its first error line, else its last line. */
export function outputSummary(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^(error|fatal)\b/i.test(l)) ?? lines.at(-1) ?? '';
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (!sorted.length) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

const round = (n: number | undefined, digits = 1): number | undefined => (n === undefined ? undefined : Number(n.toFixed(digits)));

export function stats(records: RequestRecord[]): Stats {
  let ok = 0;
  let notReady = 0;
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  for (const r of records) {
    if (isOk(r)) ok++;
    else errors[errorKind(r)] = (errors[errorKind(r)] ?? 0) + 1;
    if (r.status !== undefined) latencies.push(r.latencyMs);
    if (r.podReady === false) notReady++;
  }
  latencies.sort((a, b) => a - b);
  return {
    requests: records.length,
    ok,
    successRate: records.length ? ok / records.length : 1,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    errors,
    notReadyAnswers: notReady,
  };
}

const within = (records: RequestRecord[], fromMs: number, toMs: number) => records.filter((r) => r.at >= fromMs && r.at < toMs);

/** Phases: the baseline before the first step that ran, then one from each step's start to the next's (the last to the end). */
export function phaseBounds(steps: StepResult[], durationMs: number): { name: string; fromMs: number; toMs: number }[] {
  const ran = steps.filter((s) => s.startMs !== undefined);
  const out = [{ name: BASELINE_PHASE, fromMs: 0, toMs: ran[0]?.startMs ?? durationMs }];
  ran.forEach((s, i) => out.push({ name: s.name, fromMs: s.startMs!, toMs: ran[i + 1]?.startMs ?? durationMs }));
  return out;
}

/**
 * Whether a step starts a new group: it has its own `at`, or follows a sleep
 * (or nothing). A step without `at` right after another continues it (e.g.
 * `rollout status` after `rollout restart`): the group's recovery is measured
 * once, from its first step, and its later steps do not cut it short.
 */
export function leadsItsGroup(step: StepResult, previous: StepResult | undefined): boolean {
  return step.plannedAtMs !== undefined || !previous || previous.kind === 'sleep';
}

const SLOT_MS = 100;
const WINDOW_MS = 1000;

/**
 * Time from `startMs` until the success rate over every sliding 1 s window
 * (slid by 100 ms) from then until `endMs` stays ≥ `baseline`; 0 when it never
 * dropped, null when the last window is still below. Windows with no
 * requests count as fine.
 */
export function recoveryTime(records: RequestRecord[], startMs: number, endMs: number, baseline: number): number | null {
  const lastStart = Math.max(startMs, endMs - WINDOW_MS);
  const rs = within(records, startMs, Math.max(endMs, startMs + WINDOW_MS));
  let recoveredAt: number | undefined;
  for (let s = startMs; s <= lastStart; s += SLOT_MS) {
    const w = rs.filter((r) => r.at >= s && r.at < s + WINDOW_MS);
    const good = w.length === 0 || w.filter(isOk).length / w.length >= baseline - 1e-9;
    if (!good) recoveredAt = undefined;
    else if (recoveredAt === undefined) recoveredAt = s;
  }
  return recoveredAt === undefined ? null : recoveredAt - startMs;
}

/** Bucket size for the timeline: 1 s up to 90 rows, then whole seconds so there are at most 90. */
export function bucketSize(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs / 90_000)) * 1000;
}

export function timeline(records: RequestRecord[], steps: StepResult[], durationMs: number, bucketMs = bucketSize(durationMs)): TimelineBucket[] {
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const buckets: (TimelineBucket & { kinds: Map<string, number> })[] = Array.from({ length: n }, (_, i) => ({ fromMs: i * bucketMs, ok: 0, errors: 0, steps: [], kinds: new Map() }));
  for (const r of records) {
    const b = buckets[Math.min(n - 1, Math.max(0, Math.floor(r.at / bucketMs)))]!;
    if (isOk(r)) b.ok++;
    else {
      b.errors++;
      b.kinds.set(errorKind(r), (b.kinds.get(errorKind(r)) ?? 0) + 1);
    }
  }
  for (const s of steps) if (s.startMs !== undefined) buckets[Math.min(n - 1, Math.floor(s.startMs / bucketMs))]!.steps.push(s.name);
  return buckets.map(({ kinds, ...b }) => {
    const top = [...kinds].sort((x, y) => y[1] - x[1])[0];
    return top ? { ...b, topError: top[0] } : b;
  });
}

export function podShares(records: RequestRecord[]): PodShare[] {
  const by = new Map<string, PodShare>();
  const answered = records.filter((r) => r.pod !== undefined);
  for (const r of answered) {
    const p = by.get(r.pod!) ?? { pod: r.pod!, node: r.node, requests: 0, share: 0, notReady: 0 };
    p.requests++;
    if (r.node) p.node = r.node;
    if (r.podReady === false) p.notReady++;
    by.set(r.pod!, p);
  }
  return [...by.values()].map((p) => ({ ...p, share: p.requests / answered.length })).sort((a, b) => b.requests - a.requests || a.pod.localeCompare(b.pod));
}

/** Why an assertion about a failed step's phase or window is not checked: what it measures never happened. */
const failedStep = (s: StepReport) => `not checked: step "${s.name}" failed (exit ${s.exitCode ?? 'none'}): what it measures may not have happened`;

/** The records an assertion's scope covers, and its words. */
function scoped(scope: Scope, records: RequestRecord[], phases: PhaseReport[], steps: StepReport[], durationMs: number): { records: RequestRecord[]; words: string } | { missing: string; words: string } {
  if (scope.kind === 'run') return { records, words: 'over the whole run' };
  if (scope.kind === 'phase') {
    const p = phases.find((x) => x.name === scope.phase);
    if (!p) return { missing: `phase "${scope.phase}" never started`, words: `in phase "${scope.phase}"` };
    const opener = steps.find((s) => s.name === p.name);
    if (opener && !opener.ok) return { missing: failedStep(opener), words: `in phase "${p.name}"` };
    return { records: within(records, p.fromMs, p.toMs), words: `in phase "${p.name}"` };
  }
  const start = scope.fromMs ? `from ${scope.fromMs / 1000}s ` : '';
  const words = scope.withinMs !== undefined ? `${start}within ${scope.withinMs / 1000}s after "${scope.step}"` : `${start}after "${scope.step}" (to the next step)`;
  const step = steps.find((s) => s.name === scope.step);
  if (step?.startMs === undefined) return { missing: `step "${scope.step}" never ran`, words };
  if (!step.ok) return { missing: failedStep(step), words };
  const phase = phases.find((x) => x.name === scope.step);
  const to = scope.withinMs !== undefined ? Math.min(durationMs, step.startMs + scope.withinMs) : phase?.toMs ?? durationMs;
  const from = step.startMs + (scope.fromMs ?? 0);
  return { records: within(records, from, Math.max(from, to)), words };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function evaluate(assertions: Assertion[], records: RequestRecord[], phases: PhaseReport[], steps: StepReport[], durationMs: number): AssertionResult[] {
  return assertions.map((a): AssertionResult => {
    if (a.kind === 'recovery') {
      const s = steps.find((x) => x.name === a.step);
      const description = `"${a.step}" recovers within ${a.withinMs / 1000}s`;
      if (s?.startMs === undefined) return { path: a.path, description, ok: false, actual: 'the step never ran' };
      if (!s.ok) return { path: a.path, description, ok: false, actual: failedStep(s) };
      const r = s.recoveryMs;
      return { path: a.path, description, ok: r !== null && r !== undefined && r <= a.withinMs, actual: r === null || r === undefined ? 'not recovered' : `recovered in ${(r / 1000).toFixed(1)}s` };
    }
    const sc = scoped(a.scope, records, phases, steps, durationMs);
    const words = sc.words;
    if (a.kind === 'successRate') {
      const description = `success rate ${words} ≥ ${pct(a.atLeast)}`;
      if ('missing' in sc) return { path: a.path, description, ok: false, actual: sc.missing };
      const st = stats(sc.records);
      return { path: a.path, description, ok: st.successRate >= a.atLeast, actual: `${pct(st.successRate)} (${st.ok}/${st.requests})` };
    }
    if (a.kind === 'notReadyAnswers') {
      const description = `answers from not-ready pods ${words} ≤ ${a.atMost}`;
      if ('missing' in sc) return { path: a.path, description, ok: false, actual: sc.missing };
      const n = stats(sc.records).notReadyAnswers;
      return { path: a.path, description, ok: n <= a.atMost, actual: String(n) };
    }
    const description = `p${a.percentile} latency ${words} ≤ ${a.atMostMs} ms`;
    if ('missing' in sc) return { path: a.path, description, ok: false, actual: sc.missing };
    const st = stats(sc.records);
    const v = a.percentile === 50 ? st.p50Ms : st.p99Ms;
    return { path: a.path, description, ok: v !== undefined && v <= a.atMostMs, actual: v === undefined ? 'no answers' : `${v} ms` };
  });
}

export interface ReportInput {
  scenario: string;
  cluster: string;
  target: string;
  mode: string;
  startedAt: Date;
  durationMs: number;
  resultsFile?: string;
  records: RequestRecord[];
  steps: StepResult[];
  cleanup?: StepResult[];
  assertions: Assertion[];
  podEvents?: PodEvent[];
  /** The run was stopped before its duration (Ctrl-C); `durationMs` is how long it ran. */
  stopped?: boolean;
}

export function buildReport(input: ReportInput): Report {
  const { records, durationMs } = input;
  const phases: PhaseReport[] = phaseBounds(input.steps, durationMs).map((p) => ({ ...p, ...stats(within(records, p.fromMs, p.toMs)) }));
  const ran = input.steps.filter((s) => s.startMs !== undefined);
  const leads = new Set(ran.filter((s, i) => s.kind !== 'sleep' && leadsItsGroup(s, ran[i - 1])).map((s) => s.index));
  const steps: StepReport[] = input.steps.map((s) => {
    if (s.startMs === undefined || !leads.has(s.index)) return { ...s };
    // Against the phase just before the step; the 1 s windows must hold until the next group of steps (or the end).
    const i = phases.findIndex((p) => p.name === s.name);
    const before = phases[i - 1];
    const baselineRate = before && before.requests > 0 ? before.successRate : stats(records.filter((r) => r.at < s.startMs!)).successRate;
    const next = ran.find((x) => x.startMs! > s.startMs! && leads.has(x.index));
    return { ...s, baselineRate, recoveryMs: recoveryTime(records, s.startMs, next?.startMs ?? durationMs, baselineRate) };
  });
  const assertions = evaluate(input.assertions, records, phases, steps, durationMs);
  const bucketMs = bucketSize(durationMs);
  return {
    scenario: input.scenario,
    cluster: input.cluster,
    target: input.target,
    mode: input.mode,
    startedAt: input.startedAt.toISOString(),
    durationMs,
    resultsFile: input.resultsFile,
    total: stats(records),
    phases,
    steps,
    cleanup: input.cleanup ?? [],
    pods: podShares(records),
    bucketMs,
    timeline: timeline(records, input.steps, durationMs, bucketMs),
    assertions,
    podEvents: (input.podEvents ?? []).filter((e) => e.at >= 0 && e.at <= durationMs),
    stopped: input.stopped ?? false,
    passed: assertions.every((a) => a.ok) && input.steps.every((s) => s.ok) && !input.stopped,
  };
}
