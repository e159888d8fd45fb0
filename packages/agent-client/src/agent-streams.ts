/**
 * The agent end of exec and logs streams (wire.ts, "Streams"): the objects a
 * node agent's handlers get from AgentClient.onExec / onLogs.
 *
 *   ExecStream: `stdin` (a Readable, null unless the client attached stdin),
 *               `stdout` / `stderr` (Writables), 'resize' events, `exit(code)`
 *   LogStream:  `output` (a Writable; `write` / `end` for short), `limitBytes`
 *               enforced here
 *   both:       `signal` aborts when the stream is over for any reason (the
 *               client went away, the api-server connection dropped, the
 *               stream ended) — stop the work then; `fail(status)` refuses or
 *               fails the request with a Kubernetes Status
 *
 * Flow control is the protocol's: an output Writable holds its write callback
 * while the window toward the api-server is used up, so `pipe()` from a
 * process slows the process down instead of buffering; stdin bytes are
 * acknowledged only once the handler has read them from `stdin`.
 * Writes after the stream is over are dropped silently.
 */
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import { Readable, Writable, finished } from 'node:stream';
import { isApiError, type Status, STREAM_ACK_BYTES, STREAM_CHUNK_BYTES, STREAM_RESIZE, STREAM_STDERR, STREAM_STDIN, STREAM_STDOUT, STREAM_WINDOW_BYTES, exitStatus, type ClientMsg, type ExecStartMsg, type LogsStartMsg } from '@kubemu/api';

/** Sends one message on the connection the stream was opened on; false when that connection is gone. */
export type StreamSend = (msg: ClientMsg) => boolean;

export type ExecRequest = Omit<ExecStartMsg, 't' | 'sid'>;
export type LogsRequest = Omit<LogsStartMsg, 't' | 'sid'>;

export interface TerminalSize {
  width: number;
  height: number;
}

/** A Failure Status from a message (code 500 unless given), or an ApiError / Status as is. */
export function failureStatus(e: unknown, code = 500): Status {
  if (isApiError(e)) return e.status;
  if (e && typeof e === 'object' && (e as Status).kind === 'Status') return e as Status;
  const message = typeof e === 'string' ? e : e instanceof Error ? e.message : String(e);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: code === 500 ? 'InternalError' : undefined, code };
}

/** What exec and logs streams share: identity, state, abort signal, output window. */
export abstract class AgentStream extends EventEmitter {
  readonly sid: number;
  readonly #send: StreamSend;
  readonly #ac = new AbortController();
  #state: 'new' | 'ready' | 'ended' = 'new';
  #credit = STREAM_WINDOW_BYTES;
  #waiters: (() => void)[] = [];

  constructor(sid: number, send: StreamSend) {
    super();
    this.sid = sid;
    this.#send = send;
  }

  /** Aborted when the stream is over: cancelled, disconnected, failed or ended. */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  get ended(): boolean {
    return this.#state === 'ended';
  }

  /** Whether the request was accepted (stream-ready sent). */
  get accepted(): boolean {
    return this.#accepted;
  }
  #accepted = false;

  /**
   * Refuses the request (before it was accepted: the client gets `status` as
   * the error, with its HTTP code) or fails it (after).
   */
  fail(status: Status | string, code = 500): void {
    this._finish(typeof status === 'string' ? failureStatus(status, code) : status);
  }

  /** @internal The handler accepted the request. */
  _accept(): void {
    if (this.#state !== 'new') return;
    this.#state = 'ready';
    this.#accepted = true;
    this.#send({ t: 'stream-ready', sid: this.sid });
  }

  /** @internal The api-server passed on `bytes` of our output. */
  _ack(bytes: number): void {
    if (!(bytes > 0)) return;
    this.#credit += bytes;
    if (this.#credit > 0) this.#wake();
  }

  /** @internal The stream is over without a word from us (cancel, disconnect). */
  _cancel(reason: string): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#over(reason);
  }

  /** @internal Data from the client. */
  abstract _onData(channel: number, data: Buffer): void;

  /** @internal stream-close from the api-server. */
  _onClose(channel?: number): void {
    if (channel === undefined) this._cancel('cancelled by the client');
    else this._onHalfClose(channel);
  }

  protected _onHalfClose(_channel: number): void {}

  protected _sendMsg(msg: ClientMsg): boolean {
    return this.#send(msg);
  }

  /** Sends `chunk` on `channel` as the window allows; `cb` once all of it went (or was dropped). */
  protected _sendData(channel: number, chunk: Buffer, cb: (err?: Error | null) => void): void {
    let off = 0;
    const pump = (): void => {
      while (off < chunk.length) {
        if (this.#state === 'ended') return cb();
        if (this.#credit <= 0) {
          this.#waiters.push(pump);
          return;
        }
        const n = Math.min(STREAM_CHUNK_BYTES, this.#credit, chunk.length - off);
        this._accept();
        this.#credit -= n;
        this.#send({ t: 'stream-data', sid: this.sid, channel: channel as 1 | 2, data: chunk.subarray(off, off + n) });
        off += n;
      }
      cb();
    };
    pump();
  }

  /** Sends stream-end (once) and ends the stream. */
  protected _finish(status?: Status): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#send({ t: 'stream-end', sid: this.sid, ...(status ? { status } : {}) });
    this.#over(status && status.status === 'Failure' && status.reason !== 'NonZeroExitCode' ? status.message ?? 'failed' : 'ended');
  }

  #over(reason: string): void {
    this.#wake();
    this._teardown();
    this.#ac.abort(reason);
    this.emit('close', reason);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  protected _teardown(): void {}
}

/** A Writable whose bytes go out on one channel (or nowhere, when the client did not attach it). */
function outputWritable(stream: { send(chunk: Buffer, cb: (err?: Error | null) => void): void } | null): Writable {
  const w = new Writable({
    highWaterMark: STREAM_CHUNK_BYTES,
    write(chunk: Buffer, _enc, cb) {
      if (!stream) return cb();
      stream.send(chunk, cb);
    },
  });
  // Writing after end (a handler racing the stream's end) must not crash the agent.
  w.on('error', () => {});
  return w;
}

/** stdin as a Readable that acknowledges bytes to the api-server once they are read. */
class StdinReadable extends Readable {
  readonly #consumed: () => void;
  constructor(consumed: () => void) {
    super({ highWaterMark: STREAM_WINDOW_BYTES });
    this.#consumed = consumed;
  }
  override _read(): void {
    this.#consumed();
  }
  override read(size?: number): any {
    const chunk = super.read(size);
    if (chunk !== null) this.#consumed();
    return chunk;
  }
}

/** One `kubectl exec` session, as the node agent's exec handler sees it. */
export class ExecStream extends AgentStream {
  readonly request: ExecRequest;
  /** The client's stdin (ends on its EOF); null when the client did not attach stdin. */
  readonly stdin: Readable | null;
  /** To the client's stdout (discarded when not attached). */
  readonly stdout: Writable;
  /** To the client's stderr (discarded when not attached, and with a tty). */
  readonly stderr: Writable;
  #pushed = 0;
  #acked = 0;
  #ackScheduled = false;
  #ending = false;

  constructor(sid: number, send: StreamSend, request: ExecRequest) {
    super(sid, send);
    this.request = request;
    this.stdin = request.stdin ? new StdinReadable(() => this.#ackStdin()) : null;
    this.stdin?.on('error', () => {});
    this.stdout = outputWritable(request.stdout ? { send: (c, cb) => this._sendData(STREAM_STDOUT, c, cb) } : null);
    this.stderr = outputWritable(request.stderr && !request.tty ? { send: (c, cb) => this._sendData(STREAM_STDERR, c, cb) } : null);
  }

  override on(event: 'resize', listener: (size: TerminalSize) => void): this;
  override on(event: 'close', listener: (reason: string) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /** @internal */
  _onData(channel: number, data: Buffer): void {
    if (channel === STREAM_STDIN && this.stdin && !this.stdin.readableEnded && !this.ended) {
      this.#pushed += data.length;
      this.stdin.push(data);
      this.#scheduleAck();
      return;
    }
    if (channel === STREAM_RESIZE) {
      try {
        const s = JSON.parse(data.toString('utf8')) as { Width?: unknown; Height?: unknown };
        if (typeof s.Width === 'number' && typeof s.Height === 'number') this.emit('resize', { width: s.Width, height: s.Height });
      } catch {
        /* not a size: ignore */
      }
    }
    // Resize and unwanted input are consumed at once.
    this._sendMsg({ t: 'stream-ack', sid: this.sid, bytes: data.length });
  }

  protected override _onHalfClose(channel: number): void {
    if (channel === STREAM_STDIN && this.stdin && !this.stdin.readableEnded) this.stdin.push(null);
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      this.#ackStdin();
    });
  }

  /** Acknowledges what the handler has read from stdin: in batches, or all of it once drained. */
  #ackStdin(): void {
    if (!this.stdin || this.ended) return;
    const buffered = this.stdin.readableLength;
    const consumed = this.#pushed - buffered - this.#acked;
    if (consumed <= 0) return;
    if (consumed >= STREAM_ACK_BYTES || buffered === 0) {
      this.#acked += consumed;
      this._sendMsg({ t: 'stream-ack', sid: this.sid, bytes: consumed });
    }
  }

  /** Ends the session with the process's exit: code (or 128 + signal number, as kubelet reports). */
  exit(code: number | null, signal?: NodeJS.Signals | null): void {
    let n = code ?? 0;
    if (code === null && signal) n = 128 + (signalNumber(signal) ?? 9);
    this.end(exitStatus(n));
  }

  /** Ends the session once stdout and stderr are flushed; `status` defaults to Success. */
  end(status?: Status): void {
    if (this.ended || this.#ending) return;
    this.#ending = true;
    let left = 2;
    const done = (): void => {
      if (--left === 0) this._finish(status ?? exitStatus(0));
    };
    for (const w of [this.stdout, this.stderr]) {
      if (!w.writableEnded) w.end();
      finished(w, () => done());
    }
  }

  protected override _teardown(): void {
    if (this.stdin && !this.stdin.destroyed) {
      if (!this.stdin.readableEnded) this.stdin.push(null);
    }
    for (const w of [this.stdout, this.stderr]) if (!w.writableEnded) w.end();
  }
}

/** One `kubectl logs` request, as the node agent's logs handler sees it. */
export class LogStream extends AgentStream {
  readonly request: LogsRequest;
  /** The log bytes to the client (channel 1). End it when the log is done. */
  readonly output: Writable;
  #sent = 0;

  constructor(sid: number, send: StreamSend, request: LogsRequest) {
    super(sid, send);
    this.request = request;
    this.output = new Writable({
      highWaterMark: STREAM_CHUNK_BYTES,
      write: (chunk: Buffer, _enc, cb) => this.#write(chunk, cb),
      final: (cb) => {
        this._finish();
        cb();
      },
    });
    this.output.on('error', () => {});
  }

  #write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    const limit = this.request.limitBytes;
    if (limit !== undefined && limit > 0) {
      const room = limit - this.#sent;
      if (room <= 0) return cb();
      if (chunk.length >= room) {
        chunk = chunk.subarray(0, room);
        this.#sent += chunk.length;
        // The limit is reached: send this last piece, then end (the handler sees `signal` abort).
        return this._sendData(STREAM_STDOUT, chunk, (e) => {
          this._finish();
          cb(e);
        });
      }
    }
    this.#sent += chunk.length;
    this._sendData(STREAM_STDOUT, chunk, cb);
  }

  /** Writes log bytes; false means wait for 'drain' on `output`. */
  write(chunk: string | Buffer): boolean {
    if (this.ended || this.output.writableEnded) return true;
    return this.output.write(chunk);
  }

  /** Ends the log once everything written went out. */
  end(): void {
    if (!this.output.writableEnded) this.output.end();
  }

  /** @internal Logs take no input; acknowledge anything that comes anyway. */
  _onData(_channel: number, data: Buffer): void {
    this._sendMsg({ t: 'stream-ack', sid: this.sid, bytes: data.length });
  }

  protected override _teardown(): void {
    if (!this.output.writableEnded) this.output.end();
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return (osConstants.signals as Partial<Record<string, number>>)[signal];
}
