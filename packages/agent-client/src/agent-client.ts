/**
 * The agent side of the wire protocol: one WebSocket to the api-server that
 * reconnects with jittered, capped backoff and resumes every watch from the
 * last resourceVersion it saw — or re-lists (and reports what vanished) when the
 * server answers 410 Gone. Requests are promise-returning RPCs.
 *
 * A node agent also serves the exec and logs streams the api-server relays to
 * it (wire.ts, "Streams"): register `onExec` / `onLogs`; each request gets an
 * ExecStream / LogStream (agent-streams.ts). A handler accepts the request by
 * returning (or resolving) and refuses it by throwing or calling
 * `stream.fail(status)` first. Streams live on one connection: when it drops,
 * every open stream is cancelled (its `signal` aborts).
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { ApiError, type KubeObject, AGENT_PATH, decodeMsg, encodeMsg, type ExecStartMsg, type LogsStartMsg, type MetricsMsg, type RequestMsg, type ServerMsg } from '@kubemu/api';
import { AgentStream, ExecStream, LogStream, failureStatus, type ExecRequest, type LogsRequest, type StreamSend } from './agent-streams.js';

/**
 * Serves one `kubectl exec`: run `req.command`, wire the process to `stream`,
 * then `stream.exit(code)`. kubectl is already connected when the handler
 * runs, so a refusal (throw, or `stream.fail`) reaches the user as
 * `error: <message>`; kubelet's wording for a container that does not run is
 * `unable to upgrade connection: container not found ("<name>")`.
 */
export type ExecHandler = (req: ExecRequest, stream: ExecStream) => void | Promise<void>;
/**
 * Serves one `kubectl logs`: write the log to `stream` (and keep writing while
 * `req.follow`, until `stream.signal` aborts), then `stream.end()`. A refusal
 * before the first byte is the HTTP answer, e.g. `errors.badRequest('container
 * "x" in pod "y" is waiting to start: ContainerCreating')`.
 */
export type LogsHandler = (req: LogsRequest, stream: LogStream) => void | Promise<void>;

export interface AgentClientOptions {
  /** https://host:port of the api-server. */
  server: string;
  token: string;
  /** PEM of the cluster CA. */
  ca?: string;
  /** Who this is, e.g. "node-agent/node-1". */
  agentName: string;
  /** Backoff bounds in ms (default 100 … 5000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Consider the server dead after this long without a ping (default 30 s). */
  livenessMs?: number;
  requestTimeoutMs?: number;
}

export interface AgentWatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this version instead of listing first. */
  resourceVersion?: string;
}

export type AgentEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject };

interface WatchState {
  id: number;
  resource: string;
  opts: AgentWatchOptions;
  onEvent: (ev: AgentEvent) => void;
  lastRV?: string;
  /** Objects known to this watch, by namespace/name (for relist diffs). */
  known: Map<string, KubeObject>;
  /** Keys seen since a relist started; undefined when not relisting. */
  relisting?: Set<string>;
}

export class AgentDisconnectedError extends Error {
  readonly code = 'ERR_AGENT_DISCONNECTED';
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class AgentClient extends EventEmitter {
  readonly #opts: Required<Omit<AgentClientOptions, 'ca'>> & { ca?: string };
  #ws?: WebSocket;
  #closed = false;
  #attempt = 0;
  #nextId = 1;
  readonly #watches = new Map<number, WatchState>();
  readonly #pending = new Map<number, { resolve: (m: ServerMsg) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #liveness?: NodeJS.Timeout;
  #reconnectTimer?: NodeJS.Timeout;
  #connected = false;
  #execHandler?: ExecHandler;
  #logsHandler?: LogsHandler;
  /** Open streams of the current connection, by sid. */
  readonly #streams = new Map<number, AgentStream>();

  constructor(opts: AgentClientOptions) {
    super();
    this.#opts = { minBackoffMs: 100, maxBackoffMs: 5000, livenessMs: 30_000, requestTimeoutMs: 10_000, ...opts };
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#connect();
  }

  /** Resolves once connected (or rejects after `timeoutMs`). */
  waitConnected(timeoutMs = 30_000): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('connected', on);
        reject(new AgentDisconnectedError(`not connected to ${this.#opts.server} after ${timeoutMs} ms`));
      }, timeoutMs);
      const on = () => {
        clearTimeout(t);
        resolve();
      };
      this.once('connected', on);
    });
  }

  #connect(): void {
    if (this.#closed) return;
    const url = this.#opts.server.replace(/^http/, 'ws') + AGENT_PATH;
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.#opts.token}`, 'X-Kubemu-Agent': this.#opts.agentName },
      ca: this.#opts.ca,
      maxPayload: 64 * 1024 * 1024,
      handshakeTimeout: 5000,
    });
    this.#ws = ws;
    ws.on('open', () => {
      this.#attempt = 0;
      this.#connected = true;
      this.#touch();
      for (const w of this.#watches.values()) this.#sendWatch(w);
      this.emit('connected');
    });
    ws.on('ping', () => this.#touch());
    ws.on('message', (data) => this.#onMessage(data as Buffer, ws));
    ws.on('error', (err) => this.emit('socket-error', err));
    ws.on('unexpected-response', (_req, res) => {
      this.emit('socket-error', new Error(`api-server refused the agent connection: HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.on('close', () => {
      if (this.#ws !== ws) return;
      const was = this.#connected;
      this.#connected = false;
      if (this.#liveness) clearTimeout(this.#liveness);
      this.#cancelStreams('the connection to the api-server closed');
      for (const [id, p] of this.#pending) {
        clearTimeout(p.timer);
        p.reject(new AgentDisconnectedError('connection to the api-server closed'));
        this.#pending.delete(id);
      }
      if (was) this.emit('disconnected');
      this.#scheduleReconnect();
    });
  }

  #touch(): void {
    if (this.#liveness) clearTimeout(this.#liveness);
    this.#liveness = setTimeout(() => this.#ws?.terminate(), this.#opts.livenessMs);
    this.#liveness.unref();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    const base = Math.min(this.#opts.maxBackoffMs, this.#opts.minBackoffMs * 2 ** this.#attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #send(msg: Parameters<typeof encodeMsg>[0]): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeMsg(msg));
    return true;
  }

  #sendWatch(w: WatchState): void {
    if (!w.lastRV) w.relisting = new Set();
    this.#send({ t: 'watch', id: w.id, resource: w.resource, namespace: w.opts.namespace, labelSelector: w.opts.labelSelector, fieldSelector: w.opts.fieldSelector, resourceVersion: w.lastRV });
  }

  #onMessage(data: Buffer, ws: WebSocket): void {
    this.#touch();
    const msg = decodeMsg(data) as ServerMsg | undefined;
    if (!msg) return;
    switch (msg.t) {
      case 'exec-start':
      case 'logs-start':
        return this.#openStream(msg, ws);
      case 'stream-data':
        this.#streams.get(msg.sid)?._onData(msg.channel, Buffer.isBuffer(msg.data) ? msg.data : Buffer.from(msg.data));
        return;
      case 'stream-ack':
        this.#streams.get(msg.sid)?._ack(msg.bytes);
        return;
      case 'stream-close':
        this.#streams.get(msg.sid)?._onClose(msg.channel);
        return;
      case 'event':
        return this.#onEvent(msg.id, msg.type, msg.object);
      case 'watch-error': {
        const w = this.#watches.get(msg.id);
        if (!w) return;
        // 410 Gone: our version was compacted away; list again and diff.
        w.lastRV = undefined;
        this.emit('relist', w.resource);
        this.#sendWatch(w);
        return;
      }
      case 'response':
      case 'error': {
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        clearTimeout(p.timer);
        p.resolve(msg);
        return;
      }
    }
  }

  #onEvent(id: number, type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK', object: KubeObject): void {
    const w = this.#watches.get(id);
    if (!w) return;
    if (object.metadata?.resourceVersion) w.lastRV = object.metadata.resourceVersion;
    if (type === 'BOOKMARK') {
      if (object.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true' && w.relisting) {
        // Anything we knew that the fresh list did not mention is gone.
        for (const [k, o] of w.known) {
          if (!w.relisting.has(k)) {
            w.known.delete(k);
            this.#deliver(w, { type: 'DELETED', object: o });
          }
        }
        w.relisting = undefined;
      }
      return;
    }
    const k = keyOf(object);
    w.relisting?.add(k);
    let t: AgentEvent['type'] = type;
    if (type === 'DELETED') w.known.delete(k);
    else {
      if (type === 'ADDED' && w.known.has(k)) t = 'MODIFIED';
      w.known.set(k, object);
    }
    this.#deliver(w, { type: t, object });
  }

  #deliver(w: WatchState, ev: AgentEvent): void {
    try {
      w.onEvent(ev);
    } catch (err) {
      this.emit('handler-error', err);
    }
  }

  /** Serves `kubectl exec` for this node (replaces any earlier handler). */
  onExec(handler: ExecHandler): void {
    this.#execHandler = handler;
  }

  /** Serves `kubectl logs` for this node (replaces any earlier handler). */
  onLogs(handler: LogsHandler): void {
    this.#logsHandler = handler;
  }

  /** Exec and logs streams open right now. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  #openStream(msg: ExecStartMsg | LogsStartMsg, ws: WebSocket): void {
    const { t, sid, ...req } = msg;
    if (this.#streams.has(sid)) return; // a repeated start: protocol error, ignore
    const send: StreamSend = (m) => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(encodeMsg(m));
      return true;
    };
    const stream = t === 'exec-start' ? new ExecStream(sid, send, req as ExecRequest) : new LogStream(sid, send, req as LogsRequest);
    this.#streams.set(sid, stream);
    stream.once('close', () => {
      if (this.#streams.get(sid) === stream) this.#streams.delete(sid);
    });
    const what = t === 'exec-start' ? 'exec' : 'logs';
    const handler = (t === 'exec-start' ? this.#execHandler : this.#logsHandler) as ((r: unknown, s: AgentStream) => void | Promise<void>) | undefined;
    if (!handler) {
      stream.fail(`${this.#opts.agentName} does not serve ${what}`, 501);
      return;
    }
    const refuse = (err: unknown) => {
      this.emit('handler-error', err);
      stream.fail(failureStatus(err));
    };
    try {
      const r = handler(req, stream);
      if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(() => stream._accept(), refuse);
      else stream._accept();
    } catch (err) {
      refuse(err);
    }
  }

  #cancelStreams(reason: string): void {
    const all = [...this.#streams.values()];
    this.#streams.clear();
    for (const s of all) s._cancel(reason);
  }

  /**
   * Watches `resource` (store key, e.g. "pods"): current objects arrive as
   * ADDED, then changes; across reconnects nothing is missed or repeated as new.
   */
  watch(resource: string, opts: AgentWatchOptions, onEvent: (ev: AgentEvent) => void): () => void {
    const w: WatchState = { id: this.#nextId++, resource, opts, onEvent, lastRV: opts.resourceVersion, known: new Map() };
    this.#watches.set(w.id, w);
    if (this.#connected) this.#sendWatch(w);
    return () => {
      this.#watches.delete(w.id);
      this.#send({ t: 'unwatch', id: w.id });
    };
  }

  /** A usage report (metrics.k8s.io); dropped when not connected (the next one follows). */
  sendMetrics(msg: MetricsMsg): boolean {
    return this.#connected && this.#send(msg);
  }

  async request(msg: Omit<RequestMsg, 't' | 'id'>): Promise<{ object?: KubeObject; items?: KubeObject[]; resourceVersion?: string }> {
    if (!this.#connected) await this.waitConnected(this.#opts.requestTimeoutMs);
    const id = this.#nextId++;
    const reply = await new Promise<ServerMsg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new AgentDisconnectedError(`request ${msg.verb} ${msg.resource} timed out`));
      }, this.#opts.requestTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      if (!this.#send({ t: 'request', id, ...msg })) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new AgentDisconnectedError('not connected to the api-server'));
      }
    });
    if (reply.t === 'error') {
      const s = reply.status;
      throw new ApiError(s.code, (s.reason ?? 'InternalError') as ConstructorParameters<typeof ApiError>[1], s.message ?? '', s.details);
    }
    if (reply.t !== 'response') throw new Error(`unexpected reply ${reply.t}`);
    return reply;
  }

  close(): void {
    this.#closed = true;
    this.#cancelStreams('the agent is shutting down');
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    if (this.#liveness) clearTimeout(this.#liveness);
    this.#ws?.close();
    this.#ws?.terminate();
  }
}
