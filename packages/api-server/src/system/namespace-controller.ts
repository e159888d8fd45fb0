/**
 * Deletes what a Terminating namespace holds, then the namespace itself
 * (Kubernetes' namespace lifecycle, without the discovery walk: kubemu knows
 * every resource it serves).
 */
import type { Logger } from 'pino';
import { RESOURCES, type KubeObject } from '@kubemu/api';
import { RES, type Registry } from '../registry/registry.js';

export class NamespaceController {
  readonly #reg: Registry;
  readonly #log: Logger;
  #stopWatch?: () => void;
  #timer?: NodeJS.Timeout;

  constructor(reg: Registry, log: Logger) {
    this.#reg = reg;
    this.#log = log;
  }

  start(): void {
    this.#stopWatch = this.#reg.watch(RES.namespaces, {}, (ev) => {
      if (ev.object.metadata.deletionTimestamp) this.#sweep(ev.object);
    });
    this.#timer = setInterval(() => this.sweepAll(), 2000);
    this.#timer.unref();
    this.sweepAll();
  }

  sweepAll(): void {
    for (const ns of this.#reg.list(RES.namespaces).items) if (ns.metadata.deletionTimestamp) this.#sweep(ns);
  }

  #sweep(ns: KubeObject): void {
    const name = ns.metadata.name ?? '';
    try {
      for (const r of RESOURCES) {
        if (!r.namespaced) continue;
        for (const obj of this.#reg.list(r, { namespace: name }).items) {
          if (obj.metadata.deletionTimestamp && r.plural !== 'pods') continue;
          this.#reg.delete(r, name, obj.metadata.name ?? '');
        }
      }
      if (this.#reg.finalizeNamespace(name)) this.#log.info({ namespace: name }, 'namespace deleted');
    } catch (err) {
      this.#log.warn({ err, namespace: name }, 'namespace cleanup failed; will retry');
    }
  }

  stop(): void {
    this.#stopWatch?.();
    if (this.#timer) clearInterval(this.#timer);
  }
}
