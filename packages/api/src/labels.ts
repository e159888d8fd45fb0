/**
 * Label selectors, as Kubernetes' apimachinery `pkg/labels` and metav1 helpers.
 *
 * Model: a selector is a list of requirements (key, operator, values), ANDed.
 * No requirements = matches everything (`empty` is true). A "nothing" selector
 * matches no object at all (a nil LabelSelector, a nil Service selector).
 *
 * - `parseLabelSelector` parses the `?labelSelector=` string syntax with
 *   Kubernetes' lexer/parser rules and error messages.
 * - `selectorFromLabelSelector` is metav1.LabelSelectorAsSelector (RS, Deployment).
 * - `selectorFromMap` is labels.SelectorFromSet for a map that may be nil
 *   (nil ⇒ nothing, {} ⇒ everything); `serviceSelector` adds the Service rule
 *   (empty map ⇒ nothing, since Kubernetes stores `{}` as nil and the endpoints
 *   controllers skip selector-less Services).
 * - `validateLabels` / `validateLabelSelector` are metav1validation's checks.
 */

/** The label tying an EndpointSlice to its Service (discovery.k8s.io/v1). */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
import { ApiError, type FieldError } from './errors.js';
import type { LabelSelector } from './types.js';
import { checkLabelValue, checkQualifiedName, scalarString } from './names.js';

export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: LabelOperator;
  /** Sorted, de-duplicated. */
  values: string[];
}

export interface LabelMatcher {
  matches(labels: Record<string, string> | undefined | null): boolean;
  /** True when there are no requirements (matches everything). False for "nothing". */
  empty: boolean;
  /** Canonical string form (requirements sorted by key), "" for everything and nothing. */
  toString(): string;
  /** The requirements, sorted by key (empty for "nothing"). */
  requirements: readonly Requirement[];
}

function has(labels: Record<string, string> | undefined | null, key: string): boolean {
  return !!labels && typeof labels === 'object' && Object.prototype.hasOwnProperty.call(labels, key);
}

function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

export function requirementMatches(r: Requirement, labels: Record<string, string> | undefined | null): boolean {
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has(labels, r.key) && r.values.includes(scalarString(labels![r.key]));
    case 'notin':
    case '!=':
      return !has(labels, r.key) || !r.values.includes(scalarString(labels![r.key]));
    case 'exists':
      return has(labels, r.key);
    case '!':
      return !has(labels, r.key);
    case 'gt':
    case 'lt': {
      if (!has(labels, r.key) || r.values.length !== 1) return false;
      const lv = parseInt64(scalarString(labels![r.key]));
      const rv = parseInt64(r.values[0]!);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

export function requirementString(r: Requirement): string {
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${r.values.join(',')})`;
    case 'gt':
      return `${r.key}>${r.values[0] ?? ''}`;
    case 'lt':
      return `${r.key}<${r.values[0] ?? ''}`;
    default:
      return `${r.key}${r.operator}${r.values[0] ?? ''}`;
  }
}

function byKey(a: Requirement, b: Requirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** A matcher ANDing the requirements (sorted stably by key, as Kubernetes does). */
export function selectorFromRequirements(reqs: Requirement[]): LabelMatcher {
  const sorted = [...reqs].sort(byKey);
  const text = sorted.map(requirementString).join(',');
  return {
    requirements: sorted,
    empty: sorted.length === 0,
    matches: (labels) => sorted.every((r) => requirementMatches(r, labels)),
    toString: () => text,
  };
}

/** Matches every object. */
export function everything(): LabelMatcher {
  return selectorFromRequirements([]);
}

/** Matches no object. */
export function nothing(): LabelMatcher {
  return { requirements: [], empty: false, matches: () => false, toString: () => '' };
}

// ---- string syntax ------------------------------------------------------------

type Tok =
  | 'ident'
  | 'in'
  | 'notin'
  | '='
  | '=='
  | '!='
  | '!'
  | '('
  | ')'
  | ','
  | '>'
  | '<'
  | 'eos'
  | 'error';

interface Item {
  tok: Tok;
  lit: string;
}

const SYMBOLS: Record<string, Tok> = { ')': ')', ',': ',', '!': '!', '==': '==', '=': '=', '>': '>', '<': '<', '!=': '!=', '(': '(' };
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string): boolean => c === '=' || c === '!' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<';

function lex(input: string): Item[] {
  // Go reads bytes and treats a NUL as the end of the string.
  const nul = input.indexOf('\0');
  const s = nul >= 0 ? input.slice(0, nul) : input;
  const out: Item[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s[i]!)) i++;
    if (i >= s.length) {
      out.push({ tok: 'eos', lit: '' });
      return out;
    }
    const c = s[i]!;
    if (isSpecial(c)) {
      // Longest run of special symbols that still forms a token.
      let buf = '';
      let last: Item | undefined;
      let j = i;
      while (j < s.length && isSpecial(s[j]!)) {
        buf += s[j]!;
        const t = SYMBOLS[buf];
        if (t) {
          last = { tok: t, lit: buf };
          j++;
        } else if (last) {
          break;
        } else {
          j++;
        }
      }
      if (!last) {
        out.push({ tok: 'error', lit: `error expected: keyword found '${buf}'` });
        i = j;
      } else {
        out.push(last);
        i += last.lit.length;
      }
    } else {
      let j = i;
      while (j < s.length && !isSpace(s[j]!) && !isSpecial(s[j]!)) j++;
      const word = s.slice(i, j);
      out.push({ tok: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'ident', lit: word });
      i = j;
    }
  }
}

class ParseError extends Error {}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** In the "values" context the keywords in/notin read as identifiers. */
  private look(values: boolean): Item {
    const it = this.items[Math.min(this.pos, this.items.length - 1)]!;
    if (values && (it.tok === 'in' || it.tok === 'notin')) return { tok: 'ident', lit: it.lit };
    return it;
  }
  private take(values: boolean): Item {
    const it = this.look(values);
    if (this.pos < this.items.length - 1) this.pos++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.look(true);
      if (tok === 'ident' || tok === '!') {
        let r: Requirement;
        try {
          r = this.requirement();
        } catch (e) {
          throw new ParseError(`unable to parse requirement: ${(e as Error).message}`);
        }
        reqs.push(r);
        const n = this.take(true);
        if (n.tok === 'eos') return reqs;
        if (n.tok === ',') {
          const n2 = this.look(true);
          if (n2.tok !== 'ident' && n2.tok !== '!') throw new ParseError(`found '${n2.lit}', expected: identifier after ','`);
          continue;
        }
        throw new ParseError(`found '${n.lit}', expected: ',' or 'end of string'`);
      }
      if (tok === 'eos') return reqs;
      throw new ParseError(`found '${lit}', expected: !, identifier, or 'end of string'`);
    }
  }

  private requirement(): Requirement {
    let op: LabelOperator | undefined;
    let t = this.take(true);
    if (t.tok === '!') {
      op = '!';
      t = this.take(true);
    }
    if (t.tok !== 'ident') throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyErrs = checkQualifiedName(key);
    if (keyErrs.length) throw new Error(`<nil>: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join('; ')}`);
    const next = this.look(true).tok;
    // "!a" stands alone: "!a=b" fails afterwards with "found '=', expected: ',' or 'end of string'".
    if (op === '!') return newRequirement(key, '!', []);
    if (next === 'eos' || next === ',') return newRequirement(key, 'exists', []);
    const o = this.take(false);
    let bop: LabelOperator;
    switch (o.tok) {
      case 'in':
      case 'notin':
      case '=':
      case '==':
      case '!=':
        bop = o.tok;
        break;
      case '>':
        bop = 'gt';
        break;
      case '<':
        bop = 'lt';
        break;
      default:
        throw new Error(`found '${o.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const values = bop === 'in' || bop === 'notin' ? this.setValues() : this.exactValue();
    return newRequirement(key, bop, values);
  }

  private setValues(): string[] {
    const open = this.take(true);
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.look(true);
    if (tok === 'ident' || tok === ',') {
      const s = this.identList();
      if (this.take(true).tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
      return s;
    }
    if (tok === ')') {
      this.take(true);
      return [''];
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
  }

  private identList(): string[] {
    const s = new Set<string>();
    for (;;) {
      const t = this.take(true);
      if (t.tok === 'ident') {
        s.add(t.lit);
        const n = this.look(true);
        if (n.tok === ',') continue;
        if (n.tok === ')') return [...s];
        throw new Error(`found '${n.lit}', expected: ',' or ')'`);
      } else if (t.tok === ',') {
        if (s.size === 0) s.add('');
        const n = this.look(true);
        if (n.tok === ')') {
          s.add('');
          return [...s];
        }
        if (n.tok === ',') {
          this.take(true);
          s.add('');
        }
      } else {
        throw new Error(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
  }

  private exactValue(): string[] {
    const n = this.look(true);
    if (n.tok === 'eos' || n.tok === ',') return [''];
    const t = this.take(true);
    if (t.tok === 'ident') return [t.lit];
    throw new Error(`found '${t.lit}', expected: identifier`);
  }
}

/** labels.NewRequirement's checks; throws with the aggregated field errors. */
function newRequirement(key: string, op: LabelOperator, vals: string[]): Requirement {
  const errs: string[] = [];
  for (const m of checkQualifiedName(key)) errs.push(`key: Invalid value: ${JSON.stringify(key)}: ${m}`);
  const goList = `[]string{${vals.map((v) => JSON.stringify(v)).join(', ')}}`;
  switch (op) {
    case 'in':
    case 'notin':
      if (vals.length === 0) errs.push(`values: Invalid value: ${goList}: for 'in', 'notin' operators, values set can't be empty`);
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) errs.push(`values: Invalid value: ${goList}: exact-match compatibility requires one single value`);
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) errs.push(`values: Invalid value: ${goList}: values set must be empty for exists and does not exist`);
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) errs.push(`values: Invalid value: ${goList}: for 'Gt', 'Lt' operators, exactly one value is required`);
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(`values[${i}]: Invalid value: ${JSON.stringify(v)}: for 'Gt', 'Lt' operators, the value must be an integer`);
      });
      break;
  }
  vals.forEach((v, i) => {
    const m = checkLabelValue(v);
    if (m.length) errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${m.join('; ')}`);
  });
  if (errs.length === 1) throw new Error(errs[0]);
  if (errs.length > 1) throw new Error(`[${errs.join(', ')}]`);
  return { key, operator: op, values: [...new Set(vals)].sort() };
}

/**
 * Parse a label selector string (`a=b,c!=d,e in (f,g),!h`). "" matches everything.
 * Throws ApiError 400 BadRequest with Kubernetes' parser message.
 */
export function parseLabelSelector(s: string): LabelMatcher {
  const src = typeof s === 'string' ? s : '';
  try {
    return selectorFromRequirements(new Parser(lex(src)).parse());
  } catch (e) {
    if (e instanceof ParseError) throw new ApiError(400, 'BadRequest', e.message);
    throw e;
  }
}

// ---- structured selectors ------------------------------------------------------

const OP_MAP: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector: nil ⇒ nothing, {} ⇒ everything. Invalid content
 * (bad operator, bad key) ⇒ nothing, since validation rejects such objects anyway.
 */
export function selectorFromLabelSelector(sel: LabelSelector | undefined | null): LabelMatcher {
  if (sel === undefined || sel === null || typeof sel !== 'object') return nothing();
  const ml = sel.matchLabels && typeof sel.matchLabels === 'object' ? Object.entries(sel.matchLabels) : [];
  const me = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  if (ml.length + me.length === 0) return everything();
  const reqs: Requirement[] = [];
  try {
    for (const [k, v] of ml) reqs.push(newRequirement(k, '=', [scalarString(v)]));
    for (const expr of me) {
      const op = expr && typeof expr.operator === 'string' && Object.hasOwn(OP_MAP, expr.operator) ? OP_MAP[expr.operator] : undefined;
      if (!op) return nothing();
      const vals = Array.isArray(expr.values) ? expr.values.map(scalarString) : [];
      reqs.push(newRequirement(scalarString(expr.key), op, vals));
    }
  } catch {
    return nothing();
  }
  return selectorFromRequirements(reqs);
}

/** labels.SelectorFromSet for a possibly-nil map: nil ⇒ nothing, {} ⇒ everything. */
export function selectorFromMap(sel: Record<string, string> | undefined | null): LabelMatcher {
  if (sel === undefined || sel === null || typeof sel !== 'object' || Array.isArray(sel)) return nothing();
  const reqs: Requirement[] = Object.entries(sel).map(([k, v]) => ({ key: k, operator: '=' as const, values: [scalarString(v)] }));
  return selectorFromRequirements(reqs);
}

/**
 * The selector the endpoints/endpointslice controllers use for a Service:
 * nil or empty ⇒ nothing (Kubernetes stores `selector: {}` as nil, and a
 * Service without a selector gets no managed endpoints).
 */
export function serviceSelector(sel: Record<string, string> | undefined | null): LabelMatcher {
  if (!sel || typeof sel !== 'object' || Object.keys(sel).length === 0) return nothing();
  return selectorFromMap(sel);
}

// ---- validation ------------------------------------------------------------------

/** metav1validation.ValidateLabels: errors are reported at `path` itself, not per key (as Kubernetes). */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    return [{ type: 'FieldValueTypeInvalid', field: path, badValue: labels, detail: 'must be a map of string to string' }];
  }
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of checkQualifiedName(k)) errs.push({ type: 'FieldValueInvalid', field: path, badValue: k, detail: m });
    if (typeof v !== 'string') {
      errs.push({ type: 'FieldValueTypeInvalid', field: `${path}[${k}]`, badValue: v, detail: 'must be a string' });
      continue;
    }
    for (const m of checkLabelValue(v)) errs.push({ type: 'FieldValueInvalid', field: path, badValue: v, detail: m });
  }
  return errs;
}

/** metav1validation.ValidateLabelSelector (nil is valid; "required" is the caller's rule). */
export function validateLabelSelector(sel: unknown, path: string): FieldError[] {
  if (sel === undefined || sel === null) return [];
  if (typeof sel !== 'object' || Array.isArray(sel)) {
    return [{ type: 'FieldValueTypeInvalid', field: path, badValue: sel, detail: 'must be an object' }];
  }
  const s = sel as { matchLabels?: unknown; matchExpressions?: unknown };
  const errs = validateLabels(s.matchLabels, `${path}.matchLabels`);
  if (s.matchExpressions === undefined || s.matchExpressions === null) return errs;
  if (!Array.isArray(s.matchExpressions)) {
    errs.push({ type: 'FieldValueTypeInvalid', field: `${path}.matchExpressions`, badValue: s.matchExpressions, detail: 'must be a list' });
    return errs;
  }
  s.matchExpressions.forEach((expr: unknown, i: number) => {
    const p = `${path}.matchExpressions[${i}]`;
    if (!expr || typeof expr !== 'object' || Array.isArray(expr)) {
      errs.push({ type: 'FieldValueTypeInvalid', field: p, badValue: expr, detail: 'must be an object' });
      return;
    }
    const e = expr as { key?: unknown; operator?: unknown; values?: unknown };
    let values: unknown[] = [];
    if (e.values !== undefined && e.values !== null) {
      if (Array.isArray(e.values)) values = e.values;
      else errs.push({ type: 'FieldValueTypeInvalid', field: `${p}.values`, badValue: e.values, detail: 'must be a list of strings' });
    }
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push({ type: 'FieldValueRequired', field: `${p}.values`, detail: "must be specified when `operator` is 'In' or 'NotIn'" });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.push({ type: 'FieldValueForbidden', field: `${p}.values`, detail: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'" });
        break;
      default:
        errs.push({ type: 'FieldValueInvalid', field: `${p}.operator`, badValue: e.operator ?? '', detail: 'not a valid selector operator' });
    }
    const key = typeof e.key === 'string' ? e.key : '';
    if (e.key !== undefined && typeof e.key !== 'string') {
      errs.push({ type: 'FieldValueTypeInvalid', field: `${p}.key`, badValue: e.key, detail: 'must be a string' });
    } else {
      for (const m of checkQualifiedName(key)) errs.push({ type: 'FieldValueInvalid', field: `${p}.key`, badValue: key, detail: m });
    }
    values.forEach((v, j) => {
      if (typeof v !== 'string') {
        errs.push({ type: 'FieldValueTypeInvalid', field: `${p}.values[${j}]`, badValue: v, detail: 'must be a string' });
        return;
      }
      for (const m of checkLabelValue(v)) errs.push({ type: 'FieldValueInvalid', field: `${p}.values[${j}]`, badValue: v, detail: m });
    });
  });
  return errs;
}
