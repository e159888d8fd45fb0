import dgram from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnLog } from './conn-log.js';
import { UdpProxy } from './udp-proxy.js';

const log = pino({ level: 'silent' });
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function echo(tag: string): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(`${tag}:${m}`, r.port, r.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  cleanup.push(() => s.close());
  return s.address().port;
}

function ask(port: number, msg: string, sock = dgram.createSocket('udp4'), timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('TIMEOUT'), timeoutMs);
    sock.once('message', (m) => {
      clearTimeout(t);
      resolve(String(m));
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

describe('UdpProxy', () => {
  it('keeps one flow per client address, to one endpoint, and spreads new clients', async () => {
    const a = await echo('a');
    const b = await echo('b');
    let i = 0;
    const connLog = new ConnLog(16);
    const p = new UdpProxy({ host: '127.0.0.1', port: 0, pick: () => `127.0.0.1:${i++ % 2 === 0 ? a : b}`, service: 's', via: 'cluster-ip', node: 'n', log, connLog, idleMs: 200 });
    await p.listen();
    cleanup.push(() => p.close());
    const c1 = dgram.createSocket('udp4');
    const c2 = dgram.createSocket('udp4');
    cleanup.push(() => c1.close(), () => c2.close());
    const r1 = [await ask(p.boundPort, '1', c1), await ask(p.boundPort, '2', c1), await ask(p.boundPort, '3', c1)];
    expect(r1).toEqual(['a:1', 'a:2', 'a:3']);
    expect(await ask(p.boundPort, 'x', c2)).toBe('b:x');
    expect(p.flows).toBe(2);
    // idle flows are closed and accounted
    await new Promise((r) => setTimeout(r, 500));
    expect(p.flows).toBe(0);
    expect(connLog.recent().map((r) => r.result)).toEqual(['idle', 'idle']);
    expect(connLog.recent()[0]).toMatchObject({ protocol: 'UDP', bytesIn: 3, bytesOut: 9 });
  });

  it('flushes flows to endpoints that left, so the next datagram picks again', async () => {
    const a = await echo('a');
    const b = await echo('b');
    let target = a;
    const p = new UdpProxy({ host: '127.0.0.1', port: 0, pick: () => `127.0.0.1:${target}`, service: 's', via: 'cluster-ip', node: 'n', log });
    await p.listen();
    cleanup.push(() => p.close());
    const c = dgram.createSocket('udp4');
    cleanup.push(() => c.close());
    expect(await ask(p.boundPort, 'q', c)).toBe('a:q');
    target = b;
    expect(await ask(p.boundPort, 'q', c)).toBe('a:q'); // same flow
    p.flushFlowsNotIn(new Set([`127.0.0.1:${b}`]));
    expect(await ask(p.boundPort, 'q', c)).toBe('b:q');
  });

  it('closes the oldest flow beyond maxFlows', async () => {
    const a = await echo('a');
    const p = new UdpProxy({ host: '127.0.0.1', port: 0, pick: () => `127.0.0.1:${a}`, service: 's', via: 'cluster-ip', node: 'n', log, maxFlows: 2 });
    await p.listen();
    cleanup.push(() => p.close());
    const socks = [0, 1, 2].map(() => dgram.createSocket('udp4'));
    cleanup.push(() => socks.forEach((s) => s.close()));
    for (const s of socks) expect(await ask(p.boundPort, 'q', s)).toBe('a:q');
    expect(p.flows).toBe(2);
  });

  it('drops datagrams when there is no endpoint', async () => {
    const p = new UdpProxy({ host: '127.0.0.1', port: 0, pick: () => undefined, service: 's', via: 'cluster-ip', node: 'n', log });
    await p.listen();
    cleanup.push(() => p.close());
    const c = dgram.createSocket('udp4');
    cleanup.push(() => c.close());
    expect(await ask(p.boundPort, 'q', c, 200)).toBe('TIMEOUT');
    expect(p.flows).toBe(0);
  });
});
