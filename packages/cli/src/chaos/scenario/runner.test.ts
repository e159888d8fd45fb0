import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { runScenario, type CommandOutcome, type FaultExecutor, type TrafficControl } from './runner.js';
import { parseScenario } from './schema.js';

/** Records each command with the time it ran (ms since traffic started); answers as `answer` says. */
class FakeExecutor implements FaultExecutor {
  calls: { kind: string; args: string[]; at: number }[] = [];
  origin = 0;
  constructor(private readonly answer: (kind: string, args: string[]) => Promise<CommandOutcome> | CommandOutcome = () => ({ ok: true, exitCode: 0, output: '' })) {}
  async fault(args: string[]): Promise<CommandOutcome> {
    this.calls.push({ kind: 'fault', args, at: performance.now() - this.origin });
    return this.answer('fault', args);
  }
  async kubectl(args: string[]): Promise<CommandOutcome> {
    this.calls.push({ kind: 'kubectl', args, at: performance.now() - this.origin });
    return this.answer('kubectl', args);
  }
}

function fakeTraffic(ex: FakeExecutor): TrafficControl & { stoppedAt?: number } {
  const t: TrafficControl & { stoppedAt?: number; origin: number } = {
    origin: 0,
    start() {
      t.origin = ex.origin = performance.now();
      return t.origin;
    },
    async stop() {
      t.stoppedAt = performance.now() - t.origin;
    },
  };
  return t;
}

/** A scenario with these steps; runs shorter than the files' 1 s minimum are set after parsing. */
const scenario = (steps: string, durationMs = 1200) => ({ ...parseScenario(`name: t\ntarget: {url: http://127.0.0.1:1/}\nduration: 2s\nsteps:\n${steps}`), durationMs });

describe('runScenario', () => {
  it('runs steps at their times, in order, and stops traffic at the end', async () => {
    const ex = new FakeExecutor();
    const traffic = fakeTraffic(ex);
    const sc = scenario(`
  - {at: 200ms, fault: kill-node node-2, name: lost}
  - {at: 500ms, kubectl: [scale, deploy/kubia, --replicas=3]}
  - {sleep: 200ms}
  - {fault: start-node node-2}
`);
    const seen: string[] = [];
    const run = await runScenario(sc, { executor: ex, traffic, onStep: (s, p) => seen.push(`${p} ${s.name}`) });
    expect(ex.calls.map((c) => [c.kind, c.args])).toEqual([
      ['fault', ['kill-node', 'node-2']],
      ['kubectl', ['scale', 'deploy/kubia', '--replicas=3']],
      ['fault', ['start-node', 'node-2']],
    ]);
    expect(ex.calls[0]!.at).toBeGreaterThanOrEqual(200);
    expect(run.steps[0]!.startMs).toBeGreaterThanOrEqual(200);
    expect(ex.calls[0]!.at).toBeLessThan(300);
    expect(ex.calls[1]!.at).toBeGreaterThanOrEqual(500);
    expect(ex.calls[1]!.at).toBeLessThan(600);
    // after the 200 ms sleep
    expect(ex.calls[2]!.at).toBeGreaterThanOrEqual(695);
    expect(run.steps.map((s) => [s.name, s.ok, s.command])).toEqual([
      ['lost', true, 'kubemu chaos kill-node node-2'],
      ['kubectl scale deploy/kubia --replicas=3', true, 'kubectl scale deploy/kubia --replicas=3'],
      ['sleep 0.2s', true, 'sleep 0.2s'],
      ['start-node node-2', true, 'kubemu chaos start-node node-2'],
    ]);
    expect(run.steps[2]!.endMs! - run.steps[2]!.startMs!).toBeGreaterThanOrEqual(195);
    expect(seen).toEqual(['start lost', 'end lost', 'start kubectl scale deploy/kubia --replicas=3', 'end kubectl scale deploy/kubia --replicas=3', 'start sleep 0.2s', 'end sleep 0.2s', 'start start-node node-2', 'end start-node node-2']);
    expect(traffic.stoppedAt).toBeGreaterThanOrEqual(1200);
    expect(traffic.stoppedAt).toBeLessThan(1400);
  });

  it('reports a failed step and goes on with the next', async () => {
    const ex = new FakeExecutor((kind) => (kind === 'fault' ? { ok: false, exitCode: 1, output: "error: unknown command 'kill-node'" } : { ok: true, exitCode: 0, output: 'deployment.apps/kubia scaled' }));
    const run = await runScenario(scenario(`
  - {at: 100ms, fault: kill-node node-2}
  - {at: 300ms, kubectl: [scale, deploy/kubia, --replicas=3]}
`, 600), { executor: ex, traffic: fakeTraffic(ex) });
    expect(run.steps.map((s) => [s.ok, s.exitCode, s.output])).toEqual([
      [false, 1, "error: unknown command 'kill-node'"],
      [true, 0, 'deployment.apps/kubia scaled'],
    ]);
  });

  it('reports an executor that throws, and a template that names no pod, as failed steps', async () => {
    const ex = new FakeExecutor(() => {
      throw new Error('spawn kubectl ENOENT');
    });
    const run = await runScenario(scenario(`
  - {kubectl: [get, pods]}
  - {kubectl: [delete, pod, "{{pod:app=none}}"]}
`, 300), {
      executor: ex,
      traffic: fakeTraffic(ex),
      expand: (args) => args.map((a) => {
        if (a.includes('{{')) throw new Error('{{pod:app=none}}: no such pod');
        return a;
      }),
    });
    expect(run.steps.map((s) => [s.ok, s.output])).toEqual([
      [false, 'spawn kubectl ENOENT'],
      [false, '{{pod:app=none}}: no such pod'],
    ]);
    expect(ex.calls).toHaveLength(1);
  });

  it('fills templates before running, and shows the command as run', async () => {
    const ex = new FakeExecutor();
    const run = await runScenario(scenario('  - {kubectl: [delete, pod, "{{pod:app=kubia:2}}"]}\n', 200), { executor: ex, traffic: fakeTraffic(ex), expand: (args) => args.map((a) => a.replace('{{pod:app=kubia:2}}', 'kubia-b')) });
    expect(ex.calls[0]!.args).toEqual(['delete', 'pod', 'kubia-b']);
    expect(run.steps[0]!.command).toBe('kubectl delete pod kubia-b');
  });

  it('stops early when aborted: traffic ends, later steps are not run', async () => {
    const ex = new FakeExecutor();
    const traffic = fakeTraffic(ex);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const run = await runScenario(scenario(`
  - {at: 100ms, fault: kill-node node-2}
  - {sleep: 5s}
  - {fault: start-node node-2}
`, 10_000), { executor: ex, traffic, signal: ac.signal });
    // (the abort timer starts just before traffic does, and timers may fire a little early)
    expect(traffic.stoppedAt).toBeGreaterThanOrEqual(290);
    expect(traffic.stoppedAt).toBeLessThan(450);
    expect(run.stopped).toBe(true);
    expect(run.durationMs).toBeGreaterThanOrEqual(290);
    expect(run.durationMs).toBeLessThan(450);
    expect(run.steps.map((s) => [s.ok, s.output])).toEqual([
      [true, ''],
      [true, ''],
      [false, 'not run: the run was stopped'],
    ]);
    expect(ex.calls).toHaveLength(1);
  });

  it('runs the cleanup steps after traffic stops, also when stopped early', async () => {
    const ex = new FakeExecutor((kind, args) => ({ ok: args[0] !== 'heal', exitCode: args[0] === 'heal' ? 1 : 0, output: '' }));
    const traffic = fakeTraffic(ex);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const sc = { ...parseScenario(`name: t\ntarget: {url: http://127.0.0.1:1/}\nduration: 5s\nsteps: [{at: 100ms, fault: kill-node node-2}]\ncleanup: [{fault: start-node node-2}, {fault: heal}]\n`) };
    const run = await runScenario(sc, { executor: ex, traffic, signal: ac.signal });
    expect(ex.calls.map((c) => c.args[0])).toEqual(['kill-node', 'start-node', 'heal']);
    expect(ex.calls[1]!.at).toBeGreaterThanOrEqual(traffic.stoppedAt!);
    expect(run.cleanup.map((s) => [s.name, s.ok])).toEqual([
      ['start-node node-2', true],
      ['heal', false],
    ]);
  });

  it('leaves steps the duration cuts off as not run, and lets a running one finish', async () => {
    const ex = new FakeExecutor(async () => {
      await new Promise((r) => setTimeout(r, 400));
      return { ok: true, exitCode: 0, output: '' };
    });
    const traffic = fakeTraffic(ex);
    const run = await runScenario(scenario(`
  - {at: 100ms, fault: restart control-plane}
  - {fault: heal}
`, 300), { executor: ex, traffic });
    expect(traffic.stoppedAt).toBeLessThan(400);
    expect(run.steps[0]).toMatchObject({ ok: true });
    expect(run.steps[0]!.endMs).toBeGreaterThanOrEqual(495);
    expect(run.steps[1]).toMatchObject({ ok: false, output: 'not run: the scenario ended first' });
    expect(run.steps[1]!.startMs).toBeUndefined();
    expect(ex.calls).toHaveLength(1);
  });
});
