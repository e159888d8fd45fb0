/**
 * core/v1 Events from kube-proxy (source component "kube-proxy", host = the
 * node), written in order, best effort; a repeat of the same event is folded
 * into the first by count, as Kubernetes' event correlator does.
 */
import { randomBytes } from 'node:crypto';
import type { AgentClient, KubeObject } from '@kubemu/api';

export class EventRecorder {
  readonly #folded = new Map<string, { count: number; object: KubeObject }>();
  #chain: Promise<void> = Promise.resolve();

  constructor(
    readonly client: AgentClient,
    readonly node: string,
  ) {}

  emit(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#chain = this.#chain.then(() => this.#emit(involved, type, reason, message)).catch(() => {});
  }

  async #emit(involved: KubeObject, type: string, reason: string, message: string): Promise<void> {
    const ns = involved.metadata.namespace ?? 'default';
    const key = `${involved.metadata.uid}|${reason}|${message}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const prev = this.#folded.get(key);
    if (prev) {
      prev.count++;
      const r = await this.client.request({ verb: 'update', resource: 'events', namespace: ns, object: { ...prev.object, count: prev.count, lastTimestamp: now } });
      if (r.object) prev.object = r.object;
      return;
    }
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${involved.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: { kind: involved.kind || 'Service', namespace: ns, name: involved.metadata.name, uid: involved.metadata.uid, apiVersion: 'v1', resourceVersion: involved.metadata.resourceVersion },
      reason,
      message,
      type,
      source: { component: 'kube-proxy', host: this.node },
      reportingComponent: 'kube-proxy',
      reportingInstance: this.node,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const r = await this.client.request({ verb: 'create', resource: 'events', namespace: ns, object: ev });
    if (this.#folded.size > 5000) this.#folded.clear();
    this.#folded.set(key, { count: 1, object: r.object ?? ev });
  }
}
