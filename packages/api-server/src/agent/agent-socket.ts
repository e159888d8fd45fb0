/**
 * The api-server end of the agent WebSocket (see @kubemu/api wire.ts): serves
 * watches and requests against the registry, pings every agent and drops the
 * ones that stop answering or stop reading. Node agents (`X-Kubemu-Agent:
 * node-agent/<node>`) are indexed by node, so exec and logs can be relayed to
 * the agent of a pod's node (streams/agent-streams.ts); the newest connection
 * of a node wins.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket } from 'ws';
import {
  AGENT_PATH,
  RESOURCES,
  decodeMsg,
  encodeMsg,
  errors,
  groupVersion,
  isApiError,
  nodeOfAgent,
  resourceKey,
  WIRE_VERSION,
  type ClientMsg,
  type KubeObject,
  type MetricsMsg,
  type RequestMsg,
  type ResourceInfo,
  type ServerMsg,
  type WatchRequestMsg,
} from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import { applyPatch } from '../patch/index.js';
import { pruneUnknownFields } from '../http/field-validation.js';
import { AgentStreams } from '../streams/agent-streams.js';
import type { TokenRequests } from '../registry/token-requests.js';

function statusOf(e: unknown) {
  return isApiError(e) ? e.status : errors.internal((e as Error)?.message ?? String(e)).status;
}

const byKey = new Map(RESOURCES.map((r) => [resourceKey(r), r]));
const MAX_BUFFERED = 64 * 1024 * 1024;

export interface AgentSocketOptions {
  isAuthorized: (token: string) => boolean | Promise<boolean>;
  /** Serves create on serviceaccounts/token; without it that request is 404. */
  tokenRequests?: TokenRequests;
  pingIntervalMs?: number;
  /** Where node agents' usage reports go (metrics.k8s.io); without it they are dropped. */
  metrics?: { report(node: string, msg: MetricsMsg): void };
}

export class AgentSocket {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  readonly #reg: Registry;
  readonly #log: Logger;
  readonly #opts: AgentSocketOptions;
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #timer: NodeJS.Timeout;
  /** Node name → the streams of its node agent's connection. */
  readonly #nodes = new Map<string, AgentStreams>();

  constructor(reg: Registry, log: Logger, opts: AgentSocketOptions) {
    this.#reg = reg;
    this.#log = log;
    this.#opts = opts;
    this.#timer = setInterval(() => this.#pingAll(), opts.pingIntervalMs ?? 10_000);
    this.#timer.unref();
  }

  /** Whether `req` is an upgrade for us; if so, takes over the socket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_PATH) return false;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const refuse = () => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nUnauthorized\n');
    Promise.resolve()
      .then(() => this.#opts.isAuthorized(token))
      .then(
        (ok) => {
          if (!ok) return refuse();
          this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, String(req.headers['x-kubemu-agent'] ?? 'unknown')));
        },
        (err) => {
          this.#log.warn({ err }, 'authenticating an agent failed');
          refuse();
        },
      );
    return true;
  }

  get connections(): number {
    return this.#wss.clients.size;
  }

  /** The connected node agent of `node`, to open exec / logs streams on; undefined if none is connected. */
  agentForNode(node: string): AgentStreams | undefined {
    return this.#nodes.get(node);
  }

  #pingAll(): void {
    for (const ws of this.#wss.clients) {
      if (this.#alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }

  #serve(ws: WebSocket, agent: string): void {
    const log = this.#log.child({ agent });
    log.info('agent connected');
    this.#alive.set(ws, true);
    ws.on('pong', () => this.#alive.set(ws, true));
    const watches = new Map<number, () => void>();
    const send = (msg: ServerMsg): boolean => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        log.warn('agent is not reading; dropping its connection (it will resume)');
        ws.terminate();
        return false;
      }
      ws.send(encodeMsg(msg));
      return true;
    };
    const node = nodeOfAgent(agent);
    const streams = new AgentStreams(send, { node: node ?? agent });
    if (node) this.#nodes.set(node, streams);
    send({ t: 'hello', version: WIRE_VERSION, resourceVersion: this.#reg.resourceVersion });
    ws.on('message', (data) => {
      const msg = decodeMsg(data as Buffer) as ClientMsg | undefined;
      if (!msg) return;
      if (streams.handle(msg)) return;
      try {
        if (msg.t === 'watch') this.#watch(msg, watches, send);
        else if (msg.t === 'unwatch') {
          watches.get(msg.id)?.();
          watches.delete(msg.id);
        } else if (msg.t === 'metrics') {
          if (node) this.#opts.metrics?.report(node, msg);
        } else if (msg.t === 'request') {
          const out = this.#request(msg);
          if (out instanceof Promise) out.then(send, (e) => send({ t: 'error', id: msg.id, status: statusOf(e) }));
          else send(out);
        }
      } catch (e) {
        const status = statusOf(e);
        send(msg.t === 'watch' ? { t: 'watch-error', id: msg.id, status } : { t: 'error', id: (msg as { id: number }).id, status });
      }
    });
    ws.on('close', () => {
      for (const stop of watches.values()) stop();
      watches.clear();
      if (node && this.#nodes.get(node) === streams) this.#nodes.delete(node);
      streams.closeAll(`the node agent of node "${node ?? agent}" disconnected`);
      log.info('agent disconnected');
    });
    ws.on('error', (err) => log.warn({ err }, 'agent socket error'));
  }

  #resource(key: string): ResourceInfo {
    const r = byKey.get(key);
    if (!r) throw errors.notFound({ group: '', resource: key });
    return r;
  }

  #watch(msg: WatchRequestMsg, watches: Map<number, () => void>, send: (m: ServerMsg) => void): void {
    const r = this.#resource(msg.resource);
    watches.get(msg.id)?.();
    const sel = { namespace: msg.namespace, labelSelector: msg.labelSelector, fieldSelector: msg.fieldSelector };
    const forward = (ev: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject }) => send({ t: 'event', id: msg.id, type: ev.type, object: ev.object });
    if (msg.resourceVersion) {
      watches.set(msg.id, this.#reg.watchSync(r, { ...sel, resourceVersion: msg.resourceVersion }, forward));
      return;
    }
    const { items, resourceVersion } = this.#reg.list(r, sel);
    for (const object of items) forward({ type: 'ADDED', object });
    send({ t: 'event', id: msg.id, type: 'BOOKMARK', object: { apiVersion: '', kind: r.kind, metadata: { resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    watches.set(msg.id, this.#reg.watchSync(r, { ...sel, resourceVersion }, forward));
  }

  #request(msg: RequestMsg): ServerMsg | Promise<ServerMsg> {
    const r = this.#resource(msg.resource);
    const reg = this.#reg;
    if (msg.subresource !== undefined) return this.#subresource(msg, r);
    switch (msg.verb) {
      case 'get':
        return { t: 'response', id: msg.id, object: reg.mustGet(r, msg.namespace, msg.name ?? '') };
      case 'list': {
        const { items, resourceVersion } = reg.list(r, { namespace: msg.namespace, labelSelector: msg.labelSelector, fieldSelector: msg.fieldSelector });
        return { t: 'response', id: msg.id, items, resourceVersion };
      }
      case 'create':
        return { t: 'response', id: msg.id, object: reg.create(r, this.#object(msg, r), { fieldManager: agentManager(r) }) };
      case 'update':
        return { t: 'response', id: msg.id, object: reg.update(r, this.#object(msg, r), { fieldManager: agentManager(r) }) };
      case 'updateStatus':
        return { t: 'response', id: msg.id, object: reg.updateStatus(r, this.#object(msg, r), { fieldManager: agentManager(r) }) };
      case 'patch': {
        const current = reg.mustGet(r, msg.namespace, msg.name ?? '');
        // Fields the kind does not declare are dropped, as decoding does (fieldValidation=Ignore).
        const next = pruneUnknownFields(applyPatch(msg.patchType ?? 'application/merge-patch+json', current, msg.patch, r.kind), r.kind, groupVersion(r));
        next.metadata = { ...next.metadata, name: current.metadata.name, namespace: current.metadata.namespace, resourceVersion: current.metadata.resourceVersion };
        return { t: 'response', id: msg.id, object: reg.update(r, next, { fieldManager: agentManager(r) }) };
      }
      case 'delete':
        return { t: 'response', id: msg.id, object: reg.delete(r, msg.namespace, msg.name ?? '', { gracePeriodSeconds: msg.gracePeriodSeconds }) };
      default:
        throw errors.badRequest(`unknown verb ${(msg as { verb: string }).verb}`);
    }
  }

  /** create on serviceaccounts/token: a TokenRequest (how node agents get the tokens they mount into pods). */
  async #subresource(msg: RequestMsg, r: ResourceInfo): Promise<ServerMsg> {
    if (msg.subresource !== 'token' || r.plural !== 'serviceaccounts' || msg.verb !== 'create' || !this.#opts.tokenRequests) {
      throw errors.notFound({ group: r.group, resource: `${r.plural}/${String(msg.subresource)}`, name: msg.name });
    }
    const object = await this.#opts.tokenRequests.create(msg.namespace ?? 'default', msg.name ?? '', msg.object);
    return { t: 'response', id: msg.id, object };
  }

  /** The request's object without the fields its kind does not declare (fieldValidation=Ignore). */
  #object(msg: RequestMsg, r: ResourceInfo): KubeObject {
    if (!msg.object || typeof msg.object !== 'object') throw errors.badRequest('request has no object');
    return pruneUnknownFields(msg.object, r.kind, groupVersion(r));
  }

  close(): void {
    clearInterval(this.#timer);
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}

/**
 * The field manager of an agent's write: node agents do the kubelet's job
 * (nodes, pods, their events); the load balancer writes Service status, a
 * cloud controller's job in Kubernetes.
 */
function agentManager(r: { plural: string }): string {
  return r.plural === 'services' ? 'kubemu-load-balancer' : 'kubelet';
}
