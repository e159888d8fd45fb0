/** The page's copy of what the server sent: the snapshot, then changes applied to it. */
import type { Kind, ServerMessage, Snapshot, ViewOf } from '../view.js';

export function viewKey(v: { namespace?: string; name: string }): string {
  return v.namespace ? `${v.namespace}/${v.name}` : v.name;
}

export class Store {
  cluster = '';
  readonly objects: { [K in Kind]: Map<string, ViewOf[K]> } = { nodes: new Map(), pods: new Map(), services: new Map(), slices: new Map(), ingresses: new Map() };
  events: Snapshot['events'] = [];
  timeline: Snapshot['timeline'] = [];
  lb: Snapshot['lb'];
  healthChecks: Snapshot['healthChecks'] = [];
  traffic: Snapshot['traffic'] = [];
  connections: Snapshot['connections'] = [];
  affinity: Snapshot['affinity'] = [];
  cookies: Snapshot['cookies'] = [];
  /** Which parts changed since the last render. */
  readonly dirty = new Set<Kind | 'map' | 'selected' | 'events' | 'timeline' | 'probes' | 'traffic'>();
  /** Bumped for a Service (`ns/name`) whenever one of its EndpointSlices changes. */
  readonly sliceRev = new Map<string, number>();
  #rev = 0;

  apply(m: ServerMessage): void {
    switch (m.type) {
      case 'snapshot': {
        const s = m.snapshot;
        this.cluster = s.cluster;
        for (const k of Object.keys(this.objects) as Kind[]) {
          const map = this.objects[k] as Map<string, ViewOf[Kind]>;
          map.clear();
          for (const v of s[k] as ViewOf[Kind][]) map.set(viewKey(v), v);
          this.dirty.add(k);
        }
        for (const sl of this.objects.slices.values()) this.sliceRev.set(`${sl.namespace}/${sl.service}`, ++this.#rev);
        this.events = s.events;
        this.timeline = s.timeline;
        this.lb = s.lb;
        this.healthChecks = s.healthChecks;
        this.traffic = s.traffic;
        this.connections = s.connections;
        this.affinity = s.affinity;
        this.cookies = s.cookies;
        for (const d of ['map', 'events', 'timeline', 'probes', 'traffic'] as const) this.dirty.add(d);
        return;
      }
      case 'changes': {
        for (const k of Object.keys(this.objects) as Kind[]) {
          const map = this.objects[k] as Map<string, ViewOf[Kind]>;
          if (k === 'slices') {
            for (const key of m.deletes.slices ?? []) {
              const sl = this.objects.slices.get(key);
              if (sl) this.sliceRev.set(`${sl.namespace}/${sl.service}`, ++this.#rev);
            }
            for (const sl of m.upserts.slices ?? []) this.sliceRev.set(`${sl.namespace}/${sl.service}`, ++this.#rev);
          }
          for (const key of m.deletes[k] ?? []) map.delete(key);
          for (const v of (m.upserts[k] ?? []) as ViewOf[Kind][]) map.set(viewKey(v), v);
          if (m.deletes[k]?.length || m.upserts[k]?.length) {
            this.dirty.add('map');
            this.dirty.add(k);
          }
        }
        if (m.events.length) {
          this.events = [...this.events, ...m.events].slice(-200);
          this.dirty.add('events');
        }
        if (m.timeline.length) {
          this.timeline = [...this.timeline, ...m.timeline].slice(-300);
          this.dirty.add('timeline');
        }
        return;
      }
      case 'probes':
        this.lb = m.lb;
        this.healthChecks = m.healthChecks;
        this.affinity = m.affinity;
        this.dirty.add('probes');
        this.dirty.add('map');
        return;
      case 'traffic':
        this.traffic = m.traffic;
        this.connections = m.connections;
        this.dirty.add('traffic');
        return;
      case 'cookies':
        this.cookies = m.cookies;
        this.dirty.add('probes');
        return;
      case 'error':
        return;
    }
  }

  /** The endpoints of a Service (`ns/name`), from all its EndpointSlices, one per address. */
  endpointsOf(service: string): ViewOf['slices']['endpoints'] {
    const seen = new Map<string, ViewOf['slices']['endpoints'][number]>();
    for (const s of this.objects.slices.values()) {
      if (`${s.namespace}/${s.service}` !== service) continue;
      for (const e of s.endpoints) if (!seen.has(e.ip)) seen.set(e.ip, e);
    }
    return [...seen.values()].sort((a, b) => a.ip.localeCompare(b.ip, undefined, { numeric: true }));
  }
}
