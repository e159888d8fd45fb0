/**
 * How a pod talks to the API, as client-go's rest.InClusterConfig does: the
 * address from KUBERNETES_SERVICE_HOST/PORT (the `kubernetes` Service), the
 * CA and the service account token the node agent mounted under
 * /var/run/secrets/kubernetes.io/serviceaccount. The token is re-read before
 * each request, so a rotated token is picked up without a restart.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfig {
  /** "https://10.96.0.1:443" */
  server: string;
  ca: string;
  /** Returns the current bearer token. */
  token: () => string;
  /** The pod's namespace (from the mounted `namespace` file). */
  namespace: string;
}

export class KubeApiError extends Error {
  readonly code = 'ERR_KUBE_API';
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The in-cluster configuration; a clear error when the pod has no service account mounted. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod (or the pod has no service links to the kubernetes Service)');
  let ca: string;
  let namespace: string;
  try {
    ca = readFileSync(`${dir}/ca.crt`, 'utf8');
    namespace = readFileSync(`${dir}/namespace`, 'utf8').trim();
    readFileSync(`${dir}/token`, 'utf8');
  } catch (e) {
    throw new Error(`no service account mounted at ${dir} (${(e as Error).message}); set automountServiceAccountToken: true`);
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca,
    namespace,
    token: () => readFileSync(`${dir}/token`, 'utf8').trim(),
  };
}

/** A tiny REST client: JSON requests and streaming GETs with the pod's credentials. */
export class KubeClient {
  readonly #agent: Agent;
  readonly #url: URL;

  constructor(readonly config: KubeConfig) {
    this.#url = new URL(config.server);
    this.#agent = new Agent({ keepAlive: true, ca: config.ca, maxSockets: 16 });
  }

  #options(method: string, path: string, extra: Record<string, string> = {}): RequestOptions {
    return {
      method,
      host: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.#url.port || 443),
      path,
      agent: this.#agent,
      servername: 'kubernetes.default.svc',
      headers: { authorization: `Bearer ${this.config.token()}`, accept: 'application/json', ...extra },
    };
  }

  /** Sends a request and parses the JSON answer; a non-2xx answer becomes a KubeApiError carrying the Status message. */
  async json<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const res = await this.#send(method, path, payload, payload ? { 'content-type': contentType } : {});
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status < 200 || status > 299) {
      const st = parsed as { message?: string; reason?: string } | undefined;
      throw new KubeApiError(status, st?.message ?? `${method} ${path}: HTTP ${status}`, st?.reason);
    }
    return parsed as T;
  }

  /** Opens a streaming GET (a watch); the caller reads the response. */
  stream(path: string): Promise<IncomingMessage> {
    return this.#send('GET', path, undefined, {});
  }

  #send(method: string, path: string, body: Buffer | undefined, headers: Record<string, string>): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(this.#options(method, path, headers), resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
