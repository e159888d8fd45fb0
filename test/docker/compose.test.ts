/**
 * The docker runtime as a user meets it: `docker compose up -d` (the compose
 * tool this machine has), the host kubeconfig, the demo app reached from the
 * host at every node port, the LoadBalancer IP, the Ingress and the published
 * localhost ports; a node container lost and back; state across restart and
 * stop/start; five nodes from scripts/compose-nodes; `down -v` leaves nothing.
 *
 * Needs root, a Docker engine and docker-compose (or compose v2); .ci/run
 * installs and starts them. The base image is built locally when missing
 * (scripts/build-base-image: debootstrap + this machine's Node.js).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { KUBEMU, ROOT } from '../helpers/control-plane-process.js';
import { ComposeProject, dockerUnavailable } from '../helpers/compose-project.js';
import { until, type PodJ } from '../helpers/netns-cluster.js';

const why = await dockerUnavailable();
if (why && process.env.KUBEMU_REQUIRE_DOCKER) throw new Error(`the docker compose tests cannot run (${why}) and KUBEMU_REQUIRE_DOCKER is set`);
if (why) console.warn(`docker compose tests skipped: ${why}`);

const GRACE = 6;
let c: ComposeProject;

interface NodeJ { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }
interface EndpointsJ { subsets?: { addresses?: { targetRef?: { name: string } }[] }[] }

function readyNodes(): string[] {
  return c.json<{ items: NodeJ[] }>(['get', 'nodes']).items.filter((n) => n.status.conditions.some((k) => k.type === 'Ready' && k.status === 'True')).map((n) => n.metadata.name);
}

function endpointPods(svc: string): string[] {
  const ep = c.json<EndpointsJ>(['get', 'endpoints', svc]);
  return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.targetRef?.name ?? '')).sort();
}

/** One HTTP GET from the host; the body, or the error code. */
function curl(url: string, headers: string[] = []): string {
  const r = spawnSync('curl', ['-sS', '-m', '3', ...headers.flatMap((h) => ['-H', h]), url], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : `curl exit ${r.status}: ${r.stderr.trim()}`;
}

/** The kubemu CLI (chaos, ssh) against this project; throws with its stderr on a non-zero exit. */
function kubemu(args: string[]): string {
  const r = spawnSync(process.execPath, [KUBEMU, ...args], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`kubemu ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function kubiaPods(): PodJ[] {
  return c.json<{ items: PodJ[] }>(['get', 'pods', '-l', 'app=kubia']).items;
}

describe.skipIf(why !== null)('docker compose cluster', () => {
  beforeAll(async () => {
    const docker = new Docker();
    if ((await docker.listImages({ filters: { reference: ['node:20-bookworm-slim'] } })).length === 0) {
      execFileSync(join(ROOT, 'scripts', 'build-base-image'), { stdio: 'inherit', timeout: 600_000 });
    }
    c = new ComposeProject({ KUBEMU_NODE_GRACE_SECONDS: String(GRACE) });
    await c.init();
    c.compose(['build'], 900_000);
  }, 1_200_000);
  afterAll(async () => {
    if (!c) return;
    await c.down();
    expect(await c.leftovers()).toEqual([]);
  }, 300_000);

  it('docker compose up -d gives three Ready nodes, the addons and a host kubeconfig', async () => {
    c.compose(['up', '-d']);
    await c.cluster.waitHealthy({ timeoutMs: 120_000, expect: 5 });
    const kubeconfig = readFileSync(c.kubeconfig, 'utf8');
    expect(kubeconfig).toContain(`server: https://127.0.0.1:${c.env.KUBEMU_API_PORT}`);
    await until('3 Ready nodes', () => readyNodes().length === 3, 60_000);
    const machines = (await c.cluster.containers()).map((m) => `${m.machine}@${m.ip}`);
    expect(machines).toEqual([`control-plane@${c.ip(2)}`, `load-balancer@${c.ip(3)}`, `node-1@${c.ip(11)}`, `node-2@${c.ip(12)}`, `node-3@${c.ip(13)}`]);
    await until('DNS and ingress addons ready', () => {
      const pods = c.json<{ items: PodJ[] }>(['get', 'pods', '-A']).items;
      const ready = (p: PodJ) => p.status.containerStatuses?.every((s) => s.ready) === true;
      return pods.filter((p) => p.metadata.name.startsWith('kube-dns') && ready(p)).length === 2 && pods.some((p) => p.metadata.name.startsWith('ingress-kubemu') && ready(p));
    }, 90_000);
  });

  it('the demo answers from the host: every node port, the LoadBalancer IP, the Ingress, the published ports', async () => {
    c.kubectl(['apply', '-f', join(ROOT, 'examples', 'demo.yaml')]);
    c.kubectl(['wait', '--for=condition=Available', 'deploy/kubia', '--timeout=90s']);
    const pods = kubiaPods().map((p) => p.metadata.name);
    expect(pods).toHaveLength(3);
    const lbIP = await until('an LB address', () => c.json<{ status: { loadBalancer: { ingress?: { ip: string }[] } } }>(['get', 'svc', 'kubia-loadbalancer']).status.loadBalancer.ingress?.[0]?.ip, 30_000);
    expect(lbIP).toBe(c.ip(200));
    await until('every kubia pod in the endpoints', () => endpointPods('kubia-nodeport').length === 3, 30_000);
    const hit = /^You've hit (kubia-\S+)\n?$/;
    for (const node of [11, 12, 13]) {
      const body = await until(`node port on .${node}`, () => hit.exec(curl(`http://${c.ip(node)}:30000/`)), 20_000);
      expect(pods).toContain(body[1]);
    }
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 3; i++) {
      const m = hit.exec(curl(`http://${lbIP}/`));
      expect(m, 'LB answer').not.toBeNull();
      seen.add(m![1]!);
    }
    expect([...seen].sort()).toEqual([...pods].sort());
    const viaIngress = await until('the Ingress', () => hit.exec(curl(`http://${c.ip(250)}/`, ['Host: kubia.example.com'])), 30_000);
    expect(pods).toContain(viaIngress[1]);
    // Docker Desktop's way in: published ports on 127.0.0.1.
    const hostNodePort = Number(c.env.KUBEMU_NODEPORTS_HOST!.split('-')[0]);
    expect(pods).toContain(hit.exec(curl(`http://127.0.0.1:${hostNodePort}/`))?.[1]);
    expect(pods).toContain(hit.exec(curl(`http://127.0.0.1:${c.env.KUBEMU_HTTP_PORT}/`, ['Host: kubia.example.com']))?.[1]);
    // In the cluster: a pod reaches the Service by its DNS name.
    const fromPod = c.kubectl(['exec', pods[0]!, '--', 'curl', '-sS', '-m', '3', 'http://kubia.default.svc.cluster.local/']);
    expect(fromPod).toMatch(hit);
  });

  it('a killed node container: its pod leaves the endpoints after the grace period, the LB keeps answering, and it comes back', async () => {
    const victim = kubiaPods().find((p) => p.spec.nodeName === 'node-2')!;
    expect(victim, 'a kubia pod on node-2').toBeDefined();
    const out = kubemu(['chaos', 'kill-node', 'node-2', '--name', c.project]);
    expect(out).toMatch(/node-2 powered off: its container killed/);
    expect((await c.cluster.container('node-2')).info.state).toBe('exited');
    await until('node-2 NotReady', () => !readyNodes().includes('node-2'), (GRACE + 20) * 1000);
    await until('its pod out of the endpoints', () => !endpointPods('kubia-loadbalancer').includes(victim.metadata.name), 30_000);
    // The LB has stopped using node-2 and the Service only has pods elsewhere: every request answers.
    await until('LB answers again', () => /^You've hit/.test(curl(`http://${c.ip(200)}/`)), 20_000);
    for (let i = 0; i < 20; i++) expect(curl(`http://${c.ip(200)}/`)).toMatch(/^You've hit kubia-/);
    kubemu(['chaos', 'start-node', 'node-2', '--name', c.project]);
    await until('node-2 Ready again', () => readyNodes().includes('node-2'), 60_000);
    await until('three ready kubia pods', () => endpointPods('kubia-loadbalancer').length === 3, 90_000);
  });

  it('kubemu ssh and kubemu chaos reach the containers: curl from a node, a held kube-proxy, a pod failing readiness, a partition', async () => {
    const clusterIP = c.json<{ spec: { clusterIP: string } }>(['get', 'svc', 'kubia']).spec.clusterIP;
    expect(kubemu(['ssh', 'node-1', '--name', c.project, '--', 'curl', '-sS', '-m', '3', `http://${clusterIP}/`])).toMatch(/^You've hit kubia-/);
    expect(() => kubemu(['ssh', 'node-9', '--name', c.project, '--', 'true'])).toThrow(/no machine "node-9"/);
    // kubectl debug: a busybox container in a kubia pod's network, inside a node container.
    const pod = kubiaPods()[0]!.metadata.name;
    const debugged = c.kubectl(['debug', '-i', pod, '--image=busybox', '--container=dbg', '--', 'sh'], 'wget -qO- localhost:8080; echo; exit\n');
    expect(debugged).toContain(`You've hit ${pod}`);
    // explain reads the pods' sockets and each node's kube-proxy through the containers.
    const explained = kubemu(['explain', 'service', 'kubia-loadbalancer', '--name', c.project]);
    expect(explained).toMatch(/✔ port 80\/TCP → targetPort "http" \(= 8080\): listening/);
    expect(explained).toMatch(/✔ every node's kube-proxy has applied/);
    expect(explained).toMatch(/No problem found/);
    // trace follows one request through the LB container and a node container's conntrack to the pod.
    const traced = kubemu(['trace', `http://${c.ip(200)}/`, '--name', c.project]);
    expect(traced).toMatch(/→ load balancer \S+ \(nftables\) chose node-\d/);
    expect(traced).toMatch(/DNAT \S+ → 10\.244\.\d+\.\d+:8080 \(the endpoint chosen\)/);
    expect(traced).toMatch(/→ response 200/);

    // kube-proxy killed on node-3 stays down (held), so node-3's node port stops answering; start brings it back.
    kubemu(['chaos', 'kill', 'kube-proxy', 'node-3', '--name', c.project]);
    await new Promise((r) => setTimeout(r, 2500)); // longer than the supervisor's restart delay
    expect((await c.cluster.exec('node-3', ['pgrep', '-f', 'kubemu.js kube-proxy '])).code).toBe(1);
    kubemu(['chaos', 'start', 'kube-proxy', 'node-3', '--name', c.project]);
    await until('node-3 proxy back', async () => (await c.cluster.exec('node-3', ['curl', '-fsS', '-m', '2', 'http://127.0.0.1:10256/healthz'])).code === 0, 30_000);

    const victim = kubiaPods()[0]!.metadata.name;
    kubemu(['chaos', 'fail-readiness', victim, '--name', c.project]);
    await until('the pod out of the endpoints', () => !endpointPods('kubia').includes(victim), 10_000);
    const p = c.json<PodJ>(['get', 'pod', victim]);
    expect(p.status.containerStatuses?.[0]?.restartCount).toBe(0);
    kubemu(['chaos', 'restore-readiness', victim, '--name', c.project]);
    await until('the pod back', () => endpointPods('kubia').includes(victim), 15_000);

    // node-1 cut off from the control plane: NotReady, yet its node port still forwards on what it knew.
    kubemu(['chaos', 'partition', 'node-1', '--name', c.project]);
    await until('node-1 NotReady', () => !readyNodes().includes('node-1'), (GRACE + 20) * 1000);
    expect(curl(`http://${c.ip(11)}:30000/`)).toMatch(/^You've hit kubia-/);
    kubemu(['chaos', 'heal', '--name', c.project]);
    await until('node-1 Ready after heal', () => readyNodes().includes('node-1'), 60_000);
  });

  it('kubemu dashboard serves the compose project: nodes, kubia\'s ready endpoints and the LB container\'s node checks over its WebSocket', async () => {
    const dash = spawn(process.execPath, [KUBEMU, 'dashboard', '--name', c.project, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        dash.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /http:\/\/127\.0\.0\.1:(\d+)\/#token=(\S+)/.exec(out);
          if (m) resolve(`ws://127.0.0.1:${m[1]}/ws?token=${m[2]}`);
        });
        dash.once('exit', (code) => reject(new Error(`kubemu dashboard exited ${code}: ${out}`)));
      });
      const ws = new WebSocket(url);
      const messages: { type: string; snapshot?: { nodes: { name: string; ready: boolean }[]; slices: { service: string; endpoints: { ready: boolean; pod: string }[] }[] }; lb?: { reachable: boolean; nodes: { node: string; healthy: boolean }[] } }[] = [];
      ws.on('message', (d) => messages.push(JSON.parse(String(d))));
      await until('the snapshot and the LB container\'s checks', () => messages.some((m) => m.type === 'snapshot') && messages.some((m) => m.type === 'probes' && m.lb?.reachable && m.lb.nodes.some((n) => n.healthy)), 20_000);
      const snap = messages.find((m) => m.type === 'snapshot')!.snapshot!;
      expect(snap.nodes.filter((n) => n.ready).map((n) => n.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
      const kubia = snap.slices.filter((sl) => sl.service === 'kubia').flatMap((sl) => sl.endpoints).filter((e) => e.ready).map((e) => e.pod.split('/')[1]).sort();
      expect(kubia).toEqual(endpointPods('kubia'));
      ws.close();
    } finally {
      dash.kill('SIGINT');
    }
  });

  it('the node-loss scenario behind the LoadBalancer: failures only while node-2 is being dropped, recovered, all good once it is back', () => {
    const out = join(c.out, 'node-loss.jsonl');
    const r = spawnSync(process.execPath, [KUBEMU, 'chaos', 'run', join(ROOT, 'scripts', 'chaos', 'scenarios', 'node-loss-behind-lb.yaml'), '--name', c.project, '--json', '--out', out], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      total: { requests: number; successRate: number };
      phases: { name: string; requests: number; successRate: number }[];
      steps: { name: string; ok: boolean; recoveryMs?: number | null }[];
      pods: { pod: string; node?: string }[];
    };
    expect(report.total.requests).toBeGreaterThan(1000);
    expect(report.phases.map((p) => p.name)).toEqual(['baseline', 'node-2 lost', 'node-2 back']);
    expect(report.phases[0]!.successRate).toBeGreaterThanOrEqual(0.99);
    const lost = report.steps.find((s) => s.name === 'node-2 lost')!;
    expect(lost.ok).toBe(true);
    // Recovered within the grace period plus the proxies' and LB's reaction, not by chance at the end.
    expect(lost.recoveryMs).not.toBeNull();
    expect(lost.recoveryMs!).toBeLessThan((GRACE + 15) * 1000);
    expect(report.phases[2]!.successRate).toBeGreaterThanOrEqual(0.99);
    // Answers came from the demo's pods on every node, named in the records.
    expect(new Set(report.pods.map((p) => p.node))).toEqual(new Set(['node-1', 'node-2', 'node-3']));
    expect(readFileSync(out, 'utf8').split('\n').filter(Boolean).length).toBe(report.total.requests);
  });

  it('state survives docker compose restart and stop/start', async () => {
    c.kubectl(['create', 'configmap', 'survivor', '--from-literal=k=v']);
    for (const step of [['restart'], ['stop'], ['start']]) {
      c.compose(step[0] === 'start' ? step : [...step, '-t', '10'], 180_000);
      if (step[0] === 'stop') continue;
      await c.cluster.waitHealthy({ timeoutMs: 120_000, expect: 5 });
      await until(`3 Ready nodes after ${step[0]}`, () => readyNodes().length === 3, 90_000);
      expect(c.json<{ data: Record<string, string> }>(['get', 'configmap', 'survivor']).data).toEqual({ k: 'v' });
      await until(`the demo answers after ${step[0]}`, () => /^You've hit kubia-/.test(curl(`http://${c.ip(200)}/`)) && /^You've hit kubia-/.test(curl(`http://${c.ip(11)}:30000/`)), 90_000);
    }
  });

  it('five nodes from scripts/compose-nodes', async () => {
    const override = join(c.out, 'docker-compose.override.yml');
    writeFileSync(override, execFileSync(join(ROOT, 'scripts', 'compose-nodes'), ['5'], { encoding: 'utf8' }));
    c.withFile(override);
    c.compose(['up', '-d']);
    await c.cluster.waitHealthy({ timeoutMs: 180_000, expect: 7 });
    await until('5 Ready nodes', () => readyNodes().length === 5, 90_000);
    c.kubectl(['scale', 'deploy/kubia', '--replicas=5']);
    c.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: on-node-5, labels: {app: kubia}}
spec:
  nodeName: node-5
  containers: [{name: kubia, image: luksa/kubia, ports: [{name: http, containerPort: 8080}]}]
`);
    await until('the pod on node-5 in the endpoints', () => endpointPods('kubia-nodeport').includes('on-node-5'), 60_000);
    // node-5's pod is reachable across nodes: through node-1's node port until it answers.
    await until('node-5 pod answers through node-1', () => curl(`http://${c.ip(11)}:30000/`).includes('on-node-5'), 30_000);
    expect(existsSync(override)).toBe(true);
  });
});
