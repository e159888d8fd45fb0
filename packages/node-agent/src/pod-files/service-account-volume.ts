/**
 * The service account token volume of one pod (what kubelet's projected
 * `kube-api-access-*` volume and its token manager do): a pod-bound token,
 * the cluster CA and the pod's namespace as the files `token`, `ca.crt` and
 * `namespace` in a directory the sandbox mounts read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount.
 *
 * The token is refreshed, as kubelet's token manager refreshes it, once 80 %
 * of its lifetime has passed (or after 24 h), less up to 10 s of jitter; a
 * failed refresh keeps the old token and is retried with backoff. Files are
 * replaced by rename, so a reader never sees half a token.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod } from '@kubemu/api';

/** Where the volume appears inside the pod. */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The lifetime kubelet asks for (the projected volume's default expirationSeconds). */
export const TOKEN_EXPIRATION_SECONDS = 3607;
const MAX_TTL_MS = 24 * 3600_000;
const MAX_JITTER_MS = 10_000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 120_000;

export interface IssuedToken {
  token: string;
  /** RFC 3339. */
  expirationTimestamp: string;
  /** The lifetime the server granted (spec.expirationSeconds of the answer). */
  expirationSeconds: number;
}

/** Asks the API server for a token of `serviceAccount`, bound to `pod`. */
export type TokenFetcher = (namespace: string, serviceAccount: string, pod: { name: string; uid: string }, expirationSeconds: number) => Promise<IssuedToken>;

/**
 * Whether a pod gets the volume: spec.automountServiceAccountToken wins,
 * then the service account's, else yes (the ServiceAccount admission plugin's rule).
 */
export function shouldAutomount(pod: Pod, serviceAccount?: { automountServiceAccountToken?: boolean }): boolean {
  if (typeof pod.spec.automountServiceAccountToken === 'boolean') return pod.spec.automountServiceAccountToken;
  if (typeof serviceAccount?.automountServiceAccountToken === 'boolean') return serviceAccount.automountServiceAccountToken;
  return true;
}

/** When a token issued with `expirationSeconds`, expiring at `expMs`, wants replacing (kubelet's requiresRefresh). */
export function tokenRefreshAt(expMs: number, expirationSeconds: number, jitterMs: number): number {
  const ttlMs = expirationSeconds * 1000;
  const iat = expMs - ttlMs;
  return Math.min(iat + MAX_TTL_MS - jitterMs, expMs - ttlMs * 0.2 - jitterMs);
}

export interface ServiceAccountVolumeOptions {
  /** Host directory holding the files (mounted into the pod). */
  dir: string;
  pod: Pod;
  /** The cluster CA, PEM. */
  caCert: string;
  fetch: TokenFetcher;
  /** A refresh failed (the pod keeps its current token). */
  onRefreshError?(err: Error): void;
  now?: () => number;
  random?: () => number;
}

export class ServiceAccountVolume {
  readonly dir: string;
  readonly #o: ServiceAccountVolumeOptions;
  #timer?: NodeJS.Timeout;
  #stopped = false;
  #failures = 0;
  #current?: IssuedToken;

  constructor(o: ServiceAccountVolumeOptions) {
    this.dir = o.dir;
    this.#o = o;
  }

  /** The token the files hold now. */
  get token(): string | undefined {
    return this.#current?.token;
  }

  /** Fetches a token and writes the three files; throws when the token cannot be had (nothing is scheduled then). */
  async setUp(): Promise<void> {
    const pod = this.#o.pod;
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await this.#write('ca.crt', this.#o.caCert);
    await this.#write('namespace', pod.metadata.namespace ?? 'default');
    await this.#refresh();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #refresh(): Promise<void> {
    const pod = this.#o.pod;
    const issued = await this.#o.fetch(
      pod.metadata.namespace ?? 'default',
      pod.spec.serviceAccountName || 'default',
      { name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
      TOKEN_EXPIRATION_SECONDS,
    );
    if (this.#stopped) return;
    await this.#write('token', issued.token);
    this.#current = issued;
    this.#failures = 0;
    const now = (this.#o.now ?? Date.now)();
    const at = tokenRefreshAt(Date.parse(issued.expirationTimestamp), issued.expirationSeconds, (this.#o.random ?? Math.random)() * MAX_JITTER_MS);
    this.#schedule(Math.max(0, at - now));
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#refresh().catch((err: Error) => {
        this.#failures++;
        this.#o.onRefreshError?.(err);
        this.#schedule(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.#failures - 1)));
      });
    }, ms);
    this.#timer.unref();
  }

  async #write(name: string, content: string): Promise<void> {
    const tmp = join(this.dir, `.${name}.tmp`);
    await writeFile(tmp, content, { mode: 0o644 });
    await rename(tmp, join(this.dir, name));
  }
}
