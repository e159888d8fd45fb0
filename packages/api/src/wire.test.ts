import { describe, expect, it } from 'vitest';
import { decodeMsg, encodeMsg, exitCodeOf, exitStatus, nodeOfAgent, type ServerMsg } from './wire.js';

describe('wire stream messages', () => {
  it('round-trip with binary payloads (also views into larger buffers)', () => {
    const big = Buffer.from('xxhello, stdinyy');
    const view = big.subarray(2, 14);
    const back = decodeMsg(encodeMsg({ t: 'stream-data', sid: 7, channel: 0, data: view })) as ServerMsg & { t: 'stream-data' };
    expect(back.t).toBe('stream-data');
    expect(back.sid).toBe(7);
    expect(back.channel).toBe(0);
    expect(Buffer.isBuffer(back.data)).toBe(true);
    expect(back.data.toString()).toBe('hello, stdin');
  });

  it('round-trip starts, acks, closes and ends', () => {
    const msgs = [
      { t: 'exec-start', sid: 1, namespace: 'default', pod: 'web', uid: 'u', container: 'main', command: ['sh', '-c', 'exit 3'], stdin: true, stdout: true, stderr: true, tty: false },
      { t: 'logs-start', sid: 2, namespace: 'default', pod: 'web', uid: 'u', container: 'main', follow: true, previous: false, tailLines: 10, timestamps: false },
      { t: 'stream-ack', sid: 1, bytes: 32768 },
      { t: 'stream-close', sid: 1, channel: 0 },
      { t: 'stream-close', sid: 2 },
      { t: 'stream-ready', sid: 1 },
      { t: 'stream-end', sid: 1, status: exitStatus(3) },
    ] as const;
    for (const m of msgs) expect(decodeMsg(encodeMsg(m as never))).toEqual(m);
  });
});

describe('exit statuses', () => {
  it('are what kubelet sends and kubectl reads', () => {
    expect(exitStatus(0).status).toBe('Success');
    const s = exitStatus(3);
    expect(s).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect(exitCodeOf(s)).toBe(3);
    expect(exitCodeOf(exitStatus(0))).toBe(0);
    expect(exitCodeOf(undefined)).toBe(0);
    expect(exitCodeOf({ ...s, reason: 'InternalError' })).toBeUndefined();
  });
});

describe('nodeOfAgent', () => {
  it('names the node of a node agent only', () => {
    expect(nodeOfAgent('node-agent/node-1')).toBe('node-1');
    expect(nodeOfAgent('kube-proxy/node-1')).toBeUndefined();
    expect(nodeOfAgent('node-agent/')).toBeUndefined();
  });
});
