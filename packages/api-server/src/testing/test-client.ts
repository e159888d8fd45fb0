/**
 * The ObjectClient controller tests run against: the real in-memory Registry
 * (SQLite `:memory:`, the same write path as the REST API, with the `default`
 * namespace created), wrapped to add what tests need — a one-shot injected
 * failure, and helpers for what node agents would do (pod status, finishing a
 * graceful pod deletion).
 */
import type { KubeObject, Pod, ResourceInfo } from '@kubemu/api';
import type { DeleteOptions, ListOptions, ObjectClient, ObjectEvent, WatchOptions } from '../registry/object-client.js';
import { R } from '../controllers/resources.js';
import { Registry } from '../registry/registry.js';

export interface TestClientOptions {
  /** Clock (ms) for the timestamps the store writes. */
  now?: () => number;
}

export class TestClient implements ObjectClient {
  readonly inner: ObjectClient;
  /** When set, the next matching write throws this error (once). */
  failNext: { verb: 'create' | 'update' | 'updateStatus' | 'delete'; resource: string; error: Error } | undefined;

  constructor(opts: TestClientOptions = {}) {
    const now = opts.now;
    const reg = Registry.inMemory(now ? { now: () => new Date(now()) } : {});
    for (const name of ['default', 'kube-system']) reg.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    this.inner = reg;
  }

  #maybeFail(verb: string, r: ResourceInfo): void {
    if (this.failNext && this.failNext.verb === verb && this.failNext.resource === r.plural) {
      const e = this.failNext.error;
      this.failNext = undefined;
      throw e;
    }
  }

  get<T extends KubeObject = KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): T | undefined {
    return this.inner.get<T>(r, namespace, name);
  }
  list<T extends KubeObject = KubeObject>(r: ResourceInfo, opts?: ListOptions): { items: T[]; resourceVersion: string } {
    return this.inner.list<T>(r, opts);
  }
  create<T extends KubeObject = KubeObject>(r: ResourceInfo, obj: T): T {
    this.#maybeFail('create', r);
    return this.inner.create<T>(r, obj);
  }
  update<T extends KubeObject = KubeObject>(r: ResourceInfo, obj: T): T {
    this.#maybeFail('update', r);
    return this.inner.update<T>(r, obj);
  }
  updateStatus<T extends KubeObject = KubeObject>(r: ResourceInfo, obj: T): T {
    this.#maybeFail('updateStatus', r);
    return this.inner.updateStatus<T>(r, obj);
  }
  delete(r: ResourceInfo, namespace: string | undefined, name: string, opts?: DeleteOptions): KubeObject | undefined {
    this.#maybeFail('delete', r);
    return this.inner.delete(r, namespace, name, opts);
  }
  watch<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: WatchOptions, onEvent: (ev: ObjectEvent<T>) => void): () => void {
    return this.inner.watch<T>(r, opts, onEvent);
  }

  /** Creates a pod, then writes its status (create ignores status, as the API server does). */
  addPod(pod: Pod): Pod {
    const { status, ...rest } = pod;
    const created = this.create<Pod>(R.pods, rest as Pod);
    if (!status) return created;
    return this.updateStatus<Pod>(R.pods, { ...created, status });
  }

  /** What a node agent does at the end of a graceful deletion: remove the pod for good. */
  finishPodDeletion(namespace: string, name: string): void {
    this.inner.delete(R.pods, namespace, name, { gracePeriodSeconds: 0 });
  }

  count(r: ResourceInfo, opts?: ListOptions): number {
    return this.inner.list(r, opts).items.length;
  }
}
