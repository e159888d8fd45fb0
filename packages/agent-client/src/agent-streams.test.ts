import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { errors, STREAM_WINDOW_BYTES, type ClientMsg } from '@kubemu/api';
import { ExecStream, LogStream, failureStatus } from './agent-streams.js';

const REQ = { namespace: 'default', pod: 'web', uid: 'u', container: 'main', command: ['cat'], stdin: true, stdout: true, stderr: true, tty: false };
const LOGREQ = { namespace: 'default', pod: 'web', uid: 'u', container: 'main', follow: false, previous: false, timestamps: false };
const tick = () => new Promise((r) => setImmediate(r));

function recorder() {
  const sent: ClientMsg[] = [];
  const send = (m: ClientMsg) => (sent.push(m), true);
  const of = <T extends ClientMsg['t']>(t: T) => sent.filter((m) => m.t === t) as Extract<ClientMsg, { t: T }>[];
  return { sent, send, of };
}

describe('ExecStream', () => {
  it('sends output within its window and waits for stream-ack beyond it', async () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, REQ);
    let written = false;
    s.stdout.write(Buffer.alloc(STREAM_WINDOW_BYTES + 1000), () => (written = true));
    await tick();
    const bytes = () => r.of('stream-data').reduce((n, m) => n + m.data.length, 0);
    expect(bytes()).toBe(STREAM_WINDOW_BYTES);
    expect(written).toBe(false);
    expect(r.of('stream-ready').length).toBe(1); // data implies acceptance
    s._ack(500);
    await tick();
    expect(bytes()).toBe(STREAM_WINDOW_BYTES + 500);
    s._ack(100_000);
    await tick();
    expect(bytes()).toBe(STREAM_WINDOW_BYTES + 1000);
    expect(written).toBe(true);
  });

  it('acknowledges stdin only as the handler reads it, and ends it on stream-close', async () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, REQ);
    s._onData(0, Buffer.from('hello '));
    s._onData(0, Buffer.from('world'));
    await tick();
    expect(r.of('stream-ack')).toEqual([]);
    const sink = new PassThrough();
    let got = '';
    sink.on('data', (d: Buffer) => (got += d));
    s.stdin!.pipe(sink);
    await tick();
    await tick();
    expect(got).toBe('hello world');
    expect(r.of('stream-ack').reduce((n, m) => n + m.bytes, 0)).toBe(11);
    let ended = false;
    sink.on('end', () => (ended = true));
    s._onClose(0);
    await tick();
    expect(ended).toBe(true);
  });

  it('holds back acks while stdin sits unread, and pays them as it is read', async () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, REQ);
    for (let i = 0; i < 8; i++) s._onData(0, Buffer.alloc(32 * 1024, i));
    await tick();
    const acked = () => r.of('stream-ack').reduce((n, m) => n + m.bytes, 0);
    expect(acked()).toBe(0);
    let read = 0;
    for (let chunk = s.stdin!.read(40_000); chunk; chunk = s.stdin!.read(40_000)) {
      read += chunk.length;
      // never more than was read, and never lagging by a whole batch
      expect(acked()).toBeLessThanOrEqual(read);
      expect(read - acked()).toBeLessThan(32 * 1024);
    }
    expect(read).toBe(8 * 32 * 1024 - ((8 * 32 * 1024) % 40_000));
    s.stdin!.read(); // the rest drains the buffer: everything is acknowledged
    expect(acked()).toBe(8 * 32 * 1024);
  });

  it('reports resizes and acknowledges them at once', () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, { ...REQ, tty: true });
    const sizes: unknown[] = [];
    s.on('resize', (z) => sizes.push(z));
    s._onData(4, Buffer.from('{"Width":80,"Height":24}'));
    expect(sizes).toEqual([{ width: 80, height: 24 }]);
    expect(r.of('stream-ack')).toEqual([{ t: 'stream-ack', sid: 1, bytes: 24 }]);
  });

  it('ends with the exit status after the output is out', async () => {
    const r = recorder();
    const s = new ExecStream(3, r.send, REQ);
    s.stdout.write('out');
    s.stderr.write('err');
    s.exit(3);
    await tick();
    expect(r.sent.map((m) => m.t)).toEqual(['stream-ready', 'stream-data', 'stream-data', 'stream-end']);
    const end = r.of('stream-end')[0];
    expect(end.status?.reason).toBe('NonZeroExitCode');
    expect(end.status?.details?.causes).toEqual([{ reason: 'ExitCode', message: '3' }]);
    expect(s.signal.aborted).toBe(true);
    s.stdout.write('late'); // dropped, no crash
    await tick();
    expect(r.sent.length).toBe(4);
  });

  it('reports a signal as 128 + its number', async () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, REQ);
    s.exit(null, 'SIGKILL');
    await tick();
    expect(r.of('stream-end')[0].status?.details?.causes?.[0].message).toBe('137');
  });

  it('drops stderr with a tty and discards channels the client did not attach', async () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, { ...REQ, stdin: false, tty: true });
    expect(s.stdin).toBeNull();
    s.stderr.write('nobody reads this');
    s.stdout.write('shown');
    await tick();
    expect(r.of('stream-data').map((m) => [m.channel, m.data.toString()])).toEqual([[1, 'shown']]);
  });

  it('cancel aborts the signal and sends nothing', async () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, REQ);
    s._onClose();
    expect(s.signal.aborted).toBe(true);
    expect(s.ended).toBe(true);
    s.exit(0);
    await tick();
    expect(r.sent).toEqual([]);
  });

  it('fail before acceptance refuses with the Status', () => {
    const r = recorder();
    const s = new ExecStream(1, r.send, REQ);
    s.fail(errors.badRequest('container not found ("main")').status);
    expect(r.sent).toEqual([{ t: 'stream-end', sid: 1, status: expect.objectContaining({ code: 400, message: 'container not found ("main")' }) }]);
    expect(s.accepted).toBe(false);
  });
});

describe('LogStream', () => {
  it('streams bytes and ends when the output ends', async () => {
    const r = recorder();
    const s = new LogStream(2, r.send, LOGREQ);
    s._accept();
    s.write('line 1\n');
    s.end();
    await tick();
    expect(r.sent.map((m) => m.t)).toEqual(['stream-ready', 'stream-data', 'stream-end']);
    expect(r.of('stream-end')[0].status).toBeUndefined();
  });

  it('stops at limitBytes', async () => {
    const r = recorder();
    const s = new LogStream(2, r.send, { ...LOGREQ, limitBytes: 10 });
    s.write('line 1\nline 2\n');
    s.write('line 3\n');
    await tick();
    expect(r.of('stream-data').map((m) => m.data.toString()).join('')).toBe('line 1\nlin');
    expect(r.of('stream-end').length).toBe(1);
    expect(s.signal.aborted).toBe(true);
  });
});

describe('failureStatus', () => {
  it('keeps ApiError statuses and wraps the rest as 500', () => {
    expect(failureStatus(errors.badRequest('x')).code).toBe(400);
    expect(failureStatus(new Error('boom'))).toMatchObject({ status: 'Failure', code: 500, message: 'boom', reason: 'InternalError' });
    expect(failureStatus('nope', 501)).toMatchObject({ code: 501, message: 'nope' });
  });
});
