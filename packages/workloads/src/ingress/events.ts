/**
 * Events about Ingresses, produced as data by the pure parts (routing table,
 * certificates) and posted by the entry point. A rebuild produces the full
 * set of current problems; `EventGate` lets through only the ones not posted
 * before, so a problem is reported once, not on every rebuild.
 */
import type { Ingress } from '@kubemu/api';

export interface IngressRef {
  namespace: string;
  name: string;
  uid?: string;
}

export interface IngressEvent {
  ingress: IngressRef;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function ingressRef(ing: Ingress): IngressRef {
  return { namespace: ing.metadata.namespace ?? 'default', name: ing.metadata.name ?? '', uid: ing.metadata.uid };
}

export const refKey = (r: IngressRef): string => `${r.namespace}/${r.name}`;

const eventKey = (e: IngressEvent) => `${refKey(e.ingress)}\0${e.ingress.uid ?? ''}\0${e.type}\0${e.reason}\0${e.message}`;

/** Passes each distinct event once while it stays current; one that goes away and comes back is posted again. */
export class EventGate {
  #current = new Set<string>();

  fresh(events: readonly IngressEvent[]): IngressEvent[] {
    const next = new Set<string>();
    const out: IngressEvent[] = [];
    for (const e of events) {
      const k = eventKey(e);
      if (next.has(k)) continue;
      next.add(k);
      if (!this.#current.has(k)) out.push(e);
    }
    this.#current = next;
    return out;
  }
}
