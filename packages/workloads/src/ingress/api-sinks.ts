/**
 * What the controller writes to the API, and nothing else:
 *   - core/v1 Events about Ingresses (involvedObject = the Ingress), source
 *     component "kubemu-ingress-controller";
 *   - Ingress status through the status subresource (a merge patch of
 *     status.loadBalancer.ingress, so no resourceVersion race with users).
 */
import { hostname } from 'node:os';
import type { CoreEvent } from '@kubemu/api';
import type { KubeClient } from '../kube/index.js';
import type { IngressEvent, IngressRef } from './events.js';
import type { IngressAddress, StatusWriter } from './status.js';

export const EVENT_COMPONENT = 'kubemu-ingress-controller';

const enc = encodeURIComponent;

export function ingressStatusPath(ref: IngressRef): string {
  return `/apis/networking.k8s.io/v1/namespaces/${enc(ref.namespace)}/ingresses/${enc(ref.name)}/status`;
}

export function statusWriter(client: KubeClient): StatusWriter {
  return async (ref: IngressRef, addresses: IngressAddress[]) => {
    await client.json('PATCH', ingressStatusPath(ref), { status: { loadBalancer: { ingress: addresses } } }, 'application/merge-patch+json');
  };
}

/** A core/v1 Event for one ingress problem (pure, for tests). */
export function coreEvent(e: IngressEvent, now: Date, host = hostname()): CoreEvent {
  const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${e.ingress.name}.${(now.getTime() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`, namespace: e.ingress.namespace },
    involvedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: e.ingress.namespace, name: e.ingress.name, uid: e.ingress.uid },
    type: e.type,
    reason: e.reason,
    message: e.message,
    source: { component: EVENT_COMPONENT, host },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    eventTime: null,
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: host,
  };
}

/** Posts each event; a failure is logged, never thrown (events are best effort, as in client-go). */
export function eventPoster(client: KubeClient, onError: (err: Error) => void): (e: IngressEvent) => void {
  return (e) => {
    const ev = coreEvent(e, new Date());
    client.json('POST', `/api/v1/namespaces/${enc(e.ingress.namespace)}/events`, ev).catch(onError);
  };
}
