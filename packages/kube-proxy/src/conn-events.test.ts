import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnFanout, type ConnStreamItem } from './conn-events.js';
import { ProxyHealthServer } from './health-server.js';
import { ConntrackWatch } from './nftables/conntrack-watch.js';
import type { PortLookup } from './nftables/conntrack-events.js';
import { ConnLog } from './userspace/conn-log.js';
import { TcpProxy } from './userspace/tcp-proxy.js';

const log = pino({ level: 'silent' });
const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A stand-in for the `conntrack -E` child: lines are written to its stdout; kill() ends it. */
class FakeChild extends EventEmitter {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  constructor(readonly args: string[]) {
    super();
  }
  line(l: string) {
    this.stdout.write(l + '\n');
  }
  kill(sig: NodeJS.Signals = 'SIGTERM') {
    this.die(null, sig);
    return true;
  }
  die(code: number | null, sig: NodeJS.Signals | null = null) {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = sig;
    this.stdout.end();
    this.emit('exit', code, sig);
  }
  get alive() {
    return this.exitCode === null && this.signalCode === null;
  }
}

const lookup: PortLookup = (protocol, ip, port) => (ip === '172.30.0.11' && port === 30080 ? { service: 'default/kubia:/TCP', via: 'node-port', hasEndpoints: true } : undefined);
const NEW = '    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=172.30.0.1 dst=172.30.0.11 sport=24242 dport=30080 [UNREPLIED] src=10.244.2.7 dst=172.30.0.11 sport=8080 dport=61000 id=5';

/** kube-proxy's wiring: a fan-out that runs a conntrack watch (with fake children) while watched, served on /connections?watch=1. */
async function rig(opts: { enoent?: boolean } = {}) {
  const children: FakeChild[] = [];
  let fan: ConnFanout;
  const watch = new ConntrackWatch({
    node: 'node-1',
    log,
    lifecycle: true,
    lookup: () => lookup,
    emit: (i) => fan.emit(i),
    fail: (m) => fan.fail(m),
    restartDelaysMs: [10],
    list: async () => [],
    spawn: (args) => {
      const c = new FakeChild(args);
      children.push(c);
      if (opts.enoent) setImmediate(() => c.emit('error', Object.assign(new Error('spawn conntrack ENOENT'), { code: 'ENOENT' })));
      return c as unknown as ChildProcess;
    },
  });
  fan = new ConnFanout({ first: () => watch.start(), last: () => watch.stop() });
  const server = new ProxyHealthServer({
    health: () => ({ healthy: true, nodeEligible: true, lastUpdated: 0, currentTime: 0 }),
    mode: 'nftables',
    connections: () => ({ items: [] }),
    watch: (sink) => fan.subscribe(sink),
    applied: () => ({}),
    waitApplied: async () => ({}),
  });
  await server.listen('127.0.0.1', 0);
  cleanup.push(() => server.close(), () => watch.stop());
  return { children, fan, watch, port: server.boundPort };
}

/** Opens the stream; `lines` fills as they come. */
function stream(port: number): Promise<{ res: http.IncomingMessage; lines: ConnStreamItem[]; ended: Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/connections?watch=1', agent: false }, (res) => {
      const lines: ConnStreamItem[] = [];
      let buf = '';
      res.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)) as ConnStreamItem);
          buf = buf.slice(i + 1);
        }
      });
      const ended = new Promise<void>((r) => res.once('close', () => r()));
      resolve({ res, lines, ended, close: () => req.destroy() });
    });
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
  });
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ConnFanout', () => {
  it('starts its source with the first watcher and stops it with the last; a broken watcher is dropped', () => {
    const calls: string[] = [];
    const f = new ConnFanout({ first: () => calls.push('first'), last: () => calls.push('last') });
    expect(f.watched).toBe(false);
    const got: ConnStreamItem[] = [];
    const a = f.subscribe({ write: (i) => got.push(i), end: () => calls.push('end a') });
    const b = f.subscribe({ write: () => { throw new Error('gone'); }, end: () => {} });
    expect(calls).toEqual(['first']);
    f.emit({ type: 'error', message: 'x' });
    expect(got).toHaveLength(1);
    expect(f.watchers).toBe(1); // b threw: dropped
    b();
    a();
    a(); // idempotent
    expect(calls).toEqual(['first', 'last']);
    f.subscribe({ write: (i) => got.push(i), end: () => calls.push('end c') });
    f.fail('conntrack is not installed');
    expect(got.at(-1)).toEqual({ type: 'error', message: 'conntrack is not installed' });
    expect(calls).toEqual(['first', 'last', 'first', 'last', 'end c']);
    expect(f.watched).toBe(false);
  });
});

describe('/connections?watch=1 with a conntrack child', () => {
  it('runs conntrack -E only while watched, streams NDJSON events, and kills the child when the last watcher disconnects', async () => {
    const { children, port } = await rig();
    expect(children).toHaveLength(0); // nobody watches: no child
    const s1 = await stream(port);
    expect(s1.res.headers['content-type']).toBe('application/x-ndjson');
    await until('the child', () => children.length === 1);
    expect(children[0]!.args).toEqual(['-E', '-e', 'NEW,UPDATE,DESTROY', '-o', 'extended,id']);
    const s2 = await stream(port);
    expect(children).toHaveLength(1); // one child for every watcher
    children[0]!.line('NOTICE: something conntrack says');
    children[0]!.line(NEW);
    await until('the open event on both streams', () => s1.lines.length === 1 && s2.lines.length === 1);
    expect(s1.lines[0]).toMatchObject({ type: 'open', service: 'default/kubia:/TCP', via: 'node-port', client: '172.30.0.1:24242', node: 'node-1', endpoint: '10.244.2.7:8080', result: 'open' });
    s1.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(children[0]!.alive).toBe(true); // s2 still watches
    s2.close();
    await until('the child killed', () => !children[0]!.alive);
    // watching again starts a new one
    const s3 = await stream(port);
    await until('a second child', () => children.length === 2 && children[1]!.alive);
    s3.close();
    await until('the second child killed', () => !children[1]!.alive);
  });

  it('a conntrack child that dies is started again, and the watchers are told', async () => {
    const { children, port } = await rig();
    const s = await stream(port);
    await until('the child', () => children.length === 1);
    children[0]!.stderr.write('conntrack v1.4.7 (conntrack-tools): Operation failed: No buffer space available\n');
    await new Promise((r) => setTimeout(r, 10));
    children[0]!.die(1);
    await until('the error line', () => s.lines.length === 1);
    expect(s.lines[0]).toMatchObject({ type: 'error' });
    expect((s.lines[0] as { message: string }).message).toMatch(/^conntrack -E exited \(code 1\): .*No buffer space available; starting it again in 10 ms$/);
    await until('a new child', () => children.length === 2 && children[1]!.alive);
    children[1]!.line(NEW);
    await until('events again', () => s.lines.length === 2);
    expect(s.lines[1]).toMatchObject({ type: 'open' });
    s.close();
    await until('the child killed', () => !children[1]!.alive);
  });

  it('without conntrack: one error line and the stream ends', async () => {
    const { port, fan } = await rig({ enoent: true });
    const s = await stream(port);
    await s.ended;
    expect(s.lines).toEqual([{ type: 'error', message: 'conntrack is not installed; install the conntrack package to watch connections' }]);
    expect(fan.watched).toBe(false);
  });
});

describe('userspace relays on the stream', () => {
  it('a relayed connection: open once the endpoint answered, close with bytes and result; nothing built while unwatched', async () => {
    const backend = net.createServer((s) => s.end('hello'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    cleanup.push(() => void backend.close());
    const bport = (backend.address() as net.AddressInfo).port;
    const fan = new ConnFanout();
    const connLog = new ConnLog(8, fan);
    const p = new TcpProxy({ host: '127.0.0.1', port: 0, pick: () => `127.0.0.1:${bport}`, service: 'default/x:/TCP', via: 'cluster-ip', node: 'node-1', log, connLog });
    await p.listen();
    cleanup.push(() => p.close());
    const fetch = () =>
      new Promise<string>((resolve) => {
        let body = '';
        const c = net.connect({ host: '127.0.0.1', port: p.boundPort }, () => c.end('hi'));
        c.on('data', (d) => (body += d));
        c.on('close', () => resolve(body));
      });
    expect(await fetch()).toBe('hello');
    await until('logged', () => connLog.total === 1);
    const got: ConnStreamItem[] = [];
    const stop = fan.subscribe({ write: (i) => got.push(i), end: () => {} });
    expect(await fetch()).toBe('hello');
    await until('both events', () => got.length === 2);
    expect(got[0]).toMatchObject({ type: 'open', service: 'default/x:/TCP', endpoint: `127.0.0.1:${bport}`, result: 'open', attempts: 1, bytesIn: 0 });
    expect(got[1]).toMatchObject({ type: 'close', endpoint: `127.0.0.1:${bport}`, result: 'ok', bytesIn: 2, bytesOut: 5 });
    expect((got[1] as { client: string }).client).toBe((got[0] as { client: string }).client);
    stop();
    expect(await fetch()).toBe('hello');
    await until('logged', () => connLog.total === 3);
    expect(got).toHaveLength(2);
  });
});
