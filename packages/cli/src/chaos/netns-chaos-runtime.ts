/**
 * ChaosRuntime for the netns runtime: machines are network namespaces on
 * this machine, components are the processes `kubemu up` recorded in
 * cluster.json (with the arguments to start them again), pods' processes
 * are whatever lives in their sandbox namespaces. Signals do kill and pause;
 * tools run in a machine with nsenter (@kubemu/netns).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PodSandbox } from '@kubemu/node-agent';
import { NS_ETH, inNetns, killNetnsProcesses, netnsIsLive, netnsPids, podNetnsName, type RunOptions, type RunResult } from '@kubemu/netns';
import { RUN_ROOT, clusterDir, kubeconfigPath, readRecord, saveRecord, startProcess, type ClusterRecord } from '../runtime/netns-runtime.js';
import { POWER_OFF_TABLE, deleteTableScript, powerOffRuleset } from './nft.js';
import { ChaosError, componentLabel, type ChaosRuntime, type ComponentName, type ComponentRef, type Machine } from './runtime.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while `pid` exists and is not a zombie. */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function signal(pids: Iterable<number>, sig: NodeJS.Signals): number[] {
  const done: number[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, sig);
      done.push(pid);
    } catch {
      // gone
    }
  }
  return done;
}

export class NetnsChaosRuntime implements ChaosRuntime {
  readonly kind = 'netns';
  readonly cluster: string;
  readonly stateDir: string;
  readonly kubeconfig: string;
  readonly nodeSubnet: string;
  #rec: ClusterRecord;

  private constructor(rec: ClusterRecord) {
    this.#rec = rec;
    this.cluster = rec.name;
    this.stateDir = clusterDir(rec.name);
    this.kubeconfig = kubeconfigPath(rec.name);
    this.nodeSubnet = rec.subnet;
  }

  /** The runtime of cluster `name`; a ChaosError when there is none here or none of its processes runs. */
  static open(name: string): NetnsChaosRuntime {
    const rec = readRecord(name);
    if (!rec) throw new ChaosError(`no cluster "${name}" here; start one with \`sudo npx kubemu up${name === 'kubemu' ? '' : ` --name ${name}`}\``);
    if (!Object.values(rec.pids).some(pidAlive)) throw new ChaosError(`cluster "${name}" is not running (none of its processes is alive); \`kubemu down --name ${name}\` cleans up`);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new ChaosError('kubemu chaos signals the cluster\'s processes and enters its namespaces: run it with sudo');
    return new NetnsChaosRuntime(rec);
  }

  machines(): Machine[] {
    const r = this.#rec;
    const out: Machine[] = [{ name: 'control-plane', role: 'control-plane', ip: r.controlPlane.ip }];
    if (r.loadBalancer) out.push({ name: 'load-balancer', role: 'load-balancer', ip: r.loadBalancer.ip });
    for (const n of r.nodes) out.push({ name: n.name, role: 'node', ip: n.ip, podCIDR: n.podCIDR });
    return out;
  }

  components(machine: string): ComponentName[] {
    const m = this.#machine(machine);
    return m.role === 'node' ? ['node-agent', 'kube-proxy'] : [m.role];
  }

  #machine(name: string): Machine {
    const m = this.machines().find((x) => x.name === name);
    if (!m) throw new ChaosError(`no machine "${name}" in cluster "${this.cluster}"`);
    return m;
  }

  #netns(machine: string): string {
    const r = this.#rec;
    if (machine === 'control-plane') return r.controlPlane.netns;
    if (machine === 'load-balancer' && r.loadBalancer) return r.loadBalancer.netns;
    const n = r.nodes.find((x) => x.name === machine);
    if (!n) throw new ChaosError(`no machine "${machine}" in cluster "${this.cluster}"`);
    return n.netns;
  }

  #pid(ref: ComponentRef): number | undefined {
    this.#rec = readRecord(this.cluster) ?? this.#rec;
    return this.#rec.pids[componentLabel(ref)];
  }

  running(ref: ComponentRef): boolean {
    return pidAlive(this.#pid(ref));
  }

  async signalComponent(ref: ComponentRef, sig: NodeJS.Signals): Promise<number[]> {
    const pid = this.#pid(ref);
    return pidAlive(pid) ? signal([pid!], sig) : [];
  }

  async waitGone(ref: ComponentRef, timeoutMs: number): Promise<boolean> {
    const pid = this.#pid(ref);
    const deadline = Date.now() + timeoutMs;
    while (pidAlive(pid)) {
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }

  async startComponent(ref: ComponentRef): Promise<number> {
    const rec = readRecord(this.cluster) ?? this.#rec;
    let pid: number;
    try {
      pid = startProcess(rec, componentLabel(ref));
    } catch (e) {
      throw new ChaosError((e as Error).message);
    }
    saveRecord(rec);
    this.#rec = rec;
    return pid;
  }

  exec(machine: string, cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return inNetns(this.#netns(machine), cmd, args, opts);
  }

  /** The network namespaces of a machine's processes: its own, and on a node its pods' sandboxes. */
  async #namespaces(machine: string): Promise<string[]> {
    const ns = this.#netns(machine);
    if (this.#machine(machine).role !== 'node') return [ns];
    const pods = await PodSandbox.list(this.cluster, ns);
    return [ns, ...pods.map((p) => p.netns)];
  }

  async #processes(machine: string): Promise<number[]> {
    const all = (await Promise.all((await this.#namespaces(machine)).map(netnsPids))).flat();
    return [...new Set(all)].filter((p) => p !== process.pid && pidAlive(p));
  }

  async pauseMachine(machine: string): Promise<number[]> {
    // Again until nothing new turns up: a process may start one while the others are being stopped.
    const stopped = new Set<number>();
    for (let pass = 0; pass < 5; pass++) {
      const fresh = (await this.#processes(machine)).filter((p) => !stopped.has(p));
      if (!fresh.length) break;
      for (const p of signal(fresh, 'SIGSTOP')) stopped.add(p);
    }
    return [...stopped];
  }

  async resumeMachine(machine: string, pids: readonly number[]): Promise<number[]> {
    const now = await this.#processes(machine);
    return signal(new Set([...pids.filter(pidAlive), ...now]), 'SIGCONT');
  }

  async powerOff(machine: string): Promise<number[]> {
    const ns = this.#netns(machine);
    await inNetns(ns, 'nft', ['-f', '-'], { input: powerOffRuleset(NS_ETH) });
    return killNetnsProcesses(await this.#namespaces(machine));
  }

  async poweredOff(machine: string): Promise<boolean> {
    const ns = this.#netns(machine);
    if (!(await netnsIsLive(ns))) return false;
    const r = await inNetns(ns, 'nft', ['list', 'table', 'inet', POWER_OFF_TABLE], { allowFail: true });
    return r.code === 0;
  }

  async powerOn(machine: string): Promise<number[]> {
    await inNetns(this.#netns(machine), 'nft', ['-f', '-'], { input: deleteTableScript(POWER_OFF_TABLE) });
    const pids: number[] = [];
    for (const c of this.components(machine)) {
      const ref = { machine, component: c };
      if (!this.running(ref)) pids.push(await this.startComponent(ref));
    }
    return pids;
  }

  async signalPod(machine: string, podUid: string, sig: NodeJS.Signals): Promise<number[]> {
    const pids = new Set<number>();
    const podNs = podNetnsName(this.cluster, podUid);
    if (await netnsIsLive(podNs)) for (const p of await netnsPids(podNs)) pids.add(p);
    // hostNetwork pods share the node's namespace: their recorded container pids, if still theirs.
    const pidDir = join(RUN_ROOT, this.cluster, machine, 'pods', podUid, 'pids');
    let files: string[] = [];
    try {
      files = readdirSync(pidDir).filter((f) => f.endsWith('.pid'));
    } catch {
      // none
    }
    const nodeIno = inode(`/run/netns/${this.#netns(machine)}`);
    for (const f of files) {
      const pid = Number(readFileSync(join(pidDir, f), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid) && (inode(`/proc/${pid}/ns/net`) === nodeIno || pids.has(pid))) pids.add(pid);
    }
    return signal([...pids].filter(pidAlive), sig);
  }
}

function inode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}
