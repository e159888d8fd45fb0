/**
 * Serves a connection stream over HTTP (`GET /connections?watch=1` on
 * kube-proxy's :10256 and the load balancer's :10257): 200,
 * `application/x-ndjson`, one JSON object per line as events happen, until
 * the client goes away (which unsubscribes it: the last one gone stops the
 * source). A reader that cannot keep up loses events rather than growing
 * this process's memory; it is told how many with an error line.
 */
import type http from 'node:http';
import type { ConnSink, ConnStreamItem } from './conn-events.js';

/** Bytes queued for one watcher beyond which events are dropped. */
const MAX_QUEUED = 1024 * 1024;

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
  const sink: ConnSink = {
    write(item) {
      if (done) return;
      if (res.writableLength > MAX_QUEUED) {
        dropped++;
        return;
      }
      if (dropped) {
        res.write(JSON.stringify({ type: 'error', message: `${dropped} events dropped: the reader is too slow` }) + '\n');
        dropped = 0;
      }
      res.write(JSON.stringify(decorate(item)) + '\n');
    },
    end() {
      finish();
      res.end();
    },
  };
  const unsubscribe = subscribe(sink);
  const finish = () => {
    if (done) return;
    done = true;
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
