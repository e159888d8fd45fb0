/**
 * The api-server end of agent streams (wire.ts, "Streams"): one AgentStreams
 * per agent connection. It opens exec / logs streams on that connection,
 * routes the agent's stream messages to the relay that opened each one, and
 * keeps the protocol's flow control:
 *   - toward the agent (stdin): `send` spends window and returns false once
 *     it is used up; the relay stops reading its client until `onDrain`;
 *   - from the agent (stdout, stderr, log bytes): the relay calls `done` once
 *     it has passed a chunk on, and we acknowledge in batches.
 * A stream whose agent says nothing (no ready, data or end) within
 * `readyTimeoutMs` is given up; when the connection goes, every open stream
 * is told (`onLost`) and forgotten.
 */
import {
  STREAM_ACK_BYTES,
  STREAM_CHUNK_BYTES,
  STREAM_WINDOW_BYTES,
  type ClientMsg,
  type ExecStartMsg,
  type LogsStartMsg,
  type ServerMsg,
  type Status,
  type StreamChannel,
} from '@kubemu/api';

/** What a relay hears from its stream; after onEnd or onLost, nothing more. */
export interface StreamSink {
  /** The agent accepted the request. */
  onReady(): void;
  /** Output from the agent; call `done` once it is passed on (that grants the agent more window). */
  onData(channel: number, data: Buffer, done: () => void): void;
  /** The window toward the agent reopened after `send` returned false. */
  onDrain?(): void;
  /** The agent ended the stream: refused it (Failure before onReady) or finished (exec: the exit Status). */
  onEnd(status: Status | undefined): void;
  /** The agent, or its connection, went away or did not answer. */
  onLost(reason: string): void;
}

export type StreamStart = Omit<ExecStartMsg, 'sid'> | Omit<LogsStartMsg, 'sid'>;

export interface AgentStreamsOptions {
  /** Who is at the other end, for messages ("node-1"). */
  node: string;
  /** Give up on a stream the agent has not answered in this long (default 30 s, as kubelet's stream creation timeout). */
  readyTimeoutMs?: number;
}

/** The relay's handle on one open stream. */
export class RelayStream {
  readonly sid: number;
  readonly #owner: AgentStreams;
  readonly sink: StreamSink;
  #credit = STREAM_WINDOW_BYTES;
  #blocked = false;
  /** Output bytes passed on but not yet acknowledged, and chunks not yet passed on. */
  #unacked = 0;
  #outstanding = 0;
  #answered = false;
  #open = true;
  #timer?: NodeJS.Timeout;

  constructor(owner: AgentStreams, sid: number, sink: StreamSink, readyTimeoutMs: number) {
    this.#owner = owner;
    this.sid = sid;
    this.sink = sink;
    this.#timer = setTimeout(() => {
      if (this.#answered || !this.#open) return;
      this.cancel();
      sink.onLost(`the node agent of node "${owner.node}" did not answer in ${Math.round(readyTimeoutMs / 1000)} s`);
    }, readyTimeoutMs);
    this.#timer.unref();
  }

  get open(): boolean {
    return this.#open;
  }

  /** Sends input (stdin, resize); false ⇒ the window is used up: stop reading the client until onDrain. */
  send(channel: StreamChannel, data: Buffer): boolean {
    if (!this.#open) return true;
    for (let off = 0; off < data.length; off += STREAM_CHUNK_BYTES) {
      const piece = data.subarray(off, off + STREAM_CHUNK_BYTES);
      this.#credit -= piece.length;
      this.#owner._send({ t: 'stream-data', sid: this.sid, channel, data: piece });
    }
    if (this.#credit <= 0) this.#blocked = true;
    return this.#credit > 0;
  }

  /** The client closed an input channel (stdin EOF). */
  closeInput(channel = 0): void {
    if (this.#open) this.#owner._send({ t: 'stream-close', sid: this.sid, channel });
  }

  /** The client went away: tell the agent to stop; nothing more reaches the sink. */
  cancel(): void {
    if (!this.#open) return;
    this.#owner._send({ t: 'stream-close', sid: this.sid });
    this.#close();
  }

  /** @internal */
  _onMessage(msg: ClientMsg): void {
    if (!this.#open) return;
    this.#answered = true;
    switch (msg.t) {
      case 'stream-ready':
        this.sink.onReady();
        return;
      case 'stream-data': {
        const data = Buffer.isBuffer(msg.data) ? msg.data : Buffer.from(msg.data as Uint8Array);
        this.#outstanding++;
        let called = false;
        this.sink.onData(msg.channel, data, () => {
          if (called) return;
          called = true;
          this.#passed(data.length);
        });
        return;
      }
      case 'stream-ack':
        this.#credit += msg.bytes > 0 ? msg.bytes : 0;
        if (this.#blocked && this.#credit > 0) {
          this.#blocked = false;
          this.sink.onDrain?.();
        }
        return;
      case 'stream-end':
        this.#close();
        this.sink.onEnd(msg.status);
        return;
      case 'stream-close':
        // The agent does not cancel streams this way; treat it as an end without status.
        this.#close();
        this.sink.onEnd(undefined);
        return;
    }
  }

  /** @internal */
  _lost(reason: string): void {
    if (!this.#open) return;
    this.#close();
    this.sink.onLost(reason);
  }

  #passed(bytes: number): void {
    this.#outstanding--;
    this.#unacked += bytes;
    if (!this.#open) return;
    if (this.#unacked >= STREAM_ACK_BYTES || this.#outstanding === 0) {
      this.#owner._send({ t: 'stream-ack', sid: this.sid, bytes: this.#unacked });
      this.#unacked = 0;
    }
  }

  #close(): void {
    this.#open = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#owner._forget(this.sid);
  }
}

export class AgentStreams {
  readonly node: string;
  readonly #send: (msg: ServerMsg) => boolean;
  readonly #streams = new Map<number, RelayStream>();
  readonly #readyTimeoutMs: number;
  #nextSid = 1;
  #closed = false;

  constructor(send: (msg: ServerMsg) => boolean, opts: AgentStreamsOptions) {
    this.#send = send;
    this.node = opts.node;
    this.#readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  }

  /** Open streams on this connection. */
  get size(): number {
    return this.#streams.size;
  }

  /** Opens a stream: sends exec-start / logs-start; the sink hears the rest. */
  open(start: StreamStart, sink: StreamSink): RelayStream {
    const sid = this.#nextSid++;
    const s = new RelayStream(this, sid, sink, this.#readyTimeoutMs);
    if (this.#closed) {
      queueMicrotask(() => s._lost(`the node agent of node "${this.node}" disconnected`));
      return s;
    }
    this.#streams.set(sid, s);
    if (!this.#send({ ...start, sid } as ServerMsg)) queueMicrotask(() => s._lost(`the node agent of node "${this.node}" disconnected`));
    return s;
  }

  /** Routes an agent message; true if it was a stream message. */
  handle(msg: ClientMsg): boolean {
    switch (msg.t) {
      case 'stream-ready':
      case 'stream-data':
      case 'stream-ack':
      case 'stream-end':
      case 'stream-close':
        this.#streams.get(msg.sid)?._onMessage(msg);
        return true;
      default:
        return false;
    }
  }

  /** The connection is gone: every open stream is lost. */
  closeAll(reason: string): void {
    this.#closed = true;
    const all = [...this.#streams.values()];
    this.#streams.clear();
    for (const s of all) s._lost(reason);
  }

  /** @internal */
  _send(msg: ServerMsg): void {
    this.#send(msg);
  }

  /** @internal */
  _forget(sid: number): void {
    this.#streams.delete(sid);
  }
}
