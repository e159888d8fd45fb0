/**
 * Connection events from the kernel's connection tracking (pure): the lines
 * `conntrack -E -o extended,id` prints as flows are made, change TCP state
 * and are destroyed, turned into the stream's open/close events of Service
 * connections.
 *
 *   [NEW] to a Service port, DNATed      → open (the endpoint the kernel chose)
 *   [NEW] to a Service port, not DNATed  → close "no-endpoints" when the port
 *         has none (the node's stack refuses it: nothing listens there)
 *   [UPDATE] TIME_WAIT / CLOSE           → the connection ended: close "ok",
 *         "reset", or "connect-failed" (the endpoint reset the SYN); its
 *         byte counts are read from a listing (`settle`), since conntrack
 *         reports counters only when the entry is destroyed, 2 min later
 *   [DESTROY] of a flow not closed yet   → close with its counters: "timeout"
 *         (a SYN nobody answered), "no-reply" (UDP), else its state's result
 *
 * A flow is known by conntrack's id. Flows that began before the watch are
 * taken up from a listing when it starts (`adopt`; no open is sent for
 * them). After that an UPDATE or DESTROY of a flow the mapper does not follow
 * is none of its business — most lines a busy node prints are such (flows it
 * only forwards, to its own pods) — and `interested` says so from the
 * line's head and id alone, without parsing the flow.
 */
import type { ConnEvent } from '../conn-events.js';
import type { ConnRecord } from '../proxier.js';
import { parseConntrackLine, type CtFlow } from './conntrack-flows.js';

export interface CtEvent {
  kind: 'NEW' | 'UPDATE' | 'DESTROY';
  /** conntrack's id of the flow (from `-o id`), or its original tuple when absent. */
  id: string;
  flow: CtFlow;
}

/** A Service port a flow's original destination is, and whether it has endpoints anywhere. */
export interface PortMatch {
  service: string;
  via: string;
  hasEndpoints: boolean;
}
export type PortLookup = (protocol: 'TCP' | 'UDP', ip: string, port: number) => PortMatch | undefined;

const EVENT = /^\s*(?:\[\d+\.\d+\]\s*)?\[(NEW|UPDATE|DESTROY)\]\s+(.*)$/;

/** One line of `conntrack -E -o extended,id`; undefined for other lines (notices, ICMP, …). */
export function parseConntrackEvent(line: string): CtEvent | undefined {
  const m = EVENT.exec(line);
  if (!m) return undefined;
  const flow = parseConntrackLine(m[2]!);
  if (!flow) return undefined;
  const id = /\bid=(\d+)\s*$/.exec(m[2]!)?.[1] ?? `${flow.protocol} ${flow.orig.src}:${flow.orig.sport} ${flow.orig.dst}:${flow.orig.dport}`;
  return { kind: m[1] as CtEvent['kind'], id, flow };
}

/** The kind and id of an event line, read without parsing the flow (undefined: not an event line). */
export function peekConntrackEvent(line: string): { kind: CtEvent['kind']; id: string | undefined } | undefined {
  const head = line.slice(0, 48); // `[NEW]` comes first, after a `[seconds.micros]` stamp at most
  const kind = head.includes('[NEW]') ? 'NEW' : head.includes('[UPDATE]') ? 'UPDATE' : head.includes('[DESTROY]') ? 'DESTROY' : undefined;
  if (!kind) return undefined;
  const at = line.lastIndexOf(' id=');
  return { kind, id: at < 0 ? undefined : line.slice(at + 4).trimEnd() };
}

/** True when the kernel rewrote the destination (a Service's DNAT to an endpoint or a node port). */
export function isDnat(f: CtFlow): boolean {
  return f.reply.src !== f.orig.dst || f.reply.sport !== f.orig.dport;
}

interface Tracked {
  rec: ConnRecord;
  /** The endpoint answered (SYN_RECV / ESTABLISHED seen, or a reply). */
  answered: boolean;
}

const LIVE_TCP = new Set(['SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK']);

export interface MapperOptions {
  node: string;
  /** The Service ports now (called once per event that could be one). */
  lookup: PortLookup;
  /** Follow forwarded (DNATed) flows to their end; false: report refusals only (the userspace relays report the rest). */
  lifecycle: boolean;
  now?: () => number;
  /** Flows followed at most (the oldest is forgotten beyond it). */
  maxFlows?: number;
}

export class ConntrackEventMapper {
  readonly #o: MapperOptions;
  readonly #now: () => number;
  readonly #flows = new Map<string, Tracked>();
  /** Closes waiting for their byte counts. */
  readonly #pending = new Map<string, ConnEvent>();

  constructor(o: MapperOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Flows followed now (tests: nothing may pile up). */
  get following(): number {
    return this.#flows.size;
  }

  /** Closes waiting for `settle`. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Whether a line of this kind about flow `id` can make an event: every
   * NEW; an UPDATE or DESTROY only of a flow followed or waiting for its
   * counters (an id-less line is parsed to be sure).
   */
  interested(kind: CtEvent['kind'], id: string | undefined): boolean {
    if (kind === 'NEW') return true;
    if (!this.#o.lifecycle) return false;
    return id === undefined || this.#flows.has(id) || this.#pending.has(id);
  }

  /** Takes up the live DNATed TCP flows of a listing (id → flow) made as the watch starts: followed from now, no open sent. */
  adopt(listing: Map<string, CtFlow>): void {
    if (!this.#o.lifecycle) return;
    for (const [id, f] of listing) {
      if (this.#flows.has(id) || f.protocol !== 'TCP' || !LIVE_TCP.has(f.state) || !isDnat(f)) continue;
      const m = this.#o.lookup(f.protocol, f.orig.dst, f.orig.dport);
      if (m) this.#follow(id, { rec: this.#record(f, m, `${f.reply.src}:${f.reply.sport}`), answered: true });
    }
  }

  /** The events one conntrack event makes (none for most). */
  handle(ev: CtEvent): ConnEvent[] {
    const f = ev.flow;
    const dnat = isDnat(f);
    if (ev.kind === 'NEW') {
      const m = this.#o.lookup(f.protocol, f.orig.dst, f.orig.dport);
      if (!m) return [];
      if (!dnat) return m.hasEndpoints ? [] : [{ type: 'close', ...this.#record(f, m, ''), result: 'no-endpoints', attempts: 0 }];
      if (!this.#o.lifecycle) return [];
      const rec = this.#record(f, m, `${f.reply.src}:${f.reply.sport}`);
      this.#follow(ev.id, { rec, answered: !f.unreplied });
      return [{ type: 'open', ...rec, result: 'open' }];
    }
    if (!this.#o.lifecycle || !dnat) return [];
    const t = this.#flows.get(ev.id);
    if (ev.kind === 'UPDATE') {
      if (!t) return []; // not followed: another node's flow, or older than the watch and not in its first listing
      if (f.state === 'SYN_RECV' || f.state === 'ESTABLISHED' || !f.unreplied) t.answered = true;
      if (f.state === 'TIME_WAIT' || f.state === 'CLOSE') {
        this.#flows.delete(ev.id);
        this.#pending.set(ev.id, this.#close(t, f.state === 'TIME_WAIT' ? 'ok' : t.answered ? 'reset' : 'connect-failed'));
      }
      return [];
    }
    // DESTROY: the entry is gone, with its final counters
    const p = this.#pending.get(ev.id);
    if (p) {
      this.#pending.delete(ev.id);
      return [{ ...p, bytesIn: f.orig.bytes, bytesOut: f.reply.bytes }];
    }
    if (!t) return [];
    this.#flows.delete(ev.id);
    const result = f.unreplied ? (f.protocol === 'TCP' ? 'timeout' : 'no-reply') : f.state === 'CLOSE' ? (t.answered ? 'reset' : 'connect-failed') : 'ok';
    return [{ ...this.#close(t, result), bytesIn: f.orig.bytes, bytesOut: f.reply.bytes }];
  }

  /** Sends the waiting closes, with the counters of those `listing` (id → flow, from `conntrack -L -o extended,id`) still holds. */
  settle(listing: Map<string, CtFlow>): ConnEvent[] {
    const out: ConnEvent[] = [];
    for (const [id, e] of this.#pending) {
      const f = listing.get(id);
      out.push(f ? { ...e, bytesIn: f.orig.bytes, bytesOut: f.reply.bytes } : e);
    }
    this.#pending.clear();
    return out;
  }

  /** Forgets every flow (the watch stopped). */
  reset(): void {
    this.#flows.clear();
    this.#pending.clear();
  }

  #follow(id: string, t: Tracked): void {
    this.#flows.set(id, t);
    if (this.#flows.size > (this.#o.maxFlows ?? 65_536)) this.#flows.delete(this.#flows.keys().next().value!);
  }

  #record(f: CtFlow, m: PortMatch, endpoint: string): ConnRecord {
    const now = this.#now();
    return {
      start: f.age >= 0 ? now - f.age * 1000 : now,
      durationMs: 0,
      protocol: f.protocol,
      service: m.service,
      via: m.via,
      client: `${f.orig.src}:${f.orig.sport}`,
      node: this.#o.node,
      endpoint,
      bytesIn: 0,
      bytesOut: 0,
      result: 'open',
      attempts: endpoint ? 1 : 0,
    };
  }

  #close(t: Tracked, result: string): ConnEvent {
    return { type: 'close', ...t.rec, durationMs: Math.max(0, this.#now() - t.rec.start), result };
  }
}
