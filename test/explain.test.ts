/**
 * `kubemu explain service` on a real 2-node netns cluster with cluster DNS:
 * a healthy kubia Service passes every check (exit 0) and is really reached;
 * each way the seed's troubleshooting list says a Service breaks gets its ✘
 * with the evidence and the fix, and exit 1: a selector typo (the near-miss
 * label), a pod failing its readiness probe (the probe named), a targetPort
 * nothing listens on (read inside the pod's network namespace), an app bound
 * to 127.0.0.1 only; applying the suggested fix turns the typo green.
 * `explain pod` says why a pod is (not) in its Services' endpoints. An
 * unknown Service, namespace or cluster is one line and exit 1.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { kubiaDeployment, kubiaNodePort } from './helpers/manifests.js';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';

const c = new NetnsCluster(2, ['--addons', 'dns', '--subnet', '172.30.232.0/24']);

const APPS = `${kubiaDeployment({ replicas: 2, portName: 'http' })}---${kubiaNodePort({ portName: 'http', targetPort: 'http' })}---
apiVersion: v1
kind: Service
metadata: {name: kubia-typo}
spec: {selector: {app: kubai}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: kubia-wrong-port}
spec: {selector: {app: kubia}, ports: [{port: 80, targetPort: 8081}]}
---
apiVersion: v1
kind: Pod
metadata: {name: never-ready, labels: {app: never-ready}}
spec:
  containers: [{name: web, image: luksa/kubia, readinessProbe: {httpGet: {path: /healthz, port: 9999}, periodSeconds: 1}}]
---
apiVersion: v1
kind: Service
metadata: {name: never-ready}
spec: {selector: {app: never-ready}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: localhost-only, labels: {app: localhost-only}}
spec:
  containers: [{name: web, image: busybox, command: [node, -e, "require('http').createServer((q, r) => r.end('hi')).listen(8080, '127.0.0.1')"]}]
---
apiVersion: v1
kind: Service
metadata: {name: localhost-only}
spec: {selector: {app: localhost-only}, ports: [{port: 80, targetPort: 8080}]}
`;

function explain(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KUBEMU, 'explain', 'service', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The check lines (✔/✘/–) of the text output. */
const lines = (out: string) => out.split('\n').filter((l) => /^[✔✘–] /.test(l));

describe.skipIf(!IS_ROOT)('kubemu explain service (e2e, root)', () => {
  beforeAll(async () => {
    c.up();
    c.apply(APPS);
    await until('the DNS pods ready', () => c.json<{ subsets?: { addresses?: unknown[] }[] }>(['get', 'endpoints', '-n', 'kube-system', 'kube-dns']).subsets?.[0]?.addresses?.length === 2, 90_000);
    await until('kubia ready', () => c.readyIPs('kubia').length === 2, 60_000);
    await until('localhost-only ready', () => c.readyIPs('localhost-only').length === 1, 60_000);
    await until('never-ready failing its probe', () => c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=never-ready,reason=Unhealthy', '-o', 'name']).stdout.trim() !== '', 60_000);
    for (const s of ['kubia', 'kubia-wrong-port', 'localhost-only']) await c.waitApplied(s);
  }, 240_000);
  afterAll(() => c.down(), 60_000);

  it('a healthy Service: every check ✔ (or – where it does not apply), exit 0, and it really answers', () => {
    const r = explain(['kubia', '--name', c.name]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const checks = lines(r.stdout);
    expect(checks.filter((l) => l.startsWith('✘')), r.stdout).toEqual([]);
    expect(checks).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^✔ selector app=kubia matches 2 pods: kubia-/),
        '✔ all 2 pods ready',
        expect.stringMatching(/^✔ Endpoints and EndpointSlices hold exactly the 2 ready pods: 10\.244\./),
        expect.stringMatching(/^✔ port 80\/TCP \(http\) → targetPort "http" \(= 8080\): listening on the pod IP in kubia-.* \(:8080\), kubia-.* \(:8080\)$/),
        expect.stringMatching(/^✔ every node's kube-proxy has applied version \d+: node-1 .*, node-2 /),
        expect.stringMatching(/^✔ node port \d+ served by every node: node-1 \(172\.30\.232\.11\), node-2 \(172\.30\.232\.12\)$/),
        expect.stringMatching(/^✔ DNS: kubia\.default\.svc\.cluster\.local → 10\.\d+\.\d+\.\d+ \(the cluster IP\)$/),
      ]),
    );
    expect(r.stdout).toMatch(/never to ping/);
    expect(r.stdout).toMatch(/No problem found/);
    // What it says is so: the node port answers from the host.
    const svc = c.json<{ spec: { ports: { nodePort: number }[] } }>(['get', 'svc', 'kubia']);
    const hit = spawnSync('curl', ['-s', '--max-time', '5', `http://${c.nodeIP(1)}:${svc.spec.ports[0]!.nodePort}`], { encoding: 'utf8' });
    expect(hit.stdout).toMatch(/^You've hit kubia-/);
    // -o json for scripts.
    const j = explain(['kubia', '--name', c.name, '-o', 'json']);
    expect(j.status).toBe(0);
    const e = JSON.parse(j.stdout) as { reachable: boolean; checks: { id: string; status: string }[] };
    expect(e.reachable).toBe(true);
    expect(e.checks.map((k) => k.id)).toEqual(['selector', 'ready', 'endpoints', 'port:http', 'kube-proxy', 'node-port', 'dns']);
  });

  it('a selector typo: ✘ with the near-miss label and the fix; applying the fix makes it pass', async () => {
    const r = explain(['kubia-typo', '--name', c.name]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^✘ selector app=kubai matches no pods in namespace default \(\d+ pods there\)$/m);
    expect(r.stdout).toMatch(/^ {4}near miss: 2 pods \(kubia-.*\) have app=kubia, the selector wants app=kubai$/m);
    expect(r.stdout).toMatch(/→ fix: change the Service's selector app=kubai to app=kubia/);
    expect(r.stdout).toMatch(/^✘ Endpoints kubia-typo are empty/m);
    expect(JSON.parse(explain(['kubia-typo', '--name', c.name, '-o', 'json']).stdout).reachable).toBe(false);

    expect(c.kubectl(['patch', 'svc', 'kubia-typo', '-p', '{"spec":{"selector":{"app":"kubia"}}}']).status).toBe(0);
    await until('kubia-typo has endpoints', () => c.readyIPs('kubia-typo').length === 2, 30_000);
    await c.waitApplied('kubia-typo');
    const fixed = explain(['kubia-typo', '--name', c.name]);
    expect(fixed.status, fixed.stdout).toBe(0);
  });

  it('a pod failing its readiness probe: the probe (type and target), its last Unhealthy message and since when', () => {
    const r = explain(['never-ready', '--name', c.name]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^✘ the only pod is not ready, so the Service has no endpoints/m);
    expect(r.stdout).toMatch(/^ {4}never-ready: readiness probe HTTP GET :9999\/healthz of container web failing since \d\d:\d\d:\d\d \(.* ago\); last: "Readiness probe failed: .*9999.*"/m);
    expect(r.stdout).toMatch(/→ fix: make the readiness probe HTTP GET :9999\/healthz succeed in never-ready/);
  });

  it('a targetPort nothing listens on: ✘ with the port the app does listen on (read inside the pods)', () => {
    const r = explain(['kubia-wrong-port', '--name', c.name]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^✘ port 80\/TCP → targetPort 8081: 2 pods of 2 cannot take connections on it$/m);
    expect(r.stdout).toMatch(/^ {4}kubia-\S+: nothing listens on TCP 8081 \(it listens on 8080\)$/m);
    expect(r.stdout).toMatch(/→ fix: set targetPort of port 80 to 8080 \(the port the app listens on\), not 8081\./);
    // Everything before the pods is fine: the selector, readiness, endpoints.
    expect(lines(r.stdout).slice(0, 3).every((l) => l.startsWith('✔')), r.stdout).toBe(true);
  });

  it('an app bound to 127.0.0.1 only: ✘, and really unreachable through the Service', () => {
    const r = explain(['localhost-only', '--name', c.name]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^ {4}localhost-only: the app listens on 127\.0\.0\.1:8080 only, which the pod IP 10\.244\.\d+\.\d+ does not reach$/m);
    expect(r.stdout).toMatch(/→ fix: make the app in localhost-only listen on 0\.0\.0\.0/);
    const ip = c.json<{ spec: { clusterIP: string } }>(['get', 'svc', 'localhost-only']).spec.clusterIP;
    const hit = spawnSync('nsenter', [`--net=/run/netns/km-${c.name}-node-1`, 'curl', '-s', '--max-time', '3', `http://${ip}`], { encoding: 'utf8' });
    expect(hit.stdout).not.toMatch(/hi/);
  });

  it('explain pod: why a pod is (not) in the endpoints of the Services that select it', () => {
    const r = spawnSync(process.execPath, [KUBEMU, 'explain', 'pod', 'never-ready', '--name', c.name], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^✔ Running on node-\d with IP 10\.244\./m);
    expect(r.stdout).toMatch(/^✘ not ready: Services send it no traffic$/m);
    expect(r.stdout).toMatch(/^ {4}never-ready: readiness probe HTTP GET :9999\/healthz of container web failing/m);
    expect(r.stdout).toMatch(/^✘ Service never-ready selects it, but its Endpoints do not hold 10\.244\.\d+\.\d+ as ready: the pod is not ready/m);

    const kubia = c.pods('app=kubia')[0]!.metadata.name;
    const k = spawnSync(process.execPath, [KUBEMU, 'explain', 'pod', kubia, '--name', c.name], { encoding: 'utf8', timeout: 60_000 });
    expect(k.stdout).toMatch(/^✔ listening on the pod IP: 8080\/TCP$/m);
    expect(k.stdout).toMatch(/^✔ Service kubia selects it and its Endpoints hold 10\.244\.\d+\.\d+ as ready$/m);
    expect(k.stdout).toMatch(/^✘ Service kubia-wrong-port sends it traffic, but it cannot take it\n {4}port 80 → 8081: nothing listens on it$/m);
    expect(k.status).toBe(1);
  });

  it("a node's kube-proxy that has not applied the Service's current version: ✘ with the node and how far behind", () => {
    const kubemu = (...args: string[]) => spawnSync(process.execPath, [KUBEMU, ...args, '--name', c.name], { encoding: 'utf8', timeout: 60_000 });
    expect(kubemu('chaos', 'partition', 'node-2').status).toBe(0);
    try {
      // A new version of the Service that node-2's kube-proxy cannot hear about.
      const patched = c.kubectl(['label', 'svc', 'localhost-only', 'version=2']);
      expect(patched.status, patched.stderr).toBe(0);
      const r = explain(['localhost-only', '--name', c.name]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^✘ kube-proxy has not applied version \d+ of default\/localhost-only on 1 node$/m);
      expect(r.stdout).toMatch(/^ {4}node-2: behind, has applied version \d+ \(.* ago\), not \d+/m);
      expect(r.stdout).toMatch(/^ {4}applied on node-1 /m);
      expect(r.stdout).toMatch(/→ fix: check node-2's kube-proxy/);
    } finally {
      kubemu('chaos', 'heal');
    }
  });

  it('an unknown Service, namespace or cluster: one line on stderr, exit 1', () => {
    for (const [args, msg] of [
      [['nope', '--name', c.name], 'error: service "nope" not found in namespace "default"'],
      [['kubia', '-n', 'nope', '--name', c.name], 'error: namespace "nope" not found'],
    ] as const) {
      const r = explain([...args]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim()).toBe(msg);
    }
    const r = explain(['kubia', '--name', 'nosuchcl']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: no cluster "nosuchcl" here/);
  });
});
