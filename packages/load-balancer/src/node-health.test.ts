import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpProbe, NodeHealth, type HealthTarget, type Probe } from './node-health.js';

/** A probe the test answers: each call waits until the test resolves it (or answers at once from `auto`). */
class ControlledProbe {
  readonly calls: { t: HealthTarget; answer: (r: { ok: boolean; error?: string }) => void; fail: (e: unknown) => void }[] = [];
  /** key → answer given at once (no pending call). */
  readonly auto = new Map<string, boolean>();
  readonly probe: Probe = (t) => {
    const a = this.auto.get(t.key);
    if (a !== undefined) return Promise.resolve(a ? { ok: true } : { ok: false, error: 'HTTP 503' });
    return new Promise((answer, fail) => this.calls.push({ t: { key: t.key, ip: t.ip, port: t.port, path: t.path }, answer, fail }));
  };
  /** Answers the oldest pending call for `key`. */
  answer(key: string, ok: boolean, error?: string): void {
    const i = this.calls.findIndex((c) => c.t.key === key);
    if (i < 0) throw new Error(`no pending check of ${key}`);
    this.calls.splice(i, 1)[0]!.answer(ok ? { ok } : { ok, error: error ?? 'HTTP 503' });
  }
  pending(key: string): HealthTarget[] {
    return this.calls.filter((c) => c.t.key === key).map((c) => c.t);
  }
}

const proxy = (node: string, ip: string): HealthTarget => ({ key: `${node} proxy`, ip, port: 10256, path: '/healthz' });
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('NodeHealth', () => {
  let p: ControlledProbe;
  let h: NodeHealth;
  let changes: number;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  beforeEach(() => {
    p = new ControlledProbe();
    h = new NodeHealth({ periodMs: 60_000, timeoutMs: 500, probe: p.probe, now: () => 1_700_000_000_000 });
    changes = 0;
    h.onChange(() => changes++);
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    h.stop();
    process.off('unhandledRejection', onUnhandled);
    vi.useRealTimers();
  });

  it('counts a new target as unhealthy and checks it at once', async () => {
    h.setTargets([proxy('node-1', '172.30.0.11')]);
    expect(h.healthy('node-1 proxy')).toBe(false);
    expect(p.pending('node-1 proxy')).toEqual([proxy('node-1', '172.30.0.11')]);
    expect(h.status()).toEqual([{ ...proxy('node-1', '172.30.0.11'), healthy: false, checkedAt: 0 }]);
    p.answer('node-1 proxy', true);
    await tick();
    expect(h.healthy('node-1 proxy')).toBe(true);
    expect(h.status()[0]).toMatchObject({ healthy: true, checkedAt: 1_700_000_000_000, error: undefined });
    expect(h.healthy('node-9 proxy')).toBe(false);
  });

  it('takes a target out after one failed check and brings it back after one passed check', async () => {
    p.auto.set('node-1 proxy', true);
    h.setTargets([proxy('node-1', '172.30.0.11')]);
    await tick();
    expect(h.healthy('node-1 proxy')).toBe(true);
    p.auto.set('node-1 proxy', false);
    await h.checkAll();
    expect(h.healthy('node-1 proxy')).toBe(false);
    expect(h.status()[0]!.error).toBe('HTTP 503');
    p.auto.set('node-1 proxy', true);
    await h.checkAll();
    expect(h.healthy('node-1 proxy')).toBe(true);
    expect(h.status()[0]!.error).toBeUndefined();
  });

  it('tells its listeners when a target flips, not on every check', async () => {
    p.auto.set('node-1 proxy', true);
    h.setTargets([proxy('node-1', '172.30.0.11')]);
    await tick();
    expect(changes).toBe(1); // unknown → healthy
    await h.checkAll();
    await h.checkAll();
    expect(changes).toBe(1);
    p.auto.set('node-1 proxy', false);
    await h.checkAll();
    expect(changes).toBe(2);
    await h.checkAll();
    expect(changes).toBe(2);
    p.auto.set('node-1 proxy', true);
    await h.checkAll();
    expect(changes).toBe(3);
    // the same target list again changes nothing and checks nothing new
    h.setTargets([proxy('node-1', '172.30.0.11')]);
    await tick();
    expect(changes).toBe(3);
  });

  it('starts a target over when its address changes: unhealthy, checked at once at the new address', async () => {
    p.auto.set('node-1 proxy', true);
    h.setTargets([proxy('node-1', '172.30.0.11')]);
    await tick();
    p.auto.delete('node-1 proxy');
    const before = changes;
    h.setTargets([proxy('node-1', '172.30.0.21')]);
    expect(h.healthy('node-1 proxy')).toBe(false);
    expect(changes).toBe(before + 1);
    expect(p.pending('node-1 proxy').map((t) => t.ip)).toEqual(['172.30.0.21']);
    p.answer('node-1 proxy', true);
    await tick();
    expect(h.healthy('node-1 proxy')).toBe(true);
    // a new port is a new target too
    h.setTargets([{ ...proxy('node-1', '172.30.0.21'), port: 32000 }]);
    expect(h.healthy('node-1 proxy')).toBe(false);
    expect(p.pending('node-1 proxy').map((t) => t.port)).toEqual([32000]);
  });

  it('checks a changed address at once even while a check of the old one is still running, and ignores the old answer', async () => {
    h.setTargets([proxy('node-1', '172.30.0.11')]);
    expect(p.pending('node-1 proxy').map((t) => t.ip)).toEqual(['172.30.0.11']);
    h.setTargets([proxy('node-1', '172.30.0.21')]);
    expect(p.pending('node-1 proxy').map((t) => t.ip)).toEqual(['172.30.0.11', '172.30.0.21']);
    p.answer('node-1 proxy', true); // the old address answers: says nothing about the new one
    await tick();
    expect(h.healthy('node-1 proxy')).toBe(false);
    p.answer('node-1 proxy', false, 'connect ECONNREFUSED 172.30.0.21:10256');
    await tick();
    expect(h.status()[0]).toMatchObject({ ip: '172.30.0.21', healthy: false, error: 'connect ECONNREFUSED 172.30.0.21:10256' });
    expect(h.status()[0]!.checkedAt).toBeGreaterThan(0);
  });

  it('counts a probe that rejects or throws as a failed check, without an unhandled rejection', async () => {
    let mode: 'ok' | 'reject' | 'throw' = 'ok';
    const health = new NodeHealth({
      periodMs: 60_000,
      timeoutMs: 500,
      probe: (() => {
        if (mode === 'throw') throw new Error('probe blew up');
        return mode === 'reject' ? Promise.reject(new Error('socket hang up')) : Promise.resolve({ ok: true });
      }) as Probe,
    });
    health.setTargets([proxy('node-1', '172.30.0.11')]);
    await tick();
    expect(health.healthy('node-1 proxy')).toBe(true);
    mode = 'reject';
    await health.checkAll();
    expect(health.status()[0]).toMatchObject({ healthy: false, error: 'socket hang up' });
    mode = 'ok';
    await health.checkAll();
    expect(health.healthy('node-1 proxy')).toBe(true);
    mode = 'throw';
    await expect(health.checkAll()).resolves.toBeUndefined();
    expect(health.status()[0]).toMatchObject({ healthy: false, error: 'probe blew up' });
    // a new target whose first check throws (the check started by setTargets, which nobody awaits)
    health.setTargets([proxy('node-1', '172.30.0.11'), proxy('node-2', '172.30.0.12')]);
    await tick();
    await tick();
    expect(health.status().find((t) => t.key === 'node-2 proxy')).toMatchObject({ healthy: false, error: 'probe blew up' });
    mode = 'ok';
    await health.checkAll();
    expect(health.healthy('node-2 proxy')).toBe(true);
    expect(unhandled).toEqual([]);
  });

  it('forgets removed targets, tells its listeners, and ignores their late answers', async () => {
    p.auto.set('node-1 proxy', true);
    h.setTargets([proxy('node-1', '172.30.0.11'), proxy('node-2', '172.30.0.12')]);
    await tick();
    const before = changes;
    h.setTargets([proxy('node-2', '172.30.0.12')]);
    expect(changes).toBe(before + 1);
    expect(h.status().map((t) => t.key)).toEqual(['node-2 proxy']);
    expect(h.healthy('node-1 proxy')).toBe(false);
    // node-2's first check was still running: its answer arrives after it is removed
    h.setTargets([]);
    p.answer('node-2 proxy', true);
    await tick();
    expect(h.status()).toEqual([]);
    expect(h.healthy('node-2 proxy')).toBe(false);
  });

  it('checks every target once per period while started, and not after stop', async () => {
    vi.useFakeTimers();
    let n = 0;
    const health = new NodeHealth({ periodMs: 1000, timeoutMs: 500, probe: async () => (n++, { ok: true }) });
    health.setTargets([proxy('node-1', '172.30.0.11'), proxy('node-2', '172.30.0.12')]);
    expect(n).toBe(2);
    health.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(n).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(n).toBe(4);
    await vi.advanceTimersByTimeAsync(2000);
    expect(n).toBe(8);
    health.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(n).toBe(8);
  });

  it('runs one check per target at a time', async () => {
    h.setTargets([proxy('node-1', '172.30.0.11')]);
    void h.checkAll();
    void h.checkAll();
    expect(p.pending('node-1 proxy')).toHaveLength(1);
  });
});

describe('httpProbe', () => {
  it('passes on 200 and fails on another status, a refused connection or no answer in time', async () => {
    const hang: http.ServerResponse[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/healthz') res.writeHead(200).end('ok');
      else if (req.url === '/hang') hang.push(res);
      else res.writeHead(503).end('no local endpoints');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const t = (path: string, p = port): HealthTarget => ({ key: 'k', ip: '127.0.0.1', port: p, path });
      expect(await httpProbe(t('/healthz'), 1000)).toEqual({ ok: true });
      expect(await httpProbe(t('/other'), 1000)).toEqual({ ok: false, error: 'HTTP 503' });
      expect(await httpProbe(t('/hang'), 100)).toEqual({ ok: false, error: 'no answer within 100 ms' });
      // a port where nothing listens (this server's, once closed)
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const dead = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const refused = await httpProbe(t('/healthz', dead), 1000);
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatch(/ECONNREFUSED/);
    } finally {
      for (const r of hang) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
