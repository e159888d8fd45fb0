/**
 * The dashboard's copy of the cluster: the views of every watched object,
 * the last Events, and a rollout timeline read off the changes as they
 * happen (pod Terminating → endpoint removed → …). Changes are collected
 * and handed out in batches (`flush`), only for views that really changed,
 * so a status heartbeat that changes nothing on the page sends nothing.
 */
import type { CoreEvent, KubeObject } from '@kubemu/api';
import { eventView, keyOf, viewOf } from './summary.js';
import type { EndpointView, EventView, Kind, PodView, ServerMessage, SliceView, Snapshot, TimelineEntry, ViewOf } from './view.js';

export const KINDS: readonly Kind[] = ['nodes', 'pods', 'services', 'slices', 'ingresses'];
const MAX_EVENTS = 200;
const MAX_TIMELINE = 300;

interface Held {
  json: string;
  view: ViewOf[Kind];
  rv: string;
}

export type Changes = Extract<ServerMessage, { type: 'changes' }>;

export class DashboardState {
  readonly #objects = new Map<Kind, Map<string, Held>>(KINDS.map((k) => [k, new Map()]));
  #events: EventView[] = [];
  #timeline: TimelineEntry[] = [];
  #pending: Changes = empty();
  /** Kinds listed at least once: the first list is the starting point, not a timeline of changes. */
  readonly #listed = new Set<Kind>();
  /** Called for each EndpointSlice change (its Service key and resourceVersion), e.g. to follow the proxies applying it. */
  onSliceChange?: (service: string, rv: number) => void;

  constructor(
    readonly cluster: string,
    readonly now: () => number = Date.now,
  ) {}

  /** A watch listed again: everything it does not list is gone. */
  reset(kind: Kind, items: KubeObject[]): void {
    const held = this.#objects.get(kind)!;
    const seen = new Set<string>();
    for (const o of items) {
      seen.add(keyOf(o));
      this.change(kind, 'MODIFIED', o);
    }
    for (const key of [...held.keys()]) if (!seen.has(key)) this.#delete(kind, key);
    this.#listed.add(kind);
  }

  change(kind: Kind, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: KubeObject): void {
    const key = keyOf(o);
    if (type === 'DELETED') return this.#delete(kind, key);
    const view = viewOf(kind, o);
    const json = JSON.stringify(view);
    const held = this.#objects.get(kind)!;
    const prev = held.get(key);
    const rv = o.metadata.resourceVersion ?? '';
    if (prev?.json === json) {
      prev.rv = rv;
      return;
    }
    held.set(key, { json, view, rv });
    this.#noteTimeline(kind, key, prev?.view, view);
    if (kind === 'slices' && this.#listed.has('slices')) this.onSliceChange?.(this.#serviceOfSlice(view as SliceView), Number(rv));
    (this.#pending.upserts[kind] ??= [] as never[]).push(view as never);
    const dels = this.#pending.deletes[kind];
    if (dels) this.#pending.deletes[kind] = dels.filter((k) => k !== key);
  }

  #delete(kind: Kind, key: string): void {
    const held = this.#objects.get(kind)!;
    const prev = held.get(key);
    if (!prev) return;
    held.delete(key);
    this.#noteTimeline(kind, key, prev.view, undefined);
    if (kind === 'slices') this.onSliceChange?.(this.#serviceOfSlice(prev.view as SliceView), 0);
    (this.#pending.deletes[kind] ??= []).push(key);
    const ups = this.#pending.upserts[kind] as ViewOf[Kind][] | undefined;
    if (ups) this.#pending.upserts[kind] = ups.filter((v) => viewKey(v) !== key) as never;
  }

  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', e: CoreEvent): void {
    if (type === 'DELETED') return;
    const v = eventView(e);
    this.#events.push(v);
    if (this.#events.length > MAX_EVENTS) this.#events.splice(0, this.#events.length - MAX_EVENTS);
    this.#pending.events.push(v);
  }

  /** The Events listed again: keep the newest, in time order. */
  resetEvents(items: CoreEvent[]): void {
    this.#events = items.map(eventView).sort((a, b) => a.time - b.time).slice(-MAX_EVENTS);
  }

  timeline(entry: TimelineEntry): void {
    this.#timeline.push(entry);
    if (this.#timeline.length > MAX_TIMELINE) this.#timeline.splice(0, this.#timeline.length - MAX_TIMELINE);
    this.#pending.timeline.push(entry);
  }

  /** The views of one kind. */
  list<K extends Kind>(kind: K): ViewOf[K][] {
    return [...this.#objects.get(kind)!.values()].map((h) => h.view as ViewOf[K]);
  }

  get<K extends Kind>(kind: K, key: string): ViewOf[K] | undefined {
    return this.#objects.get(kind)!.get(key)?.view as ViewOf[K] | undefined;
  }

  /** resourceVersion of the newest EndpointSlice of a Service (`ns/name`), 0 when none. */
  sliceVersion(service: string): number {
    let rv = 0;
    for (const h of this.#objects.get('slices')!.values()) {
      if (this.#serviceOfSlice(h.view as SliceView) === service) rv = Math.max(rv, Number(h.rv) || 0);
    }
    return rv;
  }

  snapshot(): Omit<Snapshot, 'lb' | 'healthChecks' | 'traffic' | 'connections' | 'affinity' | 'cookies'> {
    return {
      cluster: this.cluster,
      nodes: this.list('nodes'),
      pods: this.list('pods'),
      services: this.list('services'),
      slices: this.list('slices'),
      ingresses: this.list('ingresses'),
      events: [...this.#events],
      timeline: [...this.#timeline],
    };
  }

  /** The changes since the last flush, or undefined when there were none. */
  flush(): Changes | undefined {
    const p = this.#pending;
    const any = p.events.length || p.timeline.length || KINDS.some((k) => p.upserts[k]?.length || p.deletes[k]?.length);
    if (!any) return undefined;
    this.#pending = empty();
    return p;
  }

  #serviceOfSlice(v: SliceView): string {
    return `${v.namespace}/${v.service}`;
  }

  #noteTimeline(kind: Kind, key: string, prev: ViewOf[Kind] | undefined, next: ViewOf[Kind] | undefined): void {
    if (!this.#listed.has(kind)) return;
    const time = this.now();
    const add = (subject: string, what: TimelineEntry['what'], detail: string) => this.timeline({ time, subject, what, detail });
    if (kind === 'pods') {
      const a = prev as PodView | undefined;
      const b = next as PodView | undefined;
      if (!a && b) add(key, 'pod-created', b.node ? `on ${b.node}` : 'not scheduled yet');
      if (a && b && !a.terminating && b.terminating) add(key, 'pod-terminating', `on ${b.node}`);
      if (a && b && a.ready !== b.ready) add(key, b.ready ? 'pod-ready' : 'pod-unready', `on ${b.node}`);
    } else if (kind === 'slices') {
      const svc = this.#serviceOfSlice((next ?? prev) as SliceView);
      const before = new Map(((prev as SliceView | undefined)?.endpoints ?? []).map((e) => [e.ip, e]));
      const after = new Map(((next as SliceView | undefined)?.endpoints ?? []).map((e) => [e.ip, e]));
      const who = (e: EndpointView) => `${e.ip}${e.pod ? ` (${e.pod.split('/')[1]})` : ''}`;
      for (const [ip, e] of after) {
        const was = before.get(ip);
        if (!was) add(svc, 'endpoint-added', `${who(e)} ${e.ready ? 'ready' : e.terminating ? 'terminating' : 'not ready'}`);
        else if (was.ready !== e.ready) add(svc, e.ready ? 'endpoint-ready' : 'endpoint-unready', `${who(e)}${e.terminating ? ' terminating' : ''}${e.serving && !e.ready ? ' (still serving)' : ''}`);
      }
      for (const [ip, e] of before) if (!after.has(ip)) add(svc, 'endpoint-removed', who(e));
    }
  }
}

/** The key of a view: `ns/name`, or `name` for nodes. */
export function viewKey(v: { namespace?: string; name: string }): string {
  return v.namespace ? `${v.namespace}/${v.name}` : v.name;
}

function empty(): Changes {
  return { type: 'changes', upserts: {}, deletes: {}, events: [], timeline: [] };
}
