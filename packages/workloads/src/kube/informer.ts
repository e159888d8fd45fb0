/**
 * A list-then-watch cache of one resource, as client-go's informers keep:
 * list, then watch from the list's resourceVersion; on a dropped stream,
 * watch again from the last version seen; on 410 Gone (or any error the
 * watch cannot resume from), list again and report the differences. Callers
 * read `items()` / `get()` and get one `onChange` call per batch of changes.
 */
import { createInterface } from 'node:readline';
import type { KubeClient } from './in-cluster.js';
import { KubeApiError } from './in-cluster.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** The read side the addons' logic needs; tests give a plain in-memory one. */
export interface ObjectCache<T extends KubeObjectLike> {
  items(): T[];
  get(namespace: string | undefined, name: string): T | undefined;
  /** Called after each applied batch of changes (coalesced within a tick). */
  onChange(fn: () => void): void;
}

export interface InformerOptions {
  /** "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices" (all namespaces). */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Backoff after a failed list/watch (default 500 ms, doubling to 8 s). */
  minBackoffMs?: number;
  log?: (msg: string) => void;
}

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

export class Informer<T extends KubeObjectLike> implements ObjectCache<T> {
  readonly #client: KubeClient;
  readonly #opts: InformerOptions;
  readonly #cache = new Map<string, T>();
  readonly #listeners: Array<() => void> = [];
  #rv = '';
  #stopped = false;
  #synced = false;
  #pending = false;
  #abort?: () => void;
  #syncWaiters: Array<() => void> = [];

  constructor(client: KubeClient, opts: InformerOptions) {
    this.#client = client;
    this.#opts = opts;
  }

  items(): T[] {
    return [...this.#cache.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(key(namespace, name));
  }

  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache. */
  waitSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((r) => this.#syncWaiters.push(r));
  }

  start(): void {
    void this.#run();
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.();
  }

  #query(extra: Record<string, string>): string {
    const q = new URLSearchParams();
    if (this.#opts.labelSelector) q.set('labelSelector', this.#opts.labelSelector);
    if (this.#opts.fieldSelector) q.set('fieldSelector', this.#opts.fieldSelector);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    const s = q.toString();
    return s ? `${this.#opts.path}?${s}` : this.#opts.path;
  }

  async #run(): Promise<void> {
    let backoff = this.#opts.minBackoffMs ?? 500;
    let needList = true;
    let gone = 0;
    while (!this.#stopped) {
      try {
        if (needList) {
          await this.#list();
          needList = false;
        }
        await this.#watch();
        backoff = this.#opts.minBackoffMs ?? 500;
        gone = 0;
      } catch (e) {
        if (this.#stopped) return;
        if (e instanceof KubeApiError && e.status === 410) {
          needList = true;
          // Re-list at once the first time; a server that keeps answering 410 is not hammered.
          if (gone++ > 0) await new Promise((r) => setTimeout(r, Math.min(8000, 250 * 2 ** gone)));
          continue;
        }
        this.#opts.log?.(`${this.#opts.path}: ${(e as Error).message}; retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 8000);
        needList = needList || !this.#rv;
      }
    }
  }

  async #list(): Promise<void> {
    const list = await this.#client.json<{ items: T[]; metadata: { resourceVersion: string } }>('GET', this.#query({}));
    const seen = new Set<string>();
    for (const o of list.items) {
      const k = key(o.metadata.namespace, o.metadata.name);
      seen.add(k);
      this.#cache.set(k, o);
    }
    for (const k of [...this.#cache.keys()]) if (!seen.has(k)) this.#cache.delete(k);
    this.#rv = list.metadata.resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
    this.#changed();
  }

  /**
   * Watches from #rv until the stream ends; throws KubeApiError(410) when the
   * version is too old. As client-go, each watch asks the server to end it
   * after 5–10 minutes, and a stream silent for longer than that (a peer
   * that vanished without a FIN) is cut here, so a half-open connection
   * cannot stall the cache.
   */
  async #watch(): Promise<void> {
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const res = await this.#client.stream(this.#query({ watch: 'true', resourceVersion: this.#rv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }));
    if (this.#stopped) {
      res.destroy();
      return;
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw new KubeApiError(res.statusCode ?? 0, `watch ${this.#opts.path}: HTTP ${res.statusCode}`);
    }
    res.socket?.setTimeout((timeoutSeconds + 30) * 1000, () => res.destroy(new Error(`watch ${this.#opts.path}: nothing heard for ${timeoutSeconds + 30} s`)));
    this.#abort = () => res.destroy();
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as { type: string; object: T & { code?: number; message?: string } };
        if (ev.type === 'ERROR') {
          const code = ev.object.code ?? 500;
          throw new KubeApiError(code, ev.object.message ?? 'watch error');
        }
        const o = ev.object;
        if (o.metadata?.resourceVersion) this.#rv = o.metadata.resourceVersion;
        if (ev.type === 'BOOKMARK') continue;
        const k = key(o.metadata.namespace, o.metadata.name);
        if (ev.type === 'DELETED') this.#cache.delete(k);
        else this.#cache.set(k, o);
        this.#changed();
      }
    } finally {
      this.#abort = undefined;
      lines.close();
      res.destroy();
    }
  }

  #changed(): void {
    if (this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      for (const fn of this.#listeners) {
        try {
          fn();
        } catch (e) {
          this.#opts.log?.(`change handler failed: ${(e as Error).message}`);
        }
      }
    });
  }
}

/** An ObjectCache over a fixed set of objects, for tests and tools. */
export class StaticCache<T extends KubeObjectLike> implements ObjectCache<T> {
  readonly #items = new Map<string, T>();
  readonly #listeners: Array<() => void> = [];
  constructor(items: T[] = []) {
    for (const o of items) this.#items.set(key(o.metadata.namespace, o.metadata.name), o);
  }
  items(): T[] {
    return [...this.#items.values()];
  }
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(key(namespace, name));
  }
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }
  /** Adds or replaces an object and notifies listeners synchronously. */
  set(o: T): void {
    this.#items.set(key(o.metadata.namespace, o.metadata.name), o);
    for (const fn of this.#listeners) fn();
  }
  delete(namespace: string | undefined, name: string): void {
    this.#items.delete(key(namespace, name));
    for (const fn of this.#listeners) fn();
  }
}
