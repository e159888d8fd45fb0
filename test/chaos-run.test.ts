/**
 * `kubemu chaos run` on a real 2-node cluster: kubia behind a NodePort
 * Service, steady traffic from the host, a kubectl step that deletes one
 * kubia pod and one that scales the Deployment. The report must show the
 * phases, the pod deletion's recovery, a success rate above the bound, and
 * records naming the cluster's real pods and nodes. A bad scenario file is
 * refused before any traffic; a failed expectation exits 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { kubiaDeployment } from './helpers/manifests.js';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';

/** A node subnet no route on this machine uses (other suites and clusters may be running). */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).stdout ?? '';
  for (let i = 0; i < 100; i++) {
    const n = 150 + Math.floor(Math.random() * 100);
    if (!routes.includes(`172.30.${n}.`)) return `172.30.${n}.0/24`;
  }
  throw new Error('no free 172.30.N.0/24 subnet');
}

const c = new NetnsCluster(2, ['--subnet', freeSubnet()]);
const dir = mkdtempSync(join(tmpdir(), 'kubemu-chaos-run-'));

/** `kubemu chaos run FILE --name CLUSTER …` */
function chaosRun(scenario: string, args: string[] = []): { status: number; stdout: string; stderr: string } {
  const file = join(dir, `${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(file, scenario);
  const r = spawnSync(process.execPath, [KUBEMU, 'chaos', 'run', file, '--name', c.name, ...args], { encoding: 'utf8', timeout: 90_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

beforeAll(async () => {
  if (!IS_ROOT) return;
  c.up();
  c.apply(`${kubiaDeployment({ replicas: 3 })}---
apiVersion: v1
kind: Service
metadata: {name: kubia-np}
spec:
  type: NodePort
  selector: {app: kubia}
  ports: [{port: 80, targetPort: 8080}]
`);
  await until('3 kubia pods ready', () => c.readyIPs('kubia-np').length === 3, 60_000);
  await c.waitApplied('kubia-np');
}, 180_000);

afterAll(() => {
  if (IS_ROOT) c.down();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!IS_ROOT)('kubemu chaos run (netns)', () => {
  it('runs steps under traffic and reports phases, recovery, success rate and the pods that answered', () => {
    const before = c.pods('app=kubia');
    const victim = before.map((p) => p.metadata.name).sort()[0]!;
    const out = join(dir, 'results.jsonl');
    const r = chaosRun(`
name: pod-loss
target: {service: kubia-np, via: nodePort, node: node-2}
traffic: {rate: 40, concurrency: 8, mode: new-connection, timeoutMs: 2000}
duration: 14s
steps:
  - {at: 4s, kubectl: [delete, pod, ${victim}, --wait=false], name: pod deleted}
  - {at: 9s, kubectl: [scale, deploy/kubia, --replicas=4], name: scaled}
expect:
  - successRate: {atLeast: 0.95}
  - recovery: {after: pod deleted, within: 5s}
`, ['--json', '--out', out]);
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(r.stderr).toContain(`• recording requests to ${out}`);
    const report = JSON.parse(r.stdout);

    expect(report.phases.map((p: { name: string }) => p.name)).toEqual(['baseline', 'pod deleted', 'scaled']);
    const fault = report.phases[1];
    expect(fault.fromMs).toBeGreaterThanOrEqual(4000);
    expect(fault.requests).toBeGreaterThan(150);
    expect(fault.successRate).toBeGreaterThanOrEqual(0.95);
    expect(report.total.requests).toBeGreaterThanOrEqual(14 * 40 - 5);
    expect(report.total.successRate).toBeGreaterThanOrEqual(0.95);
    const step = report.steps[0];
    expect(step).toMatchObject({ name: 'pod deleted', ok: true, exitCode: 0, command: `kubectl delete pod ${victim} --wait=false` });
    expect(step.recoveryMs).not.toBeNull();
    expect(step.recoveryMs).toBeLessThanOrEqual(5000);
    expect(report.steps[1]).toMatchObject({ name: 'scaled', ok: true });
    expect(report.assertions.map((a: { ok: boolean }) => a.ok)).toEqual([true, true]);
    expect(report.passed).toBe(true);
    expect(report.timeline).toHaveLength(14);
    expect(report.timeline[4].steps).toEqual(['pod deleted']);
    // The tracker saw the victim go and its replacement come.
    expect(report.podEvents.some((e: { pod: string; change: string }) => e.pod === victim && (e.change === 'terminating' || e.change === 'deleted'))).toBe(true);

    // Records: one JSON line per request, answered by the cluster's real pods, on their real nodes.
    const records = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.length).toBe(report.total.requests);
    const after = c.pods('app=kubia');
    const nodeOf = new Map<string, string>([...before, ...after].map((p: PodJ) => [p.metadata.name, p.spec.nodeName]));
    const answered = records.filter((x) => x.status === 200);
    expect(answered.length).toBe(report.total.ok);
    for (const x of answered) {
      expect(nodeOf.has(x.pod), `${x.pod} is not a kubia pod`).toBe(true);
      expect(x.node).toBe(nodeOf.get(x.pod));
    }
    // Before the deletion, the victim was among the pods answering; afterwards, its replacement is.
    expect(answered.some((x) => x.pod === victim && x.at < 4000)).toBe(true);
    const replacements = after.map((p) => p.metadata.name).filter((n) => !before.some((b) => b.metadata.name === n));
    expect(replacements.length).toBe(2);
    expect(answered.some((x) => replacements.includes(x.pod))).toBe(true);
    expect(report.pods.map((p: { pod: string }) => p.pod).sort()).toEqual([...new Set(answered.map((x) => x.pod as string))].sort());
  });

  it('refuses a bad scenario file before sending anything, naming the field', () => {
    const out = join(dir, 'never.jsonl');
    const r = chaosRun('name: bad\ntarget: {service: kubia-np, via: nodeport}\nduration: 5s\n', ['--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*\.yaml: target\.via: wants one of nodePort, loadBalancer, ingress, got "nodeport"$/m);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('exits 1 with the text report when an expectation fails', () => {
    const r = chaosRun(`
name: too-strict
target: {service: kubia-np}
traffic: {rate: 20}
duration: 3s
expect: {latency: {p50: 0.001ms}}
`);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^ {2}FAIL {2}p50 latency over the whole run ≤ 0\.001 ms: [\d.]+ ms {2}\(expect\.latency\)$/m);
    expect(r.stdout).toMatch(/^ +0s {2}ok +\d+ {2}err +0 \|#+ *\|$/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('FAILED');
  });
});
