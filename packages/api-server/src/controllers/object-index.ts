/**
 * The objects of one resource a controller has seen, by namespace, kept from
 * its own watch (as client-go's informer cache). The endpoints controllers
 * match a Service's selector against the pods here, and a pod's labels
 * against the Services here, instead of reading and parsing every pod (or
 * Service) of the namespace from the store on each event — which made each
 * pod write cost O(pods + Services) per controller (1,000 Services and 3,000
 * pods: ~30 pod writes/s, minutes to settle).
 *
 * Objects here are shared, read-only: a controller copies before changing one.
 */
import type { KubeObject } from '@kubemu/api';
import type { ObjectEvent } from '../registry/object-client.js';

export class ObjectIndex<T extends KubeObject> {
  readonly #byNamespace = new Map<string, Map<string, T>>();
  #filled = false;

  /** True once filled from a list: until then (or if the watch could not open) read the store instead. */
  get filled(): boolean {
    return this.#filled;
  }

  /** Forgets everything (before a new watch opens). */
  reset(): void {
    this.#byNamespace.clear();
    this.#filled = false;
  }

  /** Starts from a full list taken in the same tick the watch opened, so nothing falls between. */
  fill(objects: readonly T[]): void {
    this.#byNamespace.clear();
    for (const o of objects) this.#set(o);
    this.#filled = true;
  }

  apply(ev: ObjectEvent<T>): void {
    if (!this.#filled) return;
    if (ev.type === 'DELETED') {
      const ns = this.#byNamespace.get(ev.object.metadata.namespace ?? '');
      ns?.delete(ev.object.metadata.name ?? '');
      if (ns && !ns.size) this.#byNamespace.delete(ev.object.metadata.namespace ?? '');
    } else this.#set(ev.object);
  }

  /** The objects of one namespace. */
  list(namespace: string): T[] {
    return [...(this.#byNamespace.get(namespace)?.values() ?? [])];
  }

  #set(p: T): void {
    const ns = p.metadata.namespace ?? '';
    let m = this.#byNamespace.get(ns);
    if (!m) this.#byNamespace.set(ns, (m = new Map()));
    m.set(p.metadata.name ?? '', p);
  }
}
