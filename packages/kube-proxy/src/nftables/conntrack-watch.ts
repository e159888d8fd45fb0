/**
 * The `conntrack -E` child behind a connection stream, run in this process's
 * network namespace only while someone watches (ConnFanout's first/last
 * hooks call start/stop). Its lines go through ConntrackEventMapper; closes
 * get their byte counts from one `conntrack -L` listing per batch (at most
 * one listing at a time, the first — adopting the flows already open —
 * included; a batch every 200 ms at most). A listing costs in
 * proportion to the whole table (every TIME_WAIT flow of the last 2 min: a
 * load test makes tens of thousands), so listings are budgeted to ~5 % of
 * the time (after one that took d ms, the next waits 20·d ms); closes that
 * would wait longer than 1 s for it go out without counters
 * (`bytesUnknown`). A child that dies is
 * started again (an error line tells the watchers); a missing `conntrack`
 * ends the streams with one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { tool } from '@kubemu/netns';
import type { ConnStreamItem } from '../conn-events.js';
import { listDnatFlows, parseConntrackLine, type CtFlow } from './conntrack-flows.js';
import { ConntrackEventMapper, parseConntrackEvent, peekConntrackEvent, type PortLookup } from './conntrack-events.js';

export interface ConntrackWatchOptions {
  node: string;
  log: Logger;
  /** Follow forwarded flows (nftables data planes); false: refusals only (userspace relays report the rest). */
  lifecycle: boolean;
  /** The Service ports now (asked for every event that may be one: keep it cached). */
  lookup: () => PortLookup;
  emit: (item: ConnStreamItem) => void;
  /** The stream cannot go on: an error line and the end. */
  fail: (message: string) => void;
  /** Starts `conntrack` with these arguments (tests pass a fake). */
  spawn?: (args: string[]) => ChildProcess;
  /** `conntrack -L -o extended,id` lines of the DNATed TCP flows (tests pass a fake). */
  list?: () => Promise<string[]>;
  /** Waits before starting a dead child again, growing per death in a row. */
  restartDelaysMs?: number[];
  settleDelayMs?: number;
  /** Longest a close waits for a listing before it goes out without counters (default 1000 ms). */
  maxCountersWaitMs?: number;
  now?: () => number;
}

/** A listing may take this share of the time at most (the next waits duration ÷ share). */
const LISTING_SHARE = 0.05;

export function conntrackEventArgs(lifecycle: boolean): string[] {
  return ['-E', '-e', lifecycle ? 'NEW,UPDATE,DESTROY' : 'NEW', '-o', 'extended,id'];
}

/** The DNATed TCP flows with their ids; none when conntrack cannot list (the closes go out without counters). */
const listDnatTcp = (): Promise<string[]> => listDnatFlows({ tcpOnly: true, ids: true }).catch(() => []);

/** The flows of `conntrack -L -o extended,id` lines by id. */
function byConntrackId(lines: string[]): Map<string, CtFlow> {
  const byId = new Map<string, CtFlow>();
  for (const l of lines) {
    const id = /\bid=(\d+)\s*$/.exec(l)?.[1];
    const f = id && parseConntrackLine(l);
    if (f) byId.set(id, f);
  }
  return byId;
}

export class ConntrackWatch {
  readonly #o: ConntrackWatchOptions;
  readonly #mapper: ConntrackEventMapper;
  #child?: ChildProcess;
  #wanted = false;
  #deaths = 0;
  #restartTimer?: NodeJS.Timeout;
  #settleTimer?: NodeJS.Timeout;
  /** A listing runs (adopting or settling): one at a time. */
  #listing = false;
  /** The watch (re)started: the flows already open are still to be adopted. */
  #adoptWanted = false;
  /** No listing before this (the budget after the last one). */
  #nextListingAt = 0;

  constructor(o: ConntrackWatchOptions) {
    this.#o = o;
    this.#mapper = new ConntrackEventMapper({ node: o.node, lifecycle: o.lifecycle, lookup: (p, ip, port) => o.lookup()(p, ip, port) });
  }

  /** True while a conntrack child runs (tests). */
  get running(): boolean {
    return !!this.#child;
  }

  get mapper(): ConntrackEventMapper {
    return this.#mapper;
  }

  start(): void {
    const starting = !this.#wanted;
    this.#wanted = true;
    this.#deaths = 0;
    if (!this.#child && !this.#restartTimer) this.#spawn();
    if (starting && this.#o.lifecycle) {
      this.#adoptWanted = true;
      void this.#adoptLive();
    }
  }

  /** Follows the connections already open as the watch starts (their closes are told; no opens). */
  async #adoptLive(): Promise<void> {
    if (this.#listing || !this.#adoptWanted) return;
    this.#adoptWanted = false;
    await this.#listThen((flows) => this.#mapper.adopt(flows));
  }

  /** One listing (the only one running) whose flows, by id, go to `use` while the watch is wanted. */
  async #listThen(use: (flows: Map<string, CtFlow>) => void): Promise<void> {
    this.#listing = true;
    try {
      const lines = await this.#listBudgeted();
      if (this.#wanted) use(byConntrackId(lines));
    } finally {
      this.#listed();
    }
  }

  /** A listing ended: an adoption waiting for it goes next, then the closes that came in meanwhile get theirs. */
  #listed(): void {
    this.#listing = false;
    if (!this.#wanted) return;
    if (this.#adoptWanted) return void this.#adoptLive();
    if (this.#mapper.pending && !this.#settleTimer) this.#settleTimer = setTimeout(() => void this.#settle(), this.#o.settleDelayMs ?? 200);
  }

  /** A listing of the DNATed TCP flows; the next may come when this one's share of the time is spent. */
  async #listBudgeted(): Promise<string[]> {
    const now = this.#o.now ?? Date.now;
    const t0 = now();
    const lines = await (this.#o.list ?? listDnatTcp)();
    this.#nextListingAt = now() + (now() - t0) / LISTING_SHARE;
    return lines;
  }

  stop(): void {
    this.#wanted = false;
    this.#adoptWanted = false;
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#settleTimer);
    this.#restartTimer = this.#settleTimer = undefined;
    const c = this.#child;
    this.#child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    this.#mapper.reset();
  }

  #spawn(): void {
    this.#restartTimer = undefined;
    if (!this.#wanted) return;
    const args = conntrackEventArgs(this.#o.lifecycle);
    let child: ChildProcess;
    try {
      child = this.#o.spawn ? this.#o.spawn(args) : spawn(tool('conntrack'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      return this.#died(undefined, `cannot start conntrack: ${(e as Error).message}`);
    }
    this.#child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
    // Split by hand (a busy node prints tens of thousands of lines a second; readline's per-line events cost more)
    let rest = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const text = rest + chunk;
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        this.#onLine(text.slice(from, nl));
        from = nl + 1;
      }
      rest = text.slice(from);
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (e.code === 'ENOENT') {
        this.#wanted = false;
        this.#o.log.warn('conntrack is not installed; no live connection events');
        this.#o.fail('conntrack is not installed; install the conntrack package to watch connections');
        return;
      }
      this.#died(child, `conntrack failed: ${e.message}`);
    });
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      const why = stderr.trim().split('\n').filter((l) => !l.startsWith('NOTICE')).pop();
      this.#died(child, `conntrack -E exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`);
    });
  }

  #died(_child: ChildProcess | undefined, message: string): void {
    if (!this.#wanted) return;
    const delays = this.#o.restartDelaysMs ?? [200, 1000, 5000, 10_000];
    const wait = delays[Math.min(this.#deaths, delays.length - 1)]!;
    this.#deaths++;
    this.#o.log.warn({ err: message, restartInMs: wait }, 'connection events: conntrack child died; starting it again');
    this.#o.emit({ type: 'error', message: `${message}; starting it again in ${wait} ms` });
    this.#restartTimer = setTimeout(() => this.#spawn(), wait);
  }

  #onLine(line: string): void {
    if (!this.#wanted) return;
    const head = peekConntrackEvent(line);
    if (!head || !this.#mapper.interested(head.kind, head.id)) return;
    const ev = parseConntrackEvent(line);
    if (!ev) return;
    this.#deaths = 0;
    for (const e of this.#mapper.handle(ev)) this.#o.emit(e);
    if (this.#mapper.pending && !this.#settleTimer && !this.#listing) this.#settleTimer = setTimeout(() => void this.#settle(), this.#o.settleDelayMs ?? 200);
  }

  async #settle(): Promise<void> {
    this.#settleTimer = undefined;
    if (!this.#wanted || this.#listing) return;
    const now = this.#o.now ?? Date.now;
    const wait = this.#nextListingAt - now();
    if (wait > 0) {
      if (wait <= (this.#o.maxCountersWaitMs ?? 1000)) {
        this.#settleTimer = setTimeout(() => void this.#settle(), wait);
      } else {
        for (const e of this.#mapper.settle(new Map())) this.#o.emit({ ...e, bytesUnknown: true });
      }
      return;
    }
    await this.#listThen((flows) => {
      for (const e of this.#mapper.settle(flows)) this.#o.emit(e);
    });
  }
}
