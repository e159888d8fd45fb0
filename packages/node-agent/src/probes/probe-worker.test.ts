import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProbeWorker } from './probe-worker.js';

afterEach(() => vi.useRealTimers());

async function ticks(n: number, periodMs: number): Promise<void> {
  for (let i = 0; i < n; i++) await vi.advanceTimersByTimeAsync(periodMs);
}

describe('ProbeWorker', () => {
  it('readiness starts failed, turns ready after successThreshold, unready after failureThreshold', async () => {
    vi.useFakeTimers();
    const results = [true, true, false, false, false, true];
    let i = 0;
    const changes: boolean[] = [];
    const w = new ProbeWorker('Readiness', { periodSeconds: 1, successThreshold: 2, failureThreshold: 3 }, async () => ({ ok: results[i++] ?? true, message: 'x' }), {
      onChange: (ok) => changes.push(ok),
      onFailure: () => {},
    });
    expect(w.result).toBe(false);
    w.start();
    await ticks(7, 1000);
    w.stop();
    expect(changes).toEqual([true, false, true]);
  });

  it('waits initialDelaySeconds, and liveness fails only after failureThreshold consecutive failures', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const failures: string[] = [];
    const changes: boolean[] = [];
    const w = new ProbeWorker('Liveness', { initialDelaySeconds: 5, periodSeconds: 2, failureThreshold: 3 }, async () => (calls++, { ok: false, message: `fail ${calls}` }), {
      onChange: (ok) => changes.push(ok),
      onFailure: (r) => failures.push(r.message),
    });
    expect(w.result).toBe(true);
    w.start();
    await vi.advanceTimersByTimeAsync(4900);
    expect(calls).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toBe(1);
    await ticks(2, 2000);
    expect(failures).toEqual(['fail 1', 'fail 2', 'fail 3']);
    expect(changes).toEqual([false]);
    w.stop();
  });
});
