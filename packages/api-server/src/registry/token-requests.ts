/**
 * The `serviceaccounts/token` subresource (TokenRequest, authentication.k8s.io/v1),
 * as kube-apiserver's token REST: default and validate the request, find the
 * service account (404 if it is not there), check what the token binds to
 * (a Pod running as that service account, a Secret or a Node, whose uid must
 * match when one is given), fill the default audiences and sign. A pod-bound
 * token also names the pod's node. Served over HTTP (`kubectl create token`)
 * and over the agent socket (node agents mount pods' tokens).
 */
import {
  ApiError,
  applyDefaults,
  errors,
  metaTime,
  validateObject,
  type KubeObject,
  type Pod,
  type TokenRequest,
} from '@kubemu/api';
import type { IssueRequest, ObjectRef, ServiceAccountTokens } from '../security/service-account-tokens.js';
import { RES, type Registry } from './registry.js';

const GROUP = 'authentication.k8s.io';
const API_VERSION = `${GROUP}/v1`;

function refOf(o: KubeObject): ObjectRef {
  return { name: o.metadata.name ?? '', uid: o.metadata.uid ?? '' };
}

/** Go's schema.FromAPIVersionAndKind(...).String(): "/v1, Kind=Pod", "apps/v1, Kind=Deployment". */
function gvkString(apiVersion: string, kind: string): string {
  const i = apiVersion.indexOf('/');
  const [group, version] = i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
  return `${group}/${version}, Kind=${kind}`;
}

export class TokenRequests {
  readonly #reg: Registry;
  readonly #tokens: ServiceAccountTokens;
  readonly #now: () => Date;

  constructor(reg: Registry, tokens: ServiceAccountTokens, now: () => Date = () => new Date()) {
    this.#reg = reg;
    this.#tokens = tokens;
    this.#now = now;
  }

  /** POST …/namespaces/<namespace>/serviceaccounts/<name>/token with `body`; the TokenRequest with its status. */
  async create(namespace: string, name: string, body: unknown): Promise<TokenRequest> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of the request must be a TokenRequest object');
    const req = structuredClone(body) as TokenRequest;
    req.apiVersion ||= API_VERSION;
    req.kind ||= 'TokenRequest';
    if (req.apiVersion !== API_VERSION || req.kind !== 'TokenRequest') {
      throw errors.badRequest(`the API version in the data (${String(req.apiVersion)}) does not match the expected API version (${API_VERSION}) or kind (${String(req.kind)} vs TokenRequest)`);
    }
    if (req.spec === undefined || req.spec === null) req.spec = {};
    req.metadata ??= {};
    applyDefaults(req);
    const errs = validateObject(req);
    if (errs.length) {
      const e = errors.invalid('TokenRequest', GROUP, '', errs);
      throw new ApiError(422, 'Invalid', e.message.replace(/^TokenRequest /, `TokenRequest.${GROUP} `), e.status.details);
    }
    const sa = this.#reg.mustGet(RES.serviceaccounts, namespace, name);
    const issue: IssueRequest = {
      namespace,
      serviceAccount: refOf(sa),
      audiences: req.spec.audiences ?? [],
      expirationSeconds: req.spec.expirationSeconds ?? 3600,
    };
    this.#bind(issue, name, req.spec.boundObjectRef ?? undefined);
    const { token, expirationTimestamp } = await this.#tokens.issue(issue);
    return {
      kind: 'TokenRequest',
      apiVersion: API_VERSION,
      metadata: { name: sa.metadata.name, namespace: sa.metadata.namespace, uid: sa.metadata.uid, creationTimestamp: metaTime(this.#now()) },
      spec: {
        audiences: issue.audiences.length ? issue.audiences : this.#tokens.audiences,
        expirationSeconds: issue.expirationSeconds,
        boundObjectRef: req.spec.boundObjectRef ?? null,
      },
      status: { token, expirationTimestamp: metaTime(expirationTimestamp) },
    };
  }

  #bind(issue: IssueRequest, saName: string, ref: TokenRequest['spec']['boundObjectRef'] | undefined): void {
    if (!ref) return;
    const kind = ref.kind ?? '';
    const apiVersion = ref.apiVersion ?? '';
    const core = !apiVersion.includes('/');
    const name = ref.name ?? '';
    let bound: KubeObject;
    if (core && kind === 'Pod') {
      const pod = this.#reg.mustGet<Pod>(RES.pods, issue.namespace, name);
      if ((pod.spec.serviceAccountName ?? '') !== saName) {
        throw errors.badRequest(`cannot bind token for serviceaccount ${JSON.stringify(saName)} to pod running with different serviceaccount name.`);
      }
      issue.pod = refOf(pod);
      const nodeName = pod.spec.nodeName;
      if (nodeName) {
        // A missing Node still leaves its name in the claims.
        const node = this.#reg.get(RES.nodes, undefined, nodeName);
        issue.node = { name: nodeName, uid: node?.metadata.uid ?? '' };
      }
      bound = pod;
    } else if (core && kind === 'Secret') {
      bound = this.#reg.mustGet(RES.secrets, issue.namespace, name);
      issue.secret = refOf(bound);
    } else if (core && kind === 'Node') {
      bound = this.#reg.mustGet(RES.nodes, undefined, name);
      issue.node = refOf(bound);
    } else {
      throw errors.badRequest(`cannot bind token to object of type ${gvkString(apiVersion, kind)}`);
    }
    if (ref.uid && ref.uid !== bound.metadata.uid) {
      throw errors.conflict(
        { group: '', resource: kind, name },
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    }
  }
}
