import { describe, expect, it } from 'vitest';
import { UsageSampler, readProcs, type ProcInfo } from './usage-sampler.js';

const NODE_NS = 1000;
const POD_NS = 2000;

function proc(pid: number, ppid: number, ticks: number, rssMiB: number, netns: number, start = 1): ProcInfo {
  return { pid, ppid, ticks, start, rssBytes: rssMiB * 1024 * 1024, netns };
}

describe('UsageSampler', () => {
  it('reports nothing on the first sample, then CPU over the window and resident memory per container and node', () => {
    let procs: ProcInfo[] = [
      proc(10, 1, 500, 50, NODE_NS), // the node agent
      proc(20, 10, 100, 10, POD_NS), // container main process
      proc(21, 20, 0, 5, POD_NS), // its child
      proc(99, 1, 7000, 300, 3000), // another node's process
    ];
    const s = new UsageSampler(() => procs);
    const containers = [{ namespace: 'default', pod: 'busy', container: 'c', pid: 20 }];
    expect(s.sample(10_000, containers, new Set([NODE_NS, POD_NS]))).toBeUndefined();
    procs = [
      proc(10, 1, 520, 50, NODE_NS),
      proc(20, 10, 150, 10, POD_NS),
      proc(21, 20, 200, 5, POD_NS), // 200 ticks in 10 s = 0.2 core
      proc(99, 1, 9000, 300, 3000),
    ];
    const u = s.sample(20_000, containers, new Set([NODE_NS, POD_NS]))!;
    expect(u.windowSeconds).toBe(10);
    // container: (50 + 200) ticks / 100 Hz / 10 s = 0.25 cores; 15 MiB
    expect(u.pods.get('default/busy')!.containers.get('c')).toEqual({ cpu: 250_000_000, memory: 15 * 1024 * 1024 });
    // node: its own processes and its pods', not another node's
    expect(u.node).toEqual({ cpu: 270_000_000, memory: 65 * 1024 * 1024 });
  });

  it('does not count a reused pid\'s old time, and reports a gone container as zero', () => {
    let procs = [proc(20, 1, 1000, 10, POD_NS, 5)];
    const s = new UsageSampler(() => procs);
    const containers = [
      { namespace: 'default', pod: 'p', container: 'a', pid: 20 },
      { namespace: 'default', pod: 'p', container: 'gone', pid: 77 },
    ];
    s.sample(0 + 1, containers, new Set([POD_NS]));
    procs = [proc(20, 1, 30, 10, POD_NS, 9)]; // a new process with the same pid
    const u = s.sample(1001, containers, new Set([POD_NS]))!;
    expect(u.pods.get('default/p')!.containers.get('a')!.cpu).toBe(0);
    expect(u.pods.get('default/p')!.containers.get('gone')).toEqual({ cpu: 0, memory: 0 });
  });

  it('reads this machine\'s processes, itself included', () => {
    const me = readProcs().find((p) => p.pid === process.pid)!;
    expect(me.ppid).toBe(process.ppid);
    expect(me.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(me.netns).toBeGreaterThan(0);
  });
});
