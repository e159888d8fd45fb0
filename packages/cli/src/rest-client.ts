/**
 * A small Kubernetes REST client over node:https for the CLI.
 */
import { request } from 'node:https';
import { groupVersion, type KubeObject, type ResourceInfo, type Status } from '@kubemu/api';
import type { ClusterAccess } from './kubeconfig.js';

export class RestError extends Error {
  constructor(
    readonly code: number,
    readonly status: Status | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class RestClient {
  constructor(readonly access: ClusterAccess) {}

  path(r: ResourceInfo, namespace: string | undefined, name?: string, query = ''): string {
    const base = r.group === '' ? `/api/${r.version}` : `/apis/${groupVersion(r)}`;
    const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${base}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ''}${query}`;
  }

  async call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const { status, text } = await this.#send(method, path, body, { Accept: 'application/json', ...headers });
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status >= 400) throw new RestError(status, parsed?.kind === 'Status' ? parsed : undefined, parsed?.message ?? text.trim() ?? `HTTP ${status}`);
    return parsed as T;
  }

  /** A GET whose answer is text (a pod's log); an error status throws as call() does. */
  async text(path: string): Promise<string> {
    const { status, text } = await this.#send('GET', path, undefined, { Accept: '*/*' });
    if (status < 400) return text;
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw new RestError(status, parsed?.kind === 'Status' ? parsed : undefined, parsed?.message ?? (text.trim() || `HTTP ${status}`));
  }

  #send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.access.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.access.ca,
          headers: {
            ...(this.access.token ? { Authorization: `Bearer ${this.access.token}` } : {}),
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
            ...headers,
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 500, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request to ${url.origin} timed out`)));
      req.on('error', (e) => reject(new RestError(0, undefined, `cannot reach the api-server at ${url.origin}: ${e.message}`)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  get(r: ResourceInfo, ns: string | undefined, name: string): Promise<KubeObject> {
    return this.call('GET', this.path(r, ns, name));
  }
}
