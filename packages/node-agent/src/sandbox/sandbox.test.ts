/**
 * Real plumbing, as root: a throwaway cluster network (test-only subnet
 * 172.31.<random>.0/24, pod CIDR 10.245.0.0/16), two nodes, one pod on each.
 * Traffic goes only to addresses of these namespaces, plus one connect to
 * TEST-NET-3 that must fail inside the pod's node (no route out).
 * Everything is torn down in afterAll, whatever happened.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNetwork, NetnsError, inNetns, isOurs, listNetns, netnsPath, run } from '@kubemu/netns';
import { PodSandbox } from './pod-sandbox.js';

const hasTool = (t: string): boolean => spawnSync(t, ['--version'], { stdio: 'ignore' }).error === undefined;
const CAN_RUN = process.platform === 'linux' && process.getuid?.() === 0 && ['ip', 'nsenter', 'unshare'].every(hasTool);
if (!CAN_RUN) console.warn('netns.test.ts skipped: needs Linux, root, iproute2 (ip) and util-linux (nsenter, unshare)');

const rand = (n: number): string => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)]).join('');

const SERVER = `const net = require('net'), os = require('os');
const [host, port] = process.argv.slice(1);
net.createServer((s) => s.end('hello from ' + os.hostname() + '\\n')).listen(+port, host, () => console.log('listening'));`;
const CLIENT = `const net = require('net');
const [host, port] = process.argv.slice(1); const t0 = Date.now(); let out = '';
const s = net.connect({ host, port: +port, timeout: 3000 });
s.on('data', (d) => (out += d)); s.on('end', () => console.log(out.trim()));
s.on('timeout', () => { console.log('ERR ETIMEDOUT ' + (Date.now() - t0)); s.destroy(); });
s.on('error', (e) => console.log('ERR ' + e.code + ' ' + (Date.now() - t0)));`;

interface Done { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
function collect(child: ChildProcess): Promise<Done> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
function waitForLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(text)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before printing ${text}: ${buf}`)));
  });
}

async function leftovers(cluster: string): Promise<string[]> {
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n !== '' && isOurs(n, cluster));
  const ns = (await run('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '' && isOurs(n, cluster));
  return [...ns, ...links];
}

describe.skipIf(!CAN_RUN)('netns plumbing (real namespaces, root)', () => {
  const cluster = `t${rand(5)}`;
  const spare = `t${rand(5)}`;
  const podCIDR = '10.245.0.0/16';
  let net: ClusterNetwork;
  let prefix = '';
  let stateRoot = '';
  let podA: PodSandbox;
  let podB: PodSandbox;
  let serverA: ChildProcess | undefined;
  let hostForward = '';
  const started: ChildProcess[] = [];
  const ipOf = (host: number): string => `${prefix}.${host}`;

  function runIn(pod: PodSandbox, command: string[]): Promise<Done> {
    return collect(pod.spawn({ command, env: {}, stdout: 'pipe', stderr: 'pipe' }));
  }
  async function connectFrom(pod: PodSandbox, host: string, port: number): Promise<string> {
    return (await runIn(pod, [process.execPath, '-e', CLIENT, host, String(port)])).stdout.trim();
  }

  beforeAll(async () => {
    stateRoot = await mkdtemp(join(tmpdir(), 'kubemu-netns-test-'));
    hostForward = (await run('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
    // A random test-only /24; retry when the host (or a concurrent run) already uses it.
    for (let attempt = 0; ; attempt++) {
      prefix = `172.31.${Math.floor(Math.random() * 254) + 1}`;
      net = new ClusterNetwork({ cluster, nodeSubnet: `${prefix}.0/24`, podCIDR });
      try {
        await net.setupHost();
        break;
      } catch (err) {
        if (!(err instanceof NetnsError && err.code === 'ERR_SUBNET_CONFLICT') || attempt > 5) throw err;
      }
    }
    await net.addNamespace('control-plane', ipOf(2));
    await net.addNamespace('node-1', ipOf(11));
    await net.addNamespace('node-2', ipOf(12));
    const n1 = await net.addNodePodNetwork('node-1', '10.245.1.0/24');
    const n2 = await net.addNodePodNetwork('node-2', '10.245.2.0/24');
    await net.routePodCIDR('node-1', n1.podCIDR, ipOf(11));
    await net.routePodCIDR('node-2', n2.podCIDR, ipOf(12));
    podA = await PodSandbox.create({
      cluster, nodeNs: n1.netns, podUid: 'a1b2c3d4-e5f6-4a00-8000-00000000000a', podName: 'pod-a',
      podIP: '10.245.1.5', gatewayIP: n1.gateway, prefixLen: 24, stateDir: join(stateRoot, 'pod-a'),
    });
    podB = await PodSandbox.create({
      cluster, nodeNs: 'node-2', podUid: 'b1c2d3e4-f5a6-4b00-8000-00000000000b', podName: 'pod-b',
      podIP: '10.245.2.5', gatewayIP: n2.gateway, prefixLen: 24, stateDir: join(stateRoot, 'pod-b'),
    });
    serverA = podA.spawn({ command: [process.execPath, '-e', SERVER, '10.245.1.5', '8080'], env: {}, stdout: 'pipe', stderr: 2, name: 'server' });
    started.push(serverA);
    await waitForLine(serverA, 'listening');
  }, 60_000);

  afterAll(async () => {
    for (const c of started) c.kill('SIGKILL');
    try {
      await ClusterNetwork.teardownCluster(cluster);
    } finally {
      try {
        await ClusterNetwork.teardownCluster(spare);
      } finally {
        if (stateRoot) await rm(stateRoot, { recursive: true, force: true });
      }
    }
  }, 60_000);

  it('a pod reaches a pod on another node by its pod IP', async () => {
    expect(await connectFrom(podB, '10.245.1.5', 8080)).toBe('hello from pod-a');
  });

  it('a pod reaches the control plane, which routes back to every pod CIDR and forwards nothing', async () => {
    const cp = net.netnsName('control-plane');
    const api = spawn('nsenter', [`--net=${netnsPath(cp)}`, '--', process.execPath, '-e', SERVER, ipOf(2), '6443'], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(api);
    await waitForLine(api, 'listening');
    expect(await connectFrom(podA, ipOf(2), 6443)).toMatch(/^hello from /);
    expect(await connectFrom(podB, ipOf(2), 6443)).toMatch(/^hello from /);
    api.kill('SIGKILL');
    expect((await inNetns(cp, 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('0');
    expect((await inNetns(net.netnsName('node-1'), 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
    expect((await run('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe(hostForward);
  });

  it('creating an existing namespace or sandbox again changes nothing and still works', async () => {
    await net.addNamespace('node-1', ipOf(11));
    const again = await PodSandbox.create({
      cluster, nodeNs: 'node-2', podUid: podB.podUid, podName: 'pod-b', podIP: '10.245.2.5',
      gatewayIP: '10.245.2.1', prefixLen: 24, stateDir: podB.stateDir,
    });
    expect(again.netns).toBe(podB.netns);
    expect(await connectFrom(podB, '10.245.1.5', 8080)).toBe('hello from pod-a');
  });

  it('the hostname inside a pod is the pod name, in programs and in exec', async () => {
    expect((await runIn(podA, ['hostname'])).stdout.trim()).toBe('pod-a');
    const viaExec = await collect(podA.exec(serverA!.pid!, ['cat', '/proc/sys/kernel/hostname']));
    expect(viaExec.stdout.trim()).toBe('pod-a');
    expect((await runIn(podB, ['hostname'])).stdout.trim()).toBe('pod-b');
    const tty = podA.exec(serverA!.pid!, ['sh', '-c', 'test -t 0 && test -t 1 && echo "tty on $(hostname)"'], { tty: true, stdin: true });
    const ttyDone = collect(tty);
    tty.stdin!.end();
    expect((await ttyDone).stdout).toContain('tty on pod-a');
  });

  it('/var and /tmp are per pod: invisible on the host and in the other pod', async () => {
    const hostHad = existsSync('/var/ready');
    const touched = await runIn(podA, ['sh', '-c', 'touch /var/ready /tmp/made-by-a && ls /var /tmp']);
    expect(touched.code).toBe(0);
    expect((await runIn(podA, ['test', '-e', '/var/ready'])).code).toBe(0); // same pod, next program
    expect((await collect(podA.exec(serverA!.pid!, ['test', '-e', '/tmp/made-by-a']))).code).toBe(0);
    expect((await runIn(podB, ['test', '-e', '/var/ready'])).code).toBe(1);
    expect((await runIn(podB, ['test', '-e', '/tmp/made-by-a'])).code).toBe(1);
    expect(existsSync('/var/ready')).toBe(hostHad);
    expect(existsSync('/tmp/made-by-a')).toBe(false);
    expect(existsSync(join(podA.stateDir, 'var', 'ready'))).toBe(true);
  });

  it('a server on 127.0.0.1 answers an exec in its pod but not the pod IP from another pod', async () => {
    const lo = podA.spawn({ command: [process.execPath, '-e', SERVER, '127.0.0.1', '9090'], env: {}, stdout: 'pipe', stderr: 'pipe' });
    started.push(lo);
    await waitForLine(lo, 'listening');
    const inside = await collect(podA.exec(lo.pid!, [process.execPath, '-e', CLIENT, '127.0.0.1', '9090']));
    expect(inside.stdout.trim()).toBe('hello from pod-a');
    expect(await connectFrom(podB, '10.245.1.5', 9090)).toMatch(/^ERR ECONNREFUSED/);
    lo.kill('SIGKILL');
  });

  it('nothing leaves the cluster: outside addresses fail fast as unreachable', async () => {
    // TEST-NET-3: routed by the pod to its node, which has no route for it.
    const out = await connectFrom(podB, '203.0.113.1', 80);
    const [, code, ms] = /^ERR (\w+) (\d+)$/.exec(out) ?? [];
    expect(['EHOSTUNREACH', 'ENETUNREACH']).toContain(code);
    expect(Number(ms)).toBeLessThan(2000);
    // The node itself has no route out at all (no packet is even built).
    const get = await run('ip', ['-n', net.netnsName('node-2'), 'route', 'get', '203.0.113.1'], { allowFail: true });
    expect(get.code).not.toBe(0);
    expect(get.stderr).toMatch(/unreachable/i);
    // Unowned pod and service addresses hit the unreachable routes (below).
    // Unowned pod and service addresses hit the unreachable routes. (The node reports these with
    // ICMP, which the kernel rate-limits per pod: a burst of 5, then 1/s — spread over two pods.)
    expect(await connectFrom(podB, '10.245.9.9', 80)).toMatch(/^ERR (EHOSTUNREACH|ENETUNREACH)/);
    expect(await connectFrom(podA, '10.96.0.99', 80)).toMatch(/^ERR (EHOSTUNREACH|ENETUNREACH)/);
  });

  it('pods reach the host masqueraded as their node (the host has no route to pods)', async () => {
    const WHO = `const s=require('net').createServer(c=>c.end('host saw '+c.remoteAddress+'\\n'));s.listen(0,process.argv[1],()=>console.log('port '+s.address().port))`;
    const host = spawn(process.execPath, ['-e', WHO, net.bridgeIP], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(host);
    const port = await new Promise<number>((resolve) => host.stdout!.once('data', (d: Buffer) => resolve(Number(/port (\d+)/.exec(d.toString())![1]))));
    expect(await connectFrom(podB, net.bridgeIP, port)).toBe(`host saw ${ipOf(12)}`);
    expect(await connectFrom(podA, net.bridgeIP, port)).toBe(`host saw ${ipOf(11)}`);
    host.kill('SIGKILL');
    // an old cluster's policy rule that kept pods off the host (and caught replies to the host) is gone
    expect((await run('ip', ['-n', net.netnsName('node-1'), 'rule', 'show'])).stdout).not.toMatch(/unreachable/);
  });

  it('a service IP bound on a node answers that node’s pods, and unbinding is idempotent', async () => {
    await net.bindServiceIP('node-1', '10.96.0.10');
    await net.bindServiceIP('node-1', '10.96.0.10');
    expect(await net.serviceIPs('node-1')).toEqual(['10.96.0.10']);
    const proxy = spawn('nsenter', [`--net=${netnsPath(net.netnsName('node-1'))}`, '--', process.execPath, '-e', SERVER, '10.96.0.10', '80'], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(proxy);
    await waitForLine(proxy, 'listening');
    // hostname here is the host's: the node namespace has no UTS namespace of its own
    expect(await connectFrom(podA, '10.96.0.10', 80)).toMatch(/^hello from /);
    proxy.kill('SIGKILL');
    expect(await net.unbindServiceIP('node-1', '10.96.0.10')).toBe(true);
    expect(await net.unbindServiceIP('node-1', '10.96.0.10')).toBe(false);
    await expect(net.bindServiceIP('node-1', '8.8.8.8')).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
    await expect(net.bindServiceIP('control-plane', ipOf(12))).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' }); // node-2's
    // An LB address from the node subnet, bound in another namespace, answers ARP on the bridge.
    await net.bindServiceIP('control-plane', ipOf(200));
    const lb = spawn('nsenter', [`--net=${netnsPath(net.netnsName('control-plane'))}`, '--', process.execPath, '-e', SERVER, ipOf(200), '80'], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(lb);
    await waitForLine(lb, 'listening');
    expect(await connectFrom(podB, ipOf(200), 80)).toMatch(/^hello from /);
    lb.kill('SIGKILL');
    expect(await net.unbindServiceIP('control-plane', ipOf(200))).toBe(true);
  });

  it('the ChildProcess pid is the program: SIGTERM reaches it, exec enters it, the pid is recorded', async () => {
    const sleeper = podB.spawn({ command: ['sh', '-c', 'trap "echo got-term; exit 7" TERM; echo up; while :; do sleep 0.05; done'], env: {}, stdout: 'pipe', stderr: 'pipe', name: 'sleeper' });
    started.push(sleeper);
    const done = collect(sleeper);
    await waitForLine(sleeper, 'up');
    expect(await podB.containerPid('sleeper')).toBe(sleeper.pid);
    expect(await podB.contains(sleeper.pid!)).toBe(true);
    expect(await podA.contains(sleeper.pid!)).toBe(false);
    expect(() => podA.exec(sleeper.pid!, ['true'])).toThrow(expect.objectContaining({ code: 'ERR_NOT_IN_SANDBOX' }));
    sleeper.kill('SIGTERM');
    const res = await done;
    expect(res.stdout).toContain('got-term');
    expect(res.code).toBe(7);
  });

  it('list, adopt and destroy sandboxes; destroy is idempotent', async () => {
    const listed = await PodSandbox.list(cluster, 'node-1');
    expect(listed).toEqual([expect.objectContaining({ podUid: podA.podUid, podName: 'pod-a', podIP: '10.245.1.5' })]);
    const adopted = await PodSandbox.adopt({ cluster, nodeNs: 'node-1', podUid: podA.podUid, stateDir: podA.stateDir });
    expect(adopted).toMatchObject({ podIP: '10.245.1.5', gatewayIP: '10.245.1.1', prefixLen: 24, podName: 'pod-a', netns: podA.netns });
    await expect(PodSandbox.adopt({ cluster, nodeNs: 'node-1', podUid: 'ffffffffffff', stateDir: join(stateRoot, 'x') }))
      .rejects.toMatchObject({ code: 'ERR_SANDBOX_NOT_FOUND' });

    const podC = await PodSandbox.create({
      cluster, nodeNs: 'node-1', podUid: 'cccccccc-0000-4000-8000-00000000000c', podName: 'pod-c',
      podIP: '10.245.1.6', gatewayIP: '10.245.1.1', prefixLen: 24, stateDir: join(stateRoot, 'pod-c'),
    });
    const c = podC.spawn({ command: ['sleep', '60'], env: {}, stdout: 'ignore', stderr: 'ignore' });
    started.push(c);
    expect((await PodSandbox.list(cluster, 'node-1')).map((p) => p.podName).sort()).toEqual(['pod-a', 'pod-c']);
    await podC.destroy();
    await podC.destroy();
    expect(existsSync(netnsPath(podC.netns))).toBe(false);
    expect(existsSync(podC.stateDir)).toBe(false);
    expect((await run('ip', ['-n', net.netnsName('node-1'), 'link', 'show', 'dev', podC.vethName], { allowFail: true })).code).not.toBe(0);
    expect((await PodSandbox.list(cluster, 'node-1')).map((p) => p.podName)).toEqual(['pod-a']);
    // pod-a still answers after its neighbour went away
    expect(await connectFrom(podB, '10.245.1.5', 8080)).toBe('hello from pod-a');
  });

  it('rejects bad names and addresses with typed errors', async () => {
    expect(() => new ClusterNetwork({ cluster: 'Bad-Name' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => new ClusterNetwork({ cluster: 'ok', podCIDR: '10.96.0.0/16' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }));
    await expect(net.addNamespace('node-3', '10.1.2.3')).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
    await expect(net.addNamespace('node-3', ipOf(11))).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' }); // taken by node-1
    await expect(PodSandbox.create({
      cluster, nodeNs: 'node-1', podUid: 'dddddddd', podName: 'pod-d', podIP: '10.245.2.9',
      gatewayIP: '10.245.1.1', prefixLen: 24, stateDir: join(stateRoot, 'pod-d'),
    })).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
    expect(await listNetns()).not.toContain(`km-${cluster}-node-3`);
  });

  it('teardown removes a half-made cluster (with a process inside), and a second teardown finds nothing', async () => {
    const half = new ClusterNetwork({ cluster: spare }); // options are irrelevant to teardown
    // Deliberately partial: a namespace without its veth, a stray pod netns, a dangling host veth, no bridge.
    await run('ip', ['netns', 'add', `km-${spare}-node-1`]);
    await run('ip', ['netns', 'add', `km-${spare}-p-deadbeef0000`]);
    await run('ip', ['link', 'add', `kmv-${spare}-99`, 'type', 'veth', 'peer', 'name', `kmv-${spare}-9a`]);
    const inside = spawn('nsenter', [`--net=${netnsPath(`km-${spare}-node-1`)}`, '--', 'sleep', '60'], { stdio: 'ignore' });
    started.push(inside);
    const exited = new Promise((r) => inside.on('exit', (_code, signal) => r(signal)));
    await new Promise((r) => setTimeout(r, 100));
    expect(await ClusterNetwork.listClusters()).toEqual(expect.arrayContaining([cluster, spare]));

    const first = await half.teardown();
    expect(first.killedPids).toContain(inside.pid);
    expect(await exited).toBe('SIGKILL');
    expect(await leftovers(spare)).toEqual([]);
    expect(await half.teardown()).toEqual({ namespaces: [], links: [], killedPids: [] });
    expect(await ClusterNetwork.listClusters()).not.toContain(spare);
    expect(await ClusterNetwork.listClusters()).toContain(cluster);
  });

  it('teardown of the full cluster kills its pods and leaves no namespace or link, twice', async () => {
    const res = await net.teardown();
    expect(res.namespaces.length).toBe(5); // control plane, 2 nodes, 2 pods
    expect(res.killedPids).toContain(serverA!.pid);
    expect(await leftovers(cluster)).toEqual([]);
    await net.teardown();
    expect(await leftovers(cluster)).toEqual([]);
    expect(await ClusterNetwork.listClusters()).not.toContain(cluster);
  });
});
