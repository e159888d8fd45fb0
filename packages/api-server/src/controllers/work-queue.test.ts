import { describe, expect, it } from 'vitest';
import { errors } from '@kubemu/api';
import { WorkQueue } from './work-queue.js';
import { eventually, testLogger } from '../testing/controllers.js';

const log = testLogger();

describe('WorkQueue', () => {
  it('coalesces a key added many times before it is handled', async () => {
    const seen: string[] = [];
    const q = new WorkQueue((k) => void seen.push(k), { name: 't', log });
    for (let i = 0; i < 5; i++) q.add('a');
    q.add('b');
    q.add('a');
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('handles a key again when it is added while being handled', async () => {
    const seen: string[] = [];
    let first = true;
    const q = new WorkQueue(
      async (k) => {
        seen.push(k);
        if (first) {
          first = false;
          q.add('a');
          q.add('a');
          await new Promise((r) => setTimeout(r, 5));
        }
      },
      { name: 't', log },
    );
    q.add('a');
    await eventually(() => expect(seen).toEqual(['a', 'a']));
    await q.idle();
    expect(seen).toEqual(['a', 'a']);
  });

  it('never runs two handlers at once', async () => {
    let inFlight = 0;
    let max = 0;
    const q = new WorkQueue(
      async () => {
        inFlight++;
        max = Math.max(max, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
      },
      { name: 't', log },
    );
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await q.idle();
    expect(max).toBe(1);
  });

  it('retries a failing key with backoff until it succeeds, without unhandled rejections', async () => {
    let calls = 0;
    const times: number[] = [];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        calls++;
        if (calls < 4) throw new Error('boom');
      },
      { name: 't', log, baseDelayMs: 5 },
    );
    q.add('x');
    await eventually(() => expect(calls).toBe(4));
    expect(q.failures('x')).toBe(0);
    // 5, 10, 20 ms backoff between attempts (timers may fire a little late, never early).
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(30);
  });

  it('retries 409 Conflict quickly', async () => {
    let calls = 0;
    const q = new WorkQueue(
      () => {
        calls++;
        if (calls === 1) throw errors.conflict({ group: '', resource: 'endpoints', name: 'x' }, 'the object has been modified');
      },
      { name: 't', log, baseDelayMs: 10_000 },
    );
    q.add('x');
    await eventually(() => expect(calls).toBe(2), 1000);
  });

  it('addAfter delays, and the earliest pending delay wins', async () => {
    const seen: string[] = [];
    const q = new WorkQueue((k) => void seen.push(k), { name: 't', log });
    q.addAfter('late', 40);
    q.addAfter('late', 10);
    await new Promise((r) => setTimeout(r, 25));
    expect(seen).toEqual(['late']);
    await new Promise((r) => setTimeout(r, 30));
    expect(seen).toEqual(['late']);
  });

  it('stop drops waiting keys and pending retries', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(
      (k) => {
        seen.push(k);
        throw new Error('fail');
      },
      { name: 't', log, baseDelayMs: 5 },
    );
    q.add('a');
    await eventually(() => expect(seen.length).toBeGreaterThan(0));
    q.stop();
    const n = seen.length;
    q.add('b');
    await new Promise((r) => setTimeout(r, 30));
    expect(seen.length).toBe(n);
    await q.idle();
  });
});
