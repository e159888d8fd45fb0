/**
 * Certificates for HTTPS, chosen per connection by SNI:
 *
 *   Ingress spec.tls[{hosts, secretName}] → Secret (tls.crt, tls.key, base64 in data)
 *        → a SecureContext per host ("*.foo.com" entries cover one label)
 *
 * The map is rebuilt on every change and read by the server's SNICallback, so
 * a rotated Secret is served on the next handshake without a restart and
 * without touching open connections. Contexts are cached by the Secret's
 * content, so rebuilds that do not change a Secret cost nothing. A missing or
 * unusable Secret leaves its hosts on the default (self-signed) certificate
 * and yields a Warning event on the Ingress naming the problem.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Secret } from '@kubemu/api';
import { generate } from 'selfsigned';
import type { TlsEntry } from './config.js';
import type { IngressEvent } from './events.js';
import { wildcardSuffix } from './match.js';

export interface KeyPair {
  cert: string;
  key: string;
}

/** The CN ingress-nginx gives its default certificate; kubemu's says who made it. */
export const DEFAULT_CERT_CN = 'Kubernetes Ingress Controller Fake Certificate';

/** A self-signed certificate for hosts without a usable Secret (and for clients sending no SNI). */
export async function makeDefaultCertificate(hosts: string[] = ['ingress.local']): Promise<KeyPair> {
  const now = Date.now();
  const pems = await generate([
    { name: 'commonName', value: DEFAULT_CERT_CN },
    { name: 'organizationName', value: 'kubemu' },
  ], {
    // RSA: the handshake starts on this certificate before SNI switches it, and OpenSSL keeps an EC
    // certificate's key type when the switched-to context has only an RSA one (it serves this one
    // instead). From an RSA start, both RSA and EC Secrets are served.
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 3600_000),
    notAfterDate: new Date(now + 365 * 86400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((h) => ({ type: 2 as const, value: h })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

type Loaded = { version: string; ctx: SecureContext; error?: undefined } | { version: string; ctx?: undefined; error: string };

function decode(v: string | undefined): string | undefined {
  if (!v) return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
}

/** Turns a Secret into a SecureContext, or says why it cannot. */
export function loadSecret(secret: Secret): { ctx?: SecureContext; error?: string } {
  const cert = decode(secret.data?.['tls.crt']);
  const key = decode(secret.data?.['tls.key']);
  if (!cert || !key) return { error: `has no ${!cert ? 'tls.crt' : 'tls.key'} (type ${secret.type ?? 'Opaque'})` };
  try {
    new X509Certificate(cert);
  } catch (e) {
    return { error: `tls.crt is not a PEM certificate (${(e as Error).message})` };
  }
  try {
    return { ctx: createSecureContext({ cert, key }) };
  } catch (e) {
    return { error: `tls.crt/tls.key cannot be used: ${(e as Error).message}` };
  }
}

export class CertStore {
  #default: SecureContext;
  #exact = new Map<string, SecureContext>();
  #wild = new Map<string, SecureContext>();
  readonly #cache = new Map<string, Loaded>();

  constructor(defaultCert: KeyPair) {
    this.#default = createSecureContext(defaultCert);
  }

  /** The context for a handshake's server name: exact host, else a one-label wildcard, else the default. */
  contextFor(servername: string | undefined): SecureContext {
    if (!servername) return this.#default;
    const host = servername.toLowerCase();
    const exact = this.#exact.get(host);
    if (exact) return exact;
    const dot = host.indexOf('.');
    return (dot > 0 && this.#wild.get(host.slice(dot))) || this.#default;
  }

  /** For tls.Server / http2.createSecureServer's SNICallback. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.contextFor(servername));
  };

  /** Rebuilds the host → context map from the TLS entries (oldest Ingress first wins a host); returns the problems as events. */
  update(entries: readonly TlsEntry[], getSecret: (namespace: string, name: string) => Secret | undefined): IngressEvent[] {
    const events: IngressEvent[] = [];
    const exact = new Map<string, SecureContext>();
    const wild = new Map<string, SecureContext>();
    const used = new Set<string>();
    for (const t of entries) {
      const id = `${t.secretNamespace}/${t.secretName}`;
      used.add(id);
      const hosts = t.hosts.join(', ') || '(no hosts)';
      const secret = getSecret(t.secretNamespace, t.secretName);
      const ctx = secret ? this.#load(id, secret) : undefined;
      if (!secret || !ctx?.ctx) {
        const why = secret ? ctx?.error : 'not found';
        events.push({ ingress: t.ingress, type: 'Warning', reason: 'InvalidTLSSecret', message: `TLS secret ${id} ${why}; serving the default certificate for ${hosts}` });
        continue;
      }
      for (const h of t.hosts) {
        const suffix = wildcardSuffix(h);
        const map = suffix === undefined ? exact : wild;
        const k = suffix ?? h;
        if (!map.has(k)) map.set(k, ctx.ctx);
      }
    }
    for (const id of this.#cache.keys()) if (!used.has(id)) this.#cache.delete(id);
    this.#exact = exact;
    this.#wild = wild;
    return events;
  }

  #load(id: string, secret: Secret): Loaded {
    const version = `${secret.data?.['tls.crt'] ?? ''}\0${secret.data?.['tls.key'] ?? ''}`;
    const cached = this.#cache.get(id);
    if (cached && cached.version === version) return cached;
    const r = loadSecret(secret);
    const loaded: Loaded = r.ctx ? { version, ctx: r.ctx } : { version, error: r.error ?? 'is unusable' };
    this.#cache.set(id, loaded);
    return loaded;
  }
}
