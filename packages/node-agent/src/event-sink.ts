/**
 * Writes kubelet-style core/v1 Events for pods (Created, Started, Unhealthy,
 * Killing, BackOff …), folding repeats into one Event with a count, as
 * Kubernetes' event correlator does.
 */
import { randomBytes } from 'node:crypto';
import type { AgentClient, KubeObject } from '@kubemu/api';

interface Folded {
  name: string;
  count: number;
  object: KubeObject;
}

export class EventSink {
  readonly #client: AgentClient;
  readonly #node: string;
  readonly #folded = new Map<string, Folded>();

  constructor(client: AgentClient, node: string) {
    this.#client = client;
    this.#node = node;
  }

  /** Queues an event; events are written in order, best effort (as in Kubernetes). */
  emit(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#chain = this.#chain.then(() => this.#emit(involved, type, reason, message)).catch(() => {});
  }

  #chain: Promise<void> = Promise.resolve();

  async #emit(involved: KubeObject, type: string, reason: string, message: string): Promise<void> {
    const ns = involved.metadata.namespace ?? 'default';
    const key = `${involved.metadata.uid}|${type}|${reason}|${message}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const prev = this.#folded.get(key);
    if (prev) {
      prev.count++;
      const next = { ...prev.object, count: prev.count, lastTimestamp: now };
      const r = await this.#client.request({ verb: 'update', resource: 'events', namespace: ns, object: next });
      if (r.object) prev.object = r.object;
      return;
    }
    const name = `${involved.metadata.name}.${randomBytes(8).toString('hex')}`;
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: { kind: involved.kind || 'Pod', namespace: ns, name: involved.metadata.name, uid: involved.metadata.uid, apiVersion: 'v1' },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.#node },
      reportingComponent: 'kubelet',
      reportingInstance: this.#node,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const r = await this.#client.request({ verb: 'create', resource: 'events', namespace: ns, object: ev });
    if (this.#folded.size > 5000) this.#folded.clear();
    this.#folded.set(key, { name, count: 1, object: r.object ?? ev });
  }
}
