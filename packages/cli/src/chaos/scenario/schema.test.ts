import { describe, expect, it } from 'vitest';
import { parseDuration, parsePodPick, parseScenario, ScenarioError, splitWords } from './schema.js';

const GOOD = `
name: node-loss-behind-lb
target: {url: http://172.30.0.200/}
traffic: {rate: 50, concurrency: 8, mode: keepalive, timeoutMs: 2000}
duration: 60s
steps:
  - at: 10s
    fault: kill-node node-2
    name: node-2 lost
  - at: 40s
    fault: [start-node, node-2]
  - kubectl: [scale, deploy/kubia, --replicas=3]
  - sleep: 1.5s
expect: {successRate: {after: "node-2 lost", within: 30s, atLeast: 0.99}}
`;

/** The error message parseScenario gives for `yaml`. */
function problem(yaml: string): string {
  try {
    parseScenario(yaml);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('the scenario was accepted');
}

/** GOOD with one line replaced. */
const variant = (from: string, to: string) => {
  expect(GOOD).toContain(from);
  return GOOD.replace(from, to);
};

describe('parseScenario', () => {
  it('reads a full scenario with defaults filled in', () => {
    const s = parseScenario(GOOD);
    expect(s.name).toBe('node-loss-behind-lb');
    expect(s.target).toEqual({ kind: 'url', url: 'http://172.30.0.200/', host: undefined, namespace: 'default' });
    expect(s.traffic).toEqual({ rate: 50, concurrency: 8, mode: 'keepalive', timeoutMs: 2000 });
    expect(s.durationMs).toBe(60_000);
    expect(s.steps.map((x) => [x.name, x.atMs, x.action])).toEqual([
      ['node-2 lost', 10_000, { kind: 'fault', args: ['kill-node', 'node-2'] }],
      ['start-node node-2', 40_000, { kind: 'fault', args: ['start-node', 'node-2'] }],
      ['kubectl scale deploy/kubia --replicas=3', undefined, { kind: 'kubectl', args: ['scale', 'deploy/kubia', '--replicas=3'] }],
      ['sleep 1.5s', undefined, { kind: 'sleep', ms: 1500 }],
    ]);
    expect(s.expect).toEqual([{ kind: 'successRate', path: 'expect.successRate', scope: { kind: 'after', step: 'node-2 lost', withinMs: 30_000 }, atLeast: 0.99 }]);
  });

  it('resolves service targets and traffic defaults', () => {
    const s = parseScenario('name: x\ntarget: {service: kubia, via: nodePort, node: node-2}\nduration: 5s\n');
    expect(s.target).toEqual({ kind: 'service', service: 'kubia', namespace: 'default', via: 'nodePort', node: 'node-2', port: undefined, host: undefined, path: '/' });
    expect(s.traffic).toEqual({ rate: 20, concurrency: 8, mode: 'keepalive', timeoutMs: 2000 });
    expect(s.steps).toEqual([]);
    expect(s.expect).toEqual([]);
  });

  it('names the field path of each mistake', () => {
    expect(problem(variant('duration: 60s', 'duration: sixty'))).toBe('duration: wants a duration like 10s, 500ms or 1m30s, got "sixty"');
    expect(problem(variant('at: 40s', 'at: 4O s'))).toBe('steps[1].at: wants a duration like 10s, 500ms or 1m30s, got "4O s"');
    expect(problem(variant('at: 40s', 'at: 5s'))).toBe("steps[1].at: is before the previous step's (10s): steps run in order");
    expect(problem(variant('at: 40s', 'at: 60s'))).toBe('steps[1].at: is at or after the end of the run (duration 60s)');
    expect(problem(variant('fault: kill-node node-2', 'fault: kil-node node-2'))).toMatch(/^steps\[0\]\.fault: unknown fault "kil-node" \(kubemu chaos has: kill-node, /);
    expect(problem(variant('rate: 50', 'rate: -1'))).toBe('traffic.rate: wants a number from 0.1 to 2000, got -1');
    expect(problem(variant('concurrency: 8', 'concurrency: 2.5'))).toBe('traffic.concurrency: wants an integer from 1 to 256, got 2.5');
    expect(problem(variant('mode: keepalive', 'mode: pipelined'))).toBe('traffic.mode: wants one of keepalive, new-connection, got "pipelined"');
    expect(problem(variant('timeoutMs: 2000', 'timeoutMS: 2000'))).toBe('traffic.timeoutMS: unknown field (traffic has: rate, concurrency, mode, timeoutMs, timeout)');
    expect(problem(variant('after: "node-2 lost"', 'after: "node-3 lost"'))).toBe('expect.successRate.after: no step is named "node-3 lost" (steps: "node-2 lost", "start-node node-2", "kubectl scale deploy/kubia --replicas=3", "sleep 1.5s")');
    expect(problem(variant('atLeast: 0.99', 'atLeast: 99'))).toBe('expect.successRate.atLeast: wants a number from 0 to 1, got 99');
    expect(problem(variant('  - sleep: 1.5s', '  - sleep: 1s\n    kubectl: [get, pods]'))).toBe('steps[3]: has kubectl and sleep: give exactly one of fault, kubectl, sleep');
    expect(problem(variant('    name: node-2 lost', '    name: start-node node-2'))).toBe('steps[1].name: "start-node node-2" is also the name of steps[0]; give one of them a name');
    expect(problem(variant('target: {url: http://172.30.0.200/}', 'target: {url: https://172.30.0.200/}'))).toBe('target.url: wants an http:// URL, got "https://172.30.0.200/"');
    expect(problem(variant('target: {url: http://172.30.0.200/}', 'target: {service: kubia, via: ingress}'))).toBe('target.host: is required with via: ingress (the Ingress rule host to send as Host)');
    expect(problem(variant('target: {url: http://172.30.0.200/}', 'target: {service: kubia, via: clusterIP}'))).toBe('target.via: wants one of nodePort, loadBalancer, ingress, got "clusterIP"');
    expect(problem(variant('expect: {successRate:', 'expect: {successRatio:'))).toBe('expect.successRatio: unknown assertion (have: successRate, recovery, notReadyAnswers, latency)');
    expect(problem(variant('kubectl: [scale, deploy/kubia, --replicas=3]', 'kubectl: [delete, pod, "{{pod:app kubia}}"]'))).toBe('steps[2].kubectl: wants {{pod:LABEL=VALUE[,…][:N]}} (N from 1), got "{{pod:app kubia}}"');
    expect(problem(`${GOOD}  - recovery: {after: "kubectl scale deploy/kubia --replicas=3", within: 5s}\n`.replace('expect: {successRate: {after: "node-2 lost", within: 30s, atLeast: 0.99}}', 'expect:'))).toBe(
      'expect[0].recovery.after: "kubectl scale deploy/kubia --replicas=3" has no `at` and so continues "start-node node-2", whose recovery covers both: name that step, or give this one an `at`',
    );
    expect(problem(`${GOOD}cleanup: [{at: 1s, fault: heal}]\n`)).toBe('cleanup[0].at: unknown field (cleanup[0] has: name, timeout, fault, kubectl, sleep)');
    expect(problem(`${GOOD}cleanup: [{fault: heel}]\n`)).toMatch(/^cleanup\[0\]\.fault: unknown fault "heel"/);
    expect(parseScenario(`${GOOD}cleanup: [{fault: start-node node-2}]\n`).cleanup.map((x) => x.action)).toEqual([{ kind: 'fault', args: ['start-node', 'node-2'] }]);
    expect(parseScenario(variant('duration: 60s', 'duration: 2h')).durationMs).toBe(7_200_000); // 360,000 requests at 50/s: fine
    expect(problem(variant('duration: 60s', 'duration: 12h'))).toBe('duration: × traffic.rate is 2,160,000 requests; at most 2,000,000 per run (each is kept for the report)');
    expect(problem(GOOD.replace(/^target:.*$/m, ''))).toBe('target: is required: {url: http://…} or {service: NAME, via: nodePort|loadBalancer|ingress}');
    expect(problem('name: x\ntarget: {url: http://127.0.0.1/}\nduration: 5s\nstep: []\n')).toBe('step: unknown field (a scenario has: name, description, target, traffic, duration, steps, cleanup, expect)');
    expect(problem('name: [x')).toMatch(/^not valid YAML \(line 1, column \d+\): /);
    expect(problem('- just a list')).toBe('a scenario is a mapping (name, description, target, traffic, duration, steps, cleanup, expect), got ["just a list"]');
  });

  it('accepts fault names the chaos command group adds', () => {
    const yaml = 'name: x\ntarget: {url: http://127.0.0.1/}\nduration: 5s\nsteps: [{fault: drop-packets node-1}]\n';
    expect(() => parseScenario(yaml)).toThrow(/unknown fault "drop-packets"/);
    expect(parseScenario(yaml, ['drop-packets']).steps[0]!.action).toEqual({ kind: 'fault', args: ['drop-packets', 'node-1'] });
  });

  it('reads expect as a list too, with every assertion kind', () => {
    const s = parseScenario(`${GOOD.replace(/^expect:.*$/m, '')}
expect:
  - successRate: {atLeast: 0.9}
  - successRate: {phase: baseline, atLeast: 1}
  - recovery: {after: node-2 lost, within: 20s}
  - notReadyAnswers: {atMost: 3}
  - latency: {p99: 250ms, phase: node-2 lost}
`);
    expect(s.expect.map((a) => [a.path, a.kind])).toEqual([
      ['expect[0].successRate', 'successRate'],
      ['expect[1].successRate', 'successRate'],
      ['expect[2].recovery', 'recovery'],
      ['expect[3].notReadyAnswers', 'notReadyAnswers'],
      ['expect[4].latency', 'latency'],
    ]);
    expect(s.expect[4]).toMatchObject({ percentile: 99, atMostMs: 250, scope: { kind: 'phase', phase: 'node-2 lost' } });
  });
});

describe('helpers', () => {
  it('parses durations', () => {
    expect(parseDuration('1m30s', 'x')).toBe(90_000);
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration(2, 'x')).toBe(2000);
    expect(parseDuration('1.5s', 'x')).toBe(1500);
    expect(() => parseDuration('10 s', 'a.b')).toThrow('a.b: wants a duration');
  });
  it('splits command lines with quotes', () => {
    expect(splitWords(`partition node-2 --from "control plane" 'x y'`)).toEqual(['partition', 'node-2', '--from', 'control plane', 'x y']);
  });
  it('parses pod templates', () => {
    expect(parsePodPick('app=kubia')).toEqual({ labels: { app: 'kubia' }, nth: 1 });
    expect(parsePodPick('app=kubia,tier=web:2')).toEqual({ labels: { app: 'kubia', tier: 'web' }, nth: 2 });
    expect(parsePodPick('app')).toBeUndefined();
    expect(parsePodPick('app=kubia:0')).toBeUndefined();
  });
  it('takes a window that starts after its step: after + from (+ within)', () => {
    const base = GOOD.replace(/expect: .*\n$/, '');
    expect(parseScenario(`${base}expect: {notReadyAnswers: {after: node-2 lost, from: 2s}}\n`).expect).toEqual([{ kind: 'notReadyAnswers', path: 'expect.notReadyAnswers', scope: { kind: 'after', step: 'node-2 lost', fromMs: 2000 }, atMost: 0 }]);
    expect(problem(`${base}expect: {notReadyAnswers: {after: node-2 lost, from: 5s, within: 5s}}\n`)).toBe('expect.notReadyAnswers.from: wants less than within (5s): the window is [step + from, step + within]');
    expect(problem(`${base}expect: {notReadyAnswers: {phase: baseline, from: 2s}}\n`)).toBe('expect.notReadyAnswers.from: goes with after, not phase');
    expect(problem(`${base}expect: {notReadyAnswers: {from: 2s}}\n`)).toBe('expect.notReadyAnswers.from: goes with after: a window that starts at a step');
  });
});
