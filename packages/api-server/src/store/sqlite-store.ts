/**
 * The durable object store: embedded SQLite (better-sqlite3), one global
 * resourceVersion counter, an event log for watch resume.
 *
 *   objects(resource, namespace, name) -> latest JSON + rv
 *   events(rv)                         -> every write, kept for `historyLimit` writes
 *
 * Lists parse every row of a resource (in a namespace). A list narrowed by an
 * indexed label (INDEXED_LABELS: the Service an EndpointSlice belongs to, the
 * controllers' lookup on every sync) reads only the matching rows through an
 * expression index over the stored JSON, so a controller's periodic resync of
 * every Service stays linear instead of quadratic.
 *
 * Every write runs in one SQLite transaction that updates `objects` and appends
 * to `events`; when the call returns the write is committed (synchronous=FULL,
 * so it survives a SIGKILL or a power cut). The whole store is synchronous —
 * the api-server is one thread, so a read of history followed by registering a
 * live watcher cannot miss an event in between.
 *
 * Watchers registered with `watch()` are called synchronously, inside the
 * writer's call, after the commit; consumers queue and deliver asynchronously.
 */
import Database from 'better-sqlite3';
import { LABEL_SERVICE_NAME, type KubeObject } from '@kubemu/api';

/** Label keys with an index in the store. */
export const INDEXED_LABELS: readonly string[] = [LABEL_SERVICE_NAME];

/** A label equality a list may be narrowed by (`key` one of INDEXED_LABELS). */
export interface LabelEquals {
  key: string;
  value: string;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  /** Store key of the resource, e.g. "services", "apps/deployments". */
  resource: string;
  rv: number;
  object: KubeObject;
  /** The object before this write (live events only; history replay has none). */
  prev?: KubeObject;
}

export interface StoreWatchOptions {
  namespace?: string;
  /** Replay events with rv > fromRV before live ones. Undefined: live only. */
  fromRV?: number;
}

export class StoreGoneError extends Error {
  readonly code = 'ERR_STORE_GONE';
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

export class StoreConflictError extends Error {
  readonly code = 'ERR_STORE_CONFLICT';
}
export class StoreNotFoundError extends Error {
  readonly code = 'ERR_STORE_NOT_FOUND';
}
export class StoreExistsError extends Error {
  readonly code = 'ERR_STORE_EXISTS';
}

export interface StoreOptions {
  /** Events kept for watch resume (default 50,000). Older resumes get StoreGoneError. */
  historyLimit?: number;
  /** fsync on every commit (default true): a write is durable when the API answers. */
  durable?: boolean;
}

interface Watcher {
  resource: string;
  namespace?: string;
  fn: (ev: StoreEvent) => void;
}

type Row = { data: string; rv: number };

export class SqliteStore {
  readonly #db: Database.Database;
  #rv: number;
  /** Events with rv <= this are gone from history. */
  #compactedRV: number;
  readonly #historyLimit: number;
  readonly #watchers = new Set<Watcher>();
  #writesSinceCompact = 0;

  readonly #getStmt: Database.Statement<[string, string, string], Row>;
  readonly #listAllStmt: Database.Statement<[string], Row>;
  readonly #listNsStmt: Database.Statement<[string, string], Row>;
  readonly #listByLabel = new Map<string, { all: Database.Statement<[string, string], Row>; ns: Database.Statement<[string, string, string], Row> }>();
  readonly #upsertStmt: Database.Statement<[string, string, string, number, string]>;
  readonly #deleteStmt: Database.Statement<[string, string, string]>;
  readonly #appendStmt: Database.Statement<[number, string, string, string, string, string]>;
  readonly #historyStmt: Database.Statement<[number, string], { rv: number; type: string; data: string }>;
  readonly #historyNsStmt: Database.Statement<[number, string, string], { rv: number; type: string; data: string }>;
  readonly #setMetaStmt: Database.Statement<[string, string]>;

  constructor(path: string, opts: StoreOptions = {}) {
    this.#historyLimit = opts.historyLimit ?? 50_000;
    this.#db = new Database(path);
    if (path !== ':memory:') this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${opts.durable === false ? 'NORMAL' : 'FULL'}`);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        rv INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS events (
        rv INTEGER PRIMARY KEY, type TEXT NOT NULL, resource TEXT NOT NULL,
        namespace TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS events_resource ON events (resource, rv);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    for (const key of INDEXED_LABELS) {
      const expr = labelExpr(key);
      const index = `objects_label_${key.replace(/[^a-z0-9]/gi, '_')}`;
      this.#db.exec(`CREATE INDEX IF NOT EXISTS ${index} ON objects (resource, namespace, ${expr})`);
      // INDEXED BY: without statistics the planner would rather walk the primary key (sorted by name) and parse every row
      const from = `FROM objects INDEXED BY ${index}`;
      this.#listByLabel.set(key, {
        all: this.#db.prepare(`SELECT data, rv ${from} WHERE resource = ? AND ${expr} = ? ORDER BY namespace, name`),
        ns: this.#db.prepare(`SELECT data, rv ${from} WHERE resource = ? AND namespace = ? AND ${expr} = ? ORDER BY name`),
      });
    }
    const maxEvent = (this.#db.prepare('SELECT MAX(rv) AS m FROM events').get() as { m: number | null }).m ?? 0;
    const maxObj = (this.#db.prepare('SELECT MAX(rv) AS m FROM objects').get() as { m: number | null }).m ?? 0;
    const compacted = this.#db.prepare("SELECT value FROM meta WHERE key = 'compactedRV'").get() as { value: string } | undefined;
    this.#compactedRV = compacted ? Number(compacted.value) : 0;
    this.#rv = Math.max(maxEvent, maxObj, this.#compactedRV);

    this.#getStmt = this.#db.prepare('SELECT data, rv FROM objects WHERE resource = ? AND namespace = ? AND name = ?');
    this.#listAllStmt = this.#db.prepare('SELECT data, rv FROM objects WHERE resource = ? ORDER BY namespace, name');
    this.#listNsStmt = this.#db.prepare('SELECT data, rv FROM objects WHERE resource = ? AND namespace = ? ORDER BY name');
    this.#upsertStmt = this.#db.prepare(
      'INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT(resource, namespace, name) DO UPDATE SET rv = excluded.rv, data = excluded.data',
    );
    this.#deleteStmt = this.#db.prepare('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?');
    this.#appendStmt = this.#db.prepare('INSERT INTO events (rv, type, resource, namespace, name, data) VALUES (?, ?, ?, ?, ?, ?)');
    this.#historyStmt = this.#db.prepare('SELECT rv, type, data FROM events WHERE rv > ? AND resource = ? ORDER BY rv');
    this.#historyNsStmt = this.#db.prepare('SELECT rv, type, data FROM events WHERE rv > ? AND resource = ? AND namespace = ? ORDER BY rv');
    this.#setMetaStmt = this.#db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  }

  /** The newest resourceVersion written. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** The oldest resourceVersion a watch may resume from. */
  get oldestResumableRV(): number {
    return this.#compactedRV;
  }

  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    const row = this.#getStmt.get(resource, namespace, name);
    return row ? (JSON.parse(row.data) as KubeObject) : undefined;
  }

  /** Every object of `resource` (in `namespace`); only those carrying `label` when given (an indexed key, else an error). */
  list(resource: string, namespace?: string, label?: LabelEquals): KubeObject[] {
    let rows: Row[];
    if (label) {
      const q = this.#listByLabel.get(label.key);
      if (!q) throw new Error(`label ${label.key} is not indexed`);
      rows = namespace === undefined ? q.all.all(resource, label.value) : q.ns.all(resource, namespace, label.value);
    } else rows = namespace === undefined ? this.#listAllStmt.all(resource) : this.#listNsStmt.all(resource, namespace);
    return rows.map((r) => JSON.parse(r.data) as KubeObject);
  }

  /** Stores a new object; sets metadata.resourceVersion. Throws StoreExistsError. */
  create(resource: string, obj: KubeObject): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    return this.#write(resource, 'ADDED', obj, undefined, () => {
      if (this.#getStmt.get(resource, ns, name)) throw new StoreExistsError(`${resource} ${ns}/${name} exists`);
    });
  }

  /**
   * Replaces an object. `expectedRV`, when given, must equal the stored version
   * (StoreConflictError otherwise). Throws StoreNotFoundError.
   */
  update(resource: string, obj: KubeObject, expectedRV?: string): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    let prev: KubeObject | undefined;
    return this.#write(resource, 'MODIFIED', obj, () => prev, () => {
      const row = this.#getStmt.get(resource, ns, name);
      if (!row) throw new StoreNotFoundError(`${resource} ${ns}/${name} not found`);
      if (expectedRV !== undefined && String(row.rv) !== expectedRV) {
        throw new StoreConflictError('the object has been modified; please apply your changes to the latest version and try again');
      }
      prev = JSON.parse(row.data) as KubeObject;
    });
  }

  /** Removes an object; returns it with the deletion's resourceVersion. */
  delete(resource: string, namespace: string, name: string, expectedRV?: string): KubeObject {
    let prev: KubeObject | undefined;
    const tx = this.#db.transaction(() => {
      const row = this.#getStmt.get(resource, namespace, name);
      if (!row) throw new StoreNotFoundError(`${resource} ${namespace}/${name} not found`);
      if (expectedRV !== undefined && String(row.rv) !== expectedRV) {
        throw new StoreConflictError('the object has been modified; please apply your changes to the latest version and try again');
      }
      prev = JSON.parse(row.data) as KubeObject;
      const rv = this.#rv + 1;
      const gone = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
      this.#deleteStmt.run(resource, namespace, name);
      this.#appendStmt.run(rv, 'DELETED', resource, namespace, name, JSON.stringify(gone));
      this.#rv = rv;
      return gone;
    });
    const gone = tx();
    this.#afterWrite({ type: 'DELETED', resource, rv: this.#rv, object: gone, prev });
    return gone;
  }

  #write(resource: string, type: StoreEventType, obj: KubeObject, prevOf: (() => KubeObject | undefined) | undefined, check: () => void): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    const tx = this.#db.transaction(() => {
      check();
      const rv = this.#rv + 1;
      const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
      const data = JSON.stringify(stored);
      this.#upsertStmt.run(resource, ns, name, rv, data);
      this.#appendStmt.run(rv, type, resource, ns, name, data);
      this.#rv = rv;
      return stored;
    });
    const stored = tx();
    this.#afterWrite({ type, resource, rv: this.#rv, object: stored, prev: prevOf?.() });
    return stored;
  }

  #afterWrite(ev: StoreEvent): void {
    for (const w of this.#watchers) {
      if (w.resource !== ev.resource) continue;
      if (w.namespace !== undefined && (ev.object.metadata.namespace ?? '') !== w.namespace) continue;
      try {
        w.fn(ev);
      } catch {
        // a watcher's failure is its own; the write already committed
      }
    }
    if (++this.#writesSinceCompact >= 1000) this.compact();
  }

  /** Drops history beyond `historyLimit` events. */
  compact(): void {
    this.#writesSinceCompact = 0;
    const floor = this.#rv - this.#historyLimit;
    if (floor <= this.#compactedRV) return;
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM events WHERE rv <= ?').run(floor);
      this.#setMetaStmt.run('compactedRV', String(floor));
    })();
    this.#compactedRV = floor;
  }

  /**
   * Watches one resource. With `fromRV`, first replays history (rv > fromRV);
   * throws StoreGoneError if that history was compacted. Returns a stop function.
   */
  watch(resource: string, opts: StoreWatchOptions, fn: (ev: StoreEvent) => void): () => void {
    if (opts.fromRV !== undefined && opts.fromRV < this.#rv) {
      if (opts.fromRV < this.#compactedRV) throw new StoreGoneError(opts.fromRV, this.#compactedRV + 1);
      const rows =
        opts.namespace === undefined
          ? this.#historyStmt.all(opts.fromRV, resource)
          : this.#historyNsStmt.all(opts.fromRV, resource, opts.namespace);
      for (const row of rows) fn({ type: row.type as StoreEventType, resource, rv: row.rv, object: JSON.parse(row.data) as KubeObject });
    }
    const w: Watcher = { resource, namespace: opts.namespace, fn };
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  close(): void {
    this.#watchers.clear();
    if (this.#db.open) this.#db.close();
  }
}

/** The SQL expression for a label's value in the stored JSON (keys are validated label keys: no quotes). */
function labelExpr(key: string): string {
  return `json_extract(data, '$.metadata.labels."${key}"')`;
}
