/**
 * The body of `kubemu chaos run`: real cluster, real executor, real traffic.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadKubeconfig } from '../../kubeconfig.js';
import { RestClient } from '../../rest-client.js';
import type { ChaosRuntime } from '../runtime.js';
import { ChaosRunError, type ChaosRunOptions } from './command.js';
import { CliFaultExecutor } from './executor.js';
import { PodTracker } from './pod-tracker.js';
import { JsonlRecorder, MemorySink, teeSink } from './record.js';
import { renderReport } from './render.js';
import { buildReport, outputSummary, type Report } from './report.js';
import { runScenario, type RunResult } from './runner.js';
import { KNOWN_FAULTS, ScenarioError, parseScenario, type Scenario } from './schema.js';
import { TargetError, resolveTarget, type ResolvedTarget } from './target.js';
import { TrafficGenerator, sendRequest } from './traffic.js';

export function loadScenario(file: string, extraFaults: string[] = []): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ChaosRunError(`cannot read scenario ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseScenario(text, [...new Set([...KNOWN_FAULTS, ...extraFaults])]);
  } catch (e) {
    if (e instanceof ScenarioError) throw new ChaosRunError(`${file}: ${e.message}`);
    throw e;
  }
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** One request at a time until one succeeds (or `ms` pass); otherwise how the last one failed. */
async function preflight(t: ResolvedTarget, timeoutMs: number, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  const url = new URL(t.url);
  for (;;) {
    const r = await sendRequest({ url, host: t.host, agent: false, timeoutMs: Math.min(timeoutMs, 2000) });
    if (r.error === undefined && r.status! < 400) return undefined;
    if (Date.now() > deadline) return r.error ?? `HTTP ${r.status}`;
    await new Promise((res) => setTimeout(res, 250));
  }
}

export async function chaosRun(file: string, o: ChaosRunOptions, extraFaults: string[] = []): Promise<number> {
  const scenario = loadScenario(file, extraFaults);
  const say = (m: string) => (o.json ? process.stderr : process.stdout).write(`${m}\n`);
  // The netns cluster of that name, else the compose project of that name (as `kubemu chaos` finds it).
  const { openRuntime } = await import('../commands.js');
  let rt: ChaosRuntime;
  try {
    rt = await openRuntime(o.name);
  } catch (e) {
    throw new ChaosRunError((e as Error).message);
  }
  const kubeconfig = rt.kubeconfig;
  const nodes = rt.machines().filter((m) => m.role === 'node').map((m) => ({ name: m.name, ip: m.ip }));
  if (!existsSync(kubeconfig)) throw new ChaosRunError(`cluster "${o.name}" has no kubeconfig at ${kubeconfig}`);
  // Fault commands this kubemu lacks stop the run here, before any traffic.
  const executor = new CliFaultExecutor(o.name, kubeconfig);
  for (const name of new Set([...scenario.steps, ...scenario.cleanup].flatMap((s) => (s.action.kind === 'fault' ? [s.action.args[0]!] : [])))) {
    if (await executor.hasFault(name)) continue;
    const inSteps = scenario.steps.find((s) => s.action.kind === 'fault' && s.action.args[0] === name);
    const step = inSteps ?? scenario.cleanup.find((s) => s.action.kind === 'fault' && s.action.args[0] === name)!;
    throw new ChaosRunError(`${file}: ${inSteps ? 'steps' : 'cleanup'}[${step.index}].fault: this kubemu has no \`kubemu chaos ${name}\` command; nothing was run`);
  }

  const access = loadKubeconfig(kubeconfig);
  const api = new RestClient(access);
  let target: ResolvedTarget;
  try {
    target = await resolveTarget(scenario.target, { subnet: rt.nodeSubnet, nodes, get: (p) => api.call('GET', p) });
  } catch (e) {
    if (e instanceof TargetError) throw new ChaosRunError(`${file}: target: ${e.message}`);
    throw e;
  }
  if (o.preflight) {
    const problem = await preflight(target, scenario.traffic.timeoutMs, 15_000);
    if (problem) throw new ChaosRunError(`target ${target.url} does not answer (${problem} for 15 s); nothing was run (--no-preflight starts anyway)`);
  }

  const namespace = scenario.target.namespace;
  const tracker = new PodTracker(access, namespace);
  tracker.start();
  let syncTimer: NodeJS.Timeout | undefined;
  const synced = await Promise.race([tracker.synced.then(() => true), new Promise<boolean>((r) => (syncTimer = setTimeout(() => r(false), 10_000)))]);
  clearTimeout(syncTimer);
  if (!synced) say(`• the pod tracker has no pod list yet (is the api-server answering?); records may lack pods' nodes and readiness`);

  const startedAt = new Date();
  const out = o.out ?? join(rt.stateDir, 'chaos', `${scenario.name}-${stamp(startedAt)}.jsonl`);
  const file$ = new JsonlRecorder(out);
  const memory = new MemorySink();
  const traffic = new TrafficGenerator({ url: target.url, host: target.host, ...scenario.traffic, sink: teeSink(file$, memory), pods: tracker, durationMs: scenario.durationMs });
  say(`• ${scenario.name}: ${scenario.traffic.rate} req/s (${scenario.traffic.mode}, ≤ ${scenario.traffic.concurrency} in flight) to ${target.description}${target.host ? ` (Host: ${target.host})` : ''} for ${scenario.durationMs / 1000}s`);
  say(`• recording requests to ${out}`);
  // Ctrl-C (or SIGTERM) ends the run early: traffic stops, the steps not started are not run, the report covers what ran.
  const stop = new AbortController();
  const onSignal = () => {
    if (!stop.signal.aborted) say('• stopping early: the report covers what ran (again to quit at once)');
    else process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let run: RunResult;
  try {
    run = await runScenario(scenario, {
      executor,
      signal: stop.signal,
      expand: (args) => tracker.expand(args),
      traffic: {
        start: () => {
          const origin = traffic.start();
          tracker.origin = origin;
          return origin;
        },
        stop: () => traffic.stop(),
      },
      onStep: (s, phase) => {
        const at = ((phase === 'start' ? s.startMs : s.endMs) ?? 0) / 1000;
        if (phase === 'start') say(`• ${at.toFixed(1)}s  ${s.name}: ${s.command}`);
        else say(`• ${at.toFixed(1)}s  ${s.name}: ${s.ok ? 'done' : `FAILED: ${outputSummary(s.output)}`}`);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    tracker.stop();
  }
  await file$.close();

  const report: Report = buildReport({
    scenario: scenario.name,
    cluster: o.name,
    target: target.description,
    mode: scenario.traffic.mode,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    stopped: run.stopped,
    resultsFile: out,
    records: memory.records,
    steps: run.steps,
    cleanup: run.cleanup,
    assertions: scenario.expect,
    podEvents: tracker.events,
  });
  writeFileSync(out.replace(/\.jsonl$/, '') + '.report.json', `${JSON.stringify(report, null, 2)}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`\n${renderReport(report)}\n`);
  return report.passed ? 0 : 1;
}
