/**
 * A watch over HTTP: newline-delimited JSON events on a chunked response, as
 * kube-apiserver streams them.
 *
 *  - no resourceVersion (or "0"): synthetic ADDED for every current object, then changes
 *  - resourceVersion N: every change after N (ERROR 410 if N was compacted)
 *  - timeoutSeconds ends the stream; bookmarks every 30 s when asked
 *  - a client that stops reading (16 MiB buffered) is cut off, as slow watchers are
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isApiError, type KubeObject, type ResourceInfo } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import type { ObjectEvent } from '../registry/object-client.js';
import { toTable } from '../tables/index.js';
import type { Wants } from './negotiate.js';

export interface WatchRequest {
  resource: ResourceInfo;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  bookmarks: boolean;
  sendInitialEvents: boolean;
  wants: Wants;
  now: () => Date;
}

const MAX_BUFFERED = 16 * 1024 * 1024;
const BOOKMARK_EVERY_MS = 30_000;

export function serveWatch(reg: Registry, req: IncomingMessage, res: ServerResponse, w: WatchRequest): void {
  const encode = (type: string, obj: object): string => {
    let object = obj;
    if (w.wants.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      object = toTable(w.resource, [obj as KubeObject], { includeObject: w.wants.includeObject, now: w.now(), resourceVersion: (obj as KubeObject).metadata.resourceVersion ?? '' });
    }
    return `${JSON.stringify({ type, object })}\n`;
  };

  let closed = false;
  let stop: (() => void) | undefined;
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (closed) return;
    closed = true;
    stop?.();
    for (const t of timers) clearTimeout(t);
    if (!res.writableEnded) res.end();
  };
  const send = (type: string, obj: object) => {
    if (closed) return;
    res.write(encode(type, obj));
    if (res.writableLength > MAX_BUFFERED) finish();
  };

  const rv = w.resourceVersion;
  const fromNow = rv === undefined || rv === '' || rv === '0';
  let lastRV = reg.resourceVersion;
  // Events are queued while the response head goes out, then flushed in order.
  let pending: ObjectEvent[] | null = [];
  const onEvent = (ev: ObjectEvent) => {
    lastRV = ev.object.metadata.resourceVersion ?? lastRV;
    if (pending) pending.push(ev);
    else send(ev.type, ev.object);
  };
  try {
    if (fromNow) {
      const { items, resourceVersion } = reg.list(w.resource, { namespace: w.namespace, labelSelector: w.labelSelector, fieldSelector: w.fieldSelector });
      stop = reg.watchSync(w.resource, { namespace: w.namespace, labelSelector: w.labelSelector, fieldSelector: w.fieldSelector, resourceVersion }, onEvent);
      pending.unshift(...items.map((object) => ({ type: 'ADDED' as const, object })));
      lastRV = resourceVersion;
    } else {
      stop = reg.watchSync(w.resource, { namespace: w.namespace, labelSelector: w.labelSelector, fieldSelector: w.fieldSelector, resourceVersion: rv }, onEvent);
    }
  } catch (e) {
    if (!isApiError(e)) throw e;
    if (e.code !== 410) throw e;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.end(`${JSON.stringify({ type: 'ERROR', object: e.status })}\n`);
    return;
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const initial = pending;
  pending = null;
  for (const ev of initial) send(ev.type, ev.object);
  if (w.bookmarks) {
    const bookmark = () => {
      const r = w.resource;
      send('BOOKMARK', { kind: r.kind, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, metadata: { resourceVersion: lastRV } });
      timers.push(setTimeout(bookmark, BOOKMARK_EVERY_MS));
    };
    if (w.sendInitialEvents) {
      const r = w.resource;
      send('BOOKMARK', { kind: r.kind, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, metadata: { resourceVersion: lastRV, annotations: { 'k8s.io/initial-events-end': 'true' } } });
    }
    timers.push(setTimeout(bookmark, BOOKMARK_EVERY_MS));
  }
  if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) timers.push(setTimeout(finish, w.timeoutSeconds * 1000));
  req.on('close', finish);
  res.on('close', finish);
  res.on('error', finish);
}
