/**
 * Fuzz: thousands of random and mutated packets (seeded, reproducible) at
 * the responder and at the live server over UDP and TCP. Every reply must
 * decode and echo the query's ID; the server must still answer afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { Responder } from './responder.js';
import { prng } from './testing/prng.js';
import { query, startTestServer, tcpExchange, udpExchange } from './testing/client.js';

const SEED = Number(process.env.DNS_FUZZ_SEED ?? 20240611);
const COUNT = 4000;

function corpus(seed: number, n: number): Buffer[] {
  const rnd = prng(seed);
  const int = (k: number) => Math.floor(rnd() * k);
  const bases = [
    query({ name: 'kubia.default.svc.cluster.local' }),
    query({ name: '_http._tcp.kubia-headless.default.svc.cluster.local', type: 'SRV', edns: 1232 }),
    query({ name: '20.0.96.10.in-addr.arpa', type: 'PTR' }),
    query({ name: 'alias.default.svc.cluster.local', type: 'CNAME', edns: 4096 }),
    query({ name: 'nope.cluster.local', type: 'AAAA' }),
    query({ name: 'example.com', type: 'TXT' }),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 4 === 0) {
      // Pure noise, from empty to larger than any DNS message over UDP should be.
      const len = rnd() < 0.1 ? 600 + int(3000) : int(80);
      out.push(Buffer.from(Array.from({ length: len }, () => int(256))));
      continue;
    }
    let b = Buffer.from(bases[int(bases.length)]);
    const mutations = 1 + int(6);
    for (let m = 0; m < mutations; m++) {
      switch (int(7)) {
        case 0: // flip a bit
          if (b.length) b[int(b.length)] ^= 1 << int(8);
          break;
        case 1: // overwrite a byte
          if (b.length) b[int(b.length)] = int(256);
          break;
        case 2: // truncate
          b = b.subarray(0, int(b.length + 1));
          break;
        case 3: // append junk
          b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(40) }, () => int(256)))]);
          break;
        case 4: // bogus section counts
          if (b.length >= 12) b.writeUInt16BE(rnd() < 0.5 ? int(4) : int(65536), 4 + 2 * int(4));
          break;
        case 5: // compression pointer somewhere
          if (b.length > 14) {
            const at = 12 + int(b.length - 13);
            b[at] = 0xc0 | int(64);
            b[at + 1] = int(256);
          }
          break;
        default: // header flags (opcode, QR, rcode, Z)
          if (b.length >= 4) b.writeUInt16BE(int(65536), 2);
      }
    }
    if (b.length >= 2) b.writeUInt16BE(i & 0xffff, 0);
    out.push(b);
  }
  return out;
}

function wellFormed(query: Buffer, reply: Buffer): void {
  const p = dnsPacket.decode(reply);
  expect(p.type).toBe('response');
  expect(p.id).toBe(query.readUInt16BE(0));
}

let env: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  env = await startTestServer();
});
afterAll(() => env.server.close());

describe(`cluster DNS fuzz (seed ${SEED})`, () => {
  const packets = corpus(SEED, COUNT);

  it('gives every packet a well-formed reply echoing its ID, or none (responder)', () => {
    const responder = new Responder(env.records);
    let replies = 0;
    for (const [i, pkt] of packets.entries()) {
      for (const transport of ['udp', 'tcp'] as const) {
        let reply: Buffer | null;
        try {
          reply = responder.respond(pkt, transport);
        } catch (e) {
          throw new Error(`packet #${i} (${pkt.toString('hex')}) threw: ${(e as Error).message}`);
        }
        if (!reply) continue;
        replies++;
        if (pkt.length < 12) throw new Error(`packet #${i} is shorter than a header but got a reply`);
        try {
          wellFormed(pkt, reply);
        } catch (e) {
          throw new Error(`packet #${i} (${pkt.toString('hex')}): bad reply ${reply.toString('hex')}: ${(e as Error).message}`);
        }
        if (transport === 'udp') expect(reply.length, `packet #${i}`).toBeLessThanOrEqual(4096);
      }
    }
    expect(replies).toBeGreaterThan(COUNT / 2);
  });

  it('survives the corpus over UDP and TCP and still answers a good query', async () => {
    const sock = createSocket('udp4');
    const sentIds = new Set(packets.filter((p) => p.length >= 2).map((p) => p.readUInt16BE(0)));
    const bad: string[] = [];
    let got = 0;
    sock.on('message', (m) => {
      got++;
      try {
        const p = dnsPacket.decode(m);
        if (!sentIds.has(p.id ?? -1)) bad.push(`unknown id ${p.id}`);
      } catch (e) {
        bad.push(`undecodable reply ${m.toString('hex')}: ${(e as Error).message}`);
      }
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    // Paced so that most fit the server's per-client queue (the excess is dropped, by design).
    for (let i = 0; i < packets.length; i += 20) {
      for (const p of packets.slice(i, i + 20)) if (p.length > 0) sock.send(p, env.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 3));
    }
    await new Promise((r) => setTimeout(r, 200));
    sock.close();
    expect(bad).toEqual([]);
    expect(got).toBeGreaterThan(COUNT / 10);

    // The same corpus framed on TCP connections (a hundred per connection); the server may hang up on garbage.
    for (let i = 0; i < packets.length; i += 100) {
      const chunk = packets.slice(i, i + 100).filter((p) => p.length > 0 && p.length < 65536);
      const replies = await tcpExchange(env.port, chunk, chunk.length, 500);
      for (const r of replies) expect(() => dnsPacket.decode(r)).not.toThrow();
    }

    const ok = await udpExchange(env.port, query({ id: 4321, name: 'kubia.default.svc.cluster.local' }));
    expect(dnsPacket.decode(ok!).answers).toMatchObject([{ data: '10.96.0.20' }]);
    const [viaTcp] = await tcpExchange(env.port, [query({ id: 4322, name: 'kubia.default.svc.cluster.local' })]);
    expect(dnsPacket.decode(viaTcp).id).toBe(4322);
  }, 60_000);
});
