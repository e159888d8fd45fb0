/**
 * Field paths and field sets as server-side apply tracks them
 * (sigs.k8s.io/structured-merge-diff fieldpath), with the FieldsV1 wire
 * encoding kube-apiserver stores in metadata.managedFields:
 *
 *   f:<name>          a field of a struct or a key of a map
 *   k:<json object>   an item of an associative list, by its key fields (sorted)
 *   v:<json value>    an item of a set list, by its value
 *   i:<index>         an item of a list by position (not produced here)
 *   .                 the node itself is in the set, beside its children
 *
 * A path element is kept in its FieldsV1 spelling; a set is a tree whose
 * nodes say whether the path ending there is a member and which children
 * lead further.
 */

export type PathElement = string;
export type Path = readonly PathElement[];

export const field = (name: string): PathElement => `f:${name}`;
export const valueElement = (v: unknown): PathElement => `v:${JSON.stringify(v)}`;

/** `k:{"containerPort":80,"protocol":"TCP"}`: key fields sorted by name, as SMD sorts them. */
export function keyElement(keys: Readonly<Record<string, unknown>>): PathElement {
  const names = Object.keys(keys).sort(byteCompare);
  return `k:{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(keys[n])}`).join(',')}}`;
}

function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const TYPE_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Order of JSON values as SMD's value.Compare orders them (numbers numerically, strings by bytes). */
function valueCompare(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : typeof v === 'boolean' ? 3 : Array.isArray(v) ? 4 : 5);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return byteCompare(a, b);
  if (typeof a === 'boolean') return Number(a) - Number(b);
  return byteCompare(JSON.stringify(a), JSON.stringify(b));
}

const parsedCache = new Map<string, unknown>();
function parsed(pe: PathElement): unknown {
  let v = parsedCache.get(pe);
  if (v === undefined && !parsedCache.has(pe)) {
    try {
      v = JSON.parse(pe.slice(2));
    } catch {
      v = pe.slice(2);
    }
    if (parsedCache.size > 50_000) parsedCache.clear();
    parsedCache.set(pe, v);
  }
  return v;
}

/** PathElement.Compare: fields, then keys, then values, then indexes. */
export function compareElements(a: PathElement, b: PathElement): number {
  const ta = TYPE_ORDER[a[0]] ?? 9;
  const tb = TYPE_ORDER[b[0]] ?? 9;
  if (ta !== tb) return ta - tb;
  switch (a[0]) {
    case 'f':
      return byteCompare(a.slice(2), b.slice(2));
    case 'k': {
      const ka = Object.entries((parsed(a) ?? {}) as Record<string, unknown>);
      const kb = Object.entries((parsed(b) ?? {}) as Record<string, unknown>);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const c = byteCompare(ka[i][0], kb[i][0]) || valueCompare(ka[i][1], kb[i][1]);
        if (c) return c;
      }
      return ka.length - kb.length;
    }
    case 'v':
      return valueCompare(parsed(a), parsed(b));
    case 'i':
      return Number(a.slice(2)) - Number(b.slice(2));
    default:
      return byteCompare(a, b);
  }
}

/** fieldpath.Path.String(): `.spec.containers[name="nginx"].image`, `[=value]`, `[3]`. */
export function pathString(path: Path): string {
  let out = '';
  for (const pe of path) {
    switch (pe[0]) {
      case 'f':
        out += `.${pe.slice(2)}`;
        break;
      case 'k': {
        const keys = (parsed(pe) ?? {}) as Record<string, unknown>;
        out += `[${Object.keys(keys)
          .sort(byteCompare)
          .map((k) => `${k}=${JSON.stringify(keys[k])}`)
          .join(',')}]`;
        break;
      }
      case 'v':
        out += `[=${pe.slice(2)}]`;
        break;
      case 'i':
        out += `[${pe.slice(2)}]`;
        break;
      default:
        out += pe;
    }
  }
  return out;
}

export class FieldSet {
  member = false;
  readonly children = new Map<PathElement, FieldSet>();

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: Path): void {
    let node: FieldSet = this;
    for (const pe of path) {
      let next = node.children.get(pe);
      if (!next) node.children.set(pe, (next = new FieldSet()));
      node = next;
    }
    node.member = true;
  }

  /** The node at `path`, if any path in the set passes through it. */
  at(path: Path): FieldSet | undefined {
    let node: FieldSet | undefined = this;
    for (const pe of path) {
      node = node.children.get(pe);
      if (!node) return undefined;
    }
    return node;
  }

  has(path: Path): boolean {
    return this.at(path)?.member === true;
  }

  /** True when the set holds no member at all. */
  empty(): boolean {
    if (this.member) return false;
    for (const c of this.children.values()) if (!c.empty()) return false;
    return true;
  }

  clone(): FieldSet {
    const s = new FieldSet();
    s.member = this.member;
    for (const [pe, c] of this.children) s.children.set(pe, c.clone());
    return s;
  }

  union(other: FieldSet): FieldSet {
    const s = this.clone();
    s.#addAll(other);
    return s;
  }

  #addAll(other: FieldSet): void {
    if (other.member) this.member = true;
    for (const [pe, c] of other.children) {
      let mine = this.children.get(pe);
      if (!mine) this.children.set(pe, (mine = new FieldSet()));
      mine.#addAll(c);
    }
  }

  /** Members of this set that are not members of `other` (SMD Set.Difference). */
  difference(other: FieldSet): FieldSet {
    const s = new FieldSet();
    s.member = this.member && !other.member;
    for (const [pe, c] of this.children) {
      const o = other.children.get(pe);
      const d = o ? c.difference(o) : c.clone();
      if (!d.empty()) s.children.set(pe, d);
    }
    return s;
  }

  intersection(other: FieldSet): FieldSet {
    const s = new FieldSet();
    s.member = this.member && other.member;
    for (const [pe, c] of this.children) {
      const o = other.children.get(pe);
      if (!o) continue;
      const i = c.intersection(o);
      if (!i.empty()) s.children.set(pe, i);
    }
    return s;
  }

  /** Every member path: at each level members first, then the children, both in element order (SMD Set.Iterate). */
  paths(): PathElement[][] {
    const out: PathElement[][] = [];
    this.#iterate([], out);
    return out;
  }

  #iterate(prefix: PathElement[], out: PathElement[][]): void {
    const keys = [...this.children.keys()].sort(compareElements);
    for (const pe of keys) if (this.children.get(pe)!.member) out.push([...prefix, pe]);
    for (const pe of keys) this.children.get(pe)!.#iterate([...prefix, pe], out);
  }

  /** Whether any member lies strictly below `path`. */
  hasDescendants(path: Path): boolean {
    const node = this.at(path);
    if (!node) return false;
    for (const c of node.children.values()) if (!c.empty()) return true;
    return false;
  }

  /** The FieldsV1 JSON object. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const pe of [...this.children.keys()].sort(compareElements)) {
      const c = this.children.get(pe)!;
      if (c.empty()) continue;
      if (c.children.size === 0 || [...c.children.values()].every((x) => x.empty())) out[pe] = {};
      else {
        const inner = c.toFieldsV1();
        out[pe] = c.member ? { '.': {}, ...inner } : inner;
      }
    }
    return out;
  }

  /** Parses FieldsV1; throws on anything that is not that encoding. */
  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    s.#read(v, true);
    return s;
  }

  #read(v: unknown, top: boolean): void {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected an object');
    const entries = Object.entries(v as Record<string, unknown>);
    if (!top && entries.length === 0) {
      this.member = true;
      return;
    }
    for (const [k, child] of entries) {
      if (k === '.') {
        if (top) throw new Error('"." at the top level');
        this.member = true;
        continue;
      }
      if (!/^[fkvi]:/.test(k)) throw new Error(`unknown path element ${JSON.stringify(k)}`);
      if ((k[0] === 'k' || k[0] === 'v') && (() => {
        try {
          JSON.parse(k.slice(2));
          return false;
        } catch {
          return true;
        }
      })()) throw new Error(`invalid path element ${JSON.stringify(k)}`);
      let node = this.children.get(k);
      if (!node) this.children.set(k, (node = new FieldSet()));
      node.#read(child, false);
    }
  }
}
