/**
 * Service account tokens: JWTs signed with the cluster's service account key
 * (pki/sa.key, made at first start, as kubeadm makes sa.key / sa.pub), with
 * the claims kube-apiserver puts in them:
 *
 *   iss  https://kubernetes.default.svc.cluster.local
 *   sub  system:serviceaccount:<ns>:<name>
 *   aud  the requested audiences (default: the API server's own)
 *   exp, iat, nbf, jti
 *   kubernetes.io  { namespace, serviceaccount {name, uid}, pod|secret|node {name, uid} }
 *
 * This module signs and checks signatures and times only; whether the
 * service account and the bound object still exist is the authenticator's
 * question (authenticator.ts).
 */
import { createPublicKey, generateKeyPairSync, randomUUID, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

/** kube-apiserver's --service-account-issuer in kubeadm and kind clusters; also its default API audience. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const ALG = 'RS256';

export interface ObjectRef {
  name: string;
  uid: string;
}

/** The private claims under "kubernetes.io". */
export interface KubernetesClaims {
  namespace: string;
  serviceaccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': KubernetesClaims;
}

export interface IssueRequest {
  namespace: string;
  serviceAccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
  /** Empty: the API server's audiences. */
  audiences: string[];
  expirationSeconds: number;
}

export interface ServiceAccountTokensOptions {
  issuer?: string;
  /** Audiences the API server accepts (and gives tokens that ask for none). */
  audiences?: string[];
  now?: () => Date;
}

/** "system:serviceaccount:<ns>:<name>". */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly audiences: string[];
  readonly #private: KeyObject;
  readonly #public: KeyObject;
  readonly #kid: string;
  readonly #now: () => Date;

  constructor(privateKey: KeyObject, opts: ServiceAccountTokensOptions = {}) {
    this.#private = privateKey;
    this.#public = createPublicKey(privateKey);
    // kube-apiserver's key id: the unpadded base64url SHA-256 of the public key's DER.
    this.#kid = createHash('sha256').update(this.#public.export({ type: 'spki', format: 'der' })).digest('base64url');
    this.issuer = opts.issuer ?? SERVICE_ACCOUNT_ISSUER;
    this.audiences = opts.audiences ?? [this.issuer];
    this.#now = opts.now ?? (() => new Date());
  }

  /** The key in `pkiDir`/sa.key (PKCS#8 PEM), made (with sa.pub beside it) when missing. */
  static loadOrCreate(pkiDir: string, opts: ServiceAccountTokensOptions = {}): ServiceAccountTokens {
    const keyFile = join(pkiDir, 'sa.key');
    if (!existsSync(keyFile)) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      writeFileSync(join(pkiDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    }
    return new ServiceAccountTokens(createPrivateKey(readFileSync(keyFile, 'utf8')), opts);
  }

  /** A signed token and when it expires. */
  async issue(req: IssueRequest): Promise<{ token: string; expirationTimestamp: Date }> {
    const nowS = Math.floor(this.#now().getTime() / 1000);
    const exp = nowS + req.expirationSeconds;
    const k8s: KubernetesClaims = { namespace: req.namespace, serviceaccount: req.serviceAccount };
    if (req.pod) k8s.pod = req.pod;
    if (req.secret) k8s.secret = req.secret;
    if (req.node) k8s.node = req.node;
    const token = await new SignJWT({ 'kubernetes.io': k8s })
      .setProtectedHeader({ alg: ALG, kid: this.#kid })
      .setIssuer(this.issuer)
      .setSubject(serviceAccountUsername(req.namespace, req.serviceAccount.name))
      .setAudience(req.audiences.length ? req.audiences : this.audiences)
      .setIssuedAt(nowS)
      .setNotBefore(nowS)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.#private);
    return { token, expirationTimestamp: new Date(exp * 1000) };
  }

  /**
   * The claims of a token this key signed for this issuer, unexpired and
   * meant for one of the API server's audiences; undefined otherwise (a
   * token that is not a JWT at all included).
   */
  async verify(token: string): Promise<TokenClaims | undefined> {
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.#public, {
        algorithms: [ALG],
        issuer: this.issuer,
        audience: this.audiences,
        currentDate: this.#now(),
      });
      const k8s = payload['kubernetes.io'] as KubernetesClaims | undefined;
      if (!k8s || typeof k8s.namespace !== 'string' || typeof k8s.serviceaccount?.name !== 'string' || typeof k8s.serviceaccount.uid !== 'string') return undefined;
      return { ...payload, aud: Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)] } as TokenClaims;
    } catch (e) {
      if (e instanceof joseErrors.JOSEError) return undefined;
      throw e;
    }
  }
}
