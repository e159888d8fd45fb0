/**
 * ReplicationController, ReplicaSet and Deployment validation, as
 * ValidateReplicationController (core) and ValidateReplicaSet /
 * ValidateDeployment (apps).
 *
 * Model: a non-empty selector that matches the pod template's labels
 * ("`selector` does not match template `labels`"), non-negative counts, a
 * valid pod template whose restartPolicy is Always, and for Deployments a
 * valid strategy. apps/v1 selectors are immutable on update.
 */
import { selectorFromLabelSelector, selectorFromMap, validateLabelSelector } from '../labels.js';
import { regexError } from '../names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { validatePodTemplateSpec } from './pod.js';
import {
  FIELD_IMMUTABLE,
  forbidden,
  goIntOrString,
  goLabelSelector,
  goStringMap,
  invalid,
  invalidLit,
  isObj,
  nonNegative,
  notSupported,
  Reader,
  required,
  type Obj,
} from './util.js';

const MISMATCH = '`selector` does not match template `labels`';

function templateLabels(tpl: Obj | undefined): Record<string, string> | undefined {
  const meta = tpl && isObj(tpl.metadata) ? tpl.metadata : undefined;
  if (!meta || !isObj(meta.labels)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

function rawTemplateLabels(tpl: Obj | undefined): unknown {
  return tpl && isObj(tpl.metadata) ? tpl.metadata.labels : undefined;
}

/** Template checks shared by RC and RS/Deployment once the selector is known. */
function validateTemplateFor(r: Reader, tpl: Obj, matches: ((l: Record<string, string>) => boolean) | undefined, kind: string): void {
  const path = 'spec.template';
  if (matches && !matches(templateLabels(tpl) ?? {})) {
    r.push(invalidLit(`${path}.metadata.labels`, goStringMap(rawTemplateLabels(tpl)), MISMATCH));
  }
  validatePodTemplateSpec(r, tpl, path);
  const spec = isObj(tpl.spec) ? tpl.spec : {};
  const rp = typeof spec.restartPolicy === 'string' ? spec.restartPolicy : '';
  if (rp !== 'Always') r.push(notSupported(`${path}.spec.restartPolicy`, rp, ['Always']));
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
    r.push(forbidden(`${path}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${kind} is not Supported`));
  }
}

export function validateReplicationController(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  r.push(...nonNegative(r.int(spec, 'minReadySeconds', 'spec.minReadySeconds') ?? 0, 'spec.minReadySeconds'));
  const selector = r.strMap(spec, 'selector', 'spec.selector');
  if (!selector || Object.keys(selector).length === 0) r.push(required('spec.selector'));
  r.push(...nonNegative(r.int(spec, 'replicas', 'spec.replicas') ?? 0, 'spec.replicas'));
  const tpl = r.obj(spec, 'template', 'spec.template');
  if (!tpl) {
    r.push(required('spec.template'));
    return;
  }
  const sel = selector && Object.keys(selector).length > 0 ? selectorFromMap(selector) : undefined;
  validateTemplateFor(r, tpl, sel ? (l) => sel.matches(l) : undefined, 'ReplicationController');
}

/** The selector part of ValidateReplicaSetSpec / ValidateDeploymentSpec; returns a matcher or undefined. */
function validateAppsSelector(r: Reader, spec: Obj): ((l: Record<string, string>) => boolean) | undefined | false {
  const raw = spec.selector;
  if (raw === undefined || raw === null) {
    r.push(required('spec.selector'));
    return false;
  }
  if (!isObj(raw)) {
    r.typeError('spec.selector', raw, 'object');
    return false;
  }
  const before = r.errs.length;
  r.push(...validateLabelSelector(raw, 'spec.selector'));
  const ml = isObj(raw.matchLabels) ? Object.keys(raw.matchLabels).length : 0;
  const me = Array.isArray(raw.matchExpressions) ? raw.matchExpressions.length : 0;
  if (ml + me === 0) r.push(invalidLit('spec.selector', goLabelSelector(raw), 'empty selector is invalid for deployment'));
  if (r.errs.length > before) return false;
  const m = selectorFromLabelSelector(raw as never);
  return m.empty ? undefined : (l) => m.matches(l);
}

function validateAppsTemplate(r: Reader, spec: Obj, matches: ((l: Record<string, string>) => boolean) | undefined | false, kind: string): void {
  const tpl = r.obj(spec, 'template', 'spec.template') ?? {};
  validateTemplateFor(r, tpl, matches === false ? undefined : matches, kind);
}

function selectorImmutable(r: Reader, obj: Obj, old: Obj): void {
  const a = isObj(obj.spec) ? obj.spec.selector : undefined;
  const b = isObj(old.spec) ? old.spec.selector : undefined;
  if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) r.push(invalidLit('spec.selector', goLabelSelector(a), FIELD_IMMUTABLE));
}

export function validateReplicaSet(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  r.push(...nonNegative(r.int(spec, 'replicas', 'spec.replicas') ?? 0, 'spec.replicas'));
  r.push(...nonNegative(r.int(spec, 'minReadySeconds', 'spec.minReadySeconds') ?? 0, 'spec.minReadySeconds'));
  validateAppsTemplate(r, spec, validateAppsSelector(r, spec), 'ReplicaSet');
  if (old) selectorImmutable(r, obj, old);
}

const PERCENT_RE = /^[0-9]+%$/;

function intOrPercentValue(v: number | string | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && PERCENT_RE.test(v)) return Number(v.slice(0, -1));
  return -1;
}

function validatePositiveIntOrPercent(r: Reader, v: number | string | undefined, path: string): void {
  if (typeof v === 'string') {
    if (!PERCENT_RE.test(v)) r.push(invalidLit(path, goIntOrString(v), regexError("a valid percent string must be a numeric string followed by an ending '%'", '[0-9]+%', '1%', '93%')));
  } else r.push(...nonNegative(v ?? 0, path));
}

function validateStrategy(r: Reader, spec: Obj): void {
  const path = 'spec.strategy';
  const s = r.obj(spec, 'strategy', path) ?? {};
  const type = r.str(s, 'type', `${path}.type`) ?? '';
  const ru = r.obj(s, 'rollingUpdate', `${path}.rollingUpdate`);
  if (type === 'Recreate') {
    if (ru) r.push(forbidden(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'"));
  } else if (type === 'RollingUpdate') {
    if (!ru) {
      r.push(required(`${path}.rollingUpdate`, 'this should be defaulted and never be nil'));
      return;
    }
    const p = `${path}.rollingUpdate`;
    const mu = r.intOrStr(ru, 'maxUnavailable', `${p}.maxUnavailable`);
    const ms = r.intOrStr(ru, 'maxSurge', `${p}.maxSurge`);
    validatePositiveIntOrPercent(r, mu, `${p}.maxUnavailable`);
    validatePositiveIntOrPercent(r, ms, `${p}.maxSurge`);
    if (intOrPercentValue(mu ?? 0) === 0 && intOrPercentValue(ms ?? 0) === 0) {
      r.push(invalidLit(`${p}.maxUnavailable`, goIntOrString(mu ?? 0), 'may not be 0 when `maxSurge` is 0'));
    }
    if (typeof mu === 'string' && PERCENT_RE.test(mu) && Number(mu.slice(0, -1)) > 100) {
      r.push(invalidLit(`${p}.maxUnavailable`, goIntOrString(mu), 'must not be greater than 100%'));
    }
  } else {
    r.push(
      notSupported(path, undefined, ['Recreate', 'RollingUpdate']),
    );
    const last = r.errs[r.errs.length - 1]!;
    last.detail = `apps.DeploymentStrategy{Type:${JSON.stringify(type)}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: ${last.detail}`;
  }
}

export function validateDeployment(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  r.push(...nonNegative(r.int(spec, 'replicas', 'spec.replicas') ?? 0, 'spec.replicas'));
  validateAppsTemplate(r, spec, validateAppsSelector(r, spec), 'ReplicaSet');
  validateStrategy(r, spec);
  const mrs = r.int(spec, 'minReadySeconds', 'spec.minReadySeconds') ?? 0;
  r.push(...nonNegative(mrs, 'spec.minReadySeconds'));
  const rhl = r.int(spec, 'revisionHistoryLimit', 'spec.revisionHistoryLimit');
  if (rhl !== undefined) r.push(...nonNegative(rhl, 'spec.revisionHistoryLimit'));
  const pds = r.int(spec, 'progressDeadlineSeconds', 'spec.progressDeadlineSeconds');
  if (pds !== undefined) {
    r.push(...nonNegative(pds, 'spec.progressDeadlineSeconds'));
    if (pds <= mrs) r.push(invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'));
  }
  r.bool(spec, 'paused', 'spec.paused');
  if (old) selectorImmutable(r, obj, old);
}
