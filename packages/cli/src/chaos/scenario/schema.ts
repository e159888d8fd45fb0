/**
 * A chaos scenario file: what traffic to send where, for how long, which
 * steps (faults, kubectl commands, pauses) to take at which moments, and
 * what must hold at the end. `parseScenario` turns YAML text into a checked
 * `Scenario` or throws a `ScenarioError` whose message names the field path
 * (`steps[1].at: …`), so a bad file is refused before any traffic is sent.
 *
 *   name: node-loss-behind-lb
 *   target: {service: kubia, via: loadBalancer}     # or {url: http://172.30.0.200/}
 *   traffic: {rate: 50, concurrency: 8, mode: keepalive, timeoutMs: 2000}
 *   duration: 60s
 *   steps:
 *     - {at: 10s, fault: kill-node node-2, name: node-2 lost}
 *     - {at: 40s, fault: start-node node-2}
 *     - {kubectl: [scale, deploy/kubia, --replicas=3]}   # no `at`: right after the previous step
 *     - {sleep: 5s}
 *   cleanup:                                       # after traffic stops, always
 *     - {fault: start-node node-2}
 *   expect:
 *     successRate: {after: node-2 lost, within: 30s, atLeast: 0.99}
 */
import { parse } from 'yaml';

/** The fault commands of `kubemu chaos` a scenario may name (the chaos command group may add more at run time). */
export const KNOWN_FAULTS = [
  'kill-node', 'start-node', 'pause-node', 'resume-node', 'partition', 'heal', 'netem',
  'kill-pod', 'fail-readiness', 'restore-readiness', 'restart', 'kill',
] as const;

export const TARGET_VIA = ['nodePort', 'loadBalancer', 'ingress'] as const;
export type TargetVia = (typeof TARGET_VIA)[number];
export const TRAFFIC_MODES = ['keepalive', 'new-connection'] as const;
export type TrafficMode = (typeof TRAFFIC_MODES)[number];

/** Requests per run: every one is kept in memory for the report. */
export const MAX_REQUESTS = 2_000_000;

/** The name of the phase before the first step. */
export const BASELINE_PHASE = 'baseline';

export type Target =
  | { kind: 'url'; url: string; host?: string; namespace: string }
  | { kind: 'service'; service: string; namespace: string; via: TargetVia; node?: string; port?: string | number; host?: string; path: string };

export interface Traffic {
  /** Requests per second, started on a steady schedule whatever the answers do (open loop). */
  rate: number;
  /** At most this many requests in flight; a request due while all are busy is recorded as SKIPPED. */
  concurrency: number;
  mode: TrafficMode;
  timeoutMs: number;
}

export type StepAction =
  | { kind: 'fault'; args: string[] }
  | { kind: 'kubectl'; args: string[] }
  | { kind: 'sleep'; ms: number };

export interface Step {
  index: number;
  /** Unique; names the phase the step opens. */
  name: string;
  /** Offset from the start of traffic; absent: right after the previous step ends. */
  atMs?: number;
  action: StepAction;
  /** A fault or kubectl command that runs longer is stopped and reported as failed. */
  timeoutMs: number;
}

/** Which requests an assertion looks at: the whole run, one phase, or a window after a step. */
export type Scope = { kind: 'run' } | { kind: 'phase'; phase: string } | { kind: 'after'; step: string; withinMs?: number; fromMs?: number };

export type Assertion =
  | { kind: 'successRate'; path: string; scope: Scope; atLeast: number }
  | { kind: 'recovery'; path: string; step: string; withinMs: number }
  | { kind: 'notReadyAnswers'; path: string; scope: Scope; atMost: number }
  | { kind: 'latency'; path: string; scope: Scope; percentile: 50 | 99; atMostMs: number };

export interface Scenario {
  name: string;
  description?: string;
  target: Target;
  traffic: Traffic;
  durationMs: number;
  steps: Step[];
  /** Run after traffic stops, whatever happened (also after Ctrl-C): put the cluster back (heal, start-node …). */
  cleanup: Step[];
  expect: Assertion[];
}

export class ScenarioError extends Error {
  readonly code = 'ERR_SCENARIO';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem);
  }
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v));
const join = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

function obj(v: unknown, path: string, allowed: readonly string[]): Obj {
  if (!isObj(v)) throw new ScenarioError(path, `${path ? 'wants' : 'a scenario is'} a mapping${path ? '' : ` (${allowed.join(', ')})`}, got ${show(v)}`);
  const unknown = Object.keys(v).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw new ScenarioError(join(path, unknown), `unknown field (${path || 'a scenario'} has: ${allowed.join(', ')})`);
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new ScenarioError(path, `wants a non-empty string, got ${show(v)}`);
  return v.trim();
}

function num(v: unknown, path: string, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new ScenarioError(path, `wants ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${show(v)}`);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
  const hit = options.find((o) => o === v);
  if (hit === undefined) throw new ScenarioError(path, `wants one of ${options.join(', ')}, got ${show(v)}`);
  return hit;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "10s", "500ms", "1m30s", "1.5s", or a bare number of seconds → milliseconds. */
export function parseDuration(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
    if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s)) {
      let total = 0;
      for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNITS[m[2]!]!;
      return total;
    }
  }
  throw new ScenarioError(path, `wants a duration like 10s, 500ms or 1m30s, got ${show(v)}`);
}

/**
 * `{{pod:app=kubia}}` or `{{pod:app=kubia:2}}` in a step's command: the
 * first (or Nth, 1-based) pod by name among the pods matching the labels
 * that are not terminating, chosen when the step runs.
 */
export const POD_TEMPLATE = /\{\{\s*pod:([^}]*?)\s*\}\}/g;

export interface PodPick {
  labels: Record<string, string>;
  nth: number;
}

/** Parses the inside of a pod template ("app=kubia:2"); undefined when malformed. */
export function parsePodPick(inner: string): PodPick | undefined {
  const m = /^([^:]+?)(?::(\d+))?$/.exec(inner.trim());
  if (!m) return undefined;
  const labels: Record<string, string> = {};
  for (const part of m[1]!.split(',')) {
    const kv = /^\s*([A-Za-z0-9._/-]+)\s*=\s*([A-Za-z0-9._-]*)\s*$/.exec(part);
    if (!kv) return undefined;
    labels[kv[1]!] = kv[2]!;
  }
  const nth = m[2] === undefined ? 1 : Number(m[2]);
  return nth >= 1 ? { labels, nth } : undefined;
}

function checkTemplates(args: string[], path: string): void {
  for (const a of args) {
    if (a.includes('{{') && !a.replace(POD_TEMPLATE, '').match(/^[^{}]*$/)) throw new ScenarioError(path, `has a template other than {{pod:LABEL=VALUE[,…][:N]}}: ${show(a)}`);
    for (const m of a.matchAll(POD_TEMPLATE)) if (!parsePodPick(m[1]!)) throw new ScenarioError(path, `wants {{pod:LABEL=VALUE[,…][:N]}} (N from 1), got ${show(m[0])}`);
  }
}

/** Splits a command line on spaces, keeping 'single' and "double" quoted words whole. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

function words(v: unknown, path: string): string[] {
  if (typeof v === 'string') {
    const w = splitWords(v);
    if (!w.length) throw new ScenarioError(path, 'wants a command, got an empty string');
    return w;
  }
  if (Array.isArray(v) && v.length && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
  throw new ScenarioError(path, `wants a command line ("kill-node node-2") or a list of words, got ${show(v)}`);
}

function parseTarget(v: unknown): Target {
  const path = 'target';
  if (isObj(v) && 'url' in v) {
    const o = obj(v, path, ['url', 'host', 'namespace']);
    const url = str(o.url, 'target.url');
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ScenarioError('target.url', `is not a URL: ${show(url)}`);
    }
    if (u.protocol !== 'http:') throw new ScenarioError('target.url', `wants an http:// URL, got ${show(url)}`);
    return { kind: 'url', url: u.toString(), host: o.host === undefined ? undefined : str(o.host, 'target.host'), namespace: o.namespace === undefined ? 'default' : str(o.namespace, 'target.namespace') };
  }
  const o = obj(v, path, ['service', 'namespace', 'via', 'node', 'port', 'host', 'path', 'url']);
  if (o.service === undefined) throw new ScenarioError(path, 'wants either url or service');
  const via = oneOf(o.via ?? 'nodePort', 'target.via', TARGET_VIA);
  if (via === 'ingress' && o.host === undefined) throw new ScenarioError('target.host', 'is required with via: ingress (the Ingress rule host to send as Host)');
  if (via !== 'nodePort' && o.node !== undefined) throw new ScenarioError('target.node', `only goes with via: nodePort (traffic via ${via} does not pick a node)`);
  let port: string | number | undefined;
  if (o.port !== undefined) port = typeof o.port === 'number' ? num(o.port, 'target.port', 1, 65535, true) : str(o.port, 'target.port');
  const p = o.path === undefined ? '/' : str(o.path, 'target.path');
  if (!p.startsWith('/')) throw new ScenarioError('target.path', `wants a path starting with /, got ${show(p)}`);
  return {
    kind: 'service',
    service: str(o.service, 'target.service'),
    namespace: o.namespace === undefined ? 'default' : str(o.namespace, 'target.namespace'),
    via,
    node: o.node === undefined ? undefined : str(o.node, 'target.node'),
    port,
    host: o.host === undefined ? undefined : str(o.host, 'target.host'),
    path: p,
  };
}

function parseTraffic(v: unknown): Traffic {
  const o = obj(v ?? {}, 'traffic', ['rate', 'concurrency', 'mode', 'timeoutMs', 'timeout']);
  if (o.timeout !== undefined && o.timeoutMs !== undefined) throw new ScenarioError('traffic.timeout', 'give timeout or timeoutMs, not both');
  return {
    rate: o.rate === undefined ? 20 : num(o.rate, 'traffic.rate', 0.1, 2000),
    concurrency: o.concurrency === undefined ? 8 : num(o.concurrency, 'traffic.concurrency', 1, 256, true),
    mode: o.mode === undefined ? 'keepalive' : oneOf(o.mode, 'traffic.mode', TRAFFIC_MODES),
    timeoutMs: o.timeoutMs !== undefined ? num(o.timeoutMs, 'traffic.timeoutMs', 10, 120_000) : o.timeout !== undefined ? Math.max(10, parseDuration(o.timeout, 'traffic.timeout')) : 2000,
  };
}

const STEP_KINDS = ['fault', 'kubectl', 'sleep'] as const;

function defaultName(a: StepAction): string {
  if (a.kind === 'sleep') return `sleep ${a.ms / 1000}s`;
  return a.kind === 'fault' ? a.args.join(' ') : `kubectl ${a.args.join(' ')}`;
}

function parseSteps(v: unknown, durationMs: number, knownFaults: readonly string[], field: 'steps' | 'cleanup' = 'steps'): Step[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ScenarioError(field, `wants a list of steps, got ${show(v)}`);
  const steps: Step[] = [];
  const names = new Map<string, number>();
  let lastAt = 0;
  v.forEach((raw, i) => {
    const path = `${field}[${i}]`;
    const o = obj(raw, path, [...(field === 'steps' ? ['at'] : []), 'name', 'timeout', ...STEP_KINDS]);
    const kinds = STEP_KINDS.filter((k) => o[k] !== undefined);
    if (kinds.length !== 1) throw new ScenarioError(path, kinds.length ? `has ${kinds.join(' and ')}: give exactly one of fault, kubectl, sleep` : 'wants one of fault, kubectl, sleep');
    let action: StepAction;
    if (kinds[0] === 'fault') {
      const args = words(o.fault, `${path}.fault`);
      if (args[0] === 'chaos') args.shift();
      if (!args.length || !knownFaults.includes(args[0]!)) throw new ScenarioError(`${path}.fault`, `unknown fault ${show(args[0] ?? '')} (kubemu chaos has: ${knownFaults.join(', ')})`);
      if (args.includes('--name')) throw new ScenarioError(`${path}.fault`, 'names no cluster: `kubemu chaos run --name` gives it to every step');
      checkTemplates(args, `${path}.fault`);
      action = { kind: 'fault', args };
    } else if (kinds[0] === 'kubectl') {
      const args = words(o.kubectl, `${path}.kubectl`);
      if (args[0] === 'kubectl') args.shift();
      if (args.some((a) => a === '--kubeconfig' || a.startsWith('--kubeconfig='))) throw new ScenarioError(`${path}.kubectl`, "names no kubeconfig: the cluster's is used");
      checkTemplates(args, `${path}.kubectl`);
      action = { kind: 'kubectl', args };
    } else {
      action = { kind: 'sleep', ms: parseDuration(o.sleep, `${path}.sleep`) };
    }
    let atMs: number | undefined;
    if (o.at !== undefined) {
      atMs = parseDuration(o.at, `${path}.at`);
      if (atMs >= durationMs) throw new ScenarioError(`${path}.at`, `is at or after the end of the run (duration ${durationMs / 1000}s)`);
      if (atMs < lastAt) throw new ScenarioError(`${path}.at`, `is before the previous step's (${lastAt / 1000}s): steps run in order`);
      lastAt = atMs;
    }
    const name = o.name === undefined ? defaultName(action) : str(o.name, `${path}.name`);
    if (name === BASELINE_PHASE) throw new ScenarioError(`${path}.name`, `"${BASELINE_PHASE}" names the phase before the first step; pick another name`);
    if (names.has(name)) throw new ScenarioError(`${path}.name`, `"${name}" is also the name of steps[${names.get(name)}]; give one of them a name`);
    names.set(name, i);
    const timeoutMs = o.timeout === undefined ? 60_000 : parseDuration(o.timeout, `${path}.timeout`);
    steps.push({ index: i, name, atMs, action, timeoutMs });
  });
  return steps;
}

const ASSERTIONS = ['successRate', 'recovery', 'notReadyAnswers', 'latency'] as const;

function parseScope(o: Obj, path: string, steps: Step[]): Scope {
  const stepName = (v: unknown, p: string): string => {
    const n = str(v, p);
    if (!steps.some((s) => s.name === n)) throw new ScenarioError(p, `no step is named ${show(n)} (steps: ${steps.map((s) => `"${s.name}"`).join(', ') || 'none'})`);
    return n;
  };
  if (o.phase !== undefined && o.after !== undefined) throw new ScenarioError(path, 'give phase or after, not both');
  if (o.phase !== undefined) {
    if (o.within !== undefined) throw new ScenarioError(`${path}.within`, 'goes with after, not phase');
    if (o.from !== undefined) throw new ScenarioError(`${path}.from`, 'goes with after, not phase');
    const n = str(o.phase, `${path}.phase`);
    return n === BASELINE_PHASE ? { kind: 'phase', phase: n } : { kind: 'phase', phase: stepName(n, `${path}.phase`) };
  }
  if (o.after !== undefined) {
    const step = stepName(o.after, `${path}.after`);
    const withinMs = o.within === undefined ? undefined : parseDuration(o.within, `${path}.within`);
    const fromMs = o.from === undefined ? undefined : parseDuration(o.from, `${path}.from`);
    if (fromMs !== undefined && withinMs !== undefined && fromMs >= withinMs) throw new ScenarioError(`${path}.from`, `wants less than within (${withinMs / 1000}s): the window is [step + from, step + within]`);
    return { kind: 'after', step, ...(withinMs !== undefined ? { withinMs } : {}), ...(fromMs !== undefined ? { fromMs } : {}) };
  }
  if (o.within !== undefined) throw new ScenarioError(`${path}.within`, 'goes with after: a window that starts at a step');
  if (o.from !== undefined) throw new ScenarioError(`${path}.from`, 'goes with after: a window that starts at a step');
  return { kind: 'run' };
}

function parseAssertion(kind: string, v: unknown, path: string, steps: Step[]): Assertion {
  const scopeKeys = ['phase', 'after', 'within', 'from'];
  switch (kind) {
    case 'successRate': {
      const o = obj(v, path, ['atLeast', ...scopeKeys]);
      if (o.atLeast === undefined) throw new ScenarioError(`${path}.atLeast`, 'is required (a fraction from 0 to 1)');
      return { kind, path, scope: parseScope(o, path, steps), atLeast: num(o.atLeast, `${path}.atLeast`, 0, 1) };
    }
    case 'recovery': {
      const o = obj(v, path, ['after', 'within']);
      const scope = parseScope(o, path, steps);
      if (scope.kind !== 'after' || scope.withinMs === undefined) throw new ScenarioError(path, 'wants after: STEP and within: DURATION');
      const i = steps.findIndex((x) => x.name === scope.step);
      const st = steps[i]!;
      if (st.action.kind === 'sleep') throw new ScenarioError(`${path}.after`, `"${st.name}" is a sleep: recovery is measured after faults and kubectl steps`);
      if (st.atMs === undefined && i > 0 && steps[i - 1]!.action.kind !== 'sleep') throw new ScenarioError(`${path}.after`, `"${st.name}" has no \`at\` and so continues "${steps[i - 1]!.name}", whose recovery covers both: name that step, or give this one an \`at\``);
      return { kind, path, step: scope.step, withinMs: scope.withinMs };
    }
    case 'notReadyAnswers': {
      const o = obj(v, path, ['atMost', ...scopeKeys]);
      return { kind, path, scope: parseScope(o, path, steps), atMost: o.atMost === undefined ? 0 : num(o.atMost, `${path}.atMost`, 0, Number.MAX_SAFE_INTEGER, true) };
    }
    case 'latency': {
      const o = obj(v, path, ['p50', 'p99', ...scopeKeys]);
      const which = (['p50', 'p99'] as const).filter((k) => o[k] !== undefined);
      if (which.length !== 1) throw new ScenarioError(path, 'wants exactly one of p50, p99 (a duration: the most it may be)');
      const k = which[0]!;
      return { kind, path, scope: parseScope(o, path, steps), percentile: k === 'p50' ? 50 : 99, atMostMs: parseDuration(o[k], `${path}.${k}`) };
    }
    default:
      throw new ScenarioError(path, `unknown assertion (have: ${ASSERTIONS.join(', ')})`);
  }
}

/**
 * `expect` is a mapping of assertion kind → one assertion or a list of them,
 * or a list of one-key mappings.
 */
function parseExpect(v: unknown, steps: Step[]): Assertion[] {
  if (v === undefined || v === null) return [];
  const out: Assertion[] = [];
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const path = `expect[${i}]`;
      if (!isObj(item) || Object.keys(item).length !== 1) throw new ScenarioError(path, `wants one assertion (${ASSERTIONS.join(', ')}), got ${show(item)}`);
      const [kind, body] = Object.entries(item)[0]!;
      out.push(parseAssertion(kind, body, `${path}.${kind}`, steps));
    });
    return out;
  }
  if (!isObj(v)) throw new ScenarioError('expect', `wants a mapping of assertions (${ASSERTIONS.join(', ')}), got ${show(v)}`);
  for (const [kind, body] of Object.entries(v)) {
    if (Array.isArray(body)) body.forEach((b, i) => out.push(parseAssertion(kind, b, `expect.${kind}[${i}]`, steps)));
    else out.push(parseAssertion(kind, body, `expect.${kind}`, steps));
  }
  return out;
}

/** Checks a parsed YAML value. `knownFaults`: the fault command names to accept. */
export function validateScenario(doc: unknown, knownFaults: readonly string[] = KNOWN_FAULTS): Scenario {
  const o = obj(doc, '', ['name', 'description', 'target', 'traffic', 'duration', 'steps', 'cleanup', 'expect']);
  const name = str(o.name, 'name');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new ScenarioError('name', `wants letters, digits, '.', '_' or '-' (it names the results file), got ${show(name)}`);
  if (o.target === undefined) throw new ScenarioError('target', 'is required: {url: http://…} or {service: NAME, via: nodePort|loadBalancer|ingress}');
  const target = parseTarget(o.target);
  const traffic = parseTraffic(o.traffic);
  if (o.duration === undefined) throw new ScenarioError('duration', 'is required (how long traffic runs, e.g. 60s)');
  const durationMs = parseDuration(o.duration, 'duration');
  if (durationMs < 1000 || durationMs > 24 * 3_600_000) throw new ScenarioError('duration', `wants 1s to 24h, got ${show(o.duration)}`);
  const requests = (durationMs / 1000) * traffic.rate;
  if (requests > MAX_REQUESTS) throw new ScenarioError('duration', `× traffic.rate is ${Math.round(requests).toLocaleString('en')} requests; at most ${MAX_REQUESTS.toLocaleString('en')} per run (each is kept for the report)`);
  const steps = parseSteps(o.steps, durationMs, knownFaults);
  const cleanup = parseSteps(o.cleanup, durationMs, knownFaults, 'cleanup');
  return { name, description: o.description === undefined ? undefined : str(o.description, 'description'), target, traffic, durationMs, steps, cleanup, expect: parseExpect(o.expect, steps) };
}

/** Parses and checks scenario YAML; throws ScenarioError (YAML syntax errors too, with their line). */
export function parseScenario(text: string, knownFaults: readonly string[] = KNOWN_FAULTS): Scenario {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    const err = e as Error & { linePos?: { line: number; col: number }[] };
    const pos = err.linePos?.[0];
    throw new ScenarioError('', `not valid YAML${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  return validateScenario(doc, knownFaults);
}
