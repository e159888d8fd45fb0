/**
 * Serves a connection stream over HTTP (`GET /connections?watch=1` on
 * kube-proxy's :10256 and the load balancer's :10257): 200,
 * `application/x-ndjson`, one JSON object per line as events happen, until
 * the client goes away (which unsubscribes it: the last one gone stops the
 * source). A reader that cannot keep up loses events rather than growing
 * this process's memory; it is told how many with an error line. Lines are
 * gathered for up to FLUSH_MS and written together: a load test makes
 * thousands of events a second, and one write each was most of the
 * stream's cost.
 */
import type http from 'node:http';
import type { ConnSink, ConnStreamItem } from './conn-events.js';

/** Bytes queued for one watcher beyond which events are dropped. */
const MAX_QUEUED = 1024 * 1024;
/** Longest an event waits to be written with the ones after it. */
const FLUSH_MS = 20;

export function serveConnStream(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  subscribe: (sink: ConnSink) => () => void,
  /** Adds fields to each event (the LB: the node of the endpoint). */
  decorate: (item: ConnStreamItem) => object = (i) => i,
): void {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  let dropped = 0;
  let done = false;
  let batch = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!batch || done) return;
    res.write(batch);
    batch = '';
  };
  const sink: ConnSink = {
    write(item) {
      if (done) return;
      if (res.writableLength + batch.length > MAX_QUEUED) {
        dropped++;
        return;
      }
      if (dropped) {
        batch += JSON.stringify({ type: 'error', message: `${dropped} events dropped: the reader is too slow` }) + '\n';
        dropped = 0;
      }
      batch += JSON.stringify(decorate(item)) + '\n';
      timer ??= setTimeout(flush, FLUSH_MS);
    },
    end() {
      clearTimeout(timer);
      flush();
      finish();
      res.end();
    },
  };
  const unsubscribe = subscribe(sink);
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    unsubscribe();
  };
  req.once('close', finish);
  res.once('close', finish);
  res.once('error', finish);
}

/** True for `?watch=1` / `?watch=true`. */
export function wantsWatch(url: URL): boolean {
  const w = url.searchParams.get('watch');
  return w === '1' || w === 'true';
}
