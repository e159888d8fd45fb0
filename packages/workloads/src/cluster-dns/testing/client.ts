/** Test clients for the DNS server: one UDP query, or several over one TCP connection. */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Packet, RecordType } from 'dns-packet';
import pino from 'pino';
import { ClusterRecords } from '../records.js';
import { Responder } from '../responder.js';
import { DnsServer, type DnsServerOptions } from '../server.js';
import { sampleCluster } from './fixtures.js';

export interface QueryShape {
  id?: number;
  name: string;
  type?: RecordType;
  edns?: number;
  flags?: number;
}

export function query(q: QueryShape): Buffer {
  const p: Packet = {
    type: 'query',
    id: q.id ?? 4242,
    flags: q.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name: q.name, type: q.type ?? 'A', class: 'IN' }],
    additionals: q.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: q.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  };
  return dnsPacket.encode(p);
}

/** Sends one datagram from a fresh socket; the reply, or null after `timeoutMs`. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 1000, from?: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    if (from) s.bind(0, from);
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** Sends `msgs` framed on one TCP connection (in one write when `together`) and reads `expect` replies. */
export function tcpExchange(port: number, msgs: Buffer[], expect = msgs.length, timeoutMs = 2000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const sock = connect(port, '127.0.0.1');
    const t = setTimeout(() => {
      sock.destroy();
      resolve(replies);
    }, timeoutMs);
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length >= expect) {
        clearTimeout(t);
        sock.end();
        resolve(replies);
      }
    });
    sock.on('close', () => {
      clearTimeout(t);
      resolve(replies);
    });
    sock.write(Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]))));
  });
}

/** A server on 127.0.0.1 (a free port) over the sample cluster. */
export async function startTestServer(opts: DnsServerOptions = {}) {
  const { services, slices } = sampleCluster();
  const records = new ClusterRecords(services, slices, { reverseCidrs: ['10.96.0.0/12', '10.244.0.0/16'], selfIPs: ['10.244.1.2'] });
  records.rebuild();
  records.synced = true;
  const server = new DnsServer(new Responder(records), { port: 0, host: '127.0.0.1', log: pino({ level: 'silent' }), ...opts });
  const port = await server.start();
  return { port, server, records, services, slices };
}
