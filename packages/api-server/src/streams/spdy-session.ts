/**
 * The server side of a SPDY/3.1 session as kubectl's port-forward speaks it
 * (its streams carry raw bytes, not HTTP): frames are read from `channel`
 * (a raw upgraded socket, or the byte stream tunnelled in WebSocket binary
 * messages); each SYN_STREAM becomes a SpdyStream (a Duplex) with its
 * headers, answered with SYN_REPLY; DATA frames flow both ways (FIN ends a
 * side); RST_STREAM and GOAWAY end streams; PINGs are echoed. Header blocks
 * use the session's shared zlib contexts with SPDY/3's dictionary (taken
 * from spdy-transport). Flow control is TCP's: receive windows are
 * re-opened as data arrives, the peer's are not waited on (kubectl's SPDY
 * library does not hold back on them either).
 */
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const DICTIONARY: Buffer = (require('spdy-transport/lib/spdy-transport/protocol/spdy/dictionary.js') as Record<string, Buffer>)[3]!;

const VERSION = 3;
const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
const FLAG_FIN = 0x01;
const RST_CANCEL = 5;
const MAX_DATA = 64 * 1024;
const MAX_FRAME = 16 * 1024 * 1024;

export class SpdyProtocolError extends Error {
  readonly code = 'ERR_SPDY_PROTOCOL';
}

/** One SPDY stream: what the peer sends is readable, what is written goes to the peer. */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: Record<string, string>;
  readonly #session: SpdySession;
  #finSent = false;

  constructor(session: SpdySession, id: number, headers: Record<string, string>) {
    super({ allowHalfOpen: true });
    this.#session = session;
    this.id = id;
    this.headers = headers;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#session.sendData(this.id, chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finSent = true;
    this.#session.sendData(this.id, Buffer.alloc(0), true, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#finSent || !this.readableEnded) this.#session.reset(this.id);
    this.#session.forget(this.id);
    cb(err);
  }
}

export class SpdySession {
  readonly #channel: Duplex;
  readonly #streams = new Map<number, SpdyStream>();
  readonly #inflate = zlib.createInflate({ dictionary: DICTIONARY });
  readonly #deflate = zlib.createDeflate({ dictionary: DICTIONARY });
  #buf: Buffer = Buffer.alloc(0);
  /** Header blocks are (de)compressed in order on shared contexts: one at a time. */
  #zchain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #onStream: (s: SpdyStream) => void;
  #onError: (e: Error) => void;

  constructor(channel: Duplex, handlers: { onStream: (s: SpdyStream) => void; onError?: (e: Error) => void }) {
    this.#channel = channel;
    this.#onStream = handlers.onStream;
    this.#onError = handlers.onError ?? (() => {});
    this.#inflate.on('error', (e) => this.#fail(e));
    this.#deflate.on('error', (e) => this.#fail(e));
    channel.on('data', (d: Buffer) => this.#onBytes(d));
    channel.on('error', (e) => this.#fail(e));
    channel.once('close', () => this.close());
    channel.once('end', () => this.close());
  }

  get streams(): number {
    return this.#streams.size;
  }

  #onBytes(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    while (this.#buf.length >= 8 && !this.#closed) {
      const length = this.#buf.readUIntBE(5, 3);
      if (length > MAX_FRAME) return this.#fail(new SpdyProtocolError(`frame of ${length} bytes`));
      if (this.#buf.length < 8 + length) return;
      const frame = this.#buf.subarray(0, 8 + length);
      this.#buf = this.#buf.subarray(8 + length);
      try {
        this.#onFrame(frame);
      } catch (e) {
        return this.#fail(e as Error);
      }
    }
  }

  #onFrame(f: Buffer): void {
    const flags = f[4]!;
    const body = f.subarray(8);
    if ((f[0]! & 0x80) === 0) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      const s = this.#streams.get(id);
      if (!s) return; // data for a stream already gone
      if (body.length) {
        s.push(Buffer.from(body));
        this.#windowUpdate(id, body.length);
      }
      if (flags & FLAG_FIN) s.push(null);
      return;
    }
    const version = f.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new SpdyProtocolError(`SPDY version ${version}, want 3`);
    const type = f.readUInt16BE(2);
    switch (type) {
      case TYPE.SYN_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const block = Buffer.from(body.subarray(10));
        // Registered now: DATA may follow before its headers are inflated (they wait in the stream).
        const stream = new SpdyStream(this, id, {});
        this.#streams.set(id, stream);
        if (flags & FLAG_FIN) stream.push(null);
        this.#zchain = this.#zchain
          .then(() => this.#inflateBlock(block))
          .then((headers) => this.#open(stream, headers))
          .catch((e) => this.#fail(e as Error));
        return;
      }
      case TYPE.RST_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        this.#streams.get(id)?.destroy();
        return;
      }
      case TYPE.PING:
        this.#channel.write(f);
        return;
      case TYPE.GOAWAY:
        this.close();
        return;
      default:
        return; // SETTINGS, HEADERS, WINDOW_UPDATE, SYN_REPLY: nothing to do for a server of raw streams
    }
  }

  #open(s: SpdyStream, headers: Record<string, string>): void {
    if (this.#closed) return;
    Object.assign(s.headers, headers);
    this.#zchain = this.#zchain
      .then(() => this.#deflateBlock({}))
      .then((block) => {
        const frame = Buffer.alloc(8 + 4 + block.length);
        frame.writeUInt16BE(0x8000 | VERSION, 0);
        frame.writeUInt16BE(TYPE.SYN_REPLY, 2);
        frame.writeUIntBE(4 + block.length, 5, 3);
        frame.writeUInt32BE(s.id, 8);
        block.copy(frame, 12);
        if (this.#closed || s.destroyed) return;
        this.#channel.write(frame);
        this.#onStream(s);
      })
      .catch((e) => this.#fail(e as Error));
  }

  /** A DATA frame (or several, for a big chunk); `cb` when the channel has taken them. */
  sendData(id: number, data: Buffer, fin: boolean, cb: (err?: Error | null) => void): void {
    if (this.#closed) return cb(new Error('the port-forward session is closed'));
    let off = 0;
    do {
      const n = Math.min(MAX_DATA, data.length - off);
      const last = off + n >= data.length;
      const head = Buffer.alloc(8);
      head.writeUInt32BE(id & 0x7fffffff, 0);
      head[4] = fin && last ? FLAG_FIN : 0;
      head.writeUIntBE(n, 5, 3);
      const frame = Buffer.concat([head, data.subarray(off, off + n)]);
      off += n;
      if (last) this.#channel.write(frame, (err) => cb(err ?? null));
      else this.#channel.write(frame);
    } while (off < data.length);
  }

  reset(id: number): void {
    if (!this.#closed) this.#channel.write(controlFrame(TYPE.RST_STREAM, id, RST_CANCEL));
  }

  forget(id: number): void {
    this.#streams.delete(id);
  }

  #windowUpdate(id: number, n: number): void {
    this.#channel.write(controlFrame(TYPE.WINDOW_UPDATE, id, n));
  }

  #inflateBlock(block: Buffer): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const onData = (d: Buffer) => out.push(d);
      this.#inflate.on('data', onData);
      this.#inflate.write(block);
      this.#inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.#inflate.off('data', onData);
        try {
          resolve(parseHeaderBlock(Buffer.concat(out)));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  #deflateBlock(headers: Record<string, string>): Promise<Buffer> {
    return new Promise((resolve) => {
      const out: Buffer[] = [];
      const onData = (d: Buffer) => out.push(d);
      this.#deflate.on('data', onData);
      this.#deflate.write(encodeHeaderBlock(headers));
      this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.#deflate.off('data', onData);
        resolve(Buffer.concat(out));
      });
    });
  }

  #fail(e: Error): void {
    if (this.#closed) return;
    this.#onError(e);
    this.close();
  }

  /** Ends every stream and the channel. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams.values()]) s.destroy();
    this.#streams.clear();
    this.#inflate.close();
    this.#deflate.close();
    this.#channel.destroy();
  }
}

/** A control frame whose body is a stream id and one 32-bit value (RST_STREAM, WINDOW_UPDATE). */
function controlFrame(type: number, id: number, value: number): Buffer {
  const f = Buffer.alloc(16);
  f.writeUInt16BE(0x8000 | VERSION, 0);
  f.writeUInt16BE(type, 2);
  f.writeUIntBE(8, 5, 3);
  f.writeUInt32BE(id & 0x7fffffff, 8);
  f.writeUInt32BE(value, 12);
  return f;
}

/** SPDY/3 name/value block: count, then (length, name, length, value) pairs, 32-bit lengths. */
export function parseHeaderBlock(b: Buffer): Record<string, string> {
  const h: Record<string, string> = {};
  if (b.length < 4) throw new SpdyProtocolError('header block too short');
  const n = b.readUInt32BE(0);
  let off = 4;
  for (let i = 0; i < n; i++) {
    if (off + 4 > b.length) throw new SpdyProtocolError('header block truncated');
    const nl = b.readUInt32BE(off);
    off += 4;
    const name = b.toString('latin1', off, off + nl);
    off += nl;
    if (off + 4 > b.length) throw new SpdyProtocolError('header block truncated');
    const vl = b.readUInt32BE(off);
    off += 4;
    if (off + vl > b.length) throw new SpdyProtocolError('header block truncated');
    h[name.toLowerCase()] = b.toString('latin1', off, off + vl).split('\0')[0]!;
    off += vl;
  }
  return h;
}

export function encodeHeaderBlock(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(Object.keys(h).length, 0);
  parts.push(count);
  for (const [k, v] of Object.entries(h)) {
    for (const s of [k, v]) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(Buffer.byteLength(s, 'latin1'), 0);
      parts.push(len, Buffer.from(s, 'latin1'));
    }
  }
  return Buffer.concat(parts);
}
