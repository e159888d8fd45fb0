import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, OptAnswer } from 'dns-packet';
import { headless, slice } from './testing/fixtures.js';
import { query, startTestServer, tcpExchange, udpExchange } from './testing/client.js';

let env: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  env = await startTestServer({ idleTimeoutMs: 300 });
  env.services.set(headless('default', 'big'));
  env.slices.set(slice('default', 'big', Array.from({ length: 60 }, (_, i) => ({ ip: `10.244.${1 + (i >> 4)}.${100 + i}` }))));
  env.records.rebuild();
});
afterAll(() => env.server.close());

async function udp(msg: Buffer): Promise<DecodedPacket> {
  const r = await udpExchange(env.port, msg);
  expect(r, 'a reply').not.toBeNull();
  return dnsPacket.decode(r!);
}
const rcode = (p: DecodedPacket) => (p.flags ?? 0) & 0xf;
const opt = (p: DecodedPacket) => (p.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');

describe('cluster DNS server over UDP and TCP', () => {
  it('answers A over UDP: ID echoed, authoritative, RD copied, question echoed as asked', async () => {
    const p = await udp(query({ id: 777, name: 'Kubia.default.svc.cluster.local' }));
    expect(p.id).toBe(777);
    expect(p.type).toBe('response');
    expect(p.flag_aa).toBe(true);
    expect(p.flag_rd).toBe(true);
    expect(p.flag_tc).toBe(false);
    expect(rcode(p)).toBe(0);
    expect(p.questions).toEqual([{ name: 'Kubia.default.svc.cluster.local', type: 'A', class: 'IN' }]);
    expect(p.answers).toMatchObject([{ name: 'Kubia.default.svc.cluster.local', type: 'A', ttl: 5, data: '10.96.0.20' }]);
    expect(opt(p)).toBeUndefined();
  });

  it('answers SRV with the target address in additional', async () => {
    const p = await udp(query({ name: '_https._tcp.kubernetes.default.svc.cluster.local', type: 'SRV' }));
    expect(p.answers).toMatchObject([{ type: 'SRV', data: { port: 443, weight: 100, target: 'kubernetes.default.svc.cluster.local' } }]);
    expect(p.additionals).toMatchObject([{ name: 'kubernetes.default.svc.cluster.local', type: 'A', data: '10.96.0.1' }]);
  });

  it('answers PTR', async () => {
    const p = await udp(query({ name: '10.0.96.10.in-addr.arpa', type: 'PTR' }));
    expect(p.answers).toMatchObject([{ type: 'PTR', data: 'kube-dns.kube-system.svc.cluster.local' }]);
  });

  it('answers CNAME for an ExternalName, chained to the A inside the zone', async () => {
    const p = await udp(query({ name: 'alias.default.svc.cluster.local' }));
    expect(p.answers?.map((a) => [a.type, 'data' in a ? a.data : null])).toEqual([
      ['CNAME', 'kubia.default.svc.cluster.local'],
      ['A', '10.96.0.20'],
    ]);
  });

  it('answers NXDOMAIN with the SOA, NODATA with the SOA, REFUSED outside the zone', async () => {
    const nx = await udp(query({ name: 'nope.default.svc.cluster.local' }));
    expect(rcode(nx)).toBe(3);
    expect(nx.flag_aa).toBe(true);
    expect(nx.authorities).toMatchObject([{ type: 'SOA', name: 'cluster.local', data: { mname: 'ns.dns.cluster.local', minimum: 5 } }]);
    const nodata = await udp(query({ name: 'kubia.default.svc.cluster.local', type: 'AAAA' }));
    expect(rcode(nodata)).toBe(0);
    expect(nodata.answers).toEqual([]);
    expect(nodata.authorities).toMatchObject([{ type: 'SOA' }]);
    const refused = await udp(query({ name: 'www.example.com' }));
    expect(rcode(refused)).toBe(5);
    expect(refused.flag_aa).toBe(false);
    expect(refused.answers).toEqual([]);
  });

  it('speaks EDNS0 only to clients that do, and answers BADVERS to a newer version', async () => {
    const p = await udp(query({ name: 'kubia.default.svc.cluster.local', edns: 1232 }));
    expect(opt(p)).toMatchObject({ type: 'OPT', ednsVersion: 0, udpPayloadSize: 4096 });
    const newer = dnsPacket.encode({
      type: 'query',
      id: 9,
      questions: [{ name: 'kubia.default.svc.cluster.local', type: 'A' }],
      additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 1, flags: 0, flag_do: false, options: [] }],
    });
    const bad = await udp(newer);
    expect(rcode(bad)).toBe(0);
    expect(opt(bad)?.extendedRcode).toBe(1);
    expect(bad.answers).toEqual([]);
  });

  it('sets TC when the answer outgrows the UDP size, fits it within the EDNS size, and TCP carries it whole', async () => {
    const name = 'big.default.svc.cluster.local';
    const plain = await udpExchange(env.port, query({ name }));
    expect(plain!.length).toBeLessThanOrEqual(512);
    const small = dnsPacket.decode(plain!);
    expect(small.flag_tc).toBe(true);
    expect(small.answers!.length).toBeLessThan(60);
    const edns = await udpExchange(env.port, query({ name, edns: 4096 }));
    const large = dnsPacket.decode(edns!);
    expect(large.flag_tc).toBe(false);
    expect(large.answers).toHaveLength(60);
    const edns700 = await udpExchange(env.port, query({ name, edns: 700 }));
    expect(edns700!.length).toBeLessThanOrEqual(700);
    expect(dnsPacket.decode(edns700!).flag_tc).toBe(true);
    const [viaTcp] = await tcpExchange(env.port, [query({ name })]);
    const full = dnsPacket.decode(viaTcp);
    expect(full.flag_tc).toBe(false);
    expect(full.answers).toHaveLength(60);
  });

  it('answers several queries on one TCP connection, in order', async () => {
    const names = ['kubia.default.svc.cluster.local', 'nope.default.svc.cluster.local', 'kubernetes.default.svc.cluster.local', 'example.com', 'dns-version.cluster.local'];
    const replies = await tcpExchange(env.port, names.map((name, i) => query({ id: 100 + i, name, type: name.startsWith('dns-version') ? 'TXT' : 'A' })));
    const decoded = replies.map((r) => dnsPacket.decode(r));
    expect(decoded.map((p) => p.id)).toEqual([100, 101, 102, 103, 104]);
    expect(decoded.map(rcode)).toEqual([0, 3, 0, 5, 0]);
    expect(decoded[4].answers).toMatchObject([{ type: 'TXT' }]);
  });

  it('answers TCP queries split across writes and after the client half-closes', async () => {
    const msg = query({ id: 55, name: 'kubia.default.svc.cluster.local' });
    const framed = Buffer.concat([Buffer.from([0, msg.length]), msg]);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const s = connect(env.port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      s.on('error', reject);
      s.on('data', (d) => (buf = Buffer.concat([buf, d])));
      s.on('end', () => resolve(buf));
      s.write(framed.subarray(0, 1));
      setTimeout(() => s.write(framed.subarray(1, 9)), 20);
      setTimeout(() => s.end(framed.subarray(9)), 40);
    });
    expect(reply.readUInt16BE(0)).toBe(reply.length - 2);
    expect(dnsPacket.decode(reply.subarray(2)).id).toBe(55);
  });

  it('closes idle TCP connections and connections that send no DNS message', async () => {
    const closedAfter = (send?: Buffer) =>
      new Promise<number>((resolve) => {
        const t0 = Date.now();
        const s = connect(env.port, '127.0.0.1', () => send && s.write(send));
        s.on('error', () => {});
        s.on('close', () => resolve(Date.now() - t0));
        s.resume();
      });
    expect(await closedAfter()).toBeLessThan(2000);
    expect(await closedAfter(Buffer.from([0, 3, 1, 2, 3]))).toBeLessThan(250);
  });

  it('answers bad messages with an error code or not at all, and keeps answering', async () => {
    expect(await udpExchange(env.port, Buffer.from([1, 2, 3]), 200)).toBeNull();
    const garbage = Buffer.from('0102000100000000000000ff0541424344', 'hex');
    const g = await udp(garbage);
    expect(g.id).toBe(0x0102);
    expect(rcode(g)).toBe(1);
    // NOTIFY (opcode 4) and UPDATE (5) → NOTIMP.
    for (const op of [4, 5]) {
      const p = await udp(query({ id: 31, name: 'kubia.default.svc.cluster.local', flags: op << 11 }));
      expect(rcode(p)).toBe(4);
      expect(p.id).toBe(31);
    }
    const two = dnsPacket.encode({ type: 'query', id: 32, questions: [{ name: 'a.cluster.local', type: 'A' }, { name: 'b.cluster.local', type: 'A' }] });
    expect(rcode(await udp(two))).toBe(1);
    const none = dnsPacket.encode({ type: 'query', id: 33, questions: [] });
    expect(rcode(await udp(none))).toBe(1);
    const chaos = dnsPacket.encode({ type: 'query', id: 34, questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] });
    const ch = await udp(chaos);
    expect(rcode(ch)).toBe(5);
    expect(ch.questions).toEqual([{ name: 'version.bind', type: 'TXT', class: 'CH' }]);
    const unknownType = await udp(dnsPacket.encode({ type: 'query', id: 35, questions: [{ name: 'kubia.default.svc.cluster.local', type: 'UNKNOWN_4242' as 'A' }] }));
    expect(rcode(unknownType)).toBe(0);
    expect(unknownType.answers).toEqual([]);
    const response = dnsPacket.encode({ type: 'response', id: 36, questions: [{ name: 'kubia.default.svc.cluster.local', type: 'A' }] });
    expect(await udpExchange(env.port, response, 200)).toBeNull();
    const p = await udp(query({ id: 37, name: 'kubia.default.svc.cluster.local' }));
    expect(p.answers).toHaveLength(1);
  });

  it('rotates multi-address answers between queries', async () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const p = await udp(query({ name: 'kubia-headless.default.svc.cluster.local' }));
      expect(p.answers).toHaveLength(2);
      firsts.add(String((p.answers![0] as { data: string }).data));
    }
    expect([...firsts].sort()).toEqual(['10.244.1.7', '10.244.2.8']);
  });
});
