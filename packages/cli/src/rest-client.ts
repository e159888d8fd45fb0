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

  call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const url = new URL(path, this.access.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.access.ca,
          headers: {
            Accept: 'application/json',
            ...(this.access.token ? { Authorization: `Bearer ${this.access.token}` } : {}),
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
            ...headers,
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            if ((res.statusCode ?? 500) >= 400) {
              reject(new RestError(res.statusCode ?? 500, parsed?.kind === 'Status' ? parsed : undefined, parsed?.message ?? text.trim() ?? `HTTP ${res.statusCode}`));
            } else resolve(parsed as T);
          });
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
