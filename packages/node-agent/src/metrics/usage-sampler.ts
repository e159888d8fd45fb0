/**
 * CPU and memory of a node and its pods, from the kernel's per-process
 * accounting (/proc/<pid>/stat): a container is its main process and every
 * descendant; the node is every process in its network namespace or one of
 * its pods'. CPU is the difference of user+system time between two samples
 * (a process first seen counts from the next sample); memory is the sum of
 * resident sets (shared pages counted per process, as `ps` would).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Linux's USER_HZ: /proc times are in 1/100 s. */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** utime + stime, in ticks. */
  ticks: number;
  /** Process start, in ticks since boot (tells a reused pid apart). */
  start: number;
  rssBytes: number;
  /** Inode of its network namespace (0 when unreadable). */
  netns: number;
}

/** Every process /proc shows now (`root` for tests). */
export function readProcs(root = '/proc'): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync(root)) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`${root}/${d}/stat`, 'latin1');
      // comm may hold spaces and parentheses: fields start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      let netns = 0;
      try {
        netns = Number(/\[(\d+)\]/.exec(readlinkSync(`${root}/${d}/ns/net`))?.[1] ?? 0);
      } catch {
        /* gone, or not ours to read */
      }
      out.push({ pid: Number(d), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: Number(f[19]), rssBytes: Number(f[21]) * PAGE_SIZE, netns });
    } catch {
      /* the process ended while being read */
    }
  }
  return out;
}

export interface ContainerRef {
  namespace: string;
  pod: string;
  container: string;
  /** The container's main process. */
  pid: number;
}

export interface Usage {
  /** nanocores */
  cpu: number;
  /** bytes */
  memory: number;
}

export interface UsageSample {
  windowSeconds: number;
  node: Usage;
  pods: Map<string, { namespace: string; name: string; containers: Map<string, Usage> }>;
}

export class UsageSampler {
  /** pid → ticks and start at the previous sample */
  #last = new Map<number, { ticks: number; start: number }>();
  #lastAt = 0;
  readonly #read: () => ProcInfo[];

  constructor(read: () => ProcInfo[] = () => readProcs()) {
    this.#read = read;
  }

  /**
   * Usage since the previous call (undefined on the first: there is no window yet).
   * `nodeNetns`: the inodes of the node's and its pods' network namespaces.
   */
  sample(nowMs: number, containers: ContainerRef[], nodeNetns: Set<number>): UsageSample | undefined {
    const procs = this.#read();
    const prev = this.#last;
    const next = new Map<number, { ticks: number; start: number }>();
    const delta = new Map<number, number>();
    for (const p of procs) {
      next.set(p.pid, { ticks: p.ticks, start: p.start });
      const was = prev.get(p.pid);
      delta.set(p.pid, was && was.start === p.start ? Math.max(0, p.ticks - was.ticks) : 0);
    }
    const windowSeconds = (nowMs - this.#lastAt) / 1000;
    const first = this.#lastAt === 0;
    this.#last = next;
    this.#lastAt = nowMs;
    if (first || windowSeconds <= 0) return undefined;

    const nanocores = (ticks: number) => Math.round((ticks / TICKS_PER_SECOND / windowSeconds) * 1e9);
    const children = new Map<number, ProcInfo[]>();
    for (const p of procs) {
      const list = children.get(p.ppid);
      if (list) list.push(p);
      else children.set(p.ppid, [p]);
    }
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    const subtree = (root: number): Usage => {
      let ticks = 0;
      let memory = 0;
      const stack = [root];
      const seen = new Set<number>();
      while (stack.length) {
        const pid = stack.pop()!;
        if (seen.has(pid)) continue;
        seen.add(pid);
        const p = byPid.get(pid);
        if (!p) continue;
        ticks += delta.get(pid) ?? 0;
        memory += p.rssBytes;
        for (const c of children.get(pid) ?? []) stack.push(c.pid);
      }
      return { cpu: nanocores(ticks), memory };
    };
    const pods: UsageSample['pods'] = new Map();
    for (const c of containers) {
      const key = `${c.namespace}/${c.pod}`;
      let pod = pods.get(key);
      if (!pod) pods.set(key, (pod = { namespace: c.namespace, name: c.pod, containers: new Map() }));
      pod.containers.set(c.container, byPid.has(c.pid) ? subtree(c.pid) : { cpu: 0, memory: 0 });
    }
    let nodeTicks = 0;
    let nodeMemory = 0;
    for (const p of procs) {
      if (!nodeNetns.has(p.netns)) continue;
      nodeTicks += delta.get(p.pid) ?? 0;
      nodeMemory += p.rssBytes;
    }
    return { windowSeconds, node: { cpu: nanocores(nodeTicks), memory: nodeMemory }, pods };
  }
}
