/**
 * `kubectl logs`: GET /api/v1/namespaces/{ns}/pods/{name}/log?container=
 * &follow=&previous=&tailLines=&timestamps=&sinceSeconds=&sinceTime=
 * &limitBytes=, relayed to the node agent of the pod's node as one logs
 * stream (agent-streams.ts).
 *
 * The answer waits for the agent: a refusal (e.g. 400 `container "x" in pod
 * "y" is waiting to start: ContainerCreating`) becomes the HTTP Status
 * answer; acceptance starts a 200 text/plain chunked body carrying the log
 * bytes until the agent ends the stream (follow: until the client goes away,
 * which cancels the stream on the agent). A pod not yet on a node has an
 * empty log, as kube-apiserver answers. Backpressure: a chunk is acknowledged
 * to the agent only once written to the client's socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errors, type LogsStartMsg, type Status } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import { sendJSON } from '../http/respond.js';
import { agentForNode, boolParam, getPod, intParam, validateContainer, type AgentLookup } from './pod-target.js';

export type LogOptions = Omit<LogsStartMsg, 't' | 'sid' | 'namespace' | 'pod' | 'uid' | 'container'> & { container?: string };

/** The log options of a request's query, validated as kube-apiserver does. */
export function parseLogOptions(q: URLSearchParams): LogOptions {
  const o: LogOptions = {
    container: q.get('container') || undefined,
    follow: boolParam(q, 'follow'),
    previous: boolParam(q, 'previous'),
    timestamps: boolParam(q, 'timestamps'),
    tailLines: intParam(q, 'tailLines', 0),
    sinceSeconds: intParam(q, 'sinceSeconds', 1),
    limitBytes: intParam(q, 'limitBytes', 1),
  };
  const sinceTime = q.get('sinceTime');
  if (sinceTime) {
    if (Number.isNaN(Date.parse(sinceTime))) throw errors.badRequest(`sinceTime: invalid value "${sinceTime}": must be an RFC 3339 time`);
    if (o.sinceSeconds !== undefined) throw errors.badRequest('at most one of `sinceTime` or `sinceSeconds` may be specified');
    o.sinceTime = sinceTime;
  }
  for (const k of Object.keys(o) as (keyof LogOptions)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export class LogsRelay {
  readonly #reg: Registry;
  readonly #agents: AgentLookup | undefined;
  readonly #log: Logger;

  constructor(reg: Registry, agents: AgentLookup | undefined, log: Logger) {
    this.#reg = reg;
    this.#agents = agents;
    this.#log = log;
  }

  /** Serves a log request; throws an ApiError for refusals the server itself makes. */
  handle(req: IncomingMessage, res: ServerResponse, namespace: string, name: string, query: URLSearchParams): void {
    const { container: asked, ...opts } = parseLogOptions(query);
    const pod = getPod(this.#reg, namespace, name);
    const container = validateContainer(pod, asked);
    const node = pod.spec?.nodeName;
    const start200 = () => {
      if (res.headersSent) return;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
    };
    if (!node) {
      start200();
      res.end();
      return;
    }
    const agent = agentForNode(this.#agents, node);
    const log = this.#log.child({ pod: `${namespace}/${name}`, container, node });
    let over = false;
    const stream = agent.open(
      { t: 'logs-start', namespace, pod: name, uid: pod.metadata.uid ?? '', container, ...opts },
      {
        onReady: start200,
        onData(_channel, data, done) {
          if (over || res.destroyed) return done();
          start200();
          res.write(data, () => done());
        },
        onEnd(status: Status | undefined) {
          over = true;
          if (!res.headersSent && status?.status === 'Failure') {
            sendJSON(res, status.code >= 400 ? status.code : 500, status);
            return;
          }
          if (status?.status === 'Failure') log.info({ message: status.message }, 'log stream failed after it started');
          start200();
          res.end();
        },
        onLost(reason) {
          over = true;
          log.info({ reason }, 'log stream lost');
          if (!res.headersSent) sendJSON(res, 503, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: reason, reason: 'ServiceUnavailable', code: 503 });
          else res.destroy(); // the client sees the log cut short, not a clean end
        },
      },
    );
    res.on('close', () => {
      if (!over) {
        over = true;
        stream.cancel();
      }
    });
    req.on('error', () => {});
  }
}
