import { describe, expect, it } from 'vitest';
import { flowRecord, parseConntrackLine, type ServiceLookup } from './conntrack-flows.js';

// lines as `conntrack -L --dst-nat -o extended` prints them with nf_conntrack_acct and _timestamp on
const TCP_CLOSED =
  'ipv4     2 tcp      6 110 TIME_WAIT src=10.244.1.4 dst=10.96.0.10 sport=42084 dport=80 packets=6 bytes=392 src=10.244.2.7 dst=10.244.1.4 sport=8080 dport=42084 packets=4 bytes=221 [ASSURED] mark=0 delta-time=13 use=1';
const TCP_OPEN =
  'ipv4     2 tcp      6 431999 ESTABLISHED src=172.30.0.13 dst=172.30.0.11 sport=50000 dport=30080 packets=3 bytes=180 src=10.244.3.9 dst=172.30.0.11 sport=8080 dport=50000 packets=2 bytes=120 [ASSURED] mark=0 delta-time=4 use=1';
const UDP =
  'ipv4     2 udp      17 29 src=10.244.1.4 dst=10.96.0.53 sport=40789 dport=53 packets=1 bytes=30 src=10.244.3.2 dst=10.244.1.4 sport=5353 dport=40789 packets=1 bytes=30 mark=0 delta-time=1 use=1';

const lookup: ServiceLookup = (protocol, ip, port) =>
  ip === '10.96.0.10' && port === 80 ? { service: 'default/kubia:http/TCP', via: 'cluster-ip' } :
  port === 30080 && protocol === 'TCP' ? { service: 'default/kubia:http/TCP', via: 'node-port' } : undefined;

describe('conntrack flows as connection records', () => {
  it('parses both directions, the state and the age', () => {
    expect(parseConntrackLine(TCP_CLOSED)).toEqual({
      protocol: 'TCP',
      orig: { src: '10.244.1.4', dst: '10.96.0.10', sport: 42084, dport: 80, bytes: 392 },
      reply: { src: '10.244.2.7', dst: '10.244.1.4', sport: 8080, dport: 42084, bytes: 221 },
      state: 'TIME_WAIT',
      timeout: 110,
      age: 13,
      unreplied: false,
    });
    expect(parseConntrackLine(UDP)?.state).toBe('');
    expect(parseConntrackLine('ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1')).toBeUndefined();
    expect(parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.')).toBeUndefined();
  });

  it('names the Service, the chosen endpoint and the bytes; a closed connection does not count TIME_WAIT as its life', () => {
    const now = 1_000_000;
    expect(flowRecord(parseConntrackLine(TCP_CLOSED)!, lookup, 'node-1', now)).toEqual({
      start: now - 13_000,
      durationMs: 3_000, // 13 s old, 10 s of it in TIME_WAIT (120 - 110)
      protocol: 'TCP',
      service: 'default/kubia:http/TCP',
      via: 'cluster-ip',
      client: '10.244.1.4:42084',
      node: 'node-1',
      endpoint: '10.244.2.7:8080',
      bytesIn: 392,
      bytesOut: 221,
      result: 'ok',
      attempts: 1,
    });
    const open = flowRecord(parseConntrackLine(TCP_OPEN)!, lookup, 'node-1', now)!;
    expect([open.via, open.endpoint, open.result, open.durationMs]).toEqual(['node-port', '10.244.3.9:8080', 'open', 4000]);
    // not a Service this proxier installed
    expect(flowRecord(parseConntrackLine(UDP)!, lookup, 'node-1', now)).toBeUndefined();
  });
});
