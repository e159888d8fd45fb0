import { describe, expect, it } from 'vitest';
import { describeNetem, netemArgs, netemClearArgs, validateNetem } from './netem.js';
import { ChaosError } from './runtime.js';

describe('validateNetem', () => {
  it('accepts times, percentages and rates', () => {
    expect(validateNetem({ delay: '100ms', jitter: '20ms', loss: '5%', rate: '10mbit' })).toEqual({ delay: '100ms', jitter: '20ms', loss: '5%', rate: '10mbit' });
    expect(validateNetem({ delay: '1.5s' })).toEqual({ delay: '1.5s' });
    expect(validateNetem({ loss: '0.1%' })).toEqual({ loss: '0.1%' });
    expect(validateNetem({ rate: '512kbit' })).toEqual({ rate: '512kbit' });
  });
  it.each([
    [{ delay: '100' }, /--delay wants a time like 100ms/],
    [{ delay: '-5ms' }, /--delay wants a time/],
    [{ delay: '2m' }, /--delay wants a time/],
    [{ delay: '61s' }, /more than 60s/],
    [{ jitter: '5ms' }, /--jitter needs --delay/],
    [{ delay: '10ms', jitter: '20ms' }, /larger than --delay/],
    [{ loss: '5' }, /--loss wants a percentage/],
    [{ loss: '101%' }, /--loss wants a percentage/],
    [{ rate: '10 mbit' }, /--rate wants a rate/],
    [{ rate: '0mbit' }, /--rate wants a rate/],
    [{ rate: 'fast' }, /--rate wants a rate/],
    [{}, /at least one of --delay, --loss, --rate/],
  ])('refuses %j with one line', (spec, msg) => {
    let err: unknown;
    try {
      validateNetem(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChaosError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('tc arguments', () => {
  it('builds one netem qdisc with every value given', () => {
    expect(netemArgs('eth0', { delay: '100ms', jitter: '20ms', loss: '5%', rate: '10mbit' })).toEqual(['qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', '100ms', '20ms', 'loss', '5%', 'rate', '10mbit']);
    expect(netemArgs('eth0', { loss: '1%' })).toEqual(['qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'loss', '1%']);
  });
  it('clears with a delete of the root qdisc', () => {
    expect(netemClearArgs('eth0')).toEqual(['qdisc', 'del', 'dev', 'eth0', 'root']);
  });
  it('describes the settings', () => {
    expect(describeNetem({ delay: '100ms', jitter: '20ms', loss: '5%' })).toBe('delay 100ms ±20ms, loss 5%');
  });
});
