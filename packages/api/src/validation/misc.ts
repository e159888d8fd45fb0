/**
 * Secret, ConfigMap, Namespace and Event validation, as ValidateSecret,
 * ValidateConfigMap, ValidateNamespace and the legacy core/v1 Event checks.
 *
 * Model: Secret `data` values are base64 strings (Kubernetes rejects bad
 * base64 while decoding; here it is a field error with the contents redacted),
 * `stringData` is merged into `data` before the checks, keys are config keys,
 * the total is at most 1 MiB and typed secrets need their keys
 * (kubernetes.io/tls ⇒ tls.crt and tls.key). ConfigMap keys likewise, and a
 * key may not be in both `data` and `binaryData`. Namespace finalizers are
 * standard or fully qualified. core/v1 Events only have their namespace
 * checked against `involvedObject.namespace`.
 */
import { checkConfigMapKey, checkDNS1123Subdomain, checkQualifiedName } from '../names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { FIELD_IMMUTABLE, forbidden, invalid, isObj, Reader, required, tooLong, type Obj } from './util.js';

const MAX_SECRET_SIZE = 1024 * 1024;
const REDACTED = '<secret contents redacted>';

/** Go's base64.StdEncoding as encoding/json uses it for []byte: the decoded length, or the offset of the first bad byte. */
export function decodeBase64(s: string): { ok: true; bytes: Buffer } | { ok: false; at: number } {
  const clean: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] !== '\r' && s[i] !== '\n') clean.push(i);
  const chars = clean.map((i) => s[i]!);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (/[A-Za-z0-9+/]/.test(c)) continue;
    if (c === '=') {
      const rest = chars.slice(i);
      const pad = rest.length <= 2 && rest.every((x) => x === '=') && (i % 4) + rest.length === 4 && i % 4 >= 2;
      if (pad) break;
    }
    return { ok: false, at: i };
  }
  if (chars.length % 4 !== 0) return { ok: false, at: chars.length - (chars.length % 4) };
  return { ok: true, bytes: Buffer.from(chars.join(''), 'base64') };
}

function readSecretData(r: Reader, obj: Obj): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  const raw = r.obj(obj, 'data', 'data');
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (v === null) {
      data.set(k, Buffer.alloc(0));
      continue;
    }
    if (typeof v !== 'string') {
      r.typeError(`data[${k}]`, v, 'base64 string');
      continue;
    }
    const d = decodeBase64(v);
    if (!d.ok) {
      r.push({ type: 'FieldValueTypeInvalid', field: `data[${k}]`, badValue: REDACTED, detail: `illegal base64 data at input byte ${d.at}` });
      continue;
    }
    data.set(k, d.bytes);
  }
  const sd = r.strMap(obj, 'stringData', 'stringData');
  for (const [k, v] of Object.entries(sd ?? {})) data.set(k, Buffer.from(v, 'utf8'));
  return data;
}

export function validateSecret(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  const data = readSecretData(r, obj);
  let total = 0;
  for (const [k, v] of data) {
    for (const m of checkConfigMapKey(k)) r.push(invalid(`data[${k}]`, k, m));
    total += v.length;
  }
  if (total > MAX_SECRET_SIZE) r.push(tooLong('data', MAX_SECRET_SIZE));
  const type = r.str(obj, 'type', 'type') ?? '';
  const immutable = r.bool(obj, 'immutable', 'immutable');
  const ann = isObj(obj.metadata) && isObj(obj.metadata.annotations) ? obj.metadata.annotations : {};
  const need = (k: string): void => {
    if (!data.has(k)) r.push(required(`data[${k}]`));
  };
  const json = (k: string): void => {
    if (!data.has(k)) return need(k);
    try {
      const v = JSON.parse(data.get(k)!.toString('utf8'));
      if (!isObj(v)) throw new Error('json: cannot unmarshal into Go value of type map[string]interface {}');
    } catch (e) {
      r.push(invalid(`data[${k}]`, REDACTED, (e as Error).message));
    }
  };
  switch (type) {
    case 'kubernetes.io/service-account-token':
      if (typeof ann['kubernetes.io/service-account.name'] !== 'string' || ann['kubernetes.io/service-account.name'] === '') {
        r.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/dockercfg':
      json('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      json('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      if (!data.has('username') && !data.has('password')) {
        need('username');
        need('password');
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if ((data.get('ssh-privatekey')?.length ?? 0) === 0) r.push(required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      need('tls.crt');
      need('tls.key');
      break;
  }
  if (old) {
    const oldType = typeof old.type === 'string' ? old.type : '';
    if (type !== oldType) r.push(invalid('type', type, FIELD_IMMUTABLE));
    if (old.immutable === true) {
      if (immutable !== true) r.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (JSON.stringify(old.data ?? null) !== JSON.stringify(obj.data ?? null)) r.push(forbidden('data', 'field is immutable when `immutable` is set'));
    }
  }
}

export function validateConfigMap(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  const data = r.strMap(obj, 'data', 'data') ?? {};
  const bin = r.obj(obj, 'binaryData', 'binaryData') ?? {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const m of checkConfigMapKey(k)) r.push(invalid(`data[${k}]`, k, m));
    if (k in bin) r.push(invalid(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(v);
  }
  for (const [k, v] of Object.entries(bin)) {
    for (const m of checkConfigMapKey(k)) r.push(invalid(`binaryData[${k}]`, k, m));
    if (typeof v !== 'string') {
      if (v !== null) r.typeError(`binaryData[${k}]`, v, 'base64 string');
      continue;
    }
    const d = decodeBase64(v);
    if (!d.ok) r.push({ type: 'FieldValueTypeInvalid', field: `binaryData[${k}]`, badValue: 'string', detail: `illegal base64 data at input byte ${d.at}` });
    else total += d.bytes.length;
  }
  if (total > MAX_SECRET_SIZE) r.push(tooLong('', MAX_SECRET_SIZE));
  const immutable = r.bool(obj, 'immutable', 'immutable');
  if (old && old.immutable === true) {
    if (immutable !== true) r.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
    if (JSON.stringify(old.data ?? null) !== JSON.stringify(obj.data ?? null)) r.push(forbidden('data', 'field is immutable when `immutable` is set'));
    if (JSON.stringify(old.binaryData ?? null) !== JSON.stringify(obj.binaryData ?? null)) r.push(forbidden('binaryData', 'field is immutable when `immutable` is set'));
  }
}

const STANDARD_FINALIZERS = ['kubernetes', 'orphan', 'foregroundDeletion'];

export function validateNamespace(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, false, 'label');
  const spec = r.obj(obj, 'spec', 'spec') ?? {};
  for (const f of r.strList(spec, 'finalizers', 'spec.finalizers') ?? []) {
    for (const m of checkQualifiedName(f)) r.push(invalid('spec.finalizers', f, m));
    if (!f.includes('/') && !STANDARD_FINALIZERS.includes(f)) r.push(invalid('spec.finalizers', f, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  const status = r.obj(obj, 'status', 'status');
  r.str(status, 'phase', 'status.phase');
}

export function validateEvent(r: Reader, obj: Obj, old?: Obj): void {
  const meta = r.obj(obj, 'metadata', 'metadata') ?? {};
  const name = r.str(meta, 'name', 'metadata.name') ?? '';
  const generateName = r.str(meta, 'generateName', 'metadata.generateName') ?? '';
  if (!old && name === '' && generateName === '') r.push(required('metadata.name', 'name or generateName is required'));
  if (old) validateObjectMetaUpdate(r, obj, old);
  const namespace = r.str(meta, 'namespace', 'metadata.namespace') ?? '';
  const io = r.obj(obj, 'involvedObject', 'involvedObject') ?? {};
  const ioNs = r.str(io, 'namespace', 'involvedObject.namespace') ?? '';
  for (const k of ['kind', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) r.str(io, k, `involvedObject.${k}`);
  for (const k of ['reason', 'message', 'type', 'reportingComponent', 'reportingInstance', 'action', 'firstTimestamp', 'lastTimestamp']) r.str(obj, k, k);
  r.int(obj, 'count', 'count');
  const eventTime = r.str(obj, 'eventTime', 'eventTime') ?? '';
  if (eventTime === '') {
    if (ioNs === '') {
      if (namespace !== '' && namespace !== 'default') r.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
    } else if (namespace !== ioNs) r.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
  } else {
    if (ioNs === '' && namespace !== 'default' && namespace !== 'kube-system') r.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
    const rc = typeof obj.reportingComponent === 'string' ? obj.reportingComponent : '';
    if (rc === '') r.push(required('reportingComponent'));
    for (const m of checkQualifiedName(rc)) r.push(invalid('reportingComponent', rc, m));
    const ri = typeof obj.reportingInstance === 'string' ? obj.reportingInstance : '';
    if (ri === '') r.push(required('reportingInstance'));
    if (ri.length > 128) r.push(invalid('reportingInstance', '', 'can have at most 128 characters'));
    const action = typeof obj.action === 'string' ? obj.action : '';
    if (action === '') r.push(required('action'));
    if (action.length > 128) r.push(invalid('action', '', 'can have at most 128 characters'));
    const reason = typeof obj.reason === 'string' ? obj.reason : '';
    if (reason === '') r.push(required('reason'));
    if (reason.length > 128) r.push(invalid('reason', '', 'can have at most 128 characters'));
    const message = typeof obj.message === 'string' ? obj.message : '';
    if (message.length > 1024) r.push(invalid('message', '', 'can have at most 1024 characters'));
  }
  for (const m of checkDNS1123Subdomain(namespace)) r.push(invalid('namespace', namespace, m));
}

/** ValidateServiceAccount(Update): the name is a DNS subdomain; nothing else is checked. */
export function validateServiceAccount(r: Reader, obj: Obj, old?: Obj): void {
  if (old) validateObjectMetaUpdate(r, obj, old);
  else validateObjectMeta(r, obj, true, 'subdomain');
  for (const [s, p] of r.objList(obj, 'secrets', 'secrets')) r.str(s, 'name', `${p}.name`);
  for (const [s, p] of r.objList(obj, 'imagePullSecrets', 'imagePullSecrets')) r.str(s, 'name', `${p}.name`);
  r.bool(obj, 'automountServiceAccountToken', 'automountServiceAccountToken');
}
