/**
 * The Kubernetes remote-command WebSocket protocol, as kubectl ≥ 1.30 speaks
 * it to the api-server for `kubectl exec` (k8s.io/apimachinery
 * pkg/util/remotecommand, client-go tools/remotecommand/websocket.go):
 *
 *   - subprotocols (Sec-WebSocket-Protocol): v5.channel.k8s.io (kubectl
 *     offers only this one) and v4.channel.k8s.io; we prefer v5;
 *   - every message is binary; its first byte is the channel: 0 stdin,
 *     1 stdout, 2 stderr, 3 error, 4 resize; the rest is payload;
 *   - channel 3 carries, once, a JSON metav1.Status when the command is over
 *     (v4 semantics: Success, or Failure with reason NonZeroExitCode and a
 *     cause {reason: ExitCode, message: "<n>"} — kubectl then exits n), after
 *     which the server closes the WebSocket normally (1000);
 *   - channel 4 carries JSON {"Width": w, "Height": h} terminal sizes;
 *   - v5 adds channel 255: [255, n] means "the sender closed channel n" (the
 *     client sends [255, 0] when its stdin reaches EOF).
 *
 * Older kubectl (≤ 1.29) speaks SPDY/3.1 instead, which kubemu does not.
 */
import type { IncomingMessage } from 'node:http';

export const V5_PROTOCOL = 'v5.channel.k8s.io';
export const V4_PROTOCOL = 'v4.channel.k8s.io';
/** What we speak, most preferred first. */
export const SUPPORTED_PROTOCOLS: readonly string[] = [V5_PROTOCOL, V4_PROTOCOL];

export const CH_STDIN = 0;
export const CH_STDOUT = 1;
export const CH_STDERR = 2;
export const CH_ERROR = 3;
export const CH_RESIZE = 4;
export const CH_CLOSE = 255;

/** The subprotocol to answer with for the client's offer (a Set as ws passes it), or undefined. */
export function negotiateProtocol(offered: Iterable<string>): string | undefined {
  const set = new Set([...offered].map((p) => p.trim()));
  return SUPPORTED_PROTOCOLS.find((p) => set.has(p));
}

/** The protocols a request offers in its Sec-WebSocket-Protocol header(s). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  const all = Array.isArray(raw) ? raw.join(',') : raw ?? '';
  return all
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** kubectl ≤ 1.29 (and ≥ 1.30 falling back after a failed WebSocket attempt) asks for SPDY/3.1. */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().startsWith('spdy/');
}

/** One binary message: channel byte + payload. */
export function encodeFrame(channel: number, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(payload.length + 1);
  out[0] = channel;
  payload.copy(out, 1);
  return out;
}

export interface Frame {
  channel: number;
  data: Buffer;
}

/** Splits a message into channel and payload; undefined for an empty message. */
export function decodeFrame(msg: Buffer): Frame | undefined {
  if (msg.length === 0) return undefined;
  return { channel: msg[0], data: msg.subarray(1) };
}

/** For a v5 close frame ([255, n]): the channel it closes. */
export function closedChannel(frame: Frame): number | undefined {
  return frame.channel === CH_CLOSE && frame.data.length >= 1 ? frame.data[0] : undefined;
}

/** A terminal size from a resize payload, or undefined if it is not one. */
export function parseResize(data: Buffer): { width: number; height: number } | undefined {
  try {
    const s = JSON.parse(data.toString('utf8')) as { Width?: unknown; Height?: unknown };
    if (typeof s.Width === 'number' && typeof s.Height === 'number' && s.Width >= 0 && s.Height >= 0) return { width: s.Width, height: s.Height };
  } catch {
    /* not JSON */
  }
  return undefined;
}
