/**
 * Field selectors (`?fieldSelector=`), as Kubernetes' apimachinery `pkg/fields`
 * plus the per-kind field label tables of kube-apiserver.
 *
 * Model: a selector is a list of terms `field=value`, `field==value` or
 * `field!=value`, ANDed. Values may escape `\`, `,` and `=` with a backslash.
 * Each kind supports a fixed set of field labels (its "selectable fields");
 * any other label is a 400 BadRequest, worded as Kubernetes words it for that
 * kind. A field that is absent on an object reads as "" (Kubernetes builds the
 * field set with every supported label present).
 */
import { ApiError } from './errors.js';
import type { KubeObject } from './types.js';

export interface FieldRequirement {
  field: string;
  operator: '=' | '==' | '!=';
  value: string;
}

export interface FieldMatcher {
  matches(obj: KubeObject): boolean;
  /** True when there are no terms (matches everything). */
  empty: boolean;
  /** Canonical form: terms sorted, values escaped. */
  toString(): string;
  requirements: readonly FieldRequirement[];
  /** The value an exact-match term requires for `field`, e.g. `metadata.name`. */
  requiresExactMatch(field: string): string | undefined;
}

type Getter = (o: any) => unknown;

const META: Record<string, Getter> = {
  'metadata.name': (o) => o?.metadata?.name,
  'metadata.namespace': (o) => o?.metadata?.namespace,
};

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  return typeof v === 'string' ? v : '';
}

/**
 * Per kind: the field labels kube-apiserver accepts, and whether the kind uses a
 * custom conversion (message `field label not supported: x`) or the default one
 * (message `"x" is not a known field selector: only "metadata.name", "metadata.namespace"`).
 */
interface KindFields {
  custom: boolean;
  fields: Record<string, Getter>;
}

const KIND_FIELDS: Record<string, KindFields> = {
  Pod: {
    custom: true,
    fields: {
      ...META,
      'spec.nodeName': (o) => o?.spec?.nodeName,
      'spec.restartPolicy': (o) => o?.spec?.restartPolicy,
      'spec.schedulerName': (o) => o?.spec?.schedulerName,
      'spec.serviceAccountName': (o) => o?.spec?.serviceAccountName,
      'spec.hostNetwork': (o) => (o?.spec?.hostNetwork === true ? 'true' : 'false'),
      'status.phase': (o) => o?.status?.phase,
      'status.podIP': (o) => o?.status?.podIP,
      'status.podIPs': (o) => o?.status?.podIP,
      'status.nominatedNodeName': (o) => o?.status?.nominatedNodeName,
    },
  },
  Node: {
    custom: true,
    fields: {
      'metadata.name': META['metadata.name']!,
      'spec.unschedulable': (o) => (o?.spec?.unschedulable === true ? 'true' : 'false'),
    },
  },
  ReplicationController: { custom: true, fields: { ...META, 'status.replicas': (o) => o?.status?.replicas ?? 0 } },
  ReplicaSet: { custom: true, fields: { ...META, 'status.replicas': (o) => o?.status?.replicas ?? 0 } },
  Event: {
    custom: true,
    fields: {
      ...META,
      'involvedObject.kind': (o) => o?.involvedObject?.kind,
      'involvedObject.namespace': (o) => o?.involvedObject?.namespace,
      'involvedObject.name': (o) => o?.involvedObject?.name,
      'involvedObject.uid': (o) => o?.involvedObject?.uid,
      'involvedObject.apiVersion': (o) => o?.involvedObject?.apiVersion,
      'involvedObject.resourceVersion': (o) => o?.involvedObject?.resourceVersion,
      'involvedObject.fieldPath': (o) => o?.involvedObject?.fieldPath,
      reason: (o) => o?.reason,
      reportingComponent: (o) => o?.reportingComponent,
      source: (o) => str(o?.source?.component) || str(o?.reportingComponent),
      type: (o) => o?.type,
    },
  },
  Namespace: { custom: true, fields: { 'metadata.name': META['metadata.name']!, 'status.phase': (o) => o?.status?.phase } },
  Secret: { custom: true, fields: { ...META, type: (o) => o?.type } },
  Service: {
    custom: true,
    fields: { ...META, 'spec.clusterIP': (o) => o?.spec?.clusterIP, 'spec.type': (o) => o?.spec?.type },
  },
};

const DEFAULT_FIELDS: KindFields = { custom: false, fields: META };

function kindFields(kind: unknown): KindFields {
  return typeof kind === 'string' && Object.hasOwn(KIND_FIELDS, kind) ? KIND_FIELDS[kind]! : DEFAULT_FIELDS;
}

function getter(table: Record<string, Getter>, field: string): Getter | undefined {
  return Object.hasOwn(table, field) ? table[field] : undefined;
}

const ALL_FIELDS: Record<string, Getter> = {};
for (const k of Object.values(KIND_FIELDS)) Object.assign(ALL_FIELDS, k.fields);

/** The field labels `kind` supports in field selectors. */
export function supportedFieldLabels(kind: string): string[] {
  return Object.keys(kindFields(kind).fields);
}

/** The value of a selectable field on an object, "" when absent. */
export function fieldValue(obj: KubeObject, field: string, kind?: string): string {
  const own = typeof obj?.kind === 'string' && Object.hasOwn(KIND_FIELDS, obj.kind);
  const table = kind ? kindFields(kind).fields : own ? kindFields(obj.kind).fields : ALL_FIELDS;
  const get = getter(table, field) ?? getter(ALL_FIELDS, field);
  return get ? str(get(obj)) : '';
}

function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const OPERATORS = ['!=', '==', '='] as const;

function splitTerm(t: string): { lhs: string; op: FieldRequirement['operator']; rhs: string } | undefined {
  for (let i = 0; i < t.length; i++) {
    for (const op of OPERATORS) {
      if (t.startsWith(op, i)) return { lhs: t.slice(0, i), op, rhs: t.slice(i + op.length) };
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw new ApiError(400, 'BadRequest', `invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    // Go prints the rune with %v, i.e. as its code point number.
    else if (c === ',' || c === '=') throw new ApiError(400, 'BadRequest', `invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new ApiError(400, 'BadRequest', 'invalid field selector: invalid escape sequence: \\');
  return out;
}

export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * Parse a field selector. With `kind`, only that kind's field labels are accepted
 * (Kubernetes' per-kind wording on failure); without it, any label some kind supports.
 * Throws ApiError 400 BadRequest.
 */
export function parseFieldSelector(s: string, kind?: string): FieldMatcher {
  const src = typeof s === 'string' ? s : '';
  const parts = splitTerms(src).sort();
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new ApiError(400, 'BadRequest', `invalid selector: '${src}'; can't understand '${part}'`);
    reqs.push({ field: t.lhs, operator: t.op, value: unescapeValue(t.rhs) });
  }
  const table = kind === undefined ? { custom: true, fields: ALL_FIELDS } : kindFields(kind);
  for (const r of reqs) {
    if (getter(table.fields, r.field)) continue;
    if (table.custom) throw new ApiError(400, 'BadRequest', `field label not supported: ${r.field}`);
    throw new ApiError(400, 'BadRequest', `${JSON.stringify(r.field)} is not a known field selector: only "metadata.name", "metadata.namespace"`);
  }
  const text = reqs.map((r) => `${r.field}${r.operator === '!=' ? '!=' : '='}${escapeFieldValue(r.value)}`).join(',');
  return {
    requirements: reqs,
    empty: reqs.length === 0,
    matches(obj: KubeObject): boolean {
      return reqs.every((r) => {
        const v = fieldValue(obj, r.field, kind);
        return r.operator === '!=' ? v !== r.value : v === r.value;
      });
    },
    toString: () => text,
    requiresExactMatch(field: string): string | undefined {
      const r = reqs.find((x) => x.field === field && x.operator !== '!=');
      return r?.value;
    },
  };
}
