import { describe, expect, it } from 'vitest';
import type { RequestRecord } from './record.js';
import { renderReport, timelineRows } from './render.js';
import { buildReport, percentile, phaseBounds, recoveryTime, stats, timeline, type StepResult } from './report.js';
import { parseScenario } from './schema.js';

/** `n` requests per second from `fromMs` to `toMs`, each ok (answered by kubia-a, or as `extra(at)` says) unless `fail(at)` says how it failed. */
function traffic(fromMs: number, toMs: number, perSecond: number, fail: (at: number) => string | undefined = () => undefined, extra: (at: number) => Partial<RequestRecord> = () => ({})): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let at = fromMs; at < toMs; at += 1000 / perSecond) {
    const err = fail(at);
    const base = { t: 1_700_000_000_000 + at, at, target: 'http://172.30.0.11:30080/', latencyMs: 2 };
    if (err === undefined) out.push({ ...base, status: 200, pod: 'kubia-a', node: 'node-1', podReady: true, ...extra(at) });
    else if (err.startsWith('HTTP ')) out.push({ ...base, status: Number(err.slice(5)) });
    else out.push({ ...base, error: err, latencyMs: err === 'ETIMEDOUT' ? 2000 : 1 });
  }
  return out;
}

/** A step that ran; `chained`: it had no `at` of its own. */
const step = (index: number, name: string, startMs: number, kind: StepResult['kind'] = 'fault', chained = false): StepResult => ({ index, name, kind, command: name, plannedAtMs: chained ? undefined : startMs, startMs, endMs: startMs + 100, ok: true, exitCode: 0, output: '' });

describe('percentile and stats', () => {
  it('uses the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
  });

  it('counts errors by kind, latency over answered requests only, not-ready answers', () => {
    const rs: RequestRecord[] = [
      ...Array.from({ length: 98 }, (_, i): RequestRecord => ({ t: i, at: i, target: 'x', status: 200, latencyMs: i < 49 ? 1 : 10, pod: 'p', podReady: i !== 5 })),
      { t: 98, at: 98, target: 'x', status: 503, latencyMs: 300 },
      { t: 99, at: 99, target: 'x', error: 'ETIMEDOUT', latencyMs: 2000 },
    ];
    const s = stats(rs);
    expect(s).toMatchObject({ requests: 100, ok: 98, successRate: 0.98, errors: { 'HTTP 503': 1, ETIMEDOUT: 1 }, notReadyAnswers: 1 });
    expect(s.p50Ms).toBe(10);
    expect(s.p99Ms).toBe(300); // the 503 answered; the timeout did not
    expect(stats([])).toMatchObject({ requests: 0, successRate: 1, p50Ms: undefined });
  });
});

describe('recoveryTime', () => {
  it('is the time until every later 1 s window is back at the baseline', () => {
    // 50 req/s; everything fails from 10 s to 12.5 s, then one straggler error at 13.2 s.
    const rs = traffic(0, 30_000, 50, (at) => (at >= 10_000 && at < 12_500) || at === 13_200 ? 'ECONNREFUSED' : undefined);
    // The last window holding the straggler starts at 12.3 s (windows slide by 100 ms): 13.3 s is the first clean one.
    expect(recoveryTime(rs, 10_000, 30_000, 1)).toBe(3_300);
    // With a 0.95 baseline the straggler (1 of 50) is tolerated: back at 12.5 s.
    expect(recoveryTime(rs, 10_000, 30_000, 0.95)).toBe(2_500);
  });

  it('is 0 when the fault changed nothing, null when the end is still bad', () => {
    const fine = traffic(0, 20_000, 20);
    expect(recoveryTime(fine, 5_000, 20_000, 1)).toBe(0);
    const broken = traffic(0, 20_000, 20, (at) => (at >= 5_000 ? 'ETIMEDOUT' : undefined));
    expect(recoveryTime(broken, 5_000, 20_000, 1)).toBeNull();
  });
});

describe('buildReport', () => {
  const scenario = parseScenario(`
name: t
target: {url: http://172.30.0.11:30080/}
duration: 30s
steps:
  - {at: 10s, kubectl: [delete, pod, kubia-b], name: pod lost}
  - {at: 20s, sleep: 1s}
expect:
  - successRate: {phase: baseline, atLeast: 1}
  - successRate: {after: pod lost, within: 2s, atLeast: 0.9}
  - recovery: {after: pod lost, within: 5s}
  - notReadyAnswers: {atMost: 0}
  - latency: {p50: 5ms}
`);
  // 20 req/s from kubia-a and kubia-b; kubia-b answers twice while not ready (11.5–11.75 s), and 1.5 s of refusals.
  const records = traffic(0, 30_000, 20, (at) => (at >= 10_000 && at < 11_500 ? 'ECONNREFUSED' : undefined), (at) =>
    Math.round(at / 50) % 2 ? { pod: 'kubia-b', node: 'node-2', podReady: !(at >= 11_500 && at < 11_750) } : {},
  );
  const steps = [step(0, 'pod lost', 10_000, 'kubectl'), step(1, 'sleep 1s', 20_000, 'sleep')];
  const report = buildReport({ scenario: 't', cluster: 'c', target: 'http://172.30.0.11:30080/', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records, steps, assertions: scenario.expect });

  it('splits phases at each step', () => {
    expect(phaseBounds(steps, 30_000)).toEqual([
      { name: 'baseline', fromMs: 0, toMs: 10_000 },
      { name: 'pod lost', fromMs: 10_000, toMs: 20_000 },
      { name: 'sleep 1s', fromMs: 20_000, toMs: 30_000 },
    ]);
    expect(report.phases.map((p) => [p.name, p.requests, p.ok, p.errors])).toEqual([
      ['baseline', 200, 200, {}],
      ['pod lost', 200, 170, { ECONNREFUSED: 30 }],
      ['sleep 1s', 200, 200, {}],
    ]);
  });

  it('measures recovery against the phase before the step, and none for sleeps', () => {
    expect(report.steps[0]).toMatchObject({ baselineRate: 1, recoveryMs: 1_500 });
    expect(report.steps[1]!.recoveryMs).toBeUndefined();
  });

  it('counts answers from not-ready pods and each pod share', () => {
    expect(report.total.notReadyAnswers).toBe(2); // at 11.55 s and 11.65 s
    expect(report.pods.map((p) => [p.pod, p.node, p.requests, p.notReady])).toEqual([
      ['kubia-a', 'node-1', 285, 0],
      ['kubia-b', 'node-2', 285, 2],
    ]);
    expect(report.pods[0]!.share).toBeCloseTo(0.5);
  });

  it('evaluates the assertions', () => {
    expect(report.assertions.map((a) => [a.ok, a.actual])).toEqual([
      [true, '100.00% (200/200)'],
      [false, '25.00% (10/40)'],
      [true, 'recovered in 1.5s'],
      [false, '2'],
      [true, '2 ms'],
    ]);
    expect(report.passed).toBe(false);
  });

  it('counts a window that starts later than its step (after + from)', () => {
    const sc = parseScenario(`
name: t
target: {url: http://172.30.0.11:30080/}
duration: 30s
steps:
  - {at: 10s, kubectl: [delete, pod, kubia-b], name: pod lost}
  - {at: 20s, sleep: 1s}
expect:
  - notReadyAnswers: {after: pod lost, from: 1s, atMost: 0}
  - notReadyAnswers: {after: pod lost, from: 2s, atMost: 0}
  - successRate: {after: pod lost, from: 1.5s, within: 5s, atLeast: 1}
`);
    const r = buildReport({ scenario: 't', cluster: 'c', target: 'x', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records, steps, assertions: sc.expect });
    expect(r.assertions.map((a) => [a.ok, a.description, a.actual])).toEqual([
      [false, 'answers from not-ready pods from 1s after "pod lost" (to the next step) ≤ 0', '2'],
      [true, 'answers from not-ready pods from 2s after "pod lost" (to the next step) ≤ 0', '0'],
      [true, 'success rate from 1.5s within 5s after "pod lost" ≥ 100.00%', '100.00% (70/70)'],
    ]);
  });

  it('fails a run whose step failed or never ran', () => {
    const failed = buildReport({ scenario: 't', cluster: 'c', target: 'x', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records, steps: [{ ...steps[0]!, ok: false, exitCode: 1, output: 'Error from server (NotFound)' }], assertions: [] });
    expect(failed.passed).toBe(false);
    // What a failed fault was to cause is not checked against traffic that never saw it (netem on a kernel without sch_netem).
    const slow = buildReport({ scenario: 't', cluster: 'c', target: 'x', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records, steps: [{ ...steps[0]!, ok: false, exitCode: 1, output: 'error: this kernel has no netem qdisc' }, steps[1]!], assertions: scenario.expect });
    expect(slow.assertions[1]!.description).toBe('success rate within 2s after "pod lost" ≥ 90.00%');
    expect(slow.assertions.map((a) => [a.ok, a.actual])).toEqual([
      [true, '100.00% (200/200)'],
      [false, 'not checked: step "pod lost" failed (exit 1): what it measures may not have happened'],
      [false, 'not checked: step "pod lost" failed (exit 1): what it measures may not have happened'],
      [false, '2'],
      [true, '2 ms'],
    ]);
    const notRun = buildReport({ scenario: 't', cluster: 'c', target: 'x', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records, steps: [{ index: 0, name: 'late', kind: 'fault', command: 'x', ok: false, output: 'not run' }], assertions: [] });
    expect(notRun.passed).toBe(false);
    expect(notRun.phases).toHaveLength(1);
    expect(buildReport({ scenario: 't', cluster: 'c', target: 'x', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records, steps, assertions: [] }).passed).toBe(true);
    const badCleanup = buildReport({ scenario: 't', cluster: 'c', target: 'x', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records, steps, cleanup: [{ ...step(0, 'heal', 30_100), ok: false, output: 'error: no partition to heal' }], assertions: [] });
    expect(badCleanup.passed).toBe(true); // best effort: there may have been nothing to undo
    expect(renderReport(badCleanup)).toContain('cleanup (after traffic stopped; best effort, not counted):\n  FAILED  heal: error: no partition to heal');
  });

  it('measures a group of chained steps once, from its first step, to the next group', () => {
    // 10 s: restart (at), 10.1 s: wait for it (chained) — errors during the wait count for the restart; 20 s: a new group.
    const rs = traffic(0, 30_000, 20, (at) => (at >= 12_000 && at < 13_000) || (at >= 21_000 && at < 21_500) ? 'ECONNREFUSED' : undefined);
    const chain = [step(0, 'restart', 10_000, 'kubectl'), step(1, 'wait', 10_100, 'kubectl', true), step(2, 'sleep 1s', 10_200, 'sleep', true), step(3, 'again', 15_000, 'kubectl', true), step(4, 'other', 20_000, 'fault')];
    const r = buildReport({ scenario: 't', cluster: 'c', target: 'x', mode: 'keepalive', startedAt: new Date(0), durationMs: 30_000, records: rs, steps: chain, assertions: [] });
    expect(r.steps.map((x) => [x.name, x.recoveryMs])).toEqual([
      ['restart', 3_000],
      ['wait', undefined],
      ['sleep 1s', undefined],
      ['again', 0], // after a sleep: a group of its own, until "other"
      ['other', 1_500],
    ]);
  });

  it('draws a timeline row per second with step markers', () => {
    const tl = timeline(records, steps, 30_000);
    expect(tl).toHaveLength(30);
    expect(tl[10]).toEqual({ fromMs: 10_000, ok: 0, errors: 20, topError: 'ECONNREFUSED', steps: ['pod lost'] });
    expect(tl[11]).toMatchObject({ ok: 10, errors: 10 });
    const rows = timelineRows(tl, 1000);
    expect(rows[9]).toBe(`   9s  ok 20  err  0 |${'#'.repeat(40)}|`);
    expect(rows[10]).toBe(`  10s  ok  0  err 20 |${'x'.repeat(40)}| ECONNREFUSED  <- pod lost`);
    expect(rows[11]).toBe(`  11s  ok 10  err 10 |${'#'.repeat(20)}${'x'.repeat(20)}| ECONNREFUSED`);
    expect(timeline(records, steps, 300_000).length).toBe(75); // 4 s buckets past 90 rows
  });

  it('renders the whole report as text', () => {
    const text = renderReport(report);
    expect(text).toContain('pod lost');
    expect(text).toMatch(/pod lost\s+10\.0s\s+0\.1s\s+ok\s+1\.5s \(to ≥ 100\.00% per 1 s window\)/);
    expect(text).toContain('FAIL  success rate within 2s after "pod lost" ≥ 90.00%: 25.00% (10/40)  (expect[1].successRate)');
    expect(text.trimEnd().split('\n').at(-1)).toBe('FAILED');
  });
});
