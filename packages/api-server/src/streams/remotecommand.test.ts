import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import {
  CH_CLOSE,
  CH_ERROR,
  CH_STDIN,
  CH_STDOUT,
  V4_PROTOCOL,
  V5_PROTOCOL,
  closedChannel,
  decodeFrame,
  encodeFrame,
  isSpdyUpgrade,
  isWebSocketUpgrade,
  negotiateProtocol,
  offeredProtocols,
  parseResize,
} from './remotecommand.js';

const req = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as IncomingMessage;

describe('remote-command frames', () => {
  it('puts the channel byte before the payload', () => {
    expect([...encodeFrame(CH_STDOUT, Buffer.from('hi'))]).toEqual([1, 0x68, 0x69]);
    expect([...encodeFrame(CH_ERROR, '{}')]).toEqual([3, 0x7b, 0x7d]);
    expect([...encodeFrame(CH_STDIN)]).toEqual([0]);
  });

  it('splits a message into channel and payload', () => {
    const f = decodeFrame(Buffer.from([2, 0x61, 0x62]));
    expect(f?.channel).toBe(2);
    expect(f?.data.toString()).toBe('ab');
    expect(decodeFrame(Buffer.alloc(0))).toBeUndefined();
    expect(decodeFrame(Buffer.from([1]))?.data.length).toBe(0);
  });

  it('round-trips binary payloads of any size', () => {
    const data = Buffer.alloc(70_000, 0xff);
    const f = decodeFrame(encodeFrame(CH_STDOUT, data))!;
    expect(f.channel).toBe(CH_STDOUT);
    expect(f.data.equals(data)).toBe(true);
  });

  it('reads v5 close frames', () => {
    expect(closedChannel(decodeFrame(Buffer.from([CH_CLOSE, CH_STDIN]))!)).toBe(CH_STDIN);
    expect(closedChannel(decodeFrame(Buffer.from([CH_CLOSE]))!)).toBeUndefined();
    expect(closedChannel(decodeFrame(Buffer.from([CH_STDOUT, 0]))!)).toBeUndefined();
  });

  it('parses terminal sizes as kubectl sends them', () => {
    expect(parseResize(Buffer.from('{"Width":120,"Height":40}'))).toEqual({ width: 120, height: 40 });
    expect(parseResize(Buffer.from('{"width":1}'))).toBeUndefined();
    expect(parseResize(Buffer.from('nope'))).toBeUndefined();
  });
});

describe('remote-command negotiation', () => {
  it('prefers v5, accepts v4, refuses the rest', () => {
    expect(negotiateProtocol([V4_PROTOCOL, V5_PROTOCOL])).toBe(V5_PROTOCOL);
    expect(negotiateProtocol(new Set([V4_PROTOCOL]))).toBe(V4_PROTOCOL);
    expect(negotiateProtocol(['channel.k8s.io', 'base64.channel.k8s.io'])).toBeUndefined();
    expect(negotiateProtocol([])).toBeUndefined();
  });

  it('reads offered protocols from one or several headers', () => {
    expect(offeredProtocols(req({ 'sec-websocket-protocol': 'v5.channel.k8s.io, v4.channel.k8s.io' }))).toEqual([V5_PROTOCOL, V4_PROTOCOL]);
    expect(offeredProtocols(req({}))).toEqual([]);
  });

  it('tells WebSocket from SPDY upgrades', () => {
    expect(isWebSocketUpgrade(req({ upgrade: 'websocket' }))).toBe(true);
    expect(isSpdyUpgrade(req({ upgrade: 'SPDY/3.1' }))).toBe(true);
    expect(isWebSocketUpgrade(req({ upgrade: 'SPDY/3.1' }))).toBe(false);
    expect(isSpdyUpgrade(req({}))).toBe(false);
  });
});
