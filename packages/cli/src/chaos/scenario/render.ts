/**
 * The text form of a chaos run's report: summary, phases, steps with their
 * recovery times, pods, a timeline (one row per bucket: ok/error counts, a
 * bar, step markers) and the assertions.
 */
import { outputSummary, type Report, type Stats, type TimelineBucket } from './report.js';

const BAR_WIDTH = 40;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number | undefined) => (x === undefined ? '-' : `${x} ms`);
const secs = (x: number) => `${(x / 1000).toFixed(1)}s`;

function errorsText(s: Stats): string {
  const e = Object.entries(s.errors).sort((a, b) => b[1] - a[1]);
  return e.length ? e.map(([k, n]) => `${k} ${n}`).join(', ') : '-';
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

/** One row: "  12s  ok   48  err    2  ####################xx  ◀ node-2 lost". */
export function timelineRows(buckets: TimelineBucket[], bucketMs: number): string[] {
  const max = Math.max(1, ...buckets.map((b) => b.ok + b.errors));
  const label = (b: TimelineBucket) => `${Math.round(b.fromMs / 1000)}s`;
  const lw = Math.max(...buckets.map((b) => label(b).length));
  const cw = String(max).length;
  return buckets.map((b) => {
    const total = b.ok + b.errors;
    const width = Math.round((total / max) * BAR_WIDTH);
    // An error shows as at least one x, however few.
    const x = b.errors ? Math.min(width, Math.max(1, Math.round((b.errors / max) * BAR_WIDTH))) : 0;
    const bar = `${'#'.repeat(width - x)}${'x'.repeat(x)}`.padEnd(BAR_WIDTH);
    const err = b.errors ? ` ${b.topError}` : '';
    const marks = b.steps.length ? `  <- ${b.steps.join(', ')}` : '';
    return `  ${label(b).padStart(lw)}  ok ${String(b.ok).padStart(cw)}  err ${String(b.errors).padStart(cw)} |${bar}|${err}${marks}`.trimEnd();
  }).concat(bucketMs !== 1000 ? [`  (one row per ${bucketMs / 1000} s)`] : []);
}

export function renderReport(r: Report): string {
  const out: string[] = [];
  out.push(`scenario ${r.scenario} on cluster ${r.cluster}: ${r.target} (${r.mode}), ${secs(r.durationMs)} from ${r.startedAt}${r.stopped ? ' (stopped early)' : ''}`);
  if (r.resultsFile) out.push(`requests: ${r.resultsFile}`);
  out.push('');
  out.push(`total: ${r.total.requests} requests, ${pct(r.total.successRate)} ok, p50 ${ms(r.total.p50Ms)}, p99 ${ms(r.total.p99Ms)}, answered by not-ready pods ${r.total.notReadyAnswers}`);
  out.push('');
  out.push('phases:');
  out.push(
    ...table([
      ['  phase', 'from', 'requests', 'success', 'p50', 'p99', 'not-ready', 'errors'],
      ...r.phases.map((p) => [`  ${p.name}`, secs(p.fromMs), String(p.requests), pct(p.successRate), ms(p.p50Ms), ms(p.p99Ms), String(p.notReadyAnswers), errorsText(p)]),
    ]),
  );
  if (r.steps.length) {
    out.push('');
    out.push('steps:');
    out.push(
      ...table([
        ['  step', 'at', 'took', 'result', 'recovery'],
        ...r.steps.map((s, i) => {
          const lead = [...r.steps.slice(0, i)].reverse().find((x) => x.recoveryMs !== undefined);
          const result = s.startMs === undefined ? 'not run' : s.ok ? 'ok' : `FAILED${s.exitCode !== undefined && s.exitCode !== null ? ` (exit ${s.exitCode})` : ''}`;
          const rec = s.recoveryMs === undefined ? (s.kind !== 'sleep' && s.startMs !== undefined && lead ? `counted with "${lead.name}"` : '-') : s.recoveryMs === null ? 'not recovered' : `${secs(s.recoveryMs)} (to ≥ ${pct(s.baselineRate ?? 1)} per 1 s window)`;
          return [`  ${s.name}`, s.startMs === undefined ? '-' : secs(s.startMs), s.startMs === undefined || s.endMs === undefined ? '-' : secs(s.endMs - s.startMs), result, rec];
        }),
      ]),
    );
    for (const s of r.steps.filter((x) => !x.ok)) out.push(`  ${s.name}: ${s.command}: ${outputSummary(s.output) || 'failed'}`);
  }
  if (r.cleanup.length) {
    out.push('');
    out.push('cleanup (after traffic stopped; best effort, not counted):');
    for (const s of r.cleanup) out.push(`  ${s.ok ? 'ok    ' : 'FAILED'}  ${s.command}${s.ok ? '' : `: ${outputSummary(s.output) || 'failed'}`}`);
  }
  if (r.pods.length) {
    out.push('');
    out.push('pods that answered:');
    out.push(...table([['  pod', 'node', 'requests', 'share', 'while not ready'], ...r.pods.map((p) => [`  ${p.pod}`, p.node ?? '?', String(p.requests), pct(p.share), String(p.notReady)])]));
  }
  if (r.podEvents.length) {
    out.push('');
    out.push('pod changes (as the API told them):');
    const shown = r.podEvents.slice(0, 30);
    for (const e of shown) out.push(`  ${secs(e.at).padStart(6)}  ${e.pod}${e.node ? ` (${e.node})` : ''}  ${e.change}${e.change === 'added' || e.change === 'scheduled' ? (e.ready ? ', ready' : ', not ready') : ''}`);
    if (r.podEvents.length > shown.length) out.push(`  … ${r.podEvents.length - shown.length} more in the JSON report`);
  }
  out.push('');
  out.push(`timeline (by the time each request was due; # ok, x error):`);
  out.push(...timelineRows(r.timeline, r.bucketMs));
  if (r.assertions.length) {
    out.push('');
    out.push('expect:');
    for (const a of r.assertions) out.push(`  ${a.ok ? 'PASS' : 'FAIL'}  ${a.description}: ${a.actual}  (${a.path})`);
  }
  out.push('');
  out.push(r.passed ? 'PASSED' : `FAILED${r.stopped ? ' (stopped early)' : r.steps.some((s) => !s.ok) ? ' (a step failed or did not run)' : ''}`);
  return out.join('\n');
}
