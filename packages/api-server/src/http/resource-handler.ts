/**
 * REST verbs on resources: get, list, watch, create, update, patch, delete,
 * deletecollection, and the status, scale and pods/ephemeralcontainers subresources.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, errors, type KubeObject, type Pod, type ResourceInfo, type LabelSelector, groupVersion } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import type { DeleteOptions } from '../registry/object-client.js';
import { APPLY_PATCH, applyPatch, patchMediaType } from '../patch/index.js';
import type { WriteOptions } from '../registry/registry.js';
import { forbidForce, serverSideApply, validateFieldManager } from './apply.js';
import { managerFromUserAgent } from '../managedfields/managers.js';
import { toTable } from '../tables/index.js';
import { decodeBody, readBody } from './body.js';
import {
  type FieldValidation,
  fieldValidationNotSupported,
  goFormat,
  jsonPatchStrictErrors,
  messageFor,
  parseFieldValidation,
  pruneUnknownFields,
  strictDecodingErrors,
  strictDecodingMessage,
  unknownFieldErrors,
  unknownFields,
  warningHeader,
} from './field-validation.js';
import { negotiate } from './negotiate.js';
import { serveWatch } from './watch-stream.js';
import { sendJSON } from './respond.js';
import type { TokenRequests } from '../registry/token-requests.js';

export interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}


function isWatch(q: URLSearchParams, legacy: boolean): boolean {
  const w = q.get('watch');
  return legacy || w === 'true' || w === '1';
}

function dryRun(q: URLSearchParams): boolean {
  return q.getAll('dryRun').includes('All');
}

export interface ResourceHandlerOptions {
  /** serviceaccounts/token. */
  tokenRequests?: TokenRequests;
  now?: () => Date;
}

export class ResourceHandler {
  readonly #reg: Registry;
  readonly #now: () => Date;
  readonly #tokens?: TokenRequests;

  constructor(reg: Registry, opts: ResourceHandlerOptions = {}) {
    this.#reg = reg;
    this.#now = opts.now ?? (() => new Date());
    this.#tokens = opts.tokenRequests;
  }

  async handle(rr: ResourceRequest): Promise<void> {
    const { req, resource: r, name, subresource } = rr;
    const method = req.method ?? 'GET';
    if (subresource && !(r.subresources as string[]).includes(subresource)) {
      throw errors.notFound({ group: r.group, resource: `${r.plural}/${subresource}`, name });
    }
    if (!name) {
      switch (method) {
        case 'GET':
          return isWatch(rr.query, rr.legacyWatch) ? this.#watch(rr) : this.#list(rr);
        case 'POST':
          return this.#create(rr);
        case 'DELETE':
          return this.#deleteCollection(rr);
        default:
          throw errors.methodNotAllowed(method);
      }
    }
    if (subresource === 'scale') return this.#scale(rr, method);
    if (subresource === 'token') return this.#token(rr, method);
    switch (method) {
      case 'GET':
        return isWatch(rr.query, rr.legacyWatch) ? this.#watch(rr) : this.#get(rr);
      case 'PUT':
        return this.#put(rr);
      case 'PATCH':
        return this.#patch(rr);
      case 'DELETE':
        return this.#delete(rr);
      default:
        throw errors.methodNotAllowed(method);
    }
  }

  #send(rr: ResourceRequest, code: number, obj: KubeObject): void {
    const wants = negotiate(rr.req.headers.accept, rr.query);
    if (wants.table) {
      sendJSON(rr.res, code, toTable(rr.resource, [obj], { includeObject: wants.includeObject, now: this.#now(), resourceVersion: obj.metadata.resourceVersion ?? '' }));
    } else sendJSON(rr.res, code, obj);
  }

  #get(rr: ResourceRequest): void {
    const obj = this.#reg.mustGet(rr.resource, rr.namespace, rr.name!);
    this.#send(rr, 200, obj);
  }

  #list(rr: ResourceRequest): void {
    const { items, resourceVersion } = this.#reg.list(rr.resource, {
      namespace: rr.namespace,
      labelSelector: rr.query.get('labelSelector') ?? undefined,
      fieldSelector: rr.query.get('fieldSelector') ?? undefined,
    });
    const wants = negotiate(rr.req.headers.accept, rr.query);
    if (wants.table) {
      sendJSON(rr.res, 200, toTable(rr.resource, items, { includeObject: wants.includeObject, now: this.#now(), resourceVersion }));
      return;
    }
    const r = rr.resource;
    sendJSON(rr.res, 200, {
      kind: r.listKind,
      apiVersion: groupVersion(r),
      metadata: { resourceVersion },
      items: items.map(stripTypeMeta),
    });
  }

  #watch(rr: ResourceRequest): void {
    const q = rr.query;
    const fieldSelector = [q.get('fieldSelector'), rr.name ? `metadata.name=${rr.name}` : undefined].filter(Boolean).join(',');
    serveWatch(this.#reg, rr.req, rr.res, {
      resource: rr.resource,
      namespace: rr.namespace,
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: fieldSelector || undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      timeoutSeconds: q.has('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      sendInitialEvents: q.get('sendInitialEvents') === 'true',
      wants: negotiate(rr.req.headers.accept, q),
      now: this.#now,
    });
  }

  /**
   * The request's object, decoded as kube-apiserver decodes into the kind's Go
   * type: fields it does not declare are refused (fieldValidation=Strict),
   * dropped with a warning (Warn, the default) or dropped (Ignore).
   */
  async #bodyObject(rr: ResourceRequest, as: { kind: string; apiVersion: string } = { kind: rr.resource.kind, apiVersion: groupVersion(rr.resource) }): Promise<KubeObject> {
    const buf = await readBody(rr.req);
    const directive = fieldValidation(rr, rr.req.method === 'POST' ? 'CreateOptions' : 'UpdateOptions');
    const body = decodeBody(buf, rr.req.headers['content-type']);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of the request must be a JSON or YAML object');
    let obj = body as KubeObject;
    if (obj.metadata !== undefined && (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
      throw errors.badRequest('json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta');
    }
    // The body's own kind when it names one kubemu knows (a mismatch is refused later), else the endpoint's.
    const bodyKind = typeof obj.kind === 'string' && typeof obj.apiVersion === 'string' && messageFor(obj.kind, obj.apiVersion) ? { kind: obj.kind, apiVersion: obj.apiVersion } : as;
    if (directive !== 'Ignore') {
      const type = (rr.req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
      // Protobuf decoding is never strict; JSON decoding also reports duplicate keys.
      const errs = type.includes('protobuf')
        ? []
        : type.includes('json')
          ? strictDecodingErrors(buf.toString('utf8'), bodyKind.kind, bodyKind.apiVersion)
          : unknownFieldErrors(unknownFields(obj, bodyKind.kind, bodyKind.apiVersion));
      if (errs.length && directive === 'Strict') {
        const version = bodyKind.apiVersion.slice(bodyKind.apiVersion.indexOf('/') + 1);
        throw errors.badRequest(`${bodyKind.kind} in version "${version}" cannot be handled as a ${as.kind}: ${strictDecodingMessage(errs)}`);
      }
      warn(rr, errs);
    }
    obj = pruneUnknownFields(obj, bodyKind.kind, bodyKind.apiVersion);
    return obj;
  }

  #checkNamespace(rr: ResourceRequest, obj: KubeObject): void {
    if (!rr.resource.namespaced) return;
    const ns = obj.metadata?.namespace;
    if (ns && rr.namespace && ns !== rr.namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata = { ...(obj.metadata ?? {}), namespace: rr.namespace ?? ns ?? 'default' };
  }

  async #create(rr: ResourceRequest): Promise<void> {
    const obj = await this.#bodyObject(rr);
    if (rr.resource.namespaced && !rr.namespace) throw errors.methodNotAllowed('POST');
    this.#checkNamespace(rr, obj);
    const created = this.#reg.create(rr.resource, obj, writeOptions(rr, 'CreateOptions'));
    this.#send(rr, 201, created);
  }

  async #put(rr: ResourceRequest): Promise<void> {
    const obj = await this.#bodyObject(rr);
    this.#checkNamespace(rr, obj);
    if (obj.metadata?.name && obj.metadata.name !== rr.name) {
      throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${rr.name})`);
    }
    obj.metadata = { ...(obj.metadata ?? {}), name: rr.name };
    this.#send(rr, 200, this.#write(rr, obj, writeOptions(rr, 'UpdateOptions')));
  }

  /** An update through the URL's subresource: status, ephemeralcontainers, or the object itself. */
  #write(rr: ResourceRequest, obj: KubeObject, opts: WriteOptions): KubeObject {
    if (rr.subresource === 'status') return this.#reg.updateStatus(rr.resource, obj, opts);
    if (rr.subresource === 'ephemeralcontainers') return this.#reg.updateEphemeralContainers(rr.resource, obj as Pod, opts);
    return this.#reg.update(rr.resource, obj, opts);
  }

  async #patch(rr: ResourceRequest): Promise<void> {
    const buf = await readBody(rr.req);
    const directive = fieldValidation(rr, 'PatchOptions');
    const type = (rr.req.headers['content-type'] ?? '').split(';')[0].trim();
    if (patchMediaType(type) === APPLY_PATCH) {
      const { code, object } = serverSideApply(this.#reg, {
        resource: rr.resource,
        namespace: rr.namespace,
        name: rr.name!,
        subresource: rr.subresource,
        body: buf,
        fieldManager: rr.query.get('fieldManager') ?? '',
        force: parseForce(rr.query),
        dryRun: dryRun(rr.query),
        directive,
        now: this.#now,
        warn: (texts) => warn(rr, texts),
      });
      return this.#send(rr, code, object);
    }
    const opts = writeOptions(rr, 'PatchOptions');
    const body = decodeBody(buf, rr.req.headers['content-type']);
    // Patches apply to the latest version; a concurrent write between read and
    // write is retried, as kube-apiserver does.
    for (let attempt = 0; ; attempt++) {
      const current = this.#reg.mustGet(rr.resource, rr.namespace, rr.name!);
      const patched = checkPatched(rr, directive, type, buf, body, applyPatch(type, current, body, rr.resource.kind), rr.resource.kind, groupVersion(rr.resource), attempt === 0);
      if (patched.metadata?.name !== undefined && patched.metadata.name !== rr.name) throw errors.badRequest('metadata.name may not be changed by a patch');
      patched.metadata = { ...(patched.metadata ?? {}), name: rr.name };
      if (rr.resource.namespaced) patched.metadata.namespace = rr.namespace ?? current.metadata.namespace;
      const userRV = (body as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
      if (!userRV) patched.metadata.resourceVersion = current.metadata.resourceVersion;
      try {
        return this.#send(rr, 200, this.#write(rr, patched, opts));
      } catch (e) {
        if (!userRV && attempt < 5 && (e as { code?: number }).code === 409 && (e as { reason?: string }).reason === 'Conflict') continue;
        throw e;
      }
    }
  }

  async #deleteOptions(rr: ResourceRequest): Promise<DeleteOptions> {
    const opts: DeleteOptions = {};
    const buf = await readBody(rr.req);
    if (buf.length && buf.toString('utf8').trim()) {
      const body = decodeBody(buf, rr.req.headers['content-type']) as Record<string, unknown> | null;
      if (body && typeof body === 'object') {
        if (typeof body.gracePeriodSeconds === 'number') opts.gracePeriodSeconds = body.gracePeriodSeconds;
        if (typeof body.propagationPolicy === 'string') opts.propagationPolicy = body.propagationPolicy as DeleteOptions['propagationPolicy'];
        if (body.orphanDependents === true) opts.propagationPolicy = 'Orphan';
        if (body.preconditions && typeof body.preconditions === 'object') opts.preconditions = body.preconditions as DeleteOptions['preconditions'];
      }
    }
    const q = rr.query;
    if (q.has('gracePeriodSeconds')) opts.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
    if (q.has('propagationPolicy')) opts.propagationPolicy = q.get('propagationPolicy') as DeleteOptions['propagationPolicy'];
    if (opts.gracePeriodSeconds !== undefined && (!Number.isInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0)) {
      throw errors.badRequest('gracePeriodSeconds must be a non-negative integer');
    }
    return opts;
  }

  async #delete(rr: ResourceRequest): Promise<void> {
    const opts = await this.#deleteOptions(rr);
    this.#reg.mustGet(rr.resource, rr.namespace, rr.name!);
    if (dryRun(rr.query)) return this.#send(rr, 200, this.#reg.mustGet(rr.resource, rr.namespace, rr.name!));
    const out = this.#reg.delete(rr.resource, rr.namespace, rr.name!, opts);
    if (!out) throw errors.notFound({ group: rr.resource.group, resource: rr.resource.plural, name: rr.name });
    // 202 while the object lingers (graceful delete / finalizers), 200 when gone.
    const lingering = !!this.#reg.get(rr.resource, rr.namespace, rr.name!);
    this.#send(rr, lingering ? 202 : 200, out);
  }

  async #deleteCollection(rr: ResourceRequest): Promise<void> {
    const opts = await this.#deleteOptions(rr);
    const { items } = this.#reg.list(rr.resource, {
      namespace: rr.namespace,
      labelSelector: rr.query.get('labelSelector') ?? undefined,
      fieldSelector: rr.query.get('fieldSelector') ?? undefined,
    });
    const out: KubeObject[] = [];
    for (const o of items) {
      const d = this.#reg.delete(rr.resource, o.metadata.namespace, o.metadata.name ?? '', opts);
      if (d) out.push(d);
    }
    sendJSON(rr.res, 200, { kind: rr.resource.listKind, apiVersion: groupVersion(rr.resource), metadata: { resourceVersion: this.#reg.resourceVersion }, items: out });
  }

  // ---- serviceaccounts/token ----------------------------------------------------

  async #token(rr: ResourceRequest, method: string): Promise<void> {
    if (!this.#tokens) throw errors.notFound({ group: rr.resource.group, resource: `${rr.resource.plural}/token`, name: rr.name });
    if (method !== 'POST') throw errors.methodNotAllowed(method);
    const body = await this.#bodyObject(rr, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1' });
    const out = await this.#tokens.create(rr.namespace ?? 'default', rr.name!, body);
    sendJSON(rr.res, 201, out);
  }

  // ---- scale ------------------------------------------------------------------

  async #scale(rr: ResourceRequest, method: string): Promise<void> {
    const r = rr.resource;
    const obj = this.#reg.mustGet(r, rr.namespace, rr.name!);
    const scale = toScale(obj);
    if (method === 'GET') return sendJSON(rr.res, 200, scale);
    let next: Record<string, any>;
    if (method === 'PUT') next = (await this.#bodyObject(rr, { kind: 'Scale', apiVersion: 'autoscaling/v1' })) as Record<string, any>;
    else if (method === 'PATCH') {
      const buf = await readBody(rr.req);
      const directive = fieldValidation(rr, 'PatchOptions');
      const body = decodeBody(buf, rr.req.headers['content-type']);
      const type = (rr.req.headers['content-type'] ?? '').split(';')[0].trim();
      next = applyPatch(type, scale as unknown as KubeObject, body, 'Scale');
      next = checkPatched(rr, directive, type, buf, body, next as KubeObject, 'Scale', 'autoscaling/v1');
    } else throw errors.methodNotAllowed(method);
    const replicas = next?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw errors.invalid('Scale', 'autoscaling', rr.name!, [{ type: 'FieldValueInvalid', field: 'spec.replicas', badValue: replicas, detail: 'must be greater than or equal to 0' }]);
    }
    const rv = next?.metadata?.resourceVersion;
    const opts = { ...writeOptions(rr, method === 'PUT' ? 'UpdateOptions' : 'PatchOptions'), subresource: 'scale' };
    const updated = this.#reg.update(r, { ...obj, metadata: { ...obj.metadata, resourceVersion: rv || obj.metadata.resourceVersion }, spec: { ...obj.spec, replicas } }, opts);
    sendJSON(rr.res, 200, toScale(updated));
  }
}

/** `force` as Go's strconv.ParseBool reads the query parameter. */
function parseForce(q: URLSearchParams): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(q.get('force') ?? '');
}

/**
 * dryRun and the field manager of a non-apply write: ?fieldManager, else the
 * User-Agent's product name (kube-apiserver's managerOrUserAgent).
 */
function writeOptions(rr: ResourceRequest, options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'): WriteOptions {
  const given = rr.query.get('fieldManager') ?? '';
  validateFieldManager(options, given);
  if (options === 'PatchOptions' && rr.query.has('force')) {
    throw forbidForce();
  }
  return { dryRun: dryRun(rr.query), fieldManager: given || managerFromUserAgent(rr.req.headers['user-agent']) };
}

/** The request's fieldValidation; an unsupported value is refused as kube-apiserver refuses it. */
function fieldValidation(rr: ResourceRequest, options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'): FieldValidation {
  const d = parseFieldValidation(rr.query);
  if (d) return d;
  const value = rr.query.get('fieldValidation') ?? '';
  const message = fieldValidationNotSupported(value);
  throw new ApiError(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: ${message}`, {
    group: 'meta.k8s.io',
    kind: options,
    causes: [{ reason: 'FieldValueNotSupported', message: message.slice('fieldValidation: '.length), field: 'fieldValidation' }],
  });
}

/** One `Warning: 299 - "…"` response header per strict-decoding complaint. */
function warn(rr: ResourceRequest, texts: readonly string[]): void {
  for (const t of texts) rr.res.appendHeader('Warning', warningHeader(t));
}

/**
 * A patched object checked as kube-apiserver checks it: the patch itself for
 * duplicate keys (and, for JSON patches, unknown keys in its operations),
 * then the result for fields its kind does not declare. Strict refuses them
 * with a 422 for the field "patch"; Warn and Ignore drop them, Warn with
 * warnings (added once, on the first attempt). Returns the result without them.
 */
function checkPatched(rr: ResourceRequest, directive: FieldValidation, type: string, raw: Buffer, body: unknown, patched: KubeObject, kind: string, apiVersion: string, first = true): KubeObject {
  if (directive !== 'Ignore') {
    const mediaType = type.toLowerCase();
    const text = raw.toString('utf8');
    const patchErrs = mediaType === 'application/json-patch+json' ? jsonPatchStrictErrors(text) : strictDecodingErrors(text, '', '');
    const errs = [...patchErrs, ...unknownFieldErrors(unknownFields(patched, kind, apiVersion))];
    if (errs.length && directive === 'Strict') {
      // A strategic merge patch is shown as Go prints the decoded patch, the others as the patched object.
      const badValue = mediaType === 'application/strategic-merge-patch+json' ? goFormat(body) : JSON.stringify(patched);
      throw errors.invalid('', '', '', [{ type: 'FieldValueInvalid', field: 'patch', badValue, detail: strictDecodingMessage(errs) }]);
    }
    if (first) warn(rr, errs);
  }
  return pruneUnknownFields(patched, kind, apiVersion);
}

function stripTypeMeta(o: KubeObject): KubeObject {
  delete (o as Partial<KubeObject>).apiVersion;
  delete (o as Partial<KubeObject>).kind;
  return o;
}

function selectorString(sel: Record<string, string> | LabelSelector | undefined): string {
  if (!sel) return '';
  const ls = sel as LabelSelector;
  if (ls.matchLabels !== undefined || ls.matchExpressions !== undefined) {
    const parts = Object.entries(ls.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const e of ls.matchExpressions ?? []) {
      if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
      else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
      else if (e.operator === 'Exists') parts.push(e.key);
      else parts.push(`!${e.key}`);
    }
    return parts.join(',');
  }
  return Object.entries(sel as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function toScale(obj: KubeObject): object {
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector: selectorString(obj.spec?.selector) },
  };
}
