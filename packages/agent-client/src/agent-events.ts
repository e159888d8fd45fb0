/**
 * core/v1 Events written by a node's agents over their AgentClient (the
 * node agent as `kubelet`, kube-proxy as `kube-proxy`): source component and
 * host = the node, written in order, best effort; a repeat of the same event
 * is folded into the first by count, as Kubernetes' event correlator does.
 */
import { randomBytes } from 'node:crypto';
import type { AgentClient } from './agent-client.js';
import type { KubeObject } from '@kubemu/api';
import { metaTime } from '@kubemu/api';

export interface AgentEventSinkOptions {
  /** `source.component` and `reportingComponent` (e.g. kubelet, kube-proxy). */
  component: string;
  /** The node, `source.host` and `reportingInstance`. */
  node: string;
  /** involvedObject.kind when the object carries none. */
  defaultKind: string;
}

interface Folded {
  count: number;
  object: KubeObject;
}

export class AgentEventSink {
  readonly #client: Pick<AgentClient, 'request'>;
  readonly #o: AgentEventSinkOptions;
  readonly #folded = new Map<string, Folded>();
  #chain: Promise<void> = Promise.resolve();

  constructor(client: Pick<AgentClient, 'request'>, opts: AgentEventSinkOptions) {
    this.#client = client;
    this.#o = opts;
  }

  /** Queues an event; events are written in order, best effort (as in Kubernetes). */
  emit(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#chain = this.#chain.then(() => this.#emit(involved, type, reason, message)).catch(() => {});
  }

  async #emit(involved: KubeObject, type: string, reason: string, message: string): Promise<void> {
    const ns = involved.metadata.namespace ?? 'default';
    const key = `${involved.metadata.uid}|${type}|${reason}|${message}`;
    const now = metaTime();
    const prev = this.#folded.get(key);
    if (prev) {
      prev.count++;
      const next = { ...prev.object, count: prev.count, lastTimestamp: now };
      const r = await this.#client.request({ verb: 'update', resource: 'events', namespace: ns, object: next });
      if (r.object) prev.object = r.object;
      return;
    }
    const { component, node } = this.#o;
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${involved.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: { kind: involved.kind || this.#o.defaultKind, namespace: ns, name: involved.metadata.name, uid: involved.metadata.uid, apiVersion: 'v1', resourceVersion: involved.metadata.resourceVersion },
      reason,
      message,
      type,
      source: { component, host: node },
      reportingComponent: component,
      reportingInstance: node,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const r = await this.#client.request({ verb: 'create', resource: 'events', namespace: ns, object: ev });
    if (this.#folded.size > 5000) this.#folded.clear();
    this.#folded.set(key, { count: 1, object: r.object ?? ev });
  }
}
