/**
 * `kubemu chaos run` against the faults it injects, on a real 3-node netns
 * cluster running the demo app (examples/demo.yaml: kubia ×3, readiness
 * probe every 1 s, NodePort 30000, a LoadBalancer Service) with a 5 s node
 * monitor grace period. The report (and the records behind it) must show
 * what Kubernetes says should happen:
 *  - fail-readiness / restore-readiness: no request is answered by the
 *    not-ready pod from a probe period + 1 s after the fault on; it takes
 *    traffic again soon after it is ready, and nothing fails;
 *  - kill-node / start-node behind the LoadBalancer: requests fail only
 *    until the LB's health checks drop the node and the endpoints controller
 *    takes its pod out (after the grace period); recovery is reported, and
 *    everything succeeds once the node is back;
 *  - and what made that flaky: a connection attempt to the dead node's pod
 *    leaves a SYN_SENT conntrack entry on the node that forwarded it; once
 *    the pod is out of the endpoints, a new connection reusing the same
 *    source port must reach a live pod, not that entry's dead one; the
 *    same at the LoadBalancer, whose attempts to the dead node must not
 *    outlive the node's leaving its frontends.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';

const GRACE_S = 5;

/** A node subnet in 172.30.160–199 no route on this machine uses (other suites and clusters may be running). */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).stdout ?? '';
  for (let i = 0; i < 100; i++) {
    const n = 160 + Math.floor(Math.random() * 40);
    if (!routes.includes(`172.30.${n}.`)) return `172.30.${n}.0/24`;
  }
  throw new Error('no free 172.30.N.0/24 subnet');
}

const c = new NetnsCluster(3, ['--subnet', freeSubnet(), '--node-monitor-grace-period', String(GRACE_S)]);
const dir = mkdtempSync(join(tmpdir(), 'kubemu-chaos-scenarios-'));

interface Rec { at: number; status?: number; error?: string; pod?: string; node?: string; podReady?: boolean }
interface Phase { name: string; fromMs: number; toMs: number; requests: number; ok: number; successRate: number; notReadyAnswers: number; errors: Record<string, number> }
interface Step { name: string; command: string; startMs?: number; ok: boolean; recoveryMs?: number | null }
interface Report { phases: Phase[]; steps: Step[]; cleanup: Step[]; assertions: { ok: boolean; description: string; actual: string }[]; total: Phase; passed: boolean }

/** `kubemu chaos run` of `scenario` with --json: its exit code, report and records. */
function chaosRun(scenario: string): { status: number; stderr: string; report: Report; records: Rec[] } {
  const id = Math.random().toString(36).slice(2, 8);
  const file = join(dir, `${id}.yaml`);
  const out = join(dir, `${id}.jsonl`);
  writeFileSync(file, scenario);
  const r = spawnSync(process.execPath, [KUBEMU, 'chaos', 'run', file, '--name', c.name, '--json', '--out', out], { encoding: 'utf8', timeout: 90_000 });
  if (!r.stdout) throw new Error(`no report (exit ${r.status}): ${r.stderr}`);
  const records = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
  return { status: r.status ?? -1, stderr: r.stderr ?? '', report: JSON.parse(r.stdout) as Report, records };
}

const phase = (r: Report, name: string) => r.phases.find((p) => p.name === name)!;

/** One HTTP GET to `host:port` from local port `localPort`: the answer's first line, or the error (ETIMEDOUT after `ms`). */
function getFrom(host: string, port: number, localPort: number, ms: number): Promise<string> {
  return new Promise((done) => {
    const s = connect({ host, port, localPort });
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      done('ETIMEDOUT');
    }, ms);
    s.on('connect', () => s.end('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (d) => (data += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done(e.code ?? e.message);
    });
    s.on('close', () => {
      clearTimeout(timer);
      done(data.split('\r\n')[0] || 'closed');
    });
  });
}

const chaos = (...args: string[]) => spawnSync(process.execPath, [KUBEMU, 'chaos', ...args, '--name', c.name], { encoding: 'utf8', timeout: 60_000 });

beforeAll(async () => {
  if (!IS_ROOT) return;
  c.up();
  c.apply(readFileSync(resolve(fileURLToPath(new URL('../examples/demo.yaml', import.meta.url))), 'utf8'));
  await until('3 kubia pods ready, one per node', () => new Set(c.pods('app=kubia').filter((p) => p.status.conditions?.some((k) => k.type === 'Ready' && k.status === 'True')).map((p) => p.spec.nodeName)).size === 3, 60_000);
  await until('the LoadBalancer address', () => !!c.json(['get', 'svc', 'kubia-loadbalancer']).status?.loadBalancer?.ingress?.[0]?.ip, 30_000);
  await c.waitApplied('kubia-nodeport');
  await c.waitApplied('kubia-loadbalancer');
}, 180_000);

afterAll(() => {
  if (IS_ROOT) c.down();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!IS_ROOT)('chaos scenarios against the faults they inject (netns)', () => {
  it('fail-readiness: the not-ready pod answers nothing from a probe period + 1 s on; restore-readiness brings it back', () => {
    const victim = c.pods('app=kubia').map((p) => p.metadata.name).sort()[0]!;
    const { status, stderr, report, records } = chaosRun(`
name: flap
target: {service: kubia-nodeport, via: nodePort, node: node-1}
traffic: {rate: 50, concurrency: 8, mode: new-connection, timeoutMs: 2000}
duration: 14s
steps:
  - {at: 3s, fault: "fail-readiness {{pod:app=kubia}}", name: not ready}
  - {at: 9s, fault: "restore-readiness {{pod:app=kubia}}", name: ready again}
cleanup:
  - {fault: "restore-readiness {{pod:app=kubia}}"}
expect:
  - notReadyAnswers: {after: not ready, from: 2s, atMost: 0}
  - recovery: {after: ready again, within: 2s}
  - successRate: {atLeast: 0.999}
`);
    expect(status, `${stderr}\n${JSON.stringify(report.assertions)}`).toBe(0);
    expect(report.steps.map((s) => [s.name, s.ok, s.command.split(' ').slice(2, 4).join(' ')])).toEqual([
      ['not ready', true, `fail-readiness ${victim}`],
      ['ready again', true, `restore-readiness ${victim}`],
    ]);
    const fault = report.steps[0]!.startMs!;
    const back = report.steps[1]!.startMs!;
    // The report: the not-ready phase has no not-ready answers after probe period (1 s) + 1 s, and the run passed.
    expect(report.assertions.map((a) => [a.description, a.ok])).toEqual([
      ['answers from not-ready pods from 2s after "not ready" (to the next step) ≤ 0', true],
      ['"ready again" recovers within 2s', true],
      ['success rate over the whole run ≥ 99.90%', true],
    ]);
    expect(phase(report, 'not ready').successRate).toBe(1);
    expect(report.steps[1]!.recoveryMs).not.toBeNull();
    expect(report.steps[1]!.recoveryMs).toBeLessThanOrEqual(2000);
    // The records agree: the victim answered before the fault, nothing from it in [fault + 2 s, restore),
    // and it answered again within 2 s of being restored.
    const fromVictim = records.filter((r) => r.pod === victim);
    expect(fromVictim.some((r) => r.at < fault)).toBe(true);
    expect(fromVictim.filter((r) => r.at >= fault + 2000 && r.at < back)).toEqual([]);
    const again = fromVictim.find((r) => r.at >= back);
    expect(again, 'the victim never answered after restore-readiness').toBeDefined();
    expect(again!.at - back).toBeLessThanOrEqual(2000);
    expect(again!.podReady).toBe(true);
    // Its answers between the fault and then came before the API said it was not ready, or right after.
    expect(fromVictim.filter((r) => r.at >= fault && r.at < back && r.podReady === false).length).toBeLessThanOrEqual(report.total.notReadyAnswers);
  }, 60_000);

  it('kill-node behind the LoadBalancer: failures end after the grace period, start-node brings the node back with none', () => {
    const { status, stderr, report, records } = chaosRun(`
name: node-loss
target: {service: kubia-loadbalancer, via: loadBalancer}
traffic: {rate: 50, concurrency: 16, mode: new-connection, timeoutMs: 2000}
duration: 30s
steps:
  - {at: 4s, fault: kill-node node-2, name: node-2 lost}
  - {at: 19s, fault: start-node node-2, name: node-2 back}
cleanup:
  - {fault: heal node-2}
expect:
  - successRate: {phase: baseline, atLeast: 0.999}
  - recovery: {after: node-2 lost, within: ${GRACE_S + 4}s}
  - successRate: {phase: node-2 back, atLeast: 0.999}
`);
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([['node-2 lost', true], ['node-2 back', true]]);
    expect(report.cleanup.map((s) => s.ok)).toEqual([true]); // heal: nothing left to undo, and says so
    const lost = report.steps[0]!.startMs!;
    const back = report.steps[1]!.startMs!;
    // Before: everything answered, node-2's pod among them.
    expect(phase(report, 'baseline').successRate).toBe(1);
    expect(records.some((r) => r.node === 'node-2' && r.at < lost)).toBe(true);
    // The fault did something: requests failed (timeouts to node-2's dead pod, or skipped behind them) ...
    const failed = records.filter((r) => r.status === undefined || r.status >= 400);
    expect(failed.length).toBeGreaterThan(10);
    // ... only from the kill until the grace period (5 s) plus 2 s for the endpoints to reach the
    // kube-proxies and the LB, plus the 2 s timeout of a request sent just before.
    for (const r of failed) {
      expect(r.at, `${JSON.stringify(r)} failed outside the window`).toBeGreaterThanOrEqual(lost);
      expect(r.at, `${JSON.stringify(r)} failed after kill + grace + 4 s`).toBeLessThan(lost + (GRACE_S + 4) * 1000);
    }
    // The report says so: recovery measured within that bound, nothing lost once node-2 is back.
    expect(report.steps[0]!.recoveryMs).not.toBeNull();
    expect(report.steps[0]!.recoveryMs).toBeGreaterThan(0);
    expect(report.steps[0]!.recoveryMs).toBeLessThanOrEqual((GRACE_S + 4) * 1000);
    expect(phase(report, 'node-2 back').successRate).toBe(1);
    // node-2's pod takes traffic again after start-node (once it is ready; nothing answered while not ready).
    expect(records.some((r) => r.node === 'node-2' && r.at >= back)).toBe(true);
    expect(report.total.notReadyAnswers).toBe(0);
    expect(report.assertions.map((a) => a.ok)).toEqual([true, true, true]);
    expect(status, stderr).toBe(0);
  }, 90_000);

  it('a new connection that reuses the source port of an unanswered attempt to a dead pod reaches a live one once the pod left the endpoints', async () => {
    const node1 = c.nodeIP(1);
    const victim = c.pods('app=kubia').find((p) => p.spec.nodeName === 'node-2')!;
    const deadIP = victim.status.podIP!;
    expect(chaos('kill-node', 'node-2').status).toBe(0);
    try {
      // From fixed source ports, through node-1's node port: about a third go to node-2's (dead) pod and get no answer.
      const ports = Array.from({ length: 30 }, (_, i) => 41_000 + Math.floor(Math.random() * 100) * 30 + i);
      const first = await Promise.all(ports.map((p) => getFrom(node1, 30000, p, 700)));
      const stuck = ports.filter((_, i) => first[i] === 'ETIMEDOUT');
      expect(stuck.length, first.join(', ')).toBeGreaterThan(0);
      const syn = spawnSync('ip', ['netns', 'exec', `km-${c.name}-node-1`, 'conntrack', '-L', '-p', 'tcp', '--state', 'SYN_SENT', '--reply-src', deadIP], { encoding: 'utf8' }).stdout;
      expect(syn, 'node-1 keeps the unanswered attempts').toContain(`src=${deadIP}`);
      // After the grace period the pod leaves the endpoints, and node-1's kube-proxy applies that.
      await until(`${deadIP} out of kubia-nodeport's endpoints`, () => !c.readyIPs('kubia-nodeport').includes(deadIP), 30_000);
      const slices = c.json<{ items: { metadata: { resourceVersion: string } }[] }>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=kubia-nodeport']);
      const rv = Math.max(...slices.items.map((x) => Number(x.metadata.resourceVersion)));
      const applied = spawnSync('curl', ['-s', '--max-time', '12', `http://${node1}:10256/applied?service=default/kubia-nodeport&rv=${rv}&timeoutMs=10000`], { encoding: 'utf8' }).stdout;
      expect(JSON.parse(applied || '{}').timeout, `node-1's kube-proxy: ${applied}`).not.toBe(true);
      // The same source ports again: each must be answered by a live pod (a stale entry would send it to the dead one).
      const again = await Promise.all(stuck.map((p) => getFrom(node1, 30000, p, 2000)));
      expect(again.map((a, i) => `${stuck[i]}: ${a}`)).toEqual(stuck.map((p) => `${p}: HTTP/1.1 200 OK`));
    } finally {
      chaos('heal', 'node-2');
      await until('node-2\'s kubia pod ready again', () => c.readyIPs('kubia-nodeport').includes(deadIP), 60_000);
    }
  }, 90_000);

  it('through the LoadBalancer, a connection that reuses the source port of an unanswered attempt to a dead node reaches a live one once the LB dropped the node', async () => {
    const lbIP = c.json(['get', 'svc', 'kubia-loadbalancer']).status.loadBalancer.ingress[0].ip as string;
    const node2 = c.nodeIP(2);
    const victim = c.pods('app=kubia').find((p) => p.spec.nodeName === 'node-2')!.status.podIP!;
    const lbNft = () => spawnSync('ip', ['netns', 'exec', `km-${c.name}-load-balancer`, 'nft', 'list', 'table', 'ip', 'kubemu-lb'], { encoding: 'utf8' }).stdout;
    // node-2 may have come back moments ago (the test before): the LB's next health check takes it in.
    await until('the LB uses node-2', () => lbNft().includes(`dnat to ${node2}:`), 15_000);
    expect(chaos('kill-node', 'node-2').status).toBe(0);
    try {
      // At once, before the LB's health checks notice: about a third of the connections go to node-2 itself.
      const ports = Array.from({ length: 30 }, (_, i) => 44_000 + Math.floor(Math.random() * 100) * 30 + i);
      const first = await Promise.all(ports.map((p) => getFrom(lbIP, 80, p, 700)));
      const stuck = ports.filter((_, i) => first[i] === 'ETIMEDOUT');
      const syn = spawnSync('ip', ['netns', 'exec', `km-${c.name}-load-balancer`, 'conntrack', '-L', '-p', 'tcp', '--state', 'SYN_SENT', '--reply-src', node2], { encoding: 'utf8' }).stdout;
      expect(syn, `the LB keeps unanswered attempts to node-2 (${first.join(', ')})`).toContain(`src=${node2}`);
      // The LB drops node-2; after the grace period its pod leaves the endpoints too.
      await until('the LB drops node-2', () => !lbNft().includes(`dnat to ${node2}:`), 15_000);
      await until(`${victim} out of kubia-loadbalancer's endpoints`, () => !c.readyIPs('kubia-loadbalancer').includes(victim), 30_000);
      await new Promise((r) => setTimeout(r, 1000)); // node-1's and node-3's kube-proxies apply it
      const again = await Promise.all(stuck.map((p) => getFrom(lbIP, 80, p, 2000)));
      expect(again.map((a, i) => `${stuck[i]}: ${a}`)).toEqual(stuck.map((p) => `${p}: HTTP/1.1 200 OK`));
    } finally {
      chaos('heal', 'node-2');
      await until('node-2\'s kubia pod ready again', () => c.readyIPs('kubia-loadbalancer').includes(victim), 60_000);
    }
  }, 90_000);
});
