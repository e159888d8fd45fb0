/**
 * `kubemu chaos netem NODE --delay 100ms [--jitter 20ms] [--loss 5%] [--rate 10mbit]`:
 * checks the values and builds the tc command for the node's eth0.
 */
import { ChaosError } from './runtime.js';

export interface NetemSpec {
  delay?: string;
  jitter?: string;
  loss?: string;
  rate?: string;
}

const TIME_RE = /^(\d+(?:\.\d+)?)(us|ms|s)$/;
const LOSS_RE = /^(\d+(?:\.\d+)?)%$/;
const RATE_RE = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/;
const US = { us: 1, ms: 1000, s: 1_000_000 } as const;

function micros(flag: string, v: string): number {
  const m = TIME_RE.exec(v);
  if (!m) throw new ChaosError(`${flag} wants a time like 100ms, 250us or 1s, got "${v}"`);
  const us = Number(m[1]) * US[m[2] as keyof typeof US];
  if (us > 60_000_000) throw new ChaosError(`${flag} ${v} is more than 60s`);
  return us;
}

/** The values, checked; a ChaosError names the first bad one. */
export function validateNetem(o: NetemSpec): NetemSpec {
  const out: NetemSpec = {};
  if (o.jitter !== undefined && o.delay === undefined) throw new ChaosError('--jitter needs --delay (jitter varies the delay)');
  if (o.delay !== undefined) {
    micros('--delay', o.delay);
    out.delay = o.delay;
  }
  if (o.jitter !== undefined) {
    if (micros('--jitter', o.jitter) > micros('--delay', o.delay!)) throw new ChaosError(`--jitter ${o.jitter} is larger than --delay ${o.delay}`);
    out.jitter = o.jitter;
  }
  if (o.loss !== undefined) {
    const m = LOSS_RE.exec(o.loss);
    if (!m || Number(m[1]) > 100) throw new ChaosError(`--loss wants a percentage from 0% to 100%, like 5%, got "${o.loss}"`);
    out.loss = o.loss;
  }
  if (o.rate !== undefined) {
    const m = RATE_RE.exec(o.rate);
    if (!m || Number(m[1]) <= 0) throw new ChaosError(`--rate wants a rate like 10mbit, 512kbit or 1gbit, got "${o.rate}"`);
    out.rate = o.rate;
  }
  if (out.delay === undefined && out.loss === undefined && out.rate === undefined) throw new ChaosError('netem wants at least one of --delay, --loss, --rate (or `clear`)');
  return out;
}

/** `tc` arguments that set (or replace) the netem qdisc on `dev`. */
export function netemArgs(dev: string, s: NetemSpec): string[] {
  const args = ['qdisc', 'replace', 'dev', dev, 'root', 'netem'];
  if (s.delay !== undefined) args.push('delay', s.delay, ...(s.jitter !== undefined ? [s.jitter] : []));
  if (s.loss !== undefined) args.push('loss', s.loss);
  if (s.rate !== undefined) args.push('rate', s.rate);
  return args;
}

/** `tc` arguments that remove it (the device gets its default qdisc back). */
export function netemClearArgs(dev: string): string[] {
  return ['qdisc', 'del', 'dev', dev, 'root'];
}

/** "delay 100ms ±20ms, loss 5%", for messages. */
export function describeNetem(s: NetemSpec): string {
  const parts: string[] = [];
  if (s.delay !== undefined) parts.push(`delay ${s.delay}${s.jitter !== undefined ? ` ±${s.jitter}` : ''}`);
  if (s.loss !== undefined) parts.push(`loss ${s.loss}`);
  if (s.rate !== undefined) parts.push(`rate ${s.rate}`);
  return parts.join(', ');
}
