#!/usr/bin/env node
/**
 * Generates packages/api-server/src/http/protobuf/schema.generated.ts, the
 * table the api-server uses to turn Kubernetes protobuf request bodies
 * (application/vnd.kubernetes.protobuf, sent by kubectl >= 1.32's typed
 * clients) into the JSON objects Kubernetes' JSON encoding would produce.
 *
 * Usage:
 *   node scripts/gen-proto-schema.mjs <kubernetes/api> <kubernetes/apimachinery> [out.ts]
 *
 * Each source is a checkout of the repository or a bare git directory (read at
 * HEAD; append @<rev> to pick another revision), e.g.
 *   node scripts/gen-proto-schema.mjs /work/.mirror/kubernetes+api/repo /work/.mirror/kubernetes+apimachinery/repo
 *
 * From each package it reads generated.proto (message names, field numbers,
 * names and types) and the Go sources next to it (types.go, ...), whose struct
 * tags say what the proto file does not: whether the Go field is a pointer
 * (present-or-absent) or a value (always there, zero when absent), whether
 * its JSON tag has omitempty, and whether it is an embedded struct inlined
 * into its parent's JSON (e.g. IngressRule.ingressRuleValue → "http").
 *
 * Only messages reachable from the kinds below are emitted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_OUT = join(ROOT, 'packages/api-server/src/http/protobuf/schema.generated.ts');

/** [source index, directory in that repository]. */
const PACKAGES = [
  [0, 'core/v1'],
  [0, 'apps/v1'],
  [0, 'networking/v1'],
  [0, 'discovery/v1'],
  [0, 'autoscaling/v1'],
  [0, 'authentication/v1'],
  [1, 'pkg/apis/meta/v1'],
  [1, 'pkg/runtime'],
  [1, 'pkg/runtime/schema'],
  [1, 'pkg/util/intstr'],
  [1, 'pkg/api/resource'],
];

/** apiVersion → proto package → kinds that may arrive as request bodies. */
const KINDS = [
  ['v1', 'k8s.io.api.core.v1', ['Namespace', 'Node', 'Pod', 'Service', 'Endpoints', 'Secret', 'ConfigMap', 'Event', 'ReplicationController', 'ServiceAccount']],
  ['apps/v1', 'k8s.io.api.apps.v1', ['Deployment', 'ReplicaSet']],
  ['networking.k8s.io/v1', 'k8s.io.api.networking.v1', ['Ingress', 'IngressClass']],
  ['discovery.k8s.io/v1', 'k8s.io.api.discovery.v1', ['EndpointSlice']],
  ['autoscaling/v1', 'k8s.io.api.autoscaling.v1', ['Scale']],
  ['authentication.k8s.io/v1', 'k8s.io.api.authentication.v1', ['TokenRequest']],
];
/** Kinds every group version registers (metav1.AddToGroupVersion). */
const ANY_VERSION_KINDS = [
  ['DeleteOptions', 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions'],
  ['Status', 'k8s.io.apimachinery.pkg.apis.meta.v1.Status'],
];
/** Messages with hand-written JSON forms in the converter; their Go structs are not consulted. */
const SPECIAL = new Set([
  'k8s.io.apimachinery.pkg.apis.meta.v1.Time',
  'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime',
  'k8s.io.apimachinery.pkg.apis.meta.v1.Duration',
  'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'k8s.io.apimachinery.pkg.runtime.RawExtension',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  'k8s.io.apimachinery.pkg.api.resource.Quantity',
]);
const SCALARS = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes']);

// ---- reading sources --------------------------------------------------------------

function openSource(spec) {
  const [path, rev = 'HEAD'] = spec.split('@');
  // "kubernetes+api/repo" (a /work/.mirror snapshot) or ".../api" → a name for the header.
  const m = /([\w.-]+)\+([\w.-]+)(?:\/repo)?\/?$/.exec(path);
  const name = m ? `${m[1]}/${m[2]}` : `kubernetes/${path.replace(/\/+$/, '').split('/').pop()}`;
  const bare = existsSync(join(path, 'HEAD')) && existsSync(join(path, 'objects')) && !existsSync(join(path, '.git'));
  if (bare) {
    const git = (...args) => execFileSync('git', ['--git-dir', path, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const commit = git('rev-parse', rev).trim();
    return {
      label: `${name}@${commit}`,
      commit,
      read: (file) => git('show', `${commit}:${file}`),
      list: (dir) =>
        git('ls-tree', '--name-only', `${commit}:${dir}`)
          .split('\n')
          .filter(Boolean),
    };
  }
  let commit = '';
  try {
    commit = execFileSync('git', ['-C', path, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* not a git checkout */
  }
  return {
    label: commit ? `${name}@${commit}` : name,
    commit,
    read: (file) => readFileSync(join(path, file), 'utf8'),
    list: (dir) => readdirSync(join(path, dir)).filter((f) => statSync(join(path, dir, f)).isFile()),
  };
}

// ---- .proto -------------------------------------------------------------------------

/** Parses the subset of proto2 go-to-protobuf emits: messages with optional/repeated/map fields. */
function parseProto(text) {
  const lines = text.replace(/\/\*[\s\S]*?\*\//g, '').split('\n').map((l) => l.replace(/\/\/.*$/, '').trim());
  let pkg = '';
  const messages = new Map();
  let cur = null;
  for (const line of lines) {
    if (!line) continue;
    let m;
    if ((m = /^package\s+([\w.]+)\s*;$/.exec(line))) pkg = m[1];
    else if (/^(syntax|import|option)\b/.test(line)) continue;
    else if ((m = /^message\s+(\w+)\s*\{$/.exec(line))) {
      if (cur) throw new Error(`nested message ${m[1]} in ${cur.name} is not supported`);
      cur = { name: m[1], fields: [] };
    } else if ((m = /^message\s+(\w+)\s*\{\s*\}$/.exec(line))) messages.set(m[1], { name: m[1], fields: [] });
    else if (line === '}') {
      if (!cur) throw new Error('unbalanced }');
      messages.set(cur.name, cur);
      cur = null;
    } else if ((m = /^(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(\[.*\])?\s*;$/.exec(line))) {
      cur.fields.push({ label: m[1], type: m[2], name: m[3], no: Number(m[4]) });
    } else if ((m = /^map\s*<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;$/.exec(line))) {
      cur.fields.push({ label: 'map', keyType: m[1], type: m[2], name: m[3], no: Number(m[4]) });
    } else throw new Error(`unsupported proto line in package ${pkg}: ${line}`);
  }
  return { pkg, messages };
}

// ---- Go struct tags -----------------------------------------------------------------

/** Go struct name → Map<proto field number, { ptr, omitempty, inline, skip, goType }>. */
function parseGoStructs(text) {
  const structs = new Map();
  const lines = text.split('\n');
  let cur = null;
  for (const raw of lines) {
    const line = raw.replace(/^\s+/, '');
    let m;
    if (!cur) {
      if ((m = /^type\s+(\w+)\s+struct\s*\{\s*$/.exec(line))) cur = { name: m[1], fields: new Map() };
      continue;
    }
    if (/^\}/.test(line) && /^\}/.test(raw)) {
      structs.set(cur.name, cur.fields);
      cur = null;
      continue;
    }
    if (line.startsWith('//')) continue;
    m = /^(?:([A-Za-z_]\w*)\s+)?([^\s`]+)\s+`([^`]*)`/.exec(line);
    if (!m) continue;
    const [, name, goType, tags] = m;
    const pb = /(?:^|\s)protobuf:"([^"]*)"/.exec(tags);
    if (!pb) continue;
    const [, noText] = pb[1].split(',');
    const json = /(?:^|\s)json:"([^"]*)"/.exec(tags);
    const [jsonName = '', ...opts] = (json ? json[1] : '').split(',');
    const embedded = name === undefined;
    cur.fields.set(Number(noText), {
      ptr: goType.startsWith('*'),
      omitempty: opts.includes('omitempty'),
      inline: embedded && jsonName === '',
      skip: jsonName === '-',
      jsonName,
      goType,
    });
  }
  return structs;
}

// ---- main ---------------------------------------------------------------------------

function shortName(full) {
  if (full.startsWith('k8s.io.api.')) return full.slice('k8s.io.api.'.length);
  if (full.startsWith('k8s.io.apimachinery.pkg.')) return full.slice('k8s.io.apimachinery.pkg.'.length).replace(/^(apis|util|api)\./, '');
  return full;
}

function main() {
  const [apiSrc, machinerySrc, out = DEFAULT_OUT] = process.argv.slice(2);
  if (!apiSrc || !machinerySrc) {
    console.error('usage: node scripts/gen-proto-schema.mjs <kubernetes/api dir or git dir> <kubernetes/apimachinery dir or git dir> [out.ts]');
    process.exit(2);
  }
  const sources = [openSource(apiSrc), openSource(machinerySrc)];

  /** full message name → { pkg, msg, go: Map|undefined } */
  const all = new Map();
  for (const [si, dir] of PACKAGES) {
    const src = sources[si];
    const { pkg, messages } = parseProto(src.read(`${dir}/generated.proto`));
    const goStructs = new Map();
    for (const f of src.list(dir)) {
      if (!f.endsWith('.go') || f.endsWith('_test.go') || f === 'generated.pb.go' || f.startsWith('zz_generated')) continue;
      for (const [k, v] of parseGoStructs(src.read(`${dir}/${f}`))) goStructs.set(k, v);
    }
    for (const [name, msg] of messages) all.set(`${pkg}.${name}`, { pkg, msg, go: goStructs.get(name) });
  }

  const resolveType = (pkg, type) => {
    if (SCALARS.has(type)) return type;
    const full = type.startsWith('.') ? type.slice(1) : `${pkg}.${type}`;
    if (!all.has(full)) throw new Error(`unresolved type ${type} in package ${pkg}`);
    return full;
  };

  // Reachability from the request kinds.
  const roots = [...KINDS.flatMap(([, pkg, kinds]) => kinds.map((k) => `${pkg}.${k}`)), ...ANY_VERSION_KINDS.map(([, full]) => full)];
  const reach = new Set();
  const queue = [...roots];
  while (queue.length) {
    const full = queue.shift();
    if (reach.has(full)) continue;
    const entry = all.get(full);
    if (!entry) throw new Error(`unknown message ${full}`);
    reach.add(full);
    if (SPECIAL.has(full)) continue;
    for (const f of entry.msg.fields) {
      const t = resolveType(entry.pkg, f.type);
      if (!SCALARS.has(t)) queue.push(t);
    }
  }

  const warnings = [];
  const lines = [];
  for (const full of [...reach].sort((a, b) => shortName(a).localeCompare(shortName(b)))) {
    const { pkg, msg, go } = all.get(full);
    if (!SPECIAL.has(full) && !go) warnings.push(`${full}: no Go struct; fields use presence semantics`);
    lines.push(`  '${shortName(full)}': [`);
    for (const f of msg.fields) {
      const t = resolveType(pkg, f.type);
      const kind = f.label === 'map' ? `map<${f.keyType},${SCALARS.has(t) ? t : shortName(t)}>` : SCALARS.has(t) ? t : shortName(t);
      let g = SPECIAL.has(full) ? { ptr: false, omitempty: true, inline: false, skip: false } : go?.get(f.no);
      // The Go JSON tag names the field where the proto name differs (BoundObjectReference's uID is "uid").
      const jsonName = g?.jsonName && g.jsonName !== '-' ? g.jsonName : f.name;
      const parts = [`no: ${f.no}`, `jsonName: '${jsonName}'`, `kind: '${kind}'`];
      if (f.label === 'repeated') parts.push('repeated: true');
      if (!g) {
        if (go) warnings.push(`${full}.${f.name}: no Go field with protobuf number ${f.no}; presence semantics`);
        g = { ptr: true, omitempty: true, inline: false, skip: false };
      }
      if (g.ptr) parts.push('ptr: true');
      if (g.omitempty) parts.push('omitempty: true');
      if (g.inline) parts.push('inline: true');
      if (g.skip) parts.push('skip: true');
      lines.push(`    { ${parts.join(', ')} },`);
    }
    lines.push('  ],');
  }

  const kindLines = [];
  for (const [apiVersion, pkg, kinds] of KINDS) for (const k of kinds) kindLines.push(`  '${apiVersion}|${k}': '${shortName(`${pkg}.${k}`)}',`);
  const anyLines = ANY_VERSION_KINDS.map(([k, full]) => `  ${k}: '${shortName(full)}',`);

  const text = `/**
 * GENERATED by scripts/gen-proto-schema.mjs — do not edit by hand.
 *
 * Kubernetes protobuf message schemas for the kinds kubemu accepts as request
 * bodies, from generated.proto (field numbers, names, types) and the Go struct
 * tags beside it (pointer, omitempty, inline), of:
${sources.map((s) => ` *   ${s.label}`).join('\n')}
 */

/**
 * One protobuf field. \`kind\` is a scalar type (string, int32, int64, bool,
 * bytes, ...), a message name (a key of MESSAGES), or "map<key,value>".
 * ptr: the Go field is a pointer — emitted only when present on the wire.
 * Otherwise it is a Go value: absent means its zero value, and omitempty
 * drops zero scalars and empty lists/maps (never structs) from the JSON.
 * inline: an embedded Go struct whose JSON fields merge into the parent's.
 * skip: json:"-" — never in the JSON.
 */
export interface FieldSchema {
  readonly no: number;
  readonly jsonName: string;
  readonly kind: string;
  readonly repeated?: boolean;
  readonly ptr?: boolean;
  readonly omitempty?: boolean;
  readonly inline?: boolean;
  readonly skip?: boolean;
}

export const MESSAGES: Readonly<Record<string, readonly FieldSchema[]>> = {
${lines.join('\n')}
};

/** "apiVersion|kind" → message. */
export const KINDS: Readonly<Record<string, string>> = {
${kindLines.join('\n')}
};

/** Kinds accepted under any apiVersion. */
export const ANY_VERSION_KINDS: Readonly<Record<string, string>> = {
${anyLines.join('\n')}
};
`;
  writeFileSync(out, text);
  for (const w of warnings) console.error(`warning: ${w}`);
  console.error(`wrote ${out}: ${reach.size} messages`);
}

main();
