/**
 * The pod-state tracker: lists then watches a namespace's pods (the API with
 * the kubeconfig's bearer token and CA) so that, at any moment, it knows
 * each pod's node and whether it is Ready (Ready condition True and not
 * terminating — what the endpoints controller counts as ready). The traffic
 * generator asks it about the pod that answered each request; its history of
 * changes goes into the report. A dropped watch resumes from the last
 * version seen; 410 Gone re-lists. While the API is away (a control-plane
 * restart), the last known state stands.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { ClusterAccess } from '../../kubeconfig.js';
import { POD_TEMPLATE, parsePodPick, type PodPick } from './schema.js';
import type { PodLookup } from './traffic.js';

export interface PodState {
  pod: string;
  labels?: Record<string, string>;
  node?: string;
  ready: boolean;
  terminating: boolean;
}

/** A change of a pod's state; `at` in ms since the tracker's origin (the start of traffic). */
export interface PodEvent extends Omit<PodState, 'labels'> {
  at: number;
  /** What changed: added (first seen), scheduled (got a node), ready, not ready, terminating, deleted. */
  change: 'added' | 'scheduled' | 'ready' | 'not ready' | 'terminating' | 'deleted';
  deleted?: boolean;
}

interface PodObject {
  metadata?: { name?: string; resourceVersion?: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

export function podState(p: PodObject): PodState | undefined {
  const name = p.metadata?.name;
  if (!name) return undefined;
  const terminating = !!p.metadata?.deletionTimestamp;
  const readyCond = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return { pod: name, labels: p.metadata?.labels ?? {}, node: p.spec?.nodeName || undefined, ready: readyCond && !terminating, terminating };
}

/** The state itself, fed by list and watch events; no I/O. */
export class PodStates implements PodLookup {
  private readonly pods = new Map<string, PodState>();
  /** Pods seen once and since deleted, with their last state (an answer may still come from one). */
  private readonly gone = new Map<string, PodState>();
  private readonly changes: (PodEvent & { ts: number })[] = [];
  /** performance.now() of the moment event offsets count from (the start of traffic). */
  origin = performance.now();

  /** Every change seen, `at` counted from `origin` (negative: before it). */
  get events(): PodEvent[] {
    return this.changes.map(({ ts, ...e }) => ({ ...e, at: Math.round(ts - this.origin) }));
  }

  private changed(s: PodState, deleted = false): void {
    const before = this.pods.get(s.pod);
    if (!deleted && before && before.ready === s.ready && before.node === s.node && before.terminating === s.terminating) return;
    const change: PodEvent['change'] = deleted ? 'deleted' : !before ? 'added' : before.node !== s.node ? 'scheduled' : s.terminating && !before.terminating ? 'terminating' : s.ready ? 'ready' : 'not ready';
    const { labels: _labels, ...rest } = s;
    this.changes.push({ ts: performance.now(), at: 0, ...rest, change, ...(deleted ? { deleted: true, ready: false } : {}) });
  }

  apply(type: string, obj: PodObject): void {
    const s = podState(obj);
    if (!s) return;
    if (type === 'DELETED') {
      this.changed(s, true);
      this.pods.delete(s.pod);
      this.gone.set(s.pod, { ...s, ready: false, terminating: true });
      return;
    }
    this.changed(s);
    this.pods.set(s.pod, s);
    this.gone.delete(s.pod);
  }

  /** A fresh list: pods missing from it are gone. */
  replace(items: PodObject[]): void {
    const seen = new Set<string>();
    for (const o of items) {
      const s = podState(o);
      if (!s) continue;
      seen.add(s.pod);
      this.apply('MODIFIED', o);
    }
    for (const [name, s] of [...this.pods]) if (!seen.has(name)) this.apply('DELETED', { metadata: { name }, spec: { nodeName: s.node } });
  }

  lookup(pod: string): { node?: string; ready: boolean } | undefined {
    const s = this.pods.get(pod) ?? this.gone.get(pod);
    return s ? { node: s.node, ready: s.ready } : undefined;
  }

  get(pod: string): PodState | undefined {
    return this.pods.get(pod);
  }

  list(): PodState[] {
    return [...this.pods.values()];
  }

  /** The `nth` (1-based) pod by name among those matching `labels` that are not terminating. */
  pick(p: PodPick): PodState | undefined {
    const match = this.list()
      .filter((s) => !s.terminating && Object.entries(p.labels).every(([k, v]) => s.labels?.[k] === v))
      .sort((a, b) => a.pod.localeCompare(b.pod));
    return match[p.nth - 1];
  }

  /** Fills `{{pod:…}}` templates in a step's command with pod names. */
  expand(args: string[]): string[] {
    return args.map((a) =>
      a.replace(POD_TEMPLATE, (whole, inner: string) => {
        const p = parsePodPick(inner);
        const s = p && this.pick(p);
        if (!s) throw new Error(`${whole}: no such pod (pods matching: ${this.list().filter((x) => p && Object.entries(p.labels).every(([k, v]) => x.labels?.[k] === v) && !x.terminating).map((x) => x.pod).join(', ') || 'none'})`);
        return s.pod;
      }),
    );
  }
}

/** PodStates kept current from the API. */
export class PodTracker extends PodStates {
  private stopped = false;
  private req: ClientRequest | undefined;
  private rv = '';
  private retry: NodeJS.Timeout | undefined;
  private listed!: () => void;
  /** Resolves after the first list. */
  readonly synced = new Promise<void>((r) => (this.listed = r));

  constructor(
    private readonly access: ClusterAccess,
    readonly namespace: string,
  ) {
    super();
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.req?.destroy();
  }

  private open(path: string, onResponse: (res: IncomingMessage) => void, onError: (e: Error) => void): ClientRequest {
    const url = new URL(path, this.access.server);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', ca: this.access.ca, headers: { Accept: 'application/json', ...(this.access.token ? { Authorization: `Bearer ${this.access.token}` } : {}) } }, onResponse);
    req.on('error', onError);
    req.end();
    return req;
  }

  private again(fn: () => void, ms = 500): void {
    if (this.stopped) return;
    this.retry = setTimeout(fn, ms);
  }

  private base(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`;
  }

  private relist(): void {
    if (this.stopped) return;
    let over = false;
    const failed = () => {
      if (over) return;
      over = true;
      this.again(() => this.relist());
    };
    this.req = this.open(
      this.base(),
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
            const list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata?: { resourceVersion?: string }; items?: PodObject[] };
            this.replace(list.items ?? []);
            this.rv = list.metadata?.resourceVersion ?? '';
          } catch {
            failed();
            return;
          }
          over = true;
          this.listed();
          this.watch();
        });
        res.on('error', failed);
      },
      failed,
    );
  }

  private watch(): void {
    if (this.stopped) return;
    let relist = false;
    let over = false;
    const ended = () => {
      if (over) return;
      over = true;
      this.again(() => (relist ? this.relist() : this.watch()), relist ? 0 : 200);
    };
    this.req = this.open(
      `${this.base()}?watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(this.rv)}`,
      (res) => {
        if (res.statusCode === 410) relist = true;
        if (res.statusCode !== 200) {
          res.resume();
          res.on('end', ended);
          res.on('error', ended);
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              const ev = JSON.parse(line) as { type: string; object: PodObject & { code?: number } };
              if (ev.type === 'ERROR') {
                relist = ev.object.code === 410;
                continue;
              }
              if (ev.object.metadata?.resourceVersion) this.rv = ev.object.metadata.resourceVersion;
              if (ev.type !== 'BOOKMARK') this.apply(ev.type, ev.object);
            } catch {
              // a torn line: the watch is ending anyway
            }
          }
        });
        res.on('end', ended);
        res.on('error', ended);
      },
      ended,
    );
  }
}
