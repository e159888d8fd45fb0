/**
 * List + watch of one resource over the Kubernetes REST API, as client-go's
 * reflector does it: list, then watch from the list's resourceVersion; when
 * the stream ends, watch again from the last version seen; on 410 Gone (or
 * any error) list again after a pause. The handler gets the whole list
 * (`reset`) and then every change, so it can keep an exact copy.
 */
import { request, type RequestOptions } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { KubeObject } from '@kubemu/api';
import type { ClusterAccess } from '../kubeconfig.js';

export interface WatchHandler {
  reset(items: KubeObject[]): void;
  change(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void;
  /** The watch lost the API (it retries by itself); '' once it is back. */
  trouble?(message: string): void;
}

export class WatchGone extends Error {}

export class ResourceWatch {
  #stopped = false;
  #req: ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly access: ClusterAccess,
    /** The collection path, e.g. `/api/v1/pods`. */
    readonly path: string,
    readonly handler: WatchHandler,
    readonly retryMs = 1000,
  ) {}

  start(): void {
    void this.#loop();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#req?.destroy();
  }

  async #loop(): Promise<void> {
    let troubled = false;
    while (!this.#stopped) {
      try {
        const list = await this.#get<{ items: KubeObject[]; metadata: { resourceVersion?: string } }>(this.path);
        this.handler.reset(list.items ?? []);
        if (troubled) this.handler.trouble?.('');
        troubled = false;
        let rv = list.metadata.resourceVersion ?? '0';
        // Watch until the API says the version is gone or the connection fails.
        for (;;) {
          if (this.#stopped) return;
          const t0 = Date.now();
          rv = await this.#watch(rv);
          // A server that ends watches at once must not make this a busy loop.
          if (Date.now() - t0 < 100) await new Promise<void>((r) => (this.#timer = setTimeout(r, this.retryMs)));
        }
      } catch (e) {
        if (this.#stopped) return;
        if (!(e instanceof WatchGone)) {
          troubled = true;
          this.handler.trouble?.(`${this.path}: ${(e as Error).message}`);
        }
        await new Promise<void>((r) => (this.#timer = setTimeout(r, e instanceof WatchGone ? 0 : this.retryMs)));
      }
    }
  }

  #options(url: URL): RequestOptions {
    return {
      method: 'GET',
      ca: this.access.ca,
      headers: { Accept: 'application/json', ...(this.access.token ? { Authorization: `Bearer ${this.access.token}` } : {}) },
      // The server may hold a watch for minutes; a dead peer is noticed by keep-alive probes instead.
      timeout: url.searchParams.has('watch') ? 0 : 15_000,
    };
  }

  #get<T>(path: string): Promise<T> {
    const url = new URL(path, this.access.server);
    return new Promise((resolve, reject) => {
      const req = (this.#req = request(url, this.#options(url), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new Error('the API answered something that is not JSON'));
          }
        });
      }));
      req.on('timeout', () => req.destroy(new Error('no answer in 15 s')));
      req.on('error', reject);
      req.end();
    });
  }

  /** One watch request from `rv`; resolves with the last version seen when the server ends it. */
  #watch(rv: string): Promise<string> {
    const sep = this.path.includes('?') ? '&' : '?';
    const url = new URL(`${this.path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`, this.access.server);
    return new Promise((resolve, reject) => {
      let last = rv;
      let buf = '';
      const req = (this.#req = request(url, this.#options(url), (res) => {
        if (res.statusCode === 410) return res.resume(), reject(new WatchGone('410 Gone'));
        if ((res.statusCode ?? 500) >= 400) return res.resume(), reject(new Error(`watch answered HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: { type: string; object: KubeObject & { code?: number } };
            try {
              ev = JSON.parse(line);
            } catch {
              continue;
            }
            if (ev.type === 'ERROR') {
              req.destroy();
              return reject(ev.object.code === 410 ? new WatchGone('410 Gone') : new Error(`watch error: ${JSON.stringify(ev.object).slice(0, 200)}`));
            }
            last = ev.object.metadata?.resourceVersion ?? last;
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') this.handler.change(ev.type, ev.object);
          }
        });
        res.on('end', () => resolve(last));
        res.on('error', reject);
        res.on('close', () => resolve(last));
      }));
      req.on('socket', (s) => s.setKeepAlive(true, 5000));
      req.on('error', reject);
      req.end();
    });
  }
}
