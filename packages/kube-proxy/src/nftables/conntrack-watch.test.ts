import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnStreamItem } from '../conn-events.js';
import { ConntrackWatch } from './conntrack-watch.js';
import type { PortLookup } from './conntrack-events.js';

const lookup: PortLookup = (_p, ip, port) => (ip === '172.30.0.11' && port === 30080 ? { service: 'default/kubia:/TCP', via: 'node-port', hasEndpoints: true } : undefined);
const tuple = (sport: number) => `src=172.30.0.1 dst=172.30.0.11 sport=${sport} dport=30080`;
const reply = (sport: number) => `src=10.244.2.7 dst=172.30.0.11 sport=8080 dport=${sport}`;
const opened = (id: number) => `    [NEW] ipv4     2 tcp      6 120 SYN_SENT ${tuple(id)} [UNREPLIED] ${reply(id)} id=${id}`;
const timeWait = (id: number) => ` [UPDATE] ipv4     2 tcp      6 120 TIME_WAIT ${tuple(id)} ${reply(id)} [ASSURED] id=${id}`;
const listed = (id: number) => `ipv4     2 tcp      6 119 TIME_WAIT ${tuple(id)} packets=6 bytes=384 ${reply(id)} packets=4 bytes=344 [ASSURED] mark=0 use=1 id=${id}`;

const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((s) => s()));

/** A started watch over a fake `conntrack -E` child (`out`: its stdout) with this listing and clock. */
function watchWith(list: () => Promise<string[]>, now: () => number) {
  const out = new PassThrough();
  const child = Object.assign(new EventEmitter(), { stdout: out, stderr: new PassThrough(), exitCode: null, signalCode: null, kill: () => true });
  const got: ConnStreamItem[] = [];
  const w = new ConntrackWatch({
    node: 'node-1',
    log: pino({ level: 'silent' }),
    lifecycle: true,
    lookup: () => lookup,
    emit: (i) => got.push(i),
    fail: () => undefined,
    spawn: () => child as unknown as ChildProcess,
    list,
    settleDelayMs: 5,
    now,
  });
  w.start(); // lists once: the connections already open are followed
  stops.push(() => w.stop());
  return { out, got };
}

/** A watch whose listing takes `listingMs` of a fake clock. */
async function rig(listingMs: number) {
  let clock = 10_000;
  let listings = 0;
  const ids: number[] = [];
  const { out, got } = watchWith(async () => {
    listings++;
    clock += listingMs;
    return ids.map(listed);
  }, () => clock);
  await new Promise((r) => setTimeout(r, 5));
  const close = async (id: number) => {
    ids.push(id);
    out.write(`${opened(id)}\n${timeWait(id)}\n`);
    for (let i = 0; i < 200 && !got.some((g) => g.type === 'close' && g.client.endsWith(`:${id}`)); i++) await new Promise((r) => setTimeout(r, 5));
    return got.find((g) => g.type === 'close' && g.client.endsWith(`:${id}`));
  };
  return { close, listings: () => listings, advance: (ms: number) => (clock += ms) };
}

describe('ConntrackWatch counters', () => {
  it('reads the counters of closed connections from a listing while listings are cheap', async () => {
    const r = await rig(2);
    r.advance(100);
    expect(await r.close(1)).toMatchObject({ bytesIn: 384, bytesOut: 344, result: 'ok' });
    r.advance(100);
    expect(await r.close(2)).toMatchObject({ bytesIn: 384, bytesOut: 344 });
    expect(r.listings()).toBe(3);
  });

  it('keeps listings to ~5 % of the time: a close that would wait over 1 s for one goes out without counters', async () => {
    const r = await rig(100); // a big table: the next listing may come 2 s after each one
    r.advance(2000);
    expect(await r.close(1)).toMatchObject({ bytesIn: 384, bytesOut: 344 });
    r.advance(300);
    const second = await r.close(2);
    expect(second).toMatchObject({ type: 'close', result: 'ok', bytesUnknown: true });
    expect(r.listings()).toBe(2);
    r.advance(2000); // the budget is back
    expect(await r.close(3)).toMatchObject({ bytesIn: 384, bytesOut: 344 });
    expect(r.listings()).toBe(3);
  });
});

describe('ConntrackWatch listings', () => {
  it('runs one listing at a time: a close during the first listing (adopting the open flows) waits for it', async () => {
    let running = 0;
    let most = 0;
    let listings = 0;
    const releases: (() => void)[] = [];
    // the adopting listing starts and is held
    const { out, got } = watchWith(async () => {
      listings++;
      most = Math.max(most, ++running);
      await new Promise<void>((r) => releases.push(r));
      running--;
      return [listed(7)];
    }, () => 10_000);
    out.write(`${opened(7)}\n${timeWait(7)}\n`);
    await new Promise((r) => setTimeout(r, 50)); // well past the settle delay
    expect(listings).toBe(1);
    releases.shift()!();
    for (let i = 0; i < 100 && releases.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    releases.shift()?.();
    for (let i = 0; i < 100 && !got.some((g) => g.type === 'close'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(most).toBe(1);
    expect(listings).toBe(2);
    expect(got.find((g) => g.type === 'close')).toMatchObject({ bytesIn: 384, bytesOut: 344 });
  });
});
