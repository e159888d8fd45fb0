/**
 * Per-connection accounting in nftables mode. The kernel forwards, so no
 * connection passes through kube-proxy; the kernel's connection tracking
 * already keeps what the userspace proxy records by hand (client, the
 * endpoint DNAT chose, bytes each way, age), at no extra cost per
 * connection once `nf_conntrack_acct` and `nf_conntrack_timestamp` are on.
 * `/connections` reads the DNATed flows (`conntrack -L --dst-nat`) when
 * asked and names each one's Service port. Closed TCP connections stay
 * listed while their entry waits out TIME_WAIT (2 minutes by default).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ConnRecord } from '../proxier.js';
import { run } from '@kubemu/netns';

interface Tuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  bytes: number;
}

export interface CtFlow {
  protocol: 'TCP' | 'UDP';
  orig: Tuple;
  reply: Tuple;
  /** TCP state (ESTABLISHED, TIME_WAIT, …); '' for UDP. */
  state: string;
  /** Seconds left before the entry expires. */
  timeout: number;
  /** Seconds since the flow started (needs nf_conntrack_timestamp), or -1. */
  age: number;
  unreplied: boolean;
}

/** One line of `conntrack -L -o extended`; undefined when it is not a TCP/UDP flow. */
export function parseConntrackLine(line: string): CtFlow | undefined {
  const words = line.trim().split(/\s+/);
  // ipv4 2 tcp 6 <timeout> [STATE] key=value… [FLAGS] key=value…
  const proto = words[2];
  if (proto !== 'tcp' && proto !== 'udp') return undefined;
  const timeout = Number(words[4]);
  const state = proto === 'tcp' && !words[5]?.includes('=') ? words[5] : '';
  const tuples: Partial<Tuple>[] = [{}, {}];
  let t = -1;
  let age = -1;
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) continue;
    const k = w.slice(0, eq);
    const v = w.slice(eq + 1);
    if (k === 'src') t++;
    if (t > 1) break;
    if (k === 'src' || k === 'dst') tuples[t][k] = v;
    else if (k === 'sport' || k === 'dport' || k === 'bytes') tuples[t][k] = Number(v);
    else if (k === 'delta-time') age = Number(v);
  }
  const [o, r] = tuples;
  if (!o.src || !r.src || o.dport === undefined || r.sport === undefined) return undefined;
  return {
    protocol: proto === 'tcp' ? 'TCP' : 'UDP',
    orig: { src: o.src, dst: o.dst ?? '', sport: o.sport ?? 0, dport: o.dport, bytes: o.bytes ?? 0 },
    reply: { src: r.src, dst: r.dst ?? '', sport: r.sport, dport: r.dport ?? 0, bytes: r.bytes ?? 0 },
    state,
    timeout,
    age,
    unreplied: line.includes('[UNREPLIED]'),
  };
}

/** What a flow's original destination was: a Service port and how it was reached. */
export type ServiceLookup = (protocol: 'TCP' | 'UDP', ip: string, port: number) => { service: string; via: string } | undefined;

/** A flow as a connection record (undefined when it is not to a Service). `tcpTimeWait`: the conntrack TIME_WAIT timeout, s. */
export function flowRecord(f: CtFlow, lookup: ServiceLookup, node: string, now: number, tcpTimeWait = 120): ConnRecord | undefined {
  const svc = lookup(f.protocol, f.orig.dst, f.orig.dport);
  if (!svc) return undefined;
  const age = Math.max(0, f.age);
  // a closed connection's entry has been ageing in TIME_WAIT for (timeout - left) seconds: not part of its duration
  const lived = f.state === 'TIME_WAIT' ? Math.max(0, age - (tcpTimeWait - f.timeout)) : age;
  const result = f.state === 'TIME_WAIT' ? 'ok' : f.state === 'CLOSE' ? 'reset' : f.unreplied ? (f.protocol === 'TCP' ? 'connecting' : 'no-reply') : 'open';
  return {
    start: now - age * 1000,
    durationMs: lived * 1000,
    protocol: f.protocol,
    service: svc.service,
    via: svc.via,
    client: `${f.orig.src}:${f.orig.sport}`,
    node,
    endpoint: `${f.reply.src}:${f.reply.sport}`,
    bytesIn: f.orig.bytes,
    bytesOut: f.reply.bytes,
    result,
    attempts: 1,
  };
}

const SYSCTL = '/proc/sys/net/netfilter';

/** Turns on byte counters and start timestamps for this namespace's connections; returns what could not be set. */
export function enableConntrackAccounting(): string[] {
  const failed: string[] = [];
  for (const k of ['nf_conntrack_acct', 'nf_conntrack_timestamp']) {
    try {
      writeFileSync(`${SYSCTL}/${k}`, '1');
    } catch {
      failed.push(k);
    }
  }
  return failed;
}

function tcpTimeWaitSeconds(): number {
  try {
    return Number(readFileSync(`${SYSCTL}/nf_conntrack_tcp_timeout_time_wait`, 'utf8')) || 120;
  } catch {
    return 120;
  }
}

/**
 * The `conntrack -L --dst-nat -o extended` lines of this namespace (DNATed
 * flows; `tcpOnly`: TCP ones; `ids`: each line ends with the flow's `id=`).
 * Throws when conntrack cannot list.
 */
export async function listDnatFlows(o: { tcpOnly?: boolean; ids?: boolean } = {}): Promise<string[]> {
  const args = ['-L', ...(o.tcpOnly ? ['-p', 'tcp'] : []), '--dst-nat', '-o', o.ids ? 'extended,id' : 'extended'];
  const r = await run('conntrack', args, { timeoutMs: 5000, allowFail: true });
  if (r.code !== 0) {
    throw new Error(r.error?.notInstalled ? 'conntrack is not installed; install the conntrack package to list connections' : `listing conntrack failed: ${r.stderr.trim()}`);
  }
  return r.stdout.split('\n');
}

/** The DNATed flows to Services in this namespace (`total`) and the newest `limit` of them, oldest first. Throws when conntrack cannot list. */
export async function serviceFlows(lookup: ServiceLookup, node: string, limit: number): Promise<{ total: number; items: ConnRecord[] }> {
  const lines = await listDnatFlows();
  const now = Date.now();
  const tw = tcpTimeWaitSeconds();
  const out: ConnRecord[] = [];
  for (const line of lines) {
    const f = line && parseConntrackLine(line);
    const rec = f ? flowRecord(f, lookup, node, now, tw) : undefined;
    if (rec) out.push(rec);
  }
  out.sort((a, b) => a.start - b.start);
  return { total: out.length, items: limit > 0 ? out.slice(-limit) : [] };
}
