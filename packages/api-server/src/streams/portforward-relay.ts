/**
 * `kubectl port-forward`: GET|POST /api/v1/namespaces/{ns}/pods/{name}/portforward.
 * kubectl ≥ 1.31 tunnels SPDY/3.1 inside a WebSocket (subprotocol
 * `SPDY/3.1+portforward.k8s.io`, KEP-4006); older kubectl upgrades the
 * connection to SPDY/3.1 itself. Either way the same SPDY session follows
 * (spdy-session.ts): for every local connection kubectl opens a
 * pair of streams with headers `streamtype: error|data`, `port`,
 * `requestid`; the data stream carries the bytes, the error stream a
 * message when the pod side fails.
 *
 *   kubectl ─ws─ SPDY ─▶ api-server ─▶ (dial) pod IP:port
 *
 * Each data stream gets its own TCP connection to the port; half-closes pass
 * through; a refused or reset port is reported on the pair's error stream as
 * kubelet words it, and the data stream is closed.
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { SpdySession, type SpdyStream } from './spdy-session.js';
import { errors, resourceForKind, type Pod } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import { getPod } from './pod-target.js';

export const PORTFORWARD_WS_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
export const PORTFORWARD_PROTOCOL = 'portforward.k8s.io';
const POD_CHECK_MS = 1000;
const PODS = resourceForKind('v1', 'Pod')!;

/** How to reach a pod's port (the default dials the pod IP from here). */
export type PodDialer = (pod: Pod, port: number) => net.Socket;

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  port: number;
}

export class PortForwardRelay {
  readonly #reg: Registry;
  readonly #log: Logger;
  // The subprotocol has a "/" (not an RFC 6455 token), which ws refuses to parse: the request's
  // offer is checked here and taken out, and the answer is added to the handshake's headers.
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  readonly #dial: PodDialer;
  readonly #sessions = new Set<Duplex>();

  constructor(reg: Registry, log: Logger, dial?: PodDialer) {
    this.#reg = reg;
    this.#log = log;
    this.#dial = dial ?? ((pod, port) => net.connect({ host: pod.status!.podIP!, port, noDelay: true }));
  }

  /** Refusals throw an ApiError before anything is upgraded (the caller answers them). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, namespace: string, name: string): void {
    const pod = getPod(this.#reg, namespace, name);
    if (pod.status?.phase !== 'Running' || !pod.status.podIP) {
      throw errors.badRequest(`unable to upgrade connection: pod ${name} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
    }
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'websocket') {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
      if (!offered.includes(PORTFORWARD_WS_PROTOCOL)) throw errors.badRequest(`port-forward over WebSocket needs the subprotocol ${PORTFORWARD_WS_PROTOCOL} (kubectl 1.31 or newer)`);
      delete req.headers['sec-websocket-protocol'];
      const answer = (headers: string[]) => headers.push(`Sec-WebSocket-Protocol: ${PORTFORWARD_WS_PROTOCOL}`);
      this.#wss.once('headers', answer);
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(createWebSocketStream(ws), pod));
      this.#wss.off('headers', answer);
      return;
    }
    if (upgrade.startsWith('spdy/3.1')) {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORTFORWARD_PROTOCOL}\r\n\r\n`);
      if (head.length) socket.unshift(head);
      this.#serve(socket, pod);
      return;
    }
    throw errors.badRequest('port-forward needs an Upgrade to websocket or SPDY/3.1');
  }

  #serve(channel: Duplex, pod: Pod): void {
    const name = pod.metadata.name ?? '';
    const uid = pod.metadata.uid ?? '';
    this.#sessions.add(channel);
    const pairs = new Map<string, Pair>();
    const log = this.#log.child({ pod: `${pod.metadata.namespace}/${name}` });
    // The forward ends when the pod does (deleted, or replaced by one of the same name), as kubelet's streams end with it.
    const watch = setInterval(() => {
      const now = this.#reg.get<Pod>(PODS, pod.metadata.namespace, name);
      if (!now || now.metadata.uid !== uid || now.metadata.deletionTimestamp) {
        log.info('pod gone: ending its port-forward');
        channel.destroy();
      }
    }, POD_CHECK_MS);
    watch.unref();
    channel.once('close', () => {
      clearInterval(watch);
      this.#sessions.delete(channel);
    });
    new SpdySession(channel, {
      onError: (e) => log.debug({ err: e.message }, 'port-forward session ended with an error'),
      onStream: (stream) => {
        stream.on('error', () => stream.destroy());
        const h = stream.headers;
        const port = Number(h.port);
        const rid = String(h.requestid ?? '');
        if (!Number.isInteger(port) || port < 1 || port > 65535 || (h.streamtype !== 'error' && h.streamtype !== 'data')) {
          stream.end();
          return;
        }
        let pair = pairs.get(rid);
        if (!pair) pairs.set(rid, (pair = { port }));
        if (h.streamtype === 'error') pair.error = stream;
        else pair.data = stream;
        if (pair.data && pair.error) {
          pairs.delete(rid);
          this.#forward(pair as Required<Pair>, pod, name, uid);
        }
      },
    });
  }

  #forward(p: Required<Pair>, pod: Pod, name: string, uid: string): void {
    const sock = this.#dial(pod, p.port);
    let connected = false;
    sock.once('connect', () => {
      connected = true;
      p.data.pipe(sock);
      sock.pipe(p.data);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!p.error.writableEnded) p.error.end(`error forwarding port ${p.port} to pod ${name}, uid ${uid}: ${connected ? e.message : `failed to connect to localhost:${p.port} inside namespace "${name}": ${e.code ?? e.message}`}`);
      if (!p.data.destroyed) p.data.end();
    });
    p.data.on('error', () => sock.destroy());
    p.data.once('close', () => sock.destroy());
  }

  close(): void {
    for (const s of this.#sessions) s.destroy();
    this.#wss.close();
  }
}
