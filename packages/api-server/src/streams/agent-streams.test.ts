import { describe, expect, it, vi } from 'vitest';
import { STREAM_ACK_BYTES, STREAM_WINDOW_BYTES, exitStatus, type ServerMsg, type Status } from '@kubemu/api';
import { AgentStreams, type StreamSink } from './agent-streams.js';

const START = { t: 'logs-start', namespace: 'default', pod: 'web', uid: 'u', container: 'main', follow: true, previous: false, timestamps: false } as const;

function setup(readyTimeoutMs?: number) {
  const sent: ServerMsg[] = [];
  const streams = new AgentStreams((m) => (sent.push(m), true), { node: 'node-1', readyTimeoutMs });
  const events: string[] = [];
  const pending: (() => void)[] = [];
  const sink: StreamSink = {
    onReady: () => events.push('ready'),
    onData: (ch, data, done) => {
      events.push(`data ${ch} ${data.length}`);
      pending.push(done);
    },
    onDrain: () => events.push('drain'),
    onEnd: (s?: Status) => events.push(`end ${s?.status ?? '-'}`),
    onLost: (r) => events.push(`lost ${r}`),
  };
  return { sent, streams, events, pending, sink };
}

describe('AgentStreams', () => {
  it('opens a stream with a fresh sid and routes the agent’s answers to it', () => {
    const { sent, streams, events, sink } = setup();
    const a = streams.open(START, sink);
    const b = streams.open(START, sink);
    expect(b.sid).not.toBe(a.sid);
    expect(sent[0]).toMatchObject({ t: 'logs-start', sid: a.sid, pod: 'web' });
    expect(streams.handle({ t: 'stream-ready', sid: a.sid })).toBe(true);
    streams.handle({ t: 'stream-end', sid: a.sid, status: exitStatus(0) });
    expect(events).toEqual(['ready', 'end Success']);
    expect(streams.size).toBe(1);
    expect(streams.handle({ t: 'watch', id: 1, resource: 'pods' })).toBe(false);
  });

  it('spends window on input and reopens it on stream-ack', () => {
    const { sent, streams, events, sink } = setup();
    const s = streams.open(START, sink);
    const chunk = Buffer.alloc(64 * 1024);
    let ok = true;
    let n = 0;
    while (ok) {
      ok = s.send(0, chunk);
      n += chunk.length;
    }
    expect(n).toBe(STREAM_WINDOW_BYTES);
    // 64 KiB input goes out as 32 KiB frames
    const data = sent.filter((m) => m.t === 'stream-data');
    expect(data.length).toBe(STREAM_WINDOW_BYTES / (32 * 1024));
    streams.handle({ t: 'stream-ack', sid: s.sid, bytes: 1000 });
    expect(events).toEqual(['drain']);
    expect(s.send(0, Buffer.alloc(10))).toBe(true);
  });

  it('acknowledges output once passed on: in batches, or when everything is through', () => {
    const { sent, streams, pending, sink } = setup();
    const s = streams.open(START, sink);
    const acks = () => sent.filter((m) => m.t === 'stream-ack').map((m) => (m as { bytes: number }).bytes);
    streams.handle({ t: 'stream-data', sid: s.sid, channel: 1, data: Buffer.alloc(100) });
    streams.handle({ t: 'stream-data', sid: s.sid, channel: 1, data: Buffer.alloc(STREAM_ACK_BYTES) });
    streams.handle({ t: 'stream-data', sid: s.sid, channel: 2, data: Buffer.alloc(10) });
    expect(acks()).toEqual([]);
    pending[0]();
    expect(acks()).toEqual([]); // 100 bytes, two chunks still out
    pending[1]();
    expect(acks()).toEqual([100 + STREAM_ACK_BYTES]);
    pending[2]();
    pending[2](); // a second call is ignored
    expect(acks()).toEqual([100 + STREAM_ACK_BYTES, 10]);
  });

  it('cancel tells the agent and silences the stream', () => {
    const { sent, streams, events, sink } = setup();
    const s = streams.open(START, sink);
    s.cancel();
    expect(sent.at(-1)).toEqual({ t: 'stream-close', sid: s.sid });
    streams.handle({ t: 'stream-data', sid: s.sid, channel: 1, data: Buffer.from('late') });
    expect(events).toEqual([]);
    expect(streams.size).toBe(0);
  });

  it('passes stdin EOF on', () => {
    const { sent, streams, sink } = setup();
    const s = streams.open(START, sink);
    s.closeInput(0);
    expect(sent.at(-1)).toEqual({ t: 'stream-close', sid: s.sid, channel: 0 });
  });

  it('loses every stream when the connection goes, and any opened after', async () => {
    const { streams, events, sink } = setup();
    streams.open(START, sink);
    streams.open(START, sink);
    streams.closeAll('the node agent of node "node-1" disconnected');
    expect(events).toEqual(['lost the node agent of node "node-1" disconnected', 'lost the node agent of node "node-1" disconnected']);
    streams.open(START, sink);
    await Promise.resolve();
    expect(events.length).toBe(3);
  });

  it('gives up on an agent that does not answer', () => {
    vi.useFakeTimers();
    try {
      const { sent, streams, events, sink } = setup(1000);
      const s = streams.open(START, sink);
      const t = streams.open(START, sink);
      streams.handle({ t: 'stream-ready', sid: t.sid });
      vi.advanceTimersByTime(1500);
      expect(events).toEqual(['ready', 'lost the node agent of node "node-1" did not answer in 1 s']);
      expect(sent).toContainEqual({ t: 'stream-close', sid: s.sid });
      expect(streams.size).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
