/**
 * `kubemu trace --watch service/NAME` and `kubemu trace URL --from pod/NAME`
 * on real 2-node netns clusters with cluster DNS, in both proxy modes
 * (nftables: conntrack events; userspace: the relays' events, conntrack for
 * refusals). kubia runs on both nodes, so which pod answers varies: every
 * check names the pod from kubia's own reply ("You've hit <pod>").
 *
 *  - --watch shows a connection curl makes from the host to a node port (found
 *    by its client port), naming the pod that answered, opened then closed with
 *    bytes; through the LB address, the LB's line names the node it chose and
 *    that node's line the pod that answered; a Service without endpoints shows REFUSED; Ctrl-C exits 0; an
 *    unknown Service is one line and exit 1.
 *  - --from pod/client reaches a cluster IP and a Service's DNS name from
 *    inside that pod: its own node's kube-proxy, then the pod that answered.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';

const APP = `
apiVersion: v1
kind: Pod
metadata: {name: kubia-n1, labels: {app: kubia, where: n1}}
spec:
  nodeName: node-1
  containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: kubia-n2, labels: {app: kubia}}
spec:
  nodeName: node-2
  containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  nodeName: node-1
  containers: [{name: c, image: busybox, command: [sleep, "100000"]}]
---
apiVersion: v1
kind: Service
metadata: {name: kubia}
spec: {type: LoadBalancer, selector: {app: kubia}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: local-n1}
spec: {type: NodePort, externalTrafficPolicy: Local, selector: {where: n1}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec: {type: NodePort, selector: {app: nobody}, ports: [{port: 80, targetPort: 8080}]}
`;

interface WatchLine {
  event: 'open' | 'close';
  node: string;
  client: string;
  service: string;
  port?: number;
  via: string;
  endpoint: string;
  pod?: string;
  verdict: string;
  result: string;
  bytesIn?: number;
  bytesOut?: number;
}

/** `kubemu trace --watch` running in the background, its output collected. */
class Watcher {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(c: NetnsCluster, args: string[]) {
    this.child = spawn(process.execPath, [KUBEMU, 'trace', '--watch', ...args, '--name', c.name], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString('utf8')));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  lines(): WatchLine[] {
    return this.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as WatchLine);
  }

  async started(): Promise<void> {
    await until('the watch is subscribed to every node and the LB', () => /^watching connections to service \S+ on node-1, node-2, load-balancer /m.test(this.stderr), 20_000);
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGINT');
  }
}

/** curl from the host from a client port of ours (a random one below the ephemeral range, another if it is taken); the body and the port. */
function curlFrom(url: string): { status: number; body: string; sport: number } {
  for (;;) {
    const sport = 20000 + Math.floor(Math.random() * 10000);
    const r = spawnSync('curl', ['-sS', '--max-time', '5', '--local-port', String(sport), url], { encoding: 'utf8' });
    if (r.status !== 45) return { status: r.status ?? -1, body: r.stdout, sport }; // 45: cannot bind that port (in use, or in TIME_WAIT)
  }
}

function trace(c: NetnsCluster, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KUBEMU, 'trace', ...args, '--name', c.name], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `conntrack` processes in the cluster's node and LB namespaces (the stream's children). */
function conntrackChildren(c: NetnsCluster): number {
  let n = 0;
  for (const m of ['node-1', 'node-2', 'load-balancer']) {
    const pids = spawnSync('ip', ['netns', 'pids', `km-${c.name}-${m}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) if (spawnSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).stdout.trim() === 'conntrack') n++;
  }
  return n;
}

const hitPod = (body: string) => /You've hit ([a-z0-9-]+)/.exec(body)?.[1];

function suite(mode: 'nftables' | 'userspace') {
  const extra = mode === 'userspace' ? ['--proxy-mode', 'userspace', '--lb-mode', 'userspace'] : [];
  const c = new NetnsCluster(2, ['--addons', 'dns', ...extra]);
  const watchers: Watcher[] = [];
  let nodePort = 0;
  let emptyPort = 0;
  let clusterIP = '';
  let lbIP = '';

  const lbMachine = () => c.hostIP().replace(/\.1$/, '.3');

  describe.skipIf(!IS_ROOT)(`kubemu trace --watch and --from pod (${mode}, e2e, root)`, () => {
    beforeAll(async () => {
      c.up();
      c.apply(APP);
      await until('kubia ready on both nodes', () => c.readyIPs('kubia').length === 2, 60_000);
      await until('the client pod running', () => c.pods('app=client')[0]?.status.phase === 'Running', 60_000);
      await until('cluster DNS ready', () => c.json<{ items: PodJ[] }>(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns']).items.some((p) => p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')), 60_000);
      await c.waitApplied('kubia');
      await c.waitApplied('empty');
      await c.waitApplied('local-n1');
      await c.waitApplied('kube-dns', 'kube-system');
      const svc = c.json<{ spec: { clusterIP: string; ports: { nodePort: number }[] } }>(['get', 'svc', 'kubia']);
      nodePort = svc.spec.ports[0]!.nodePort;
      clusterIP = svc.spec.clusterIP;
      await until('an LB address', () => !!c.json<{ status: { loadBalancer: { ingress?: { ip: string }[] } } }>(['get', 'svc', 'kubia']).status.loadBalancer.ingress?.[0]?.ip, 30_000);
      lbIP = c.json<{ status: { loadBalancer: { ingress: { ip: string }[] } } }>(['get', 'svc', 'kubia']).status.loadBalancer.ingress[0]!.ip;
      // the LB forwards only to nodes that passed its health check (the userspace one listens only then)
      await until('the LB sees both nodes healthy', () => {
        const h = spawnSync('curl', ['-s', '--max-time', '3', `http://${lbMachine()}:10257/healthz`], { encoding: 'utf8' });
        return (JSON.parse(h.stdout || '{}') as { frontends?: { backends: unknown[] }[] }).frontends?.some((f) => f.backends.length === 2) ?? false;
      }, 30_000);
      emptyPort = c.json<{ spec: { ports: { nodePort: number }[] } }>(['get', 'svc', 'empty']).spec.ports[0]!.nodePort;
    }, 240_000);
    afterAll(() => {
      for (const w of watchers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
      c.down();
    }, 60_000);

    it('--watch: a connection through a node port, opened and closed, naming the pod that answered, and one through the LB; Ctrl-C exits 0', async () => {
      const w = new Watcher(c, ['service/kubia', '-o', 'json']);
      watchers.push(w);
      await w.started();
      // one `conntrack -E` per machine while watched (nftables: the whole stream; userspace: the refusals)
      await until('a conntrack child in each node and the LB', () => conntrackChildren(c) === 3, 10_000);
      const n1 = c.nodeIP(1);
      const seen = new Set<string>();
      // nftables draws an endpoint at random: 16 tries see both pods but 1 time in 32,768 (6 missed one 1 time in 32)
      for (let i = 0; i < 16 && seen.size < 2; i++) {
        const r = curlFrom(`http://${n1}:${nodePort}/`);
        const sport = r.sport;
        expect(r.status, r.body).toBe(0);
        const pod = hitPod(r.body);
        expect(pod, r.body).toMatch(/^kubia-n[12]$/);
        seen.add(pod!);
        const client = `${c.hostIP()}:${sport}`;
        await until(`the close of ${client}`, () => w.lines().some((l) => l.client === client && l.event === 'close'), 10_000);
        const mine = w.lines().filter((l) => l.client === client);
        expect(mine.map((l) => l.event), w.stdout).toEqual(['open', 'close']);
        for (const l of mine) expect(l).toMatchObject({ node: 'node-1', service: 'default/kubia', port: 80, via: 'node-port', pod: `default/${pod}`, verdict: 'FORWARDED' });
        expect(mine[1]).toMatchObject({ result: 'ok' });
        expect(mine[1]!.bytesOut).toBeGreaterThanOrEqual(`You've hit ${pod}\n`.length);
      }
      expect(seen.size).toBe(2); // both pods answered once: the names are the answering pod's, not a constant

      // through the LB: its line names the node it chose, that node's line (a client from the LB) the pod that answered
      const r = curlFrom(`http://${lbIP}/`);
      expect(r.status, r.body).toBe(0);
      const pod = hitPod(r.body);
      const client = `${c.hostIP()}:${r.sport}`;
      await until(`the LB's close of ${client}`, () => w.lines().some((l) => l.client === client && l.event === 'close'), 10_000);
      const lb = w.lines().filter((l) => l.client === client);
      expect(lb.map((l) => l.event), w.stdout).toEqual(['open', 'close']);
      for (const l of lb) expect(l).toMatchObject({ node: 'load-balancer', service: 'default/kubia', port: 80, via: 'load-balancer', verdict: 'FORWARDED', endpoint: `${c.nodeIP(Number(lb[0]!.backendNode!.slice(5)))}:${nodePort}` });
      const chosen = lb[0]!.backendNode!;
      expect(chosen).toMatch(/^node-[12]$/);
      await until(`${chosen}'s close of the LB's connection`, () => w.lines().some((l) => l.node === chosen && l.client.startsWith(`${lbMachine()}:`) && l.event === 'close'), 10_000);
      const hop = w.lines().filter((l) => l.node === chosen && l.client.startsWith(`${lbMachine()}:`));
      expect(hop.map((l) => l.event), w.stdout).toEqual(['open', 'close']);
      for (const l of hop) expect(l).toMatchObject({ service: 'default/kubia', via: 'node-port', pod: `default/${pod}`, verdict: 'FORWARDED' });

      expect(w.lines().every((l) => l.service === 'default/kubia'), w.stdout).toBe(true);
      w.stop();
      expect(await w.exited).toBe(0);
      // the last watcher gone: no conntrack child left behind
      await until('no conntrack child left', () => conntrackChildren(c) === 0, 10_000);
    });

    it('--watch: a Service without ready endpoints refuses, in text output too', async () => {
      const w = new Watcher(c, ['service/empty']);
      watchers.push(w);
      await w.started();
      const r = curlFrom(`http://${c.nodeIP(2)}:${emptyPort}/`);
      const sport = r.sport;
      expect(r.status).toBe(7); // curl: connection refused
      const client = `${c.hostIP()}:${sport}`;
      await until('the refusal', () => w.stdout.includes(client), 10_000);
      const line = w.stdout.split('\n').find((l) => l.includes(client))!;
      expect(line).toMatch(new RegExp(`node-2 +close ${client.replace(/\./g, '\\.')} → default/empty:80/TCP \\(via node-port ${emptyPort}\\) → \\(no endpoint\\)  REFUSED \\(no endpoints\\)`));
      w.stop();
      expect(await w.exited).toBe(0);
    });

    it('--watch: a node without a local endpoint drops an outside client of a Local-policy node port, and says so', async () => {
      const localPort = c.json<{ spec: { ports: { nodePort: number }[] } }>(['get', 'svc', 'local-n1']).spec.ports[0]!.nodePort;
      const w = new Watcher(c, ['service/local-n1', '-o', 'json']);
      watchers.push(w);
      await w.started();
      const dropped = curlFrom(`http://${c.nodeIP(2)}:${localPort}/`);
      expect(dropped.status).toBe(28); // curl: timed out (the SYN is dropped, nothing answers)
      const served = curlFrom(`http://${c.nodeIP(1)}:${localPort}/`);
      expect(hitPod(served.body)).toBe('kubia-n1');
      const client = `${c.hostIP()}:${dropped.sport}`;
      await until('the drop', () => w.lines().some((l) => l.client === client), 10_000);
      const line = w.lines().find((l) => l.client === client)!;
      expect(line).toMatchObject({ node: 'node-2', event: 'close', service: 'default/local-n1', via: 'node-port', verdict: 'DROPPED', result: 'dropped' });
      w.stop();
      expect(await w.exited).toBe(0);
    });

    it('--watch of a Service that does not exist: one line, exit 1', async () => {
      const r = trace(c, ['--watch', 'service/nope']);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual(['error: service "nope" not found in namespace "default"']);
    });

    it("--from pod/client to the cluster IP and to the Service's DNS name: the pod's own node, then the pod that answered", () => {
      const podIP = c.pods('app=client')[0]!.status.podIP!;
      for (const url of [`http://${clusterIP}/`, 'http://kubia.default.svc.cluster.local/']) {
        const r = trace(c, [url, '--from', 'pod/client', '-o', 'json']);
        expect(r.status, r.stdout + r.stderr).toBe(0);
        const t = JSON.parse(r.stdout) as { client: string; service: string; node: { name: string; mode: string; via: string; endpoint: string }; pod: { name: string; ip: string }; response: { status: number; body: string }; problems: string[] };
        const answered = hitPod(t.response.body);
        expect(answered, t.response.body).toMatch(/^kubia-n[12]$/);
        expect(t.client).toMatch(new RegExp(`^${podIP.replace(/\./g, '\\.')}:\\d+$`));
        expect(t.service).toBe('default/kubia');
        expect(t.node).toMatchObject({ name: 'node-1', mode, via: 'cluster-ip' });
        expect(t.pod.name).toBe(answered);
        expect(t.node.endpoint).toBe(`${t.pod.ip}:8080`);
        expect(t.problems).toEqual([]);
      }
      const text = trace(c, ['http://kubia.default.svc.cluster.local/', '--from', 'pod/client']);
      expect(text.status, text.stdout + text.stderr).toBe(0);
      expect(text.stdout).toContain(`kubia.default.svc.cluster.local resolved to ${clusterIP} by the pod's DNS`);
      expect(text.stdout).toContain(`→ node node-1 (kube-proxy ${mode}, the pod's own node): cluster IP ${clusterIP}:80, from ${podIP}:`);
      expect(text.stdout).toContain(`→ pod default/${hitPod(text.stdout)} `);
    });
  });
}

suite('nftables');
suite('userspace');
