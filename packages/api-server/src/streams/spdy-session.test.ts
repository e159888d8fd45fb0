import { PassThrough, Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { SpdySession, encodeHeaderBlock, parseHeaderBlock, type SpdyStream } from './spdy-session.js';

const DICT = (createRequire(import.meta.url)('spdy-transport/lib/spdy-transport/protocol/spdy/dictionary.js') as Record<string, Buffer>)[3]!;

/** The client end: frames it writes go to the session; what the session writes is collected as frames. */
function pair() {
  const toServer = new PassThrough();
  const fromServer: Buffer[] = [];
  const channel = new Duplex({
    read() {},
    write(chunk, _e, cb) {
      fromServer.push(Buffer.from(chunk));
      cb();
    },
  });
  toServer.on('data', (d) => channel.push(d));
  const deflate = zlib.createDeflate({ dictionary: DICT });
  const inflate = zlib.createInflate({ dictionary: DICT });
  const compress = (h: Record<string, string>) =>
    new Promise<Buffer>((resolve) => {
      const out: Buffer[] = [];
      const on = (d: Buffer) => out.push(d);
      deflate.on('data', on);
      deflate.write(encodeHeaderBlock(h));
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        deflate.off('data', on);
        resolve(Buffer.concat(out));
      });
    });
  const control = (type: number, flags: number, body: Buffer) => {
    const f = Buffer.alloc(8);
    f.writeUInt16BE(0x8003, 0);
    f.writeUInt16BE(type, 2);
    f[4] = flags;
    f.writeUIntBE(body.length, 5, 3);
    return Buffer.concat([f, body]);
  };
  const data = (id: number, payload: Buffer, fin = false) => {
    const f = Buffer.alloc(8);
    f.writeUInt32BE(id, 0);
    f[4] = fin ? 1 : 0;
    f.writeUIntBE(payload.length, 5, 3);
    return Buffer.concat([f, payload]);
  };
  const syn = async (id: number, h: Record<string, string>) => {
    const block = await compress(h);
    const body = Buffer.alloc(10);
    body.writeUInt32BE(id, 0);
    return control(1, 0, Buffer.concat([body, block]));
  };
  /** The frames the session sent, parsed. */
  const frames = () => {
    const all = Buffer.concat(fromServer);
    const out: { control: boolean; type?: number; id: number; flags: number; body: Buffer }[] = [];
    for (let off = 0; off + 8 <= all.length; ) {
      const len = all.readUIntBE(off + 5, 3);
      const control = (all[off]! & 0x80) !== 0;
      const body = all.subarray(off + 8, off + 8 + len);
      out.push({ control, type: control ? all.readUInt16BE(off + 2) : undefined, id: control ? (body.length >= 4 ? body.readUInt32BE(0) & 0x7fffffff : 0) : all.readUInt32BE(off) & 0x7fffffff, flags: all[off + 4]!, body });
      off += 8 + len;
    }
    return out;
  };
  return { channel, toServer, syn, data, control, frames, inflate };
}

describe('SpdySession', () => {
  it('round-trips a header block', () => {
    expect(parseHeaderBlock(encodeHeaderBlock({ streamtype: 'data', port: '80', requestid: '0' }))).toEqual({ streamtype: 'data', port: '80', requestid: '0' });
    expect(() => parseHeaderBlock(Buffer.from([0, 0, 0, 2, 0, 0, 0, 9]))).toThrow(/truncated/);
  });

  it('opens streams with their headers, answers SYN_REPLY, passes DATA both ways with FIN, echoes PING and honours RST_STREAM', async () => {
    const p = pair();
    const streams: SpdyStream[] = [];
    const session = new SpdySession(p.channel, { onStream: (s) => streams.push(s) });
    p.toServer.write(await p.syn(1, { streamtype: 'error', port: '80', requestid: '0' }));
    p.toServer.write(await p.syn(3, { streamtype: 'data', port: '80', requestid: '0' }));
    // DATA right behind its SYN_STREAM (before the headers are inflated) is kept
    p.toServer.write(p.data(3, Buffer.from('GET / HTTP/1.1\r\n\r\n'), true));
    await new Promise((r) => setTimeout(r, 50));
    expect(streams.map((s) => [s.id, s.headers.streamtype, s.headers.port, s.headers.requestid])).toEqual([
      [1, 'error', '80', '0'],
      [3, 'data', '80', '0'],
    ]);
    const replies = p.frames().filter((f) => f.control && f.type === 2).map((f) => f.id);
    expect(replies).toEqual([1, 3]);
    const got: Buffer[] = [];
    streams[1]!.on('data', (d) => got.push(d));
    await new Promise((r) => streams[1]!.once('end', r));
    expect(Buffer.concat(got).toString()).toBe('GET / HTTP/1.1\r\n\r\n');

    streams[1]!.end(Buffer.alloc(200_000, 7));
    await new Promise((r) => setTimeout(r, 20));
    const out = p.frames().filter((f) => !f.control && f.id === 3);
    expect(out.reduce((n, f) => n + f.body.length, 0)).toBe(200_000);
    expect(Math.max(...out.map((f) => f.body.length))).toBeLessThanOrEqual(64 * 1024);
    expect(out.at(-1)!.flags & 1).toBe(1);

    const ping = p.control(6, 0, Buffer.from([0, 0, 0, 9]));
    p.toServer.write(ping);
    await new Promise((r) => setTimeout(r, 20));
    expect(p.frames().some((f) => f.control && f.type === 6 && f.id === 9)).toBe(true);

    const rst = Buffer.alloc(8);
    rst.writeUInt32BE(1, 0);
    rst.writeUInt32BE(5, 4);
    p.toServer.write(p.control(3, 0, rst));
    await new Promise((r) => setTimeout(r, 20));
    expect(streams[0]!.destroyed).toBe(true);
    expect(session.streams).toBe(0);
    session.close();
  });

  it('ends every stream on a bad frame (another SPDY version) without throwing', async () => {
    const p = pair();
    const errors: string[] = [];
    const streams: SpdyStream[] = [];
    new SpdySession(p.channel, { onStream: (s) => streams.push(s), onError: (e) => errors.push(e.message) });
    p.toServer.write(await p.syn(1, { streamtype: 'data', port: '1', requestid: '1' }));
    await new Promise((r) => setTimeout(r, 20));
    const bad = Buffer.alloc(8);
    bad.writeUInt16BE(0x8002, 0);
    bad.writeUInt16BE(4, 2);
    p.toServer.write(bad);
    await new Promise((r) => setTimeout(r, 20));
    expect(errors).toEqual(['SPDY version 2, want 3']);
    expect(streams[0]!.destroyed).toBe(true);
    expect(p.channel.destroyed).toBe(true);
  });
});
