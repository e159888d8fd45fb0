/**
 * The pods' connect subresources, in front of the generic resource handler:
 *   pods/exec         WebSocket upgrade → exec-relay.ts
 *   pods/log          streaming GET     → logs-relay.ts
 *   pods/portforward  WebSocket (SPDY tunnelled) or SPDY upgrade → portforward-relay.ts
 *   pods/attach       WebSocket upgrade → exec-relay.ts (the container's own program)
 * Both plain requests and upgrade requests come through here; the caller has
 * already checked the bearer token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errors, isApiError } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import type { Route } from '../http/route.js';
import { ExecRelay } from './exec-relay.js';
import { LogsRelay } from './logs-relay.js';
import { PortForwardRelay } from './portforward-relay.js';
import { getPod, writeStatus, type AgentLookup } from './pod-target.js';

export type ResourceRoute = Extract<Route, { type: 'resource' }>;

export const POD_STREAM_SUBRESOURCES = new Set(['exec', 'log', 'attach', 'portforward']);


export class PodStreams {
  readonly #reg: Registry;
  readonly #exec: ExecRelay;
  readonly #logs: LogsRelay;
  readonly #portForward: PortForwardRelay;
  readonly #log: Logger;

  constructor(reg: Registry, agents: AgentLookup | undefined, log: Logger) {
    this.#reg = reg;
    this.#log = log;
    this.#exec = new ExecRelay(reg, agents, log);
    this.#logs = new LogsRelay(reg, agents, log);
    this.#portForward = new PortForwardRelay(reg, log.child({ stream: 'portforward' }));
  }

  /** Whether `route` is one of ours. */
  handles(route: Route): boolean {
    return (
      route.type === 'resource' &&
      route.resource.group === '' &&
      route.resource.plural === 'pods' &&
      !!route.name &&
      !!route.subresource &&
      POD_STREAM_SUBRESOURCES.has(route.subresource)
    );
  }

  #check(route: ResourceRoute, method: string, allowed: string[]): { namespace: string; name: string; sub: string } {
    if (!route.namespace) throw errors.notFound({ group: '', resource: 'pods', name: route.name });
    if (!allowed.includes(method)) throw errors.methodNotAllowed(method);
    const sub = route.subresource!;
    return { namespace: route.namespace, name: route.name!, sub };
  }

  /** A plain (non-upgrade) request. */
  async handleRequest(req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (route.subresource === 'log') {
      const { namespace, name } = this.#check(route, method, ['GET']);
      return this.#logs.handle(req, res, namespace, name, query);
    }
    const { namespace, name } = this.#check(route, method, ['GET', 'POST']);
    getPod(this.#reg, namespace, name);
    throw errors.badRequest('Upgrade request required');
  }

  /** An upgrade request (WebSocket or SPDY); answers refusals on the raw socket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: ResourceRoute, query: URLSearchParams): void {
    try {
      const method = req.method ?? 'GET';
      if (route.subresource === 'log') throw errors.badRequest('pods/log is a plain GET, not an upgrade');
      const { namespace, name, sub } = this.#check(route, method, ['GET', 'POST']);
      if (sub === 'portforward') this.#portForward.handleUpgrade(req, socket, head, namespace, name);
      else this.#exec.handleUpgrade(req, socket, head, namespace, name, query, sub === 'attach' ? 'attach' : 'exec');
    } catch (e) {
      const err = isApiError(e) ? e : errors.internal((e as Error)?.message ?? String(e));
      if (!isApiError(e)) this.#log.error({ err: e, url: req.url }, 'exec upgrade failed');
      else this.#log.debug({ code: err.code, url: req.url, message: err.message }, 'exec upgrade refused');
      writeStatus(socket, err.status);
    }
  }

  close(): void {
    this.#exec.close();
    this.#portForward.close();
  }
}
