/**
 * Who a bearer token belongs to: one of the cluster's static tokens (the
 * admin's, the agents'), or a service account token that is still good —
 * signed by the cluster, unexpired, for an API audience, its service account
 * still there with the same uid, and its bound pod or secret too (kube-
 * apiserver's legacy-free service account authenticator). An object being
 * deleted still counts for 60 s after its deletionTimestamp, as in
 * Kubernetes, so a terminating pod's preStop hook can still call the API.
 *
 * There is no authorization: every authenticated user may do everything.
 */
import type { KubeObject } from '@kubemu/api';
import type { ObjectRef, ServiceAccountTokens, TokenClaims } from './service-account-tokens.js';
import { serviceAccountUsername } from './service-account-tokens.js';

/** What the authenticator reads objects through (the registry). */
export interface ObjectLookup {
  get(kind: 'serviceaccounts' | 'pods' | 'secrets' | 'nodes', namespace: string | undefined, name: string): KubeObject | undefined;
}

export interface UserInfo {
  username: string;
  uid?: string;
}

/** How long after its deletionTimestamp a bound object still vouches for a token. */
const DELETION_LEEWAY_MS = 60_000;

export class Authenticator {
  readonly #static: Map<string, UserInfo>;
  readonly #tokens: ServiceAccountTokens | undefined;
  readonly #objects: ObjectLookup;
  readonly #now: () => Date;

  constructor(opts: { staticTokens: Record<string, UserInfo>; serviceAccountTokens?: ServiceAccountTokens; objects: ObjectLookup; now?: () => Date }) {
    this.#static = new Map(Object.entries(opts.staticTokens));
    this.#tokens = opts.serviceAccountTokens;
    this.#objects = opts.objects;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The user of `token`, or undefined (→ 401). */
  async authenticate(token: string): Promise<UserInfo | undefined> {
    const user = this.#static.get(token);
    if (user) return user;
    const claims = await this.#tokens?.verify(token);
    if (!claims || !this.#stillValid(claims)) return undefined;
    const k = claims['kubernetes.io'];
    return { username: serviceAccountUsername(k.namespace, k.serviceaccount.name), uid: k.serviceaccount.uid };
  }

  /** The header's bearer token, or undefined. */
  static bearer(header: string | undefined): string | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return m?.[1];
  }

  #stillValid(claims: TokenClaims): boolean {
    const k = claims['kubernetes.io'];
    const alive = (kind: 'serviceaccounts' | 'pods' | 'secrets', ref: ObjectRef): boolean => {
      const obj = this.#objects.get(kind, k.namespace, ref.name);
      if (!obj || obj.metadata.uid !== ref.uid) return false;
      const del = obj.metadata.deletionTimestamp ? Date.parse(obj.metadata.deletionTimestamp) : undefined;
      return del === undefined || del + DELETION_LEEWAY_MS > this.#now().getTime();
    };
    if (!alive('serviceaccounts', k.serviceaccount)) return false;
    if (k.pod && !alive('pods', k.pod)) return false;
    if (k.secret && !alive('secrets', k.secret)) return false;
    if (k.node && !k.pod) {
      const node = this.#objects.get('nodes', undefined, k.node.name);
      if (!node || node.metadata.uid !== k.node.uid) return false;
    }
    return true;
  }
}
