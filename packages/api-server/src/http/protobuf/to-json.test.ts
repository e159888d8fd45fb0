import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@kubemu/api';
import { decodeBody } from '../body.js';
import { decodeProtobuf, messageForKind, messageToJSON } from './index.js';
import { envelopeToJSON, goDuration, MAX_DEPTH } from './to-json.js';

// ---- a minimal encoder for hand-built messages ----------------------------------------

type Bytes = Uint8Array;
const cat = (...parts: Bytes[]): Bytes => Uint8Array.from(Buffer.concat(parts));
function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return Uint8Array.from(out);
}
const tag = (no: number, wire: number) => varint(no * 8 + wire);
/** A varint field (int32, int64, bool). */
const int = (no: number, n: number | bigint | boolean) => cat(tag(no, 0), varint(typeof n === 'boolean' ? Number(n) : n));
/** A length-delimited field: string, bytes or an embedded message. */
const len = (no: number, payload: Bytes | string) => {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return cat(tag(no, 2), varint(p.length), p);
};
const msg = (no: number, ...fields: Bytes[]) => len(no, cat(...fields));
const entry = (no: number, key: string, value: Bytes | string) => msg(no, len(1, key), len(2, value));
const MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);
const envelope = (apiVersion: string, kind: string, ...raw: Bytes[]) => cat(MAGIC, msg(1, len(1, apiVersion), len(2, kind)), msg(2, ...raw));

const at = (y: number, mo: number, d: number, h: number) => Date.UTC(y, mo - 1, d, h) / 1000;
/** A metav1.Time / Timestamp payload. */
const time = (no: number, seconds: number, nanos = 0) => msg(no, int(1, seconds), int(2, nanos));

function badRequest(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
    expect(e.code).toBe(400);
    return e;
  }
  throw new Error('expected a 400');
}

// ---- fixtures: real bodies captured from kubectl -----------------------------------------

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => f.slice(0, -4))
  .sort();
const bin = (name: string) => readFileSync(join(FIXTURES, `${name}.bin`));
const json = (name: string) => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));

describe('bodies captured from kubectl', () => {
  it('has the fixtures the commands produce', () => {
    expect(fixtures).toEqual(['configmap', 'delete-options', 'deployment', 'deployment-1.33', 'deployment-zero', 'ingress', 'namespace', 'secret', 'service-nodeport']);
  });

  // Each .json is what the same kubectl prints for `--dry-run=client -o json`
  // (Go's encoding/json of the object it sends); delete-options.json is the
  // body kubectl 1.31 sends as JSON for the same `kubectl drain`.
  it.each(fixtures)('%s.bin decodes to the JSON kubectl would send', (name) => {
    expect(decodeProtobuf(bin(name))).toStrictEqual(json(name));
  });

  it('decodes through decodeBody for the protobuf media type', () => {
    expect(decodeBody(bin('deployment'), 'application/vnd.kubernetes.protobuf')).toStrictEqual(json('deployment'));
    expect(decodeBody(bin('secret'), 'Application/Vnd.Kubernetes.Protobuf; charset=binary')).toStrictEqual(json('secret'));
  });

  it('keeps Go value/pointer semantics: explicit replicas 0, no empty strings or zero ports', () => {
    const zero = decodeProtobuf(bin('deployment-zero')) as any;
    expect(zero.spec.replicas).toBe(0);
    expect(zero.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 8080 }]);
    const svc = decodeProtobuf(bin('service-nodeport')) as any;
    expect(svc.metadata).toStrictEqual({ name: 'fx-np', creationTimestamp: null, labels: { app: 'fx-np' } });
    expect(svc.spec.ports).toStrictEqual([{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30081 }]);
  });

  it('inlines IngressRule.ingressRuleValue and decodes IntOrString-like backends', () => {
    const ing = decodeProtobuf(bin('ingress')) as any;
    expect(ing.spec.rules[0]).toStrictEqual({
      host: 'foo.com',
      http: {
        paths: [
          { path: '/bar', pathType: 'Exact', backend: { service: { name: 'svc1', port: { number: 8080 } } } },
          { path: '/', pathType: 'Prefix', backend: { service: { name: 'svc2', port: { name: 'http' } } } },
        ],
      },
    });
    expect(ing.spec.defaultBackend).toStrictEqual({ service: { name: 'defsvc', port: { name: 'http' } } });
  });

  it('base64-encodes Secret data', () => {
    const s = decodeProtobuf(bin('secret')) as any;
    expect(Buffer.from(s.data.pw, 'base64').toString()).toBe('p@ss');
    expect(Object.keys(s.data)).toEqual(['pw', 'user']); // sorted, as Go prints maps
  });

  it('only ever fails with a 400 on every truncation of every fixture', () => {
    for (const name of fixtures) {
      const b = bin(name);
      for (let n = 0; n < b.length; n++) {
        try {
          decodeProtobuf(b.subarray(0, n));
        } catch (e) {
          expect(e).toBeInstanceOf(ApiError);
          expect((e as ApiError).code).toBe(400);
        }
      }
    }
  });

  it('only ever fails with a 400 on mutated fixtures (seeded fuzz), and terminates', () => {
    let seed = 0x2545f491;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    let ok = 0;
    let rejected = 0;
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(bin(fixtures[i % fixtures.length]));
      const flips = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < flips; j++) b[4 + Math.floor(rand() * (b.length - 4))] = Math.floor(rand() * 256);
      try {
        decodeProtobuf(b);
        ok++;
      } catch (e) {
        if (!(e instanceof ApiError) || e.code !== 400) throw e;
        rejected++;
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

// ---- hand-built messages ---------------------------------------------------------------

describe('well-known types', () => {
  it('Time: seconds to RFC 3339 (nanoseconds dropped), empty message to null', () => {
    const ev = decodeProtobuf(
      envelope('v1', 'Event', msg(1, len(1, 'e1'), len(2, ''), time(8, at(2026, 11, 25, 15))), time(6, at(2026, 11, 25, 15), 999_999_999), msg(7), time(10, at(2026, 11, 25, 15) + 1, 123_456_789)),
    ) as any;
    expect(ev.metadata).toStrictEqual({ name: 'e1', creationTimestamp: '2026-11-25T15:00:00Z' });
    expect(ev.firstTimestamp).toBe('2026-11-25T15:00:00Z');
    expect(ev.lastTimestamp).toBeNull(); // zero Time
    // MicroTime keeps microseconds.
    expect(ev.eventTime).toBe('2026-11-25T15:00:01.123456Z');
    // Value structs are always there; a zero ObjectReference/EventSource is {}.
    expect(ev.involvedObject).toStrictEqual({});
    expect(ev.source).toStrictEqual({});
  });

  it('Time: pointer fields appear only when present; pre-epoch and out-of-range seconds', () => {
    const ns = (meta: Bytes) => decodeProtobuf(envelope('v1', 'Namespace', msg(1, meta))) as any;
    expect(ns(cat(len(1, 'a'))).metadata).toStrictEqual({ name: 'a', creationTimestamp: null });
    expect(ns(cat(len(1, 'a'), time(9, -1))).metadata.deletionTimestamp).toBe('1969-12-31T23:59:59Z');
    expect(ns(cat(len(1, 'a'), time(9, -62135596800))).metadata.deletionTimestamp).toBe('0001-01-01T00:00:00Z');
    badRequest(() => ns(cat(len(1, 'a'), time(9, 2 ** 62))));
  });

  it('IntOrString: type 0 is the int, 1 the string, anything else an error', () => {
    const port = (...f: Bytes[]) => decodeProtobuf(envelope('v1', 'Service', msg(2, msg(1, int(3, 80), msg(4, ...f))))) as any;
    expect(port(int(1, 0), int(2, 8080)).spec.ports[0].targetPort).toBe(8080);
    expect(port(int(1, 1), len(3, 'http')).spec.ports[0].targetPort).toBe('http');
    expect(port().spec.ports[0].targetPort).toBe(0); // a zero value struct, as Go prints it
    expect(badRequest(() => port(int(1, 2))).message).toMatch(/IntOrString/);
  });

  it('Quantity: strings in resource maps and pointers; zero is "0"; garbage is an error', () => {
    const pod = (...container: Bytes[]) =>
      decodeProtobuf(envelope('v1', 'Pod', msg(2, msg(2, len(1, 'c'), len(2, 'nginx'), ...container), msg(1, len(1, 'v'), msg(2, msg(2, len(1, 'Memory'), msg(2, len(1, '1Gi')))))))) as any;
    const p = pod(msg(8, entry(1, 'memory', len(1, '128Mi')), entry(1, 'cpu', len(1, '500m')), entry(2, 'cpu', new Uint8Array())));
    expect(p.spec.containers[0].resources).toStrictEqual({ limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '0' } });
    // Volume inlines its VolumeSource: emptyDir sits on the volume itself.
    expect(p.spec.volumes).toStrictEqual([{ name: 'v', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }]);
    badRequest(() => pod(msg(8, entry(1, 'cpu', len(1, 'lots')))));
    badRequest(() => pod(msg(8, entry(1, 'cpu', len(1, '')))));
  });

  it('Duration: time.Duration.String()', () => {
    const d = (ns: number | bigint) => messageToJSON('meta.v1.Duration', [int(1, ns)]);
    expect(d(3_600_000_000_000)).toBe('1h0m0s');
    expect(d(90_500_000_000)).toBe('1m30.5s');
    expect(d(1_500_000_000)).toBe('1.5s');
    expect(d(2_500_000)).toBe('2.5ms');
    expect(d(1_500)).toBe('1.5µs');
    expect(d(999)).toBe('999ns');
    expect(d(-123_000_000_000)).toBe('-2m3s');
    expect(messageToJSON('meta.v1.Duration', [])).toBe('0s');
    expect(goDuration(-(2n ** 63n))).toBe('-2562047h47m16.854775808s');
  });

  it('RawExtension: embedded JSON, or an embedded protobuf object', () => {
    expect(messageToJSON('runtime.RawExtension', [len(1, '{"a":[1,2]}')])).toStrictEqual({ a: [1, 2] });
    expect(messageToJSON('runtime.RawExtension', [])).toBeNull();
    expect(messageToJSON('runtime.RawExtension', [len(1, envelope('v1', 'ConfigMap', msg(1, len(1, 'x'))))])).toStrictEqual({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { name: 'x', creationTimestamp: null },
    });
    badRequest(() => messageToJSON('runtime.RawExtension', [len(1, '{nope')]));
  });

  it('FieldsV1 in managedFields is the embedded JSON', () => {
    const cm = decodeProtobuf(envelope('v1', 'ConfigMap', msg(1, len(1, 'c'), msg(17, len(1, 'kubectl'), len(2, 'Update'), time(4, at(2026, 11, 25, 15)), len(6, 'FieldsV1'), msg(7, len(1, '{"f:data":{}}')))))) as any;
    expect(cm.metadata.managedFields).toStrictEqual([{ manager: 'kubectl', operation: 'Update', time: '2026-11-25T15:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }]);
  });
});

describe('Go value and pointer semantics', () => {
  const deploy = (...spec: Bytes[]) => (decodeProtobuf(envelope('apps/v1', 'Deployment', msg(1, len(1, 'd')), msg(2, ...spec))) as any).spec;

  it('pointers keep explicit zeroes; omitempty values drop them', () => {
    expect(deploy(int(1, 0), int(5, 0), int(7, false))).toStrictEqual({ replicas: 0, selector: null, template: { metadata: { creationTimestamp: null }, spec: { containers: null } }, strategy: {} });
    expect(deploy(int(5, 10), int(7, true))).toMatchObject({ minReadySeconds: 10, paused: true });
    expect(deploy()).not.toHaveProperty('replicas');
  });

  it('negative integers, and the last of repeated scalar occurrences wins', () => {
    expect(deploy(int(1, -3), int(1, 4))).toMatchObject({ replicas: 4 });
    expect(deploy(int(1, -3))).toMatchObject({ replicas: -3 });
    const pod = decodeProtobuf(envelope('v1', 'Pod', msg(2, msg(14, int(2, -1), int(4, 1000), int(4, 2000), len(4, cat(varint(5), varint(6))))))) as any;
    // runAsUser is a *int64; supplementalGroups arrives unpacked or packed.
    expect(pod.spec.securityContext).toStrictEqual({ runAsUser: -1, supplementalGroups: [1000, 2000, 5, 6] });
  });

  it('merges repeated occurrences of a message field', () => {
    const d = decodeProtobuf(envelope('apps/v1', 'Deployment', msg(1, len(1, 'd')), msg(1, entry(11, 'app', 'x')))) as any;
    expect(d.metadata).toStrictEqual({ name: 'd', creationTimestamp: null, labels: { app: 'x' } });
  });

  it('skips unknown fields of every wire type', () => {
    const unknown = cat(int(999, 7), len(998, 'zz'), tag(997, 1), new Uint8Array(8), tag(996, 5), new Uint8Array(4), tag(995, 3), int(1, 1), tag(995, 4));
    const cm = decodeProtobuf(cat(envelope('v1', 'ConfigMap', msg(1, len(1, 'c'), unknown), entry(2, 'k', 'v'), unknown), len(99, 'trailing'))) as any;
    expect(cm).toStrictEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'c', creationTimestamp: null }, data: { k: 'v' } });
  });

  it('map keys: later duplicates win, "__proto__" stays an own key', () => {
    const cm = decodeProtobuf(envelope('v1', 'ConfigMap', msg(1, len(1, 'c')), entry(2, 'b', '1'), entry(2, '__proto__', 'x'), entry(2, 'b', '2'), msg(2, len(1, 'novalue')))) as any;
    expect(Object.getPrototypeOf(cm.data)).toBe(Object.prototype);
    expect(Object.keys(cm.data)).toEqual(['__proto__', 'b', 'novalue']);
    expect(cm.data.b).toBe('2');
    expect(cm.data.novalue).toBe('');
    expect(JSON.parse(JSON.stringify(cm.data))).toStrictEqual(JSON.parse('{"__proto__":"x","b":"2","novalue":""}'));
    const bd = decodeProtobuf(envelope('v1', 'ConfigMap', msg(1, len(1, 'c')), entry(3, 'bin', Uint8Array.from([0, 255, 1])))) as any;
    expect(bd.binaryData).toStrictEqual({ bin: 'AP8B' });
  });

  it('replaces invalid UTF-8 like Go does', () => {
    const cm = decodeProtobuf(envelope('v1', 'ConfigMap', msg(1, len(1, Uint8Array.from([0x61, 0xff, 0x62]))))) as any;
    expect(cm.metadata.name).toBe('a\ufffdb');
  });

  it('maps kinds to messages, DeleteOptions and Status in any version', () => {
    expect(messageForKind('apps/v1', 'Deployment')).toBe('apps.v1.Deployment');
    expect(messageForKind('autoscaling/v1', 'Scale')).toBe('autoscaling.v1.Scale');
    expect(messageForKind('apps/v1', 'DeleteOptions')).toBe('meta.v1.DeleteOptions');
    expect(messageForKind('v1', 'Job')).toBeUndefined();
    expect(messageForKind('v1', 'toString')).toBeUndefined();
    const scale = decodeProtobuf(envelope('autoscaling/v1', 'Scale', msg(1, len(1, 'web'), len(6, '12')), msg(2, int(1, 5)))) as any;
    expect(scale).toStrictEqual({ kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web', resourceVersion: '12', creationTimestamp: null }, spec: { replicas: 5 }, status: { replicas: 0 } });
    const del = decodeProtobuf(envelope('meta.k8s.io/v1', 'DeleteOptions', int(1, 30), msg(2, len(1, 'uid-1')), len(4, 'Foreground'), len(5, 'All'))) as any;
    expect(del).toStrictEqual({ kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', gracePeriodSeconds: 30, preconditions: { uid: 'uid-1' }, propagationPolicy: 'Foreground', dryRun: ['All'] });
  });
});

describe('malformed bodies are 400s', () => {
  it('rejects a missing prefix, an empty body, and a missing kind', () => {
    expect(badRequest(() => decodeProtobuf(new Uint8Array())).message).toMatch(/empty data/);
    expect(badRequest(() => decodeProtobuf(Buffer.from('{"kind":"Pod"}'))).message).toMatch(/expected prefix/);
    expect(badRequest(() => decodeProtobuf(MAGIC)).message).toMatch(/empty body/);
    expect(badRequest(() => decodeProtobuf(cat(MAGIC, msg(1, len(1, 'v1')), msg(2)))).message).toMatch(/Kind/);
    expect(badRequest(() => decodeProtobuf(cat(MAGIC, msg(1, len(2, 'Pod')), msg(2)))).message).toMatch(/apiVersion/);
    expect(badRequest(() => decodeBody(Buffer.alloc(0), 'application/vnd.kubernetes.protobuf')).message).toMatch(/empty data/);
  });

  it('rejects kinds kubemu does not serve', () => {
    expect(badRequest(() => decodeProtobuf(envelope('batch/v1', 'Job'))).message).toBe('error decoding protobuf body: no kind "Job" is registered for version "batch/v1"');
    badRequest(() => decodeProtobuf(envelope('apps/v1', 'Pod')));
  });

  it('rejects a known field with the wrong wire type', () => {
    expect(badRequest(() => decodeProtobuf(envelope('v1', 'ConfigMap', int(1, 5)))).message).toMatch(/wrong wireType = 0 for field metadata/);
    badRequest(() => decodeProtobuf(envelope('v1', 'ConfigMap', msg(1, int(1, 5)))));
    badRequest(() => decodeProtobuf(envelope('apps/v1', 'Deployment', msg(2, len(1, 'x')))));
    badRequest(() => decodeProtobuf(envelope('v1', 'ConfigMap', msg(2, int(1, 1)))));
    badRequest(() => decodeProtobuf(cat(MAGIC, int(1, 1))));
  });

  it('bounds nesting', () => {
    expect(badRequest(() => messageToJSON('core.v1.Pod', [], MAX_DEPTH + 1)).message).toMatch(/nesting/);
    // Objects embedded in RawExtensions count towards the same limit.
    const inner = len(1, envelope('v1', 'Status', msg(1)));
    expect(messageToJSON('runtime.RawExtension', [inner], MAX_DEPTH - 3)).toStrictEqual({ kind: 'Status', apiVersion: 'v1', metadata: {} });
    expect(badRequest(() => messageToJSON('runtime.RawExtension', [inner], MAX_DEPTH)).message).toMatch(/nesting/);
    expect(badRequest(() => envelopeToJSON(envelope('v1', 'Status'), MAX_DEPTH + 1)).message).toMatch(/nesting/);
  });

  it('decodes a 3 MB body quickly', () => {
    const entries: Bytes[] = [msg(1, len(1, 'big'))];
    for (let i = 0; i < 100_000; i++) entries.push(entry(2, `key-${i}`, 'v'.repeat(10)));
    const big = cat(MAGIC, msg(1, len(1, 'v1'), len(2, 'ConfigMap')), len(2, Buffer.concat(entries)));
    expect(big.length).toBeGreaterThan(2_000_000);
    const t = Date.now();
    const cm = decodeProtobuf(big) as any;
    expect(Object.keys(cm.data)).toHaveLength(100_000);
    expect(Date.now() - t).toBeLessThan(5_000);
  });
});
