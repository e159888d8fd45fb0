/**
 * `kubectl exec`: GET|POST /api/v1/namespaces/{ns}/pods/{name}/exec?command=…
 * &container=&stdin=&stdout=&stderr=&tty= (and `kubectl attach`: …/attach,
 * the same without a command) as a WebSocket upgrade speaking the
 * remote-command protocol (remotecommand.ts), relayed to the node agent of
 * the pod's node as one exec stream (agent-streams.ts):
 *
 *   kubectl ─ws: [0|stdin] [4|resize] [255,0]─▶ api-server ─stream-data / stream-close─▶ agent
 *   kubectl ◀─ws: [1|out] [2|err] [3|Status]── api-server ◀─stream-data / stream-end──── agent
 *
 * Refusals before the upgrade (bad options, no pod, no container, no node,
 * agent not connected) are plain HTTP Status answers — the same for a
 * WebSocket and a SPDY request, so kubectl ≥ 1.30, which retries over SPDY
 * when its WebSocket upgrade is refused, shows the real reason. A SPDY
 * request that passes them is answered with a Status saying kubemu speaks
 * the WebSocket protocol (kubectl ≥ 1.30). Anything the agent reports after
 * the upgrade goes to the error channel. Backpressure: kubectl's socket is
 * paused while the window toward the agent is used up; output is
 * acknowledged to the agent only once written to kubectl's socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket } from 'ws';
import { STREAM_RESIZE, STREAM_STDIN, errors, exitStatus, type ExecStartMsg, type Status } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import type { AgentStreams } from './agent-streams.js';
import { agentForNode, boolParam, getPod, validateContainer, type AgentLookup } from './pod-target.js';
import {
  CH_CLOSE,
  CH_ERROR,
  CH_RESIZE,
  CH_STDERR,
  CH_STDIN,
  CH_STDOUT,
  SUPPORTED_PROTOCOLS,
  V5_PROTOCOL,
  closedChannel,
  decodeFrame,
  encodeFrame,
  isSpdyUpgrade,
  isWebSocketUpgrade,
  negotiateProtocol,
  offeredProtocols,
} from './remotecommand.js';

export interface ExecOptions {
  command: string[];
  container?: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The exec options of a request's query, validated as kubelet does. */
export function parseExecOptions(q: URLSearchParams): ExecOptions {
  const o: ExecOptions = {
    command: q.getAll('command'),
    container: q.get('container') || undefined,
    stdin: boolParam(q, 'stdin'),
    stdout: boolParam(q, 'stdout'),
    stderr: boolParam(q, 'stderr'),
    tty: boolParam(q, 'tty'),
  };
  if (!o.stdin && !o.stdout && !o.stderr) throw errors.badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (o.command.length === 0 || o.command[0] === '') throw errors.badRequest('you must specify at least one command for the container');
  if (o.tty) o.stderr = false; // a terminal merges stderr into stdout
  return o;
}

/** The attach options of a request's query (PodAttachOptions): no command; the same channel rules. */
export function parseAttachOptions(q: URLSearchParams): ExecOptions {
  const o: ExecOptions = {
    command: [],
    container: q.get('container') || undefined,
    stdin: boolParam(q, 'stdin'),
    stdout: boolParam(q, 'stdout'),
    stderr: boolParam(q, 'stderr'),
    tty: boolParam(q, 'tty'),
  };
  if (!o.stdin && !o.stdout && !o.stderr) throw errors.badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (o.tty) o.stderr = false;
  return o;
}

export const SPDY_UNSUPPORTED =
  'kubemu speaks the WebSocket remote-command protocol (v5.channel.k8s.io / v4.channel.k8s.io), not SPDY/3.1: use kubectl 1.30 or newer for exec';

function failure(message: string, code = 500): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: code === 500 ? 'InternalError' : undefined, code };
}

interface Session {
  ws: WebSocket;
  alive: boolean;
}

export class ExecRelay {
  readonly #reg: Registry;
  readonly #agents: AgentLookup | undefined;
  readonly #log: Logger;
  readonly #wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4 * 1024 * 1024,
    handleProtocols: (offered) => negotiateProtocol(offered) ?? false,
  });
  readonly #sessions = new Set<Session>();
  readonly #timer: NodeJS.Timeout;

  constructor(reg: Registry, agents: AgentLookup | undefined, log: Logger, pingIntervalMs = 20_000) {
    this.#reg = reg;
    this.#agents = agents;
    this.#log = log;
    // kubectl pings every 5 s; we ping too, and drop a client that answered nothing for a whole interval.
    this.#timer = setInterval(() => {
      for (const s of this.#sessions) {
        // A paused socket (stdin backpressure) reads no pongs: not a sign of death.
        if (s.ws.isPaused) continue;
        if (!s.alive) {
          s.ws.terminate();
          continue;
        }
        s.alive = false;
        if (s.ws.readyState === WebSocket.OPEN) s.ws.ping();
      }
    }, pingIntervalMs);
    this.#timer.unref();
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Serves an exec upgrade request. Throws an ApiError for refusals before
   * the upgrade (the caller writes it as the HTTP answer).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, namespace: string, name: string, query: URLSearchParams, mode: 'exec' | 'attach' = 'exec'): void {
    const attach = mode === 'attach';
    const opts = attach ? parseAttachOptions(query) : parseExecOptions(query);
    const pod = getPod(this.#reg, namespace, name);
    const container = validateContainer(pod, opts.container);
    const node = pod.spec?.nodeName;
    if (!node) throw errors.badRequest(`pod ${name} does not have a host assigned`);
    const agent = agentForNode(this.#agents, node);
    if (isSpdyUpgrade(req)) throw errors.badRequest(attach ? SPDY_UNSUPPORTED.replace(/for exec$/, 'for attach') : SPDY_UNSUPPORTED);
    if (!isWebSocketUpgrade(req)) throw errors.badRequest('Upgrade request required');
    const offered = offeredProtocols(req);
    if (!negotiateProtocol(offered)) {
      throw errors.badRequest(`unsupported remote-command subprotocol(s) [${offered.join(', ')}]: kubemu speaks ${SUPPORTED_PROTOCOLS.join(', ')}`);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#relay(ws, agent, {
        t: 'exec-start',
        namespace,
        pod: name,
        uid: pod.metadata.uid ?? '',
        container,
        command: opts.command,
        ...(attach ? { attach: true } : {}),
        stdin: opts.stdin,
        stdout: opts.stdout,
        stderr: opts.stderr,
        tty: opts.tty,
      });
    });
  }

  #relay(ws: WebSocket, agent: AgentStreams, start: Omit<ExecStartMsg, 'sid'>): void {
    const log = this.#log.child({ pod: `${start.namespace}/${start.pod}`, container: start.container, node: agent.node });
    const v5 = ws.protocol === V5_PROTOCOL;
    const session: Session = { ws, alive: true };
    this.#sessions.add(session);
    let over = false;
    const finish = (status: Status) => {
      if (over) return;
      over = true;
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(encodeFrame(CH_ERROR, JSON.stringify(status)));
        ws.close(1000);
      }
    };
    log.debug({ command: start.command }, 'exec started');
    const stream = agent.open(start, {
      onReady() {},
      onData(channel, data, done) {
        if (over || ws.readyState !== WebSocket.OPEN || (channel !== CH_STDOUT && channel !== CH_STDERR)) return done();
        ws.send(encodeFrame(channel, data), () => done());
      },
      onDrain() {
        if (ws.isPaused) ws.resume();
      },
      onEnd(status) {
        log.debug({ status: status?.status, reason: status?.reason }, 'exec ended');
        finish(status ?? exitStatus(0));
      },
      onLost(reason) {
        log.info({ reason }, 'exec stream lost');
        finish(failure(reason));
      },
    });
    const alive = () => (session.alive = true);
    ws.on('pong', alive);
    ws.on('ping', alive);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      alive();
      if (over || !isBinary) return;
      const f = decodeFrame(data);
      if (!f) return;
      if (f.channel === CH_STDIN) {
        if (start.stdin && f.data.length && !stream.send(STREAM_STDIN, f.data)) ws.pause();
      } else if (f.channel === CH_RESIZE) {
        stream.send(STREAM_RESIZE, f.data);
      } else if (v5 && f.channel === CH_CLOSE) {
        if (closedChannel(f) === CH_STDIN) stream.closeInput(STREAM_STDIN);
      }
    });
    ws.on('close', () => {
      this.#sessions.delete(session);
      if (!over) {
        over = true;
        log.debug('exec client went away');
        stream.cancel();
      }
    });
    ws.on('error', (err) => log.debug({ err }, 'exec client socket error'));
  }

  close(): void {
    clearInterval(this.#timer);
    for (const s of this.#sessions) s.ws.terminate();
    this.#wss.close();
  }
}
