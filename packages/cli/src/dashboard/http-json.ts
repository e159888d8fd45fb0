/**
 * GET a small JSON document from a cluster machine's status port (kube-proxy
 * :10256, the load balancer :10257, a healthCheckNodePort). Never throws:
 * the answer is the status and body, or the error in one line.
 */
import http from 'node:http';

export type JsonAnswer<T> = { status: number; body: T | undefined } | { status: 0; error: string };

export function getJson<T = unknown>(url: string, timeoutMs = 1500): Promise<JsonAnswer<T>> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false, headers: { 'User-Agent': 'kubemu-dashboard' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => resolve({ status: 0, error: e.message }));
      res.on('end', () => {
        let body: T | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, error: e.code === 'ECONNREFUSED' ? 'connection refused' : e.message }));
  });
}
