import { describe, expect, it } from 'vitest';
import { ConntrackEventMapper, parseConntrackEvent, peekConntrackEvent, type PortLookup } from './conntrack-events.js';
import { parseConntrackLine } from './conntrack-flows.js';

// lines as `conntrack -E -e NEW,UPDATE,DESTROY -o extended,id` prints them (conntrack 1.4.7, acct and timestamps on):
// a client 172.30.0.1:24242 to node port 30080 on 172.30.0.11, DNATed to the pod 10.244.2.7:8080 and SNATed to the node
const T = 'src=172.30.0.1 dst=172.30.0.11 sport=24242 dport=30080';
const R = 'src=10.244.2.7 dst=172.30.0.11 sport=8080 dport=61000';
const NEW = `    [NEW] ipv4     2 tcp      6 120 SYN_SENT ${T} [UNREPLIED] ${R} id=3082932873`;
const SYN_RECV = ` [UPDATE] ipv4     2 tcp      6 60 SYN_RECV ${T} ${R} id=3082932873`;
const EST = ` [UPDATE] ipv4     2 tcp      6 432000 ESTABLISHED ${T} ${R} [ASSURED] id=3082932873`;
const FIN = ` [UPDATE] ipv4     2 tcp      6 120 FIN_WAIT ${T} ${R} [ASSURED] id=3082932873`;
const TW = ` [UPDATE] ipv4     2 tcp      6 120 TIME_WAIT ${T} ${R} [ASSURED] id=3082932873`;
const DESTROY_TW = `[DESTROY] ipv4     2 tcp      6 TIME_WAIT ${T} packets=6 bytes=394 ${R} packets=6 bytes=8513 [ASSURED] delta-time=121 id=3082932873`;
const LIST_TW = `ipv4     2 tcp      6 97 TIME_WAIT ${T} packets=6 bytes=394 ${R} packets=6 bytes=8513 [ASSURED] mark=0 delta-time=23 use=1 id=3082932873`;
// the same port with no endpoints: nothing DNATs it, the node's stack resets it at once
const REFUSED_NEW = `    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=172.30.0.1 dst=172.30.0.11 sport=24243 dport=30081 [UNREPLIED] src=172.30.0.11 dst=172.30.0.1 sport=30081 dport=24243 id=1699599577`;
const REFUSED_DESTROY = `[DESTROY] ipv4     2 tcp      6 120 CLOSE src=172.30.0.1 dst=172.30.0.11 sport=24243 dport=30081 packets=1 bytes=60 [UNREPLIED] src=172.30.0.11 dst=172.30.0.1 sport=30081 dport=24243 packets=1 bytes=40 delta-time=0 id=1699599577`;
// a SYN to a gone pod nobody answered, destroyed when SYN_SENT timed out
const SYN_ONLY = (k: string) => `${k} ipv4     2 tcp      6 120 SYN_SENT src=10.244.1.4 dst=10.96.0.10 sport=40000 dport=80 ${k === '[DESTROY]' ? 'packets=3 bytes=180 ' : ''}[UNREPLIED] src=10.244.9.9 dst=10.244.1.4 sport=8080 dport=40000 ${k === '[DESTROY]' ? 'packets=0 bytes=0 ' : ''}id=77`;

const lookup: PortLookup = (protocol, ip, port) =>
  protocol === 'TCP' && ip === '172.30.0.11' && port === 30080 ? { service: 'default/kubia:/TCP', via: 'node-port', hasEndpoints: true } :
  protocol === 'TCP' && ip === '172.30.0.11' && port === 30081 ? { service: 'default/empty:/TCP', via: 'node-port', hasEndpoints: false } :
  protocol === 'TCP' && ip === '10.96.0.10' && port === 80 ? { service: 'default/kubia:/TCP', via: 'cluster-ip', hasEndpoints: true } : undefined;

const mapper = (lifecycle = true) => {
  let now = 1_000_000;
  const m = new ConntrackEventMapper({ node: 'node-1', lookup, lifecycle, now: () => now });
  const feed = (line: string) => m.handle(parseConntrackEvent(line)!);
  return { m, feed, tick: (ms: number) => (now += ms) };
};

describe('conntrack event lines', () => {
  it('parses the event kind, the id, both tuples and the state', () => {
    const e = parseConntrackEvent(NEW)!;
    expect(e).toMatchObject({ kind: 'NEW', id: '3082932873' });
    expect(e.flow).toMatchObject({ protocol: 'TCP', state: 'SYN_SENT', unreplied: true, orig: { src: '172.30.0.1', dport: 30080 }, reply: { src: '10.244.2.7', sport: 8080 } });
    expect(parseConntrackEvent(DESTROY_TW)!.flow).toMatchObject({ orig: { bytes: 394 }, reply: { bytes: 8513 }, age: 121 });
    expect(parseConntrackEvent(`[1796189388.878020]\t${TW}`)).toMatchObject({ kind: 'UPDATE', flow: { state: 'TIME_WAIT' } });
    expect(parseConntrackEvent('    [NEW] ipv4     2 udp      17 30 src=10.244.1.4 dst=10.96.0.10 sport=5000 dport=53 [UNREPLIED] src=10.244.3.2 dst=10.244.1.4 sport=53 dport=5000 id=9')).toMatchObject({ id: '9', flow: { protocol: 'UDP', state: '' } });
  });

  it('skips what is not a TCP/UDP event', () => {
    expect(parseConntrackEvent('NOTICE: Netlink socket buffer size has been set to 2097152 bytes.')).toBeUndefined();
    expect(parseConntrackEvent('    [NEW] ipv4     2 icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=4 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=4 id=12')).toBeUndefined();
    expect(parseConntrackEvent(LIST_TW)).toBeUndefined(); // a listing line has no event tag
    expect(parseConntrackEvent('')).toBeUndefined();
  });
});

describe('conntrack events as connection events', () => {
  it('a forwarded connection: open with the endpoint the kernel chose, close "ok" with the counters of a listing', () => {
    const { m, feed, tick } = mapper();
    const open = feed(NEW);
    expect(open).toEqual([{ type: 'open', start: 1_000_000, durationMs: 0, protocol: 'TCP', service: 'default/kubia:/TCP', via: 'node-port', client: '172.30.0.1:24242', node: 'node-1', endpoint: '10.244.2.7:8080', bytesIn: 0, bytesOut: 0, result: 'open', attempts: 1 }]);
    tick(40);
    expect([...feed(SYN_RECV), ...feed(EST), ...feed(FIN), ...feed(TW)]).toEqual([]);
    expect(m.pending).toBe(1);
    expect(m.following).toBe(0);
    const closed = m.settle(new Map([['3082932873', parseConntrackLine(LIST_TW)!]]));
    expect(closed).toEqual([{ ...open[0], type: 'close', durationMs: 40, bytesIn: 394, bytesOut: 8513, result: 'ok' }]);
    // its entry is destroyed two minutes later: nothing more
    expect(feed(DESTROY_TW)).toEqual([]);
    expect(m.pending).toBe(0);
  });

  it('a close whose entry was destroyed before the listing takes the counters of the DESTROY line', () => {
    const { m, feed } = mapper();
    feed(NEW);
    feed(EST);
    feed(TW);
    expect(feed(DESTROY_TW)).toMatchObject([{ type: 'close', result: 'ok', bytesIn: 394, bytesOut: 8513 }]);
    expect(m.settle(new Map())).toEqual([]);
  });

  it('a port without endpoints: one close "no-endpoints" at once, nothing followed', () => {
    const { m, feed } = mapper();
    expect(feed(REFUSED_NEW)).toEqual([{ type: 'close', start: 1_000_000, durationMs: 0, protocol: 'TCP', service: 'default/empty:/TCP', via: 'node-port', client: '172.30.0.1:24243', node: 'node-1', endpoint: '', bytesIn: 0, bytesOut: 0, result: 'no-endpoints', attempts: 0 }]);
    expect(feed(REFUSED_DESTROY)).toEqual([]);
    expect(m.following + m.pending).toBe(0);
  });

  it('refusals are reported also when the relays report the rest (userspace: lifecycle off)', () => {
    const { m, feed } = mapper(false);
    expect(feed(REFUSED_NEW)).toMatchObject([{ result: 'no-endpoints' }]);
    expect([...feed(NEW), ...feed(EST), ...feed(TW), ...feed(DESTROY_TW)]).toEqual([]);
    expect(m.following + m.pending).toBe(0);
  });

  it('a SYN nobody answered: "timeout" when its entry dies; an endpoint that resets the SYN: "connect-failed"; a reset after the answer: "reset"', () => {
    const { feed } = mapper();
    expect(feed(SYN_ONLY('    [NEW]'))).toMatchObject([{ type: 'open', endpoint: '10.244.9.9:8080', via: 'cluster-ip' }]);
    expect(feed(SYN_ONLY('[DESTROY]'))).toMatchObject([{ type: 'close', result: 'timeout', bytesIn: 180, bytesOut: 0 }]);

    const a = mapper();
    a.feed(NEW);
    a.feed(NEW.replace('[NEW]', '[UPDATE]').replace('SYN_SENT', 'CLOSE'));
    expect(a.m.settle(new Map())).toMatchObject([{ type: 'close', result: 'connect-failed' }]);

    const b = mapper();
    b.feed(NEW);
    b.feed(EST);
    b.feed(EST.replace('ESTABLISHED', 'CLOSE'));
    expect(b.m.settle(new Map())).toMatchObject([{ type: 'close', result: 'reset' }]);
  });

  it('flows that are no Service\'s are ignored; a connection older than the watch is taken up from the first listing, without an open', () => {
    const { m, feed } = mapper();
    expect(feed(NEW.replace('dport=30080', 'dport=8080'))).toEqual([]);
    expect(feed(FIN)).toEqual([]); // never seen open and not listed: not ours to report
    expect(m.following).toBe(0);
    const listed = parseConntrackLine(LIST_TW.replace('TIME_WAIT', 'ESTABLISHED'))!;
    m.adopt(new Map([['3082932873', listed], ['9', { ...listed, reply: { ...listed.reply, src: listed.orig.dst, sport: listed.orig.dport } }]]));
    expect(m.following).toBe(1); // the second is not DNATed: no Service flow
    feed(TW);
    expect(m.settle(new Map())).toMatchObject([{ type: 'close', result: 'ok', endpoint: '10.244.2.7:8080' }]);
  });

  it('says from a line\'s head which lines can matter: every NEW, the rest only for flows it follows or owes counters', () => {
    const { m, feed } = mapper();
    expect(peekConntrackEvent(NEW)).toEqual({ kind: 'NEW', id: '3082932873' });
    expect(peekConntrackEvent(`[1796189388.878020]\t${TW}`)).toEqual({ kind: 'UPDATE', id: '3082932873' });
    expect(peekConntrackEvent(DESTROY_TW)).toMatchObject({ kind: 'DESTROY' });
    expect(peekConntrackEvent('conntrack v1.4.7 (conntrack-tools): 4 flow events have been shown.')).toBeUndefined();
    expect(m.interested('UPDATE', '3082932873')).toBe(false);
    expect(m.interested('NEW', '3082932873')).toBe(true);
    feed(NEW);
    expect(m.interested('UPDATE', '3082932873')).toBe(true);
    feed(TW); // closed: waits for its counters
    expect(m.interested('DESTROY', '3082932873')).toBe(true);
    expect(m.interested('UPDATE', '12')).toBe(false);
    expect(mapper(false).m.interested('UPDATE', '3082932873')).toBe(false);
  });

  it('forgets the oldest flows beyond maxFlows', () => {
    const m = new ConntrackEventMapper({ node: 'n', lookup, lifecycle: true, maxFlows: 3 });
    for (let i = 0; i < 10; i++) m.handle(parseConntrackEvent(NEW.replace('id=3082932873', `id=${i}`))!);
    expect(m.following).toBe(3);
  });
});
