/**
 * The HTTPS front door: bearer-token auth, routing to discovery, OpenAPI and
 * the resource handler, and a Status body for every error. The agent
 * WebSocket shares the port (upgrade on /agent/v1); other upgrades (kubectl
 * exec) pass the same token check and go to the pod streams, as do pods/log.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ApiError, errors, isApiError } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import { discoveryDocument, versionInfo } from './discovery.js';
import { METRICS_GROUP, metricsAPIGroup, metricsRequest, type MetricsStore } from '../metrics/metrics-api.js';
import { openapiV3Document, openapiV3Root } from './openapi.js';
import { ResourceHandler } from './resource-handler.js';
import { sendJSON, type UpgradeHandler } from './respond.js';
import { parseRoute } from './route.js';
import { PodStreams, type ResourceRoute } from '../streams/pod-streams.js';
import type { AgentLookup } from '../streams/pod-target.js';
import { writeStatus } from '../streams/pod-target.js';
import type { TokenRequests } from '../registry/token-requests.js';
import { Authenticator } from '../security/authenticator.js';

/** Request line plus headers, as the Kubernetes API server allows. */
const MAX_HEADER_BYTES = 1 << 20;

export interface ApiServerOptions {
  cert: string;
  key: string;
  /** Decides whether a bearer token may use the API (static tokens, service account tokens). */
  authenticate: (token: string) => Promise<boolean>;
  /** Serves serviceaccounts/token; without it that subresource is 404. */
  tokenRequests?: TokenRequests;
  log: Logger;
  /** Where exec/logs find a node's agent connection. */
  agents?: AgentLookup;
  /** Takes the upgrades it owns before exec/logs see them (the agent WebSocket). */
  upgrades?: UpgradeHandler;
  /** The node agents' usage reports, served as metrics.k8s.io (kubectl top); without it the group is absent. */
  metrics?: MetricsStore;
}

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

export class ApiServer {
  readonly #server: Server;
  readonly #handler: ResourceHandler;
  readonly #streams: PodStreams;
  readonly #opts: ApiServerOptions;
  readonly #log: Logger;

  constructor(reg: Registry, opts: ApiServerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#handler = new ResourceHandler(reg, { tokenRequests: opts.tokenRequests });
    this.#streams = new PodStreams(reg, opts.agents, opts.log.child({ component: 'pod-streams' }));
    // Node's 16 KiB header limit would reset a long `kubectl exec` URL (every argument is a query parameter);
    // the Kubernetes API server takes 1 MiB.
    this.#server = createServer({ cert: opts.cert, key: opts.key, keepAliveTimeout: 60_000, maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
      this.#handle(req, res).catch((e) => this.#fail(res, e, req));
    });
    this.#server.requestTimeout = 0; // watches are long
    this.#server.headersTimeout = 30_000;
    this.#server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      if (opts.upgrades?.handleUpgrade(req, socket, head)) return;
      void this.#upgrade(req, socket, head);
    });
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.#streams.close();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #authorized(req: IncomingMessage): Promise<boolean> {
    const token = Authenticator.bearer(req.headers.authorization);
    return token !== undefined && (await this.#opts.authenticate(token));
  }

  /** Upgrade requests other than the agent socket's: kubectl exec (WebSocket, or SPDY to refuse). */
  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'https://kubemu');
      if (!(await this.#authorized(req))) throw errors.unauthorized();
      const route = parseRoute(url.pathname);
      if (this.#streams.handles(route)) return this.#streams.handleUpgrade(req, socket, head, route as ResourceRoute, url.searchParams);
      throw new ApiError(400, 'BadRequest', `the server does not allow upgrading ${url.pathname}`);
    } catch (e) {
      const err = isApiError(e) ? e : errors.internal((e as Error)?.message ?? String(e));
      writeStatus(socket, err.status);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubemu');
    const path = url.pathname;
    if (!PUBLIC_PATHS.has(path) && !(await this.#authorized(req))) throw errors.unauthorized();
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/version') return sendJSON(res, 200, versionInfo());
    if (path === '/openapi/v3') return sendJSON(res, 200, openapiV3Root());
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapiV3Document(path.slice('/openapi/v3/'.length));
      if (doc) return sendJSON(res, 200, doc);
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
    }
    if (path === `/apis/${METRICS_GROUP}` || path.startsWith(`/apis/${METRICS_GROUP}/`)) {
      if (!this.#opts.metrics) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return sendJSON(res, 200, metricsRequest(this.#opts.metrics, req.method ?? 'GET', path));
    }
    const route = parseRoute(path);
    switch (route.type) {
      case 'discovery': {
        const doc = discoveryDocument(path, req.headers.host ?? '');
        // The resource metrics API is served too (metrics-server's group, in process).
        if (doc && path.replace(/\/+$/, '') === '/apis' && this.#opts.metrics) (doc as { groups: object[] }).groups.push(metricsAPIGroup());
        if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return sendJSON(res, 200, doc);
      }
      case 'unknown-resource':
        throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${route.plural}${route.group ? `.${route.group}` : ''})`);
      case 'not-found':
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      case 'resource':
        if (this.#streams.handles(route)) return this.#streams.handleRequest(req, res, route, url.searchParams);
        return this.#handler.handle({ req, res, query: url.searchParams, resource: route.resource, namespace: route.namespace, name: route.name, subresource: route.subresource, legacyWatch: route.legacyWatch });
    }
  }

  #fail(res: ServerResponse, e: unknown, req: IncomingMessage): void {
    const err = isApiError(e) ? e : errors.internal((e as Error)?.message ?? String(e));
    if (!isApiError(e)) this.#log.error({ err: e, method: req.method, url: req.url }, 'request failed');
    else this.#log.debug({ code: err.code, method: req.method, url: req.url, message: err.message }, 'request rejected');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Drain what the client is still sending (e.g. an over-limit body) before answering.
    if (err.code === 413) res.setHeader('Connection', 'close');
    sendJSON(res, err.code, err.status);
  }
}
