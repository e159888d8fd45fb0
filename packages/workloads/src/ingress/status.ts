/**
 * Ingress status: every served Ingress shows the controller's own
 * LoadBalancer Service address (status.loadBalancer.ingress of the Service
 * named by --publish-service), as ingress-nginx does, so `kubectl get ing`
 * shows an ADDRESS. An Ingress the controller stops serving has that address
 * cleared. Writes go to the status subresource and only when something differs.
 */
import type { Ingress, LoadBalancerIngress } from '@kubemu/api';
import { ingressRef, refKey, type IngressRef } from './events.js';

/** The address entries an Ingress status carries (ip / hostname; no ipMode). */
export type IngressAddress = { ip?: string; hostname?: string };

/** Writes status.loadBalancer.ingress of one Ingress. */
export type StatusWriter = (ref: IngressRef, addresses: IngressAddress[]) => Promise<void>;

export function addressesOf(lb: readonly LoadBalancerIngress[] | undefined): IngressAddress[] {
  return (lb ?? []).filter((i) => i.ip || i.hostname).map((i) => (i.ip ? { ip: i.ip } : { hostname: i.hostname }));
}

const same = (a: readonly IngressAddress[], b: readonly IngressAddress[]) =>
  a.length === b.length && a.every((x, i) => (x.ip ?? '') === (b[i].ip ?? '') && (x.hostname ?? '') === (b[i].hostname ?? ''));

export interface StatusChange {
  ref: IngressRef;
  addresses: IngressAddress[];
}

/** What to write: served Ingresses get `ours`; unserved ones still showing `ours` get cleared. */
export function statusChanges(ingresses: readonly Ingress[], served: ReadonlySet<string>, ours: readonly IngressAddress[]): StatusChange[] {
  const out: StatusChange[] = [];
  for (const ing of ingresses) {
    const ref = ingressRef(ing);
    const current = addressesOf(ing.status?.loadBalancer?.ingress);
    if (served.has(refKey(ref))) {
      if (!same(current, ours)) out.push({ ref, addresses: [...ours] });
    } else if (current.length && ours.length && same(current, ours)) {
      out.push({ ref, addresses: [] });
    }
  }
  return out;
}

/** Applies status changes, one write in flight per Ingress; a failed write is retried on the next sync. */
export class StatusPublisher {
  readonly #inflight = new Map<string, string>();

  constructor(
    readonly write: StatusWriter,
    readonly onError: (ref: IngressRef, err: Error) => void = () => {},
  ) {}

  apply(changes: readonly StatusChange[]): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const c of changes) {
      const k = refKey(c.ref);
      const want = JSON.stringify(c.addresses);
      if (this.#inflight.get(k) === want) continue;
      this.#inflight.set(k, want);
      writes.push(
        this.write(c.ref, c.addresses)
          .catch((e: Error) => this.onError(c.ref, e))
          .finally(() => {
            if (this.#inflight.get(k) === want) this.#inflight.delete(k);
          }),
      );
    }
    return Promise.all(writes).then(() => undefined);
  }
}
