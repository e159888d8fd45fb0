/**
 * `kubemu chaos …` on a real netns cluster: each fault as a user sees it
 * (node status, Endpoints, NodePort traffic, restarts), and its undo. Every
 * command runs as its own process, as a user runs it; heal works from there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';

/** A 172.30.N.0/24 the host routes nowhere yet (another engineer's cluster or compose network may hold 172.30.0.0/24). */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  for (let i = 0; i < 200; i++) {
    const n = 64 + Math.floor(Math.random() * 180);
    if (!routes.includes(`172.30.${n}.`)) return `172.30.${n}.0/24`;
  }
  throw new Error('no free 172.30.N.0/24');
}

const GRACE = 5;
const c = new NetnsCluster(3, ['--node-monitor-grace-period', String(GRACE), '--subnet', freeSubnet()]);
const NODE_PORT = 30080;
const PROBE_PERIOD_S = 2;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function chaos(...args: string[]): Run {
  const r = spawnSync(process.execPath, [KUBEMU, 'chaos', ...args, ...(args.includes('--name') ? [] : ['--name', c.name])], { encoding: 'utf8', timeout: 90_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function chaosOk(...args: string[]): string {
  const r = chaos(...args);
  if (r.status !== 0) throw new Error(`kubemu chaos ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function record(): { pids: Record<string, number> } {
  return JSON.parse(readFileSync(`/var/lib/kubemu/${c.name}/cluster.json`, 'utf8'));
}

/** The process state letter (R, S, T, Z…), or null when gone. */
function procState(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function nodeReady(n: number): boolean {
  const node = c.json<{ status: { conditions: { type: string; status: string }[] } }>(['get', 'node', `node-${n}`]);
  return node.status.conditions.find((x) => x.type === 'Ready')?.status === 'True';
}

function nsExec(node: string, cmd: string[]): Run {
  const r = spawnSync('nsenter', [`--net=/run/netns/km-${c.name}-${node}`, '--', ...cmd], { encoding: 'utf8', timeout: 15_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function hasChaosTable(node: string, table: string): boolean {
  return nsExec(node, ['nft', 'list', 'table', 'inet', table]).status === 0;
}

/** One HTTP GET from the host; the body, or '' on any failure. */
function get(url: string, timeoutS = 2): string {
  const r = spawnSync('curl', ['-s', '-m', String(timeoutS), url], { encoding: 'utf8', timeout: (timeoutS + 2) * 1000 });
  return r.status === 0 ? r.stdout : '';
}

/** `n` requests to the node port on node `node`: who answered each ('' for a failure). */
function hits(node: number, n: number): string[] {
  const ip = c.nodeIP(node);
  return Array.from({ length: n }, () => /You've hit (\S+)/.exec(get(`http://${ip}:${NODE_PORT}`))?.[1] ?? '');
}

function podIP(name: string): string {
  return c.json<PodJ>(['get', 'pod', name]).status.podIP!;
}

function restarts(name: string): number {
  return c.json<PodJ>(['get', 'pod', name]).status.containerStatuses?.[0]?.restartCount ?? -1;
}

/** Time to open a TCP connection from the host to `ip:port` (ms; median of `n`). */
async function connectMs(ip: string, port: number, n = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    times.push(
      await new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        const s = connect({ host: ip, port });
        s.setTimeout(5000, () => s.destroy(new Error('timeout')));
        s.once('connect', () => {
          resolve(performance.now() - t0);
          s.destroy();
        });
        s.once('error', reject);
      }),
    );
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

const probe = `readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: ${PROBE_PERIOD_S}}`;
const webPod = (n: number, withProbe: boolean) => `apiVersion: v1
kind: Pod
metadata: {name: web-${n}, labels: {app: web}}
spec:
  nodeName: node-${n}
  containers:
  - name: app
    image: luksa/kubia
    ports: [{containerPort: 8080}]
${withProbe ? `    ${probe}\n` : ''}`;

const allWeb = () => ['web-1', 'web-2', 'web-3'].map(podIP).sort();

async function webConverged(): Promise<void> {
  await until('nodes Ready', () => [1, 2, 3].every(nodeReady), 60_000);
  await until('all three web pods in the endpoints', () => JSON.stringify(c.readyIPs('web')) === JSON.stringify(allWeb()), 60_000);
}

describe.skipIf(!IS_ROOT)('kubemu chaos (netns)', () => {
  beforeAll(async () => {
    c.up();
    // web-1 and web-2 have readiness probes, web-3 none: fail-readiness must work on both kinds.
    c.apply([webPod(1, true), webPod(2, true), webPod(3, false)].join('---\n'));
    c.apply(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: ${NODE_PORT}}]
`);
    await webConverged();
  }, 180_000);

  afterEach(async () => {
    // Whatever a test left (also when it failed): heal, then wait for the cluster to be whole again.
    chaos('heal');
    await webConverged();
  }, 120_000);

  afterAll(() => {
    try {
      chaos('heal');
    } finally {
      c.down();
    }
  }, 120_000);

  it('refuses bad targets with one line on stderr, exit 1, and changes nothing', () => {
    const before = record().pids;
    const bad: [string[], RegExp][] = [
      [['kill-node', 'node-9'], /no node "node-9"/],
      [['start-node', 'node-1'], /node-1 is running/],
      [['pause-node', 'control-plane'], /no node "control-plane"/],
      [['partition', 'node-1', '--from', 'node-7'], /--from: no machine "node-7"/],
      [['netem', 'node-1', '--delay', 'soon'], /--delay wants a time/],
      [['netem', 'node-1', '--loss', '120%'], /--loss wants a percentage/],
      [['netem', 'node-1', 'flush'], /only word netem takes/],
      [['kill-pod', 'ghost'], /pods "ghost" not found in namespace "default"/],
      [['fail-readiness', 'web-1', '-n', 'elsewhere'], /pods "web-1" not found in namespace "elsewhere"/],
      [['kill', 'kube-proxy'], /runs on every node/],
      [['kill', 'etcd'], /unknown component "etcd"/],
      [['start', 'load-balancer'], /running already/],
      [['heal', 'node-8'], /no machine "node-8"/],
      [['kill-node', 'node-1', '--name', 'nosuch'], /no cluster "nosuch" here/],
    ];
    for (const [args, msg] of bad) {
      const r = chaos(...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trimEnd(), args.join(' ')).toMatch(msg);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(record().pids).toEqual(before);
    for (const pid of Object.values(before)) expect(procState(pid)).toMatch(/[RSD]/);
    expect(chaosOk('list')).toMatch(/no active faults/);
    expect(hasChaosTable('node-1', 'kubemu-chaos')).toBe(false);
    expect(c.json<{ metadata: { annotations?: Record<string, string> } }>(['get', 'pod', 'web-1']).metadata.annotations?.['chaos.kubemu.io/fail-readiness']).toBeUndefined();
    expect(hits(1, 3).every((h) => h.startsWith('web-'))).toBe(true);
  });

  it('kill-node: NotReady after the grace period, its pod leaves the endpoints, a NodePort elsewhere serves from the others; start-node brings it back', async () => {
    const web3 = podIP('web-3');
    const out = chaosOk('kill-node', 'node-3');
    expect(out).toMatch(/node-3 powered off/);
    expect(out).toContain(`undo: kubemu chaos start-node node-3 --name ${c.name}`);
    const pids = record().pids;
    // Dead: gone, or a zombie until whoever inherited it reaps it.
    expect([null, 'Z']).toContain(procState(pids['node-3/node-agent']!));
    expect([null, 'Z']).toContain(procState(pids['node-3/kube-proxy']!));
    await until('node-3 NotReady', () => !nodeReady(3), (GRACE + 20) * 1000);
    await until('web-3 out of the endpoints', () => !c.readyIPs('web').includes(web3), 20_000);
    await new Promise((r) => setTimeout(r, 1000)); // node-1's kube-proxy applies the new endpoints
    const seen = hits(1, 20);
    expect(seen.filter((h) => h === ''), seen.join(',')).toEqual([]);
    expect(new Set(seen)).toEqual(new Set(['web-1', 'web-2']));

    const started = chaosOk('start-node', 'node-3');
    expect(started).toMatch(/node-3 started/);
    await until('node-3 Ready', () => nodeReady(3), 30_000);
    await until('web-3 back in the endpoints', () => c.readyIPs('web').includes(podIP('web-3')), 30_000);
    await until('web-3 served through a node port', () => hits(1, 6).includes('web-3'), 20_000);
    expect(chaosOk('list')).toMatch(/no active faults/);
  });

  it('pause-node freezes every process of the node (NotReady), resume-node thaws it (Ready)', async () => {
    const pids = record().pids;
    const out = chaosOk('pause-node', 'node-2');
    expect(out).toContain(`undo: kubemu chaos resume-node node-2 --name ${c.name}`);
    expect(procState(pids['node-2/node-agent']!)).toBe('T');
    expect(procState(pids['node-2/kube-proxy']!)).toBe('T');
    const podPids = execFileSync('ip', ['netns', 'pids', `km-${c.name}-p-${c.json<PodJ>(['get', 'pod', 'web-2']).metadata.uid.replace(/-/g, '').slice(0, 12)}`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    expect(podPids.length).toBeGreaterThan(0);
    for (const p of podPids) expect(procState(p)).toBe('T');
    await until('node-2 NotReady', () => !nodeReady(2), (GRACE + 20) * 1000);
    expect(chaosOk('list')).toMatch(/node-2 paused/);

    chaosOk('resume-node', 'node-2');
    for (const p of [pids['node-2/node-agent']!, pids['node-2/kube-proxy']!, ...podPids]) expect(procState(p)).not.toBe('T');
    await until('node-2 Ready', () => nodeReady(2), 30_000);
    expect(restarts('web-2')).toBe(0);
  });

  it('partition from the control plane: NotReady, yet its node port forwards with its last known state; heal converges', async () => {
    const web1 = podIP('web-1');
    const out = chaosOk('partition', 'node-1');
    expect(out).toMatch(/node-1 partitioned from control-plane/);
    expect(out).toContain(`undo: kubemu chaos heal node-1 --name ${c.name}`);
    expect(hasChaosTable('node-1', 'kubemu-chaos')).toBe(true);
    await until('node-1 NotReady', () => !nodeReady(1), (GRACE + 20) * 1000);
    await until('web-1 out of the endpoints', () => !c.readyIPs('web').includes(web1), 20_000);
    // node-1's kube-proxy heard nothing of that: it still spreads over all three, web-1 included.
    const seen = hits(1, 24);
    expect(seen.filter((h) => h === ''), seen.join(',')).toEqual([]);
    expect(seen).toContain('web-1');
    // …while a node that hears the control plane no longer sends to web-1.
    await new Promise((r) => setTimeout(r, 1000));
    expect(hits(2, 12)).not.toContain('web-1');

    const healed = chaosOk('heal');
    expect(healed).toMatch(/healed: node-1 partitioned from control-plane/);
    expect(hasChaosTable('node-1', 'kubemu-chaos')).toBe(false);
    await until('node-1 Ready', () => nodeReady(1), 30_000);
    await until('web-1 back in the endpoints', () => c.readyIPs('web').includes(web1), 30_000);
  });

  it('partition between two nodes: pod-to-pod across them fails, other paths work, heal restores', async () => {
    const [ip2, ip3] = [podIP('web-2'), podIP('web-3')];
    const fromWeb1 = (ip: string) => c.kubectl(['exec', 'web-1', '--', 'curl', '-s', '-m', '2', `http://${ip}:8080`], undefined, 20_000).stdout;
    expect(fromWeb1(ip2)).toMatch(/You've hit web-2/);
    const out = chaosOk('partition', 'node-1', '--from', 'node-2');
    expect(out).toMatch(/node-1 partitioned from node-2/);
    expect(fromWeb1(ip2)).toBe('');
    expect(fromWeb1(ip3)).toMatch(/You've hit web-3/);
    expect(nsExec('node-2', ['curl', '-s', '-m', '2', `http://${podIP('web-1')}:8080`]).stdout).toBe('');
    // The control plane still hears node-1.
    await new Promise((r) => setTimeout(r, (GRACE + 1) * 1000));
    expect(nodeReady(1)).toBe(true);

    chaosOk('heal', 'node-1');
    expect(fromWeb1(ip2)).toMatch(/You've hit web-2/);
  });

  it('netem on a node: its RTT rises by about the delay, clear restores it (or, without sch_netem in the kernel, one line and no change)', async () => {
    const ip2 = c.nodeIP(2);
    const kernelHasNetem = nsExec('node-2', ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']).status === 0;
    if (kernelHasNetem) nsExec('node-2', ['tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
    const base = await connectMs(ip2, 10256);
    const r = chaos('netem', 'node-2', '--delay', '100ms', '--jitter', '5ms');
    if (!kernelHasNetem) {
      expect(r.status).toBe(1);
      expect(r.stderr.trimEnd()).toMatch(/^error: this kernel has no netem qdisc .*nothing was changed$/);
      expect(nsExec('node-2', ['tc', 'qdisc', 'show', 'dev', 'eth0']).stdout).not.toMatch(/netem/);
      expect(chaosOk('list')).toMatch(/no active faults/);
      return;
    }
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`undo: kubemu chaos netem node-2 clear --name ${c.name}`);
    const slow = await connectMs(ip2, 10256);
    expect(slow - base).toBeGreaterThan(70);
    expect(slow - base).toBeLessThan(400);
    chaosOk('netem', 'node-2', 'clear');
    expect(await connectMs(ip2, 10256)).toBeLessThan(base + 30);
  });

  it('kill-pod: the container is SIGKILLed and restarted by its node agent (restartCount +1, same pod)', async () => {
    const before = c.json<PodJ>(['get', 'pod', 'web-3']);
    const n = restarts('web-3');
    const out = chaosOk('kill-pod', 'web-3');
    expect(out).toMatch(/SIGKILLed \d+ process\(es\) of pod default\/web-3 on node-3/);
    await until('web-3 restarted', () => restarts('web-3') === n + 1, 20_000);
    await until('web-3 ready again', () => c.json<PodJ>(['get', 'pod', 'web-3']).status.containerStatuses?.[0]?.ready === true, 20_000);
    expect(c.json<PodJ>(['get', 'pod', 'web-3']).metadata.uid).toBe(before.metadata.uid);
  });

  it('fail-readiness: out of the endpoints within a probe period + 1 s, container kept running; restore brings it back', async () => {
    for (const pod of ['web-2', 'web-3']) {
      // web-2 has an HTTP readiness probe, web-3 none.
      const ip = podIP(pod);
      const n = restarts(pod);
      const t0 = Date.now();
      const out = chaosOk('fail-readiness', pod);
      expect(out).toContain(`undo: kubemu chaos restore-readiness ${pod} --name ${c.name}`);
      await until(`${pod} out of the endpoints`, () => !c.readyIPs('web').includes(ip), 10_000, 100);
      expect(Date.now() - t0).toBeLessThan((PROBE_PERIOD_S + 1) * 1000);
      const p = c.json<PodJ>(['get', 'pod', pod]);
      expect(p.status.phase).toBe('Running');
      expect(p.status.containerStatuses?.[0]?.state.running).toBeDefined();
      expect(p.status.containerStatuses?.[0]?.restartCount).toBe(n);
      expect(c.kubectl(['describe', 'pod', pod]).stdout).toMatch(/Readiness probe failed: kubemu chaos/);
      // The pod still answers when asked directly: only its readiness is failed.
      expect(nsExec(`node-${pod.slice(-1)}`, ['curl', '-s', '-m', '2', `http://${ip}:8080`]).stdout).toMatch(new RegExp(`You've hit ${pod}`));

      const t1 = Date.now();
      chaosOk('restore-readiness', pod);
      await until(`${pod} back in the endpoints`, () => c.readyIPs('web').includes(ip), 10_000, 100);
      expect(Date.now() - t1).toBeLessThan((PROBE_PERIOD_S + 1) * 1000);
      expect(restarts(pod)).toBe(n);
    }
  });

  it('restart control-plane: objects survive, agents resync, a new pod is created and served', async () => {
    const svc = c.json<{ metadata: { uid: string } }>(['get', 'svc', 'web']);
    const out = chaosOk('restart', 'control-plane');
    expect(out).toMatch(/restarted control-plane/);
    expect(c.json<{ metadata: { uid: string } }>(['get', 'svc', 'web']).metadata.uid).toBe(svc.metadata.uid);
    expect(c.readyIPs('web')).toEqual(allWeb());
    c.apply(webPod(2, false).replace('name: web-2', 'name: late').replace('app: web}', 'app: web, late: "yes"}'));
    try {
      await until('late in the endpoints', () => {
        const ip = c.json<PodJ>(['get', 'pod', 'late']).status.podIP;
        return ip && c.readyIPs('web').includes(ip);
      }, 30_000);
      await until('late served through a node port', () => hits(3, 8).includes('late'), 20_000);
    } finally {
      c.kubectl(['delete', 'pod', 'late', '--wait=false']);
    }
    await until('late gone', () => c.kubectl(['get', 'pod', 'late']).status !== 0, 30_000);
  });

  it('kill and start kube-proxy, node-agent and the load balancer', async () => {
    const node2 = c.nodeIP(2);
    const lb = `${c.hostIP().replace(/\.1$/, '.3')}`;
    expect(get(`http://${node2}:10256/healthz`)).not.toBe('');
    expect(get(`http://${lb}:10257/healthz`)).not.toBe('');

    let out = chaosOk('kill', 'kube-proxy', 'node-2');
    expect(out).toContain(`bring it back: kubemu chaos start kube-proxy node-2 --name ${c.name}`);
    expect(get(`http://${node2}:10256/healthz`)).toBe('');
    chaosOk('start', 'kube-proxy', 'node-2');
    await until('kube-proxy answers again', () => get(`http://${node2}:10256/healthz`) !== '', 20_000);

    out = chaosOk('kill', 'node-agent', 'node-2');
    expect(out).toContain(`bring it back: kubemu chaos start node-agent node-2 --name ${c.name}`);
    await until('node-2 NotReady', () => !nodeReady(2), (GRACE + 20) * 1000);
    chaosOk('start', 'node-agent', 'node-2');
    await until('node-2 Ready', () => nodeReady(2), 30_000);

    out = chaosOk('kill', 'load-balancer');
    expect(out).toContain(`bring it back: kubemu chaos start load-balancer --name ${c.name}`);
    expect(get(`http://${lb}:10257/healthz`)).toBe('');
    chaosOk('start', 'load-balancer');
    await until('the LB answers again', () => get(`http://${lb}:10257/healthz`) !== '', 20_000);
    for (const pid of Object.values(record().pids)) expect(procState(pid)).toMatch(/[RSD]/);
  });

  it('heal undoes every active fault at once, from another process', async () => {
    chaosOk('partition', 'node-1', '--from', 'control-plane', 'node-3');
    chaosOk('pause-node', 'node-2');
    chaosOk('kill', 'kube-proxy', 'node-3');
    chaosOk('fail-readiness', 'web-3');
    chaosOk('kill', 'load-balancer');
    const listed = chaosOk('list');
    for (const what of ['node-1 partitioned from control-plane, node-3', 'node-2 paused', 'node-3/kube-proxy killed', 'pod default/web-3 fails readiness', 'load-balancer killed']) expect(listed).toContain(what);
    await until('node-1 and node-2 NotReady', () => !nodeReady(1) && !nodeReady(2), (GRACE + 20) * 1000);

    const healed = chaosOk('heal');
    expect(healed.trim().split('\n')).toHaveLength(5);
    expect(chaosOk('list')).toMatch(/no active faults/);
    expect(hasChaosTable('node-1', 'kubemu-chaos')).toBe(false);
    for (const pid of Object.values(record().pids)) expect(procState(pid)).toMatch(/[RSD]/);
    await webConverged();
    expect(chaosOk('heal')).toMatch(/no active faults/);
  });
});
