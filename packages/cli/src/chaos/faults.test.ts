import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunOptions, RunResult } from '@kubemu/netns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as faults from './faults.js';
import { PARTITION_TABLE } from './nft.js';
import { FaultRegistry } from './registry.js';
import { ChaosError, componentLabel, type ChaosRuntime, type ComponentName, type ComponentRef, type Machine } from './runtime.js';

/** A runtime that records what it is asked to do. */
class FakeRuntime implements ChaosRuntime {
  readonly kind = 'fake';
  readonly cluster = 'demo';
  readonly kubeconfig = '/dev/null';
  calls: string[] = [];
  running_ = new Set(['control-plane', 'load-balancer', 'node-1/node-agent', 'node-1/kube-proxy', 'node-2/node-agent', 'node-2/kube-proxy']);
  off = new Set<string>();
  execResult: (cmd: string, args: readonly string[]) => RunResult = () => ({ code: 0, stdout: '', stderr: '' });
  constructor(readonly stateDir: string) {}
  machines(): Machine[] {
    return [
      { name: 'control-plane', role: 'control-plane', ip: '172.30.0.2' },
      { name: 'load-balancer', role: 'load-balancer', ip: '172.30.0.3' },
      { name: 'node-1', role: 'node', ip: '172.30.0.11', podCIDR: '10.244.1.0/24' },
      { name: 'node-2', role: 'node', ip: '172.30.0.12', podCIDR: '10.244.2.0/24' },
    ];
  }
  components(machine: string): ComponentName[] {
    return machine.startsWith('node-') ? ['node-agent', 'kube-proxy'] : [machine as ComponentName];
  }
  running(ref: ComponentRef) {
    return this.running_.has(componentLabel(ref));
  }
  async signalComponent(ref: ComponentRef, sig: NodeJS.Signals) {
    this.calls.push(`signal ${componentLabel(ref)} ${sig}`);
    if (sig === 'SIGKILL' || sig === 'SIGTERM') this.running_.delete(componentLabel(ref));
    return [42];
  }
  async waitGone() {
    return true;
  }
  async startComponent(ref: ComponentRef) {
    this.calls.push(`start ${componentLabel(ref)}`);
    this.running_.add(componentLabel(ref));
    return 43;
  }
  async exec(machine: string, cmd: string, args: readonly string[], opts?: RunOptions) {
    this.calls.push(`exec ${machine} ${cmd} ${args.join(' ')}${opts?.input ? ` <<${String(opts.input)}` : ''}`);
    return this.execResult(cmd, args);
  }
  async pauseMachine(machine: string) {
    this.calls.push(`pause ${machine}`);
    return [1, 2, 3];
  }
  async resumeMachine(machine: string, pids: readonly number[]) {
    this.calls.push(`resume ${machine} ${pids.join(',')}`);
    return [...pids];
  }
  async powerOff(machine: string) {
    this.calls.push(`off ${machine}`);
    this.off.add(machine);
    for (const c of this.components(machine)) this.running_.delete(`${machine}/${c}`);
    return [7, 8];
  }
  async powerOn(machine: string) {
    this.calls.push(`on ${machine}`);
    this.off.delete(machine);
    for (const c of this.components(machine)) this.running_.add(`${machine}/${c}`);
    return [9, 10];
  }
  async poweredOff(machine: string) {
    return this.off.has(machine);
  }
  async signalPod(machine: string, uid: string, sig: NodeJS.Signals) {
    this.calls.push(`signal pod ${machine} ${uid} ${sig}`);
    return uid === 'no-procs' ? [] : [55];
  }
}

class FakeApi implements faults.ClusterApi {
  annotations = new Map<string, Record<string, string>>();
  pods: Record<string, faults.PodInfo> = {
    'default/web': { namespace: 'default', name: 'web', uid: 'u1', nodeName: 'node-1', containers: ['app'], restartPolicy: 'Always' },
    'default/pending': { namespace: 'default', name: 'pending', uid: 'u2', containers: ['app'], restartPolicy: 'Always' },
  };
  up = true;
  async getPod(ns: string, name: string) {
    return this.pods[`${ns}/${name}`];
  }
  async annotatePod(ns: string, name: string, key: string, value: string | null) {
    const a = this.annotations.get(`${ns}/${name}`) ?? {};
    if (value === null) delete a[key];
    else a[key] = value;
    this.annotations.set(`${ns}/${name}`, a);
  }
  async healthy() {
    return this.up;
  }
}

let dir: string;
let rt: FakeRuntime;
let api: FakeApi;
let out: string[];
let ctx: faults.ChaosContext;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chaos-faults-'));
  rt = new FakeRuntime(dir);
  api = new FakeApi();
  out = [];
  ctx = { rt, registry: new FaultRegistry(dir), api: () => api, out: (l) => out.push(l), now: () => new Date('2026-01-01T00:00:00Z') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function refused(p: Promise<unknown>, msg: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChaosError);
  expect((err as Error).message).toMatch(msg);
  expect((err as Error).message).not.toContain('\n');
}

describe('bad targets change nothing', () => {
  it.each([
    ['kill-node', () => faults.killNode(ctx, 'node-9'), /no node "node-9" in cluster "demo" \(nodes: node-1, node-2\)/],
    ['kill-node of the control plane', () => faults.killNode(ctx, 'control-plane'), /no node "control-plane"/],
    ['pause-node', () => faults.pauseNode(ctx, 'nope'), /no node "nope"/],
    ['partition from an unknown machine', () => faults.partition(ctx, 'node-1', ['node-7']), /--from: no machine "node-7"/],
    ['partition from itself', () => faults.partition(ctx, 'node-1', ['node-1']), /from itself/],
    ['netem with a bad value', () => faults.netem(ctx, 'node-1', { delay: 'soon' }), /--delay wants a time/],
    ['netem on an unknown node', () => faults.netem(ctx, 'node-3', { delay: '10ms' }), /no node "node-3"/],
    ['kill-pod of a missing pod', () => faults.killPod(ctx, 'default', 'ghost'), /pods "ghost" not found in namespace "default"/],
    ['kill-pod of an unscheduled pod', () => faults.killPod(ctx, 'default', 'pending'), /not scheduled/],
    ['fail-readiness of a missing pod', () => faults.failReadiness(ctx, 'other', 'web'), /pods "web" not found in namespace "other"/],
    ['kill of an unknown component', () => faults.killComponent(ctx, 'etcd'), /unknown component "etcd"/],
    ['kill kube-proxy without a node', () => faults.killComponent(ctx, 'kube-proxy'), /name one/],
    ['kill the LB on a node', () => faults.killComponent(ctx, 'load-balancer', 'node-1'), /give no node/],
    ['heal of an unknown machine', () => faults.heal(ctx, 'node-5'), /no machine "node-5"/],
  ])('%s', async (_what, run, msg) => {
    await refused(run(), msg);
    expect(rt.calls).toEqual([]);
    expect(ctx.registry.list()).toEqual([]);
    expect(api.annotations.size).toBe(0);
  });

  it('start-node of a running node, start of a running component, kill of a stopped one', async () => {
    await refused(faults.startNode(ctx, 'node-1'), /node-1 is running/);
    await refused(faults.startComponent(ctx, 'kube-proxy', 'node-2'), /running already/);
    rt.running_.delete('load-balancer');
    await refused(faults.killComponent(ctx, 'load-balancer'), /not running; start it with `kubemu chaos start load-balancer --name demo`/);
    expect(rt.calls).toEqual([]);
  });

  it('a powered-off node takes nothing but start-node', async () => {
    await faults.killNode(ctx, 'node-2');
    rt.calls = [];
    await refused(faults.killNode(ctx, 'node-2'), /node-2 is powered off; start it with `kubemu chaos start-node node-2 --name demo`/);
    await refused(faults.pauseNode(ctx, 'node-2'), /powered off/);
    await refused(faults.partition(ctx, 'node-2', []), /powered off/);
    await refused(faults.startComponent(ctx, 'kube-proxy', 'node-2'), /powered off/);
    expect(rt.calls).toEqual([]);
  });
});

describe('faults and heal', () => {
  it('kill-node powers off and records; start-node powers on and forgets', async () => {
    await faults.killComponent(ctx, 'kube-proxy', 'node-1');
    await faults.killNode(ctx, 'node-1');
    expect(rt.calls).toContain('off node-1');
    expect(ctx.registry.list().map((f) => `${f.kind} ${f.target}`)).toEqual(['kill-node node-1']);
    expect(out.join('\n')).toContain('undo: kubemu chaos start-node node-1 --name demo');
    await faults.startNode(ctx, 'node-1');
    expect(rt.calls).toContain('on node-1');
    expect(ctx.registry.list()).toEqual([]);
  });

  it('start-node of a node whose agent alone was killed starts just that', async () => {
    await faults.killComponent(ctx, 'node-agent', 'node-2');
    rt.calls = [];
    await faults.startNode(ctx, 'node-2');
    expect(rt.calls).toEqual(['start node-2/node-agent']);
    expect(ctx.registry.list()).toEqual([]);
  });

  it('pause records the frozen pids and resume hands them back', async () => {
    await faults.pauseNode(ctx, 'node-1');
    await refused(faults.pauseNode(ctx, 'node-1'), /paused already/);
    await faults.resumeNode(ctx, 'node-1');
    expect(rt.calls).toEqual(['pause node-1', 'resume node-1 1,2,3']);
    expect(ctx.registry.list()).toEqual([]);
  });

  it('partitions merge what they cut off, and heal NODE deletes the table', async () => {
    await faults.partition(ctx, 'node-1', []);
    await faults.partition(ctx, 'node-1', ['node-2']);
    const f = ctx.registry.find('partition', 'node-1');
    expect(f).toMatchObject({ from: ['control-plane', 'node-2'], cut: ['172.30.0.2', '172.30.0.12', '10.244.2.0/24'] });
    expect(rt.calls[1]).toContain('elements = { 172.30.0.2, 172.30.0.12, 10.244.2.0/24 }');
    expect(out.join('\n')).toMatch(/undo: kubemu chaos heal node-1 --name demo/);
    rt.calls = [];
    await faults.heal(ctx, 'node-1');
    expect(rt.calls).toEqual([`exec node-1 nft -f - <<table inet ${PARTITION_TABLE}\ndelete table inet ${PARTITION_TABLE}\n`]);
    expect(ctx.registry.list()).toEqual([]);
  });

  it('--from nodes is every other node', () => {
    expect(faults.partitionTargets(rt, 'node-2', ['nodes'])).toEqual({ from: ['node-1'], cut: ['172.30.0.11', '10.244.1.0/24'] });
  });

  it('netem runs tc in the node and clear removes it', async () => {
    await faults.netem(ctx, 'node-2', { delay: '100ms', jitter: '10ms' });
    await faults.clearNetem(ctx, 'node-2');
    expect(rt.calls).toEqual(['exec node-2 tc qdisc replace dev eth0 root netem delay 100ms 10ms', 'exec node-2 tc qdisc del dev eth0 root']);
    expect(ctx.registry.list()).toEqual([]);
  });

  it('netem on a kernel without sch_netem: one line, nothing recorded', async () => {
    rt.execResult = () => ({ code: 2, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n' });
    await refused(faults.netem(ctx, 'node-2', { delay: '100ms' }), /this kernel has no netem qdisc.*nothing was changed/);
    expect(ctx.registry.list()).toEqual([]);
  });

  it('kill-pod signals the pod on its node; a pod with no process is an error', async () => {
    await faults.killPod(ctx, 'default', 'web');
    expect(rt.calls).toEqual(['signal pod node-1 u1 SIGKILL']);
    expect(ctx.registry.list()).toEqual([]);
    api.pods['default/idle'] = { ...api.pods['default/web']!, name: 'idle', uid: 'no-procs' };
    await refused(faults.killPod(ctx, 'default', 'idle'), /no running container process/);
  });

  it('fail-readiness annotates the pod; restore removes it', async () => {
    await faults.failReadiness(ctx, 'default', 'web');
    expect(api.annotations.get('default/web')).toEqual({ 'chaos.kubemu.io/fail-readiness': 'true' });
    expect(ctx.registry.find('fail-readiness', 'default/web')).toBeDefined();
    await faults.restoreReadiness(ctx, 'default', 'web');
    expect(api.annotations.get('default/web')).toEqual({});
    expect(ctx.registry.list()).toEqual([]);
  });

  it('restart control-plane: SIGTERM, start, wait for the API', async () => {
    await faults.restartComponent(ctx, 'control-plane');
    expect(rt.calls).toEqual(['signal control-plane SIGTERM', 'start control-plane']);
    expect(ctx.registry.list()).toEqual([]);
  });

  it('heal undoes everything, newest first, the control plane before the rest', async () => {
    await faults.partition(ctx, 'node-2', []);
    await faults.failReadiness(ctx, 'default', 'web');
    await faults.killComponent(ctx, 'control-plane');
    await faults.pauseNode(ctx, 'node-1');
    await faults.killComponent(ctx, 'load-balancer');
    rt.calls = [];
    await faults.heal(ctx);
    expect(rt.calls).toEqual(['start control-plane', 'start load-balancer', 'resume node-1 1,2,3', 'exec node-2 nft -f - <<table inet kubemu-chaos\ndelete table inet kubemu-chaos\n']);
    expect(api.annotations.get('default/web')).toEqual({});
    expect(ctx.registry.list()).toEqual([]);
    out = [];
    await faults.heal(ctx);
    expect(out).toEqual(['no active faults in cluster "demo"']);
  });

  it('heal does not start a component someone already started', async () => {
    await faults.killComponent(ctx, 'kube-proxy', 'node-1');
    rt.running_.add('node-1/kube-proxy');
    rt.calls = [];
    await faults.heal(ctx);
    expect(rt.calls).toEqual([]);
    expect(ctx.registry.list()).toEqual([]);
  });

  it('heal reports what it could not undo and keeps it', async () => {
    await faults.partition(ctx, 'node-1', []);
    rt.exec = async () => {
      throw new Error('nft: boom\nmore');
    };
    await refused(faults.heal(ctx), /could not heal node-1 partitioned from control-plane: nft: boom/);
    expect(ctx.registry.list()).toHaveLength(1);
  });
});
