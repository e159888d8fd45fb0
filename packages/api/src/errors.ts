/**
 * API errors as typed values. Every failure the API reports is an ApiError
 * carrying the Kubernetes Status body that goes on the wire.
 */
import type { Status, StatusCause } from './types.js';

/** One validation failure, as Kubernetes' field.Error. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueDuplicate'
    | 'FieldValueNotFound'
    | 'FieldValueNotSupported'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid'
    | 'InternalError';
  /** Dotted path with indexes and keys: `spec.ports[0].name`, `metadata.labels[app]`. */
  field: string;
  badValue?: unknown;
  detail?: string;
}

const TYPE_TEXT: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueNotFound: 'Not found',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  InternalError: 'Internal error',
};

function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The text after the field path, as Kubernetes prints it: `Invalid value: 70000: must be between 1 and 65535, inclusive`. */
export function fieldErrorBody(e: FieldError): string {
  const head = TYPE_TEXT[e.type];
  switch (e.type) {
    case 'FieldValueRequired':
    case 'FieldValueForbidden':
    case 'FieldValueTooLong':
    case 'FieldValueTooMany':
    case 'InternalError':
      return e.detail ? `${head}: ${e.detail}` : head;
    default: {
      const withValue = e.badValue === undefined ? head : `${head}: ${goValue(e.badValue)}`;
      return e.detail ? `${withValue}: ${e.detail}` : withValue;
    }
  }
}

/** `spec.ports[0].name: Required value` */
export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'RequestEntityTooLarge'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'Expired';

export class ApiError extends Error {
  readonly status: Status;
  constructor(code: number, reason: StatusReason, message: string, details?: Status['details']) {
    super(message);
    this.name = 'ApiError';
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
    if (details) this.status.details = details;
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** `group` is "" for the core group; `resource` is the plural ("services"). */
export interface Target {
  group: string;
  resource: string;
  name?: string;
}

function qualified(t: Target): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource;
}

export const errors = {
  notFound(t: Target): ApiError {
    return new ApiError(404, 'NotFound', `${qualified(t)} "${t.name ?? ''}" not found`, { name: t.name, group: t.group || undefined, kind: t.resource });
  },
  alreadyExists(t: Target): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualified(t)} "${t.name ?? ''}" already exists`, { name: t.name, group: t.group || undefined, kind: t.resource });
  },
  conflict(t: Target, why: string): ApiError {
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${t.name ?? ''}": ${why}`, {
      name: t.name,
      group: t.group || undefined,
      kind: t.resource,
    });
  },
  /** 422 with one cause per field error; `kind` is the object kind ("Service"). */
  invalid(kind: string, group: string, name: string, errs: FieldError[]): ApiError {
    const list = errs.map(formatFieldError);
    const joined = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
    const causes: StatusCause[] = errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
    return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, { name, group: group || undefined, kind, causes });
  },
  badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  },
  unauthorized(): ApiError {
    return new ApiError(401, 'Unauthorized', 'Unauthorized');
  },
  forbidden(message: string): ApiError {
    return new ApiError(403, 'Forbidden', message);
  },
  gone(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  },
  tooLarge(limit: number): ApiError {
    return new ApiError(413, 'RequestEntityTooLarge', `the request body is too large: limit is ${limit} bytes`);
  },
  methodNotAllowed(method: string): ApiError {
    return new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource: ${method}`);
  },
  unsupportedMediaType(type: string): ApiError {
    return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json; got ${type}`);
  },
  internal(message: string): ApiError {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
  },
};
