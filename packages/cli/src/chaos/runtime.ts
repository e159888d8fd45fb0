/**
 * What `kubemu chaos` needs of a runtime. The faults (faults.ts) are written
 * against this interface only: the netns runtime implements it with signals
 * and nsenter (netns-chaos-runtime.ts); a docker runtime would implement it
 * with `docker kill/pause/start` and `docker exec`, and get every fault built
 * from `exec` (partitions with nft, netem with tc) unchanged.
 */
import type { RunOptions, RunResult } from '@kubemu/netns';

export type MachineRole = 'control-plane' | 'node' | 'load-balancer';

/** A machine of the cluster: a network host (a namespace, or a container). */
export interface Machine {
  /** `control-plane`, `load-balancer`, `node-1`, … */
  name: string;
  role: MachineRole;
  /** Its address on the node network. */
  ip: string;
  /** Nodes: the pod CIDR routed to it. */
  podCIDR?: string;
}

/** The cluster's long-running processes. */
export const COMPONENTS = ['control-plane', 'node-agent', 'kube-proxy', 'load-balancer'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** Which machine runs a component: the control plane and the LB have their own, the others run on every node. */
export interface ComponentRef {
  component: ComponentName;
  machine: string;
}

export function componentLabel(ref: ComponentRef): string {
  return ref.component === ref.machine ? ref.component : `${ref.machine}/${ref.component}`;
}

/** A bad target or a cluster that cannot take the fault: one line for the user, nothing changed. */
export class ChaosError extends Error {}

export interface ChaosRuntime {
  /** `netns`, `docker`: for messages. */
  readonly kind: string;
  readonly cluster: string;
  /** Where chaos.json (the active faults) lives. */
  readonly stateDir: string;
  /** The cluster's kubeconfig (for faults that go through the API). */
  readonly kubeconfig: string;
  /** The machines' network (e.g. 172.30.0.0/24): where traffic to the cluster may go. */
  readonly nodeSubnet: string;

  machines(): Machine[];
  /** The components `machine` runs (a node: node-agent and kube-proxy). */
  components(machine: string): ComponentName[];
  /** True while the component's process runs (a paused one counts as running). */
  running(ref: ComponentRef): boolean;
  /** Sends `signal` to the component's process; returns the pids signalled (none when it is not running). */
  signalComponent(ref: ComponentRef, signal: NodeJS.Signals): Promise<number[]>;
  /** Waits until the component's process is gone; false after `timeoutMs`. */
  waitGone(ref: ComponentRef, timeoutMs: number): Promise<boolean>;
  /** Starts the component again as the cluster started it; returns its pid. */
  startComponent(ref: ComponentRef): Promise<number>;

  /** Runs a host tool (nft, tc, ip, …) inside the machine's network namespace. */
  exec(machine: string, cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;

  /** Freezes every process of the machine (its components and, on a node, its pods); returns the pids frozen. */
  pauseMachine(machine: string): Promise<number[]>;
  /** Thaws what pauseMachine froze (`pids`, and whatever of the machine is still stopped). */
  resumeMachine(machine: string, pids: readonly number[]): Promise<number[]>;
  /** "Power off": SIGKILL every process of the machine and cut its network; returns the pids killed. */
  powerOff(machine: string): Promise<number[]>;
  /** "Power on" after powerOff: its network back, then its components started again; returns their pids. */
  powerOn(machine: string): Promise<number[]>;
  /** True while the machine is powered off (powerOff without powerOn). */
  poweredOff(machine: string): Promise<boolean>;

  /** Sends `signal` to every process of pod `podUid`'s containers on node `machine`; returns the pids. */
  signalPod(machine: string, podUid: string, signal: NodeJS.Signals): Promise<number[]>;
}
