/**
 * A DNS load generator (the core of scripts/bench/dns.mjs): keeps
 * `concurrency` queries in flight over UDP against one server, for a
 * duration or a count, and reports queries/s and latency percentiles.
 * Queries are encoded once with dns-packet; each reply is matched to its
 * query by ID, and every reply's rcode is tallied (an unanswered query
 * times out and counts as lost). Use it against loopback or the project's
 * own networks only.
 */
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import type { RecordType } from 'dns-packet';

export interface DnsLoadOptions {
  host: string;
  port: number;
  /** Questions asked in turn. */
  questions: Array<{ name: string; type?: RecordType }>;
  /** Queries in flight (default 64), spread over `sockets` source ports (default 4). */
  concurrency?: number;
  sockets?: number;
  /** Stop after this long (default 5 s) or this many queries, whichever comes first. */
  durationMs?: number;
  count?: number;
  /** A query unanswered this long is lost and replaced (default 1 s). */
  timeoutMs?: number;
  /** Add an EDNS0 OPT (4096 bytes) to the queries (default false). */
  edns?: boolean;
}

export interface DnsLoadResult {
  sent: number;
  answered: number;
  lost: number;
  /** Replies per rcode name ("NOERROR", "NXDOMAIN", …). */
  rcodes: Record<string, number>;
  seconds: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface InFlight {
  sentAt: number;
  timer?: NodeJS.Timeout;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export async function runDnsLoad(opts: DnsLoadOptions): Promise<DnsLoadResult> {
  const concurrency = Math.max(1, opts.concurrency ?? 64);
  const nSockets = Math.max(1, Math.min(opts.sockets ?? 4, concurrency));
  const durationMs = opts.durationMs ?? 5000;
  const count = opts.count ?? Infinity;
  const timeoutMs = opts.timeoutMs ?? 1000;
  if (opts.questions.length === 0) throw new RangeError('runDnsLoad: no questions');
  const templates = opts.questions.map((q) =>
    dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: q.name, type: q.type ?? 'A', class: 'IN' }],
      additionals: opts.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
    }),
  );

  const latencies = new Float64Array(1 << 20);
  let nLat = 0;
  const rcodes: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  let lost = 0;
  let nextId = 1;
  let qi = 0;
  const inflight = new Map<number, InFlight>();
  const sockets = Array.from({ length: nSockets }, () => createSocket('udp4'));
  const start = performance.now();
  const deadline = start + durationMs;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let stopping = false;

  const sendOne = (sock: (typeof sockets)[number]) => {
    if (stopping) return;
    if (sent >= count || performance.now() >= deadline) {
      stopping = true;
      if (inflight.size === 0) finish();
      return;
    }
    let id = nextId;
    for (let tries = 0; inflight.has(id) && tries < 65536; tries++) id = (id % 65535) + 1;
    nextId = (id % 65535) + 1;
    const t = templates[qi++ % templates.length];
    const q = Buffer.allocUnsafe(t.length);
    t.copy(q);
    q.writeUInt16BE(id, 0);
    const f: InFlight = { sentAt: performance.now() };
    f.timer = setTimeout(() => {
      if (inflight.get(id) !== f) return;
      inflight.delete(id);
      lost++;
      sendOne(sock);
      if (stopping && inflight.size === 0) finish();
    }, timeoutMs);
    inflight.set(id, f);
    sent++;
    sock.send(q, opts.port, opts.host);
  };

  for (const sock of sockets) {
    sock.on('message', (msg) => {
      let id: number;
      let rcode: string;
      try {
        const p = dnsPacket.decode(msg);
        id = p.id ?? -1;
        rcode = RCODES[(p.flags ?? 0) & 0xf] ?? `RCODE_${(p.flags ?? 0) & 0xf}`;
      } catch {
        return;
      }
      const f = inflight.get(id);
      if (!f) return;
      inflight.delete(id);
      clearTimeout(f.timer);
      answered++;
      rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
      if (nLat < latencies.length) latencies[nLat++] = performance.now() - f.sentAt;
      sendOne(sock);
      if (stopping && inflight.size === 0) finish();
    });
    sock.on('error', () => {});
  }
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.bind(0, opts.host.includes(':') ? '::' : '0.0.0.0', () => r()))));
  for (let i = 0; i < concurrency; i++) sendOne(sockets[i % nSockets]);
  await done;
  const seconds = (performance.now() - start) / 1000;
  for (const s of sockets) s.close();
  for (const f of inflight.values()) clearTimeout(f.timer);
  const lat = latencies.subarray(0, nLat).sort();
  const pct = (p: number) => (nLat ? lat[Math.min(nLat - 1, Math.floor(p * nLat))] : 0);
  return {
    sent,
    answered,
    lost,
    rcodes,
    seconds,
    qps: answered / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: nLat ? lat[nLat - 1] : 0,
  };
}
