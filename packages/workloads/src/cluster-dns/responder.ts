/**
 * From a query's bytes to a reply's bytes (no I/O): decodes with
 * dns-packet, checks the message (one question, opcode QUERY, class IN,
 * EDNS version 0), asks the records, encodes the reply with EDNS0 when the
 * query had it, and truncates (TC) what does not fit the transport.
 * Replies are cached per question spelling and reply shape until the
 * records change, so a repeated query costs a decode, a map lookup and a
 * copy. Multi-address answers rotate, as CoreDNS's loadbalance plugin does.
 *
 * Never throws: garbage gets FORMERR (when its header can be echoed) or
 * nothing; a response (QR set) is never answered.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';
import { isPresentableName } from './names.js';
import type { Resolution } from './records.js';

export interface RecordSource {
  /** Changes whenever answers may change (cached replies are dropped). */
  readonly generation: number;
  resolve(qname: string, qtype: string): Resolution;
}

export interface ResponderOptions {
  /** The largest UDP reply we send, whatever the client offers (default 4096). */
  maxUdpPayload?: number;
  /** Cached replies kept before the cache starts over (default 20,000). */
  cacheEntries?: number;
}

export type Transport = 'udp' | 'tcp';

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_CD = 0x0010;
const OPCODE_NOTIMP = 4;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** EDNS BADVERS (16): 0 in the header, 1 in the OPT's extended rcode. */
const BADVERS_EXTENDED = 1;
const MIN_UDP = 512;
const MAX_TCP = 65535;
/** At most this many rotations of a multi-address answer are kept. */
const MAX_ROTATIONS = 8;

interface CachedReply {
  variants: Buffer[];
  next: number;
}

export class Responder {
  readonly #source: RecordSource;
  readonly #maxUdp: number;
  readonly #cacheEntries: number;
  readonly #cache = new Map<string, CachedReply>();
  #generation = -1;

  constructor(source: RecordSource, opts: ResponderOptions = {}) {
    this.#source = source;
    this.#maxUdp = Math.max(MIN_UDP, Math.min(opts.maxUdpPayload ?? 4096, 65535));
    this.#cacheEntries = opts.cacheEntries ?? 20_000;
  }

  /** The reply to `query`, or null when it gets none. */
  respond(query: Buffer, transport: Transport): Buffer | null {
    if (query.length < 12) return null;
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(query);
    } catch {
      // Undecodable: echo the ID with FORMERR, unless it claims to be a response.
      if (query[2] & 0x80) return null;
      return encodeSafe({ type: 'response', id: query.readUInt16BE(0), flags: RCODE.FORMERR });
    }
    try {
      return this.#answer(q, transport);
    } catch {
      return encodeSafe({ type: 'response', id: q.id, flags: RCODE.SERVFAIL });
    }
  }

  #answer(q: DecodedPacket, transport: Transport): Buffer | null {
    if (q.flag_qr) return null;
    const id = q.id ?? 0;
    const keep = (q.flag_rd ? FLAG_RD : 0) | (q.flag_cd ? FLAG_CD : 0);
    const questions = q.questions ?? [];
    const opts = (q.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
    const opt = opts[0];
    const replyOpt = (extended = 0): OptAnswer[] =>
      opt ? [{ name: '.', type: 'OPT', udpPayloadSize: this.#maxUdp, extendedRcode: extended, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];

    const opcode = (q.flags ?? 0) >> 11 & 0xf;
    if (opcode !== 0) {
      const echo = questions.length === 1 && isPresentableName(questions[0].name) ? questions : [];
      return encodeSafe({ type: 'response', id, flags: (opcode << 11) | keep | OPCODE_NOTIMP, questions: echo, additionals: replyOpt() });
    }
    if (questions.length !== 1 || opts.length > 1 || !isPresentableName(questions[0].name)) {
      return encodeSafe({ type: 'response', id, flags: keep | RCODE.FORMERR, additionals: opts.length > 1 ? [] : replyOpt() });
    }
    const question = questions[0];
    if (opt && opt.ednsVersion > 0) {
      return encodeSafe({ type: 'response', id, flags: keep, questions: [question], additionals: replyOpt(BADVERS_EXTENDED) });
    }
    const limit = transport === 'tcp' ? MAX_TCP : opt ? Math.max(MIN_UDP, Math.min(opt.udpPayloadSize || MIN_UDP, this.#maxUdp)) : MIN_UDP;

    if (this.#generation !== this.#source.generation) {
      this.#cache.clear();
      this.#generation = this.#source.generation;
    }
    const qclass = question.class ?? 'IN';
    const key = `${question.name}\u0000${question.type}\u0000${qclass}\u0000${opt ? 1 : 0}${keep}\u0000${limit}`;
    let cached = this.#cache.get(key);
    if (!cached) {
      cached = this.#build(question, qclass, keep, replyOpt(), limit);
      if (this.#cache.size >= this.#cacheEntries) this.#cache.clear();
      this.#cache.set(key, cached);
    }
    const v = cached.variants.length === 1 ? cached.variants[0] : cached.variants[cached.next++ % cached.variants.length];
    const out = Buffer.allocUnsafe(v.length);
    v.copy(out);
    out.writeUInt16BE(id, 0);
    return out;
  }

  #build(question: dnsPacket.Question, qclass: string, keep: number, additionalsOpt: OptAnswer[], limit: number): CachedReply {
    const base = { type: 'response' as const, id: 0, questions: [question] };
    if (qclass !== 'IN' && qclass !== 'ANY') {
      // Another class (CHAOS, HESIOD, …) is not ours; an unknown one cannot be echoed faithfully.
      const questions = qclass.startsWith('UNKNOWN_') ? [] : base.questions;
      return { variants: [fit({ ...base, questions, flags: keep | RCODE.REFUSED, additionals: additionalsOpt }, limit)], next: 0 };
    }
    const r = this.#source.resolve(question.name, question.type);
    const flags = keep | (r.authoritative ? FLAG_AA : 0) | RCODE[r.rcode];
    const rotations = rotatable(r.answers) ? Math.min(r.answers.length, MAX_ROTATIONS) : 1;
    const variants: Buffer[] = [];
    for (let i = 0; i < rotations; i++) {
      const answers = i === 0 ? r.answers : [...r.answers.slice(i), ...r.answers.slice(0, i)];
      variants.push(fit({ ...base, flags, answers, authorities: r.authorities, additionals: [...r.additionals, ...additionalsOpt] }, limit));
    }
    return { variants, next: 0 };
  }
}

/** Multi-record answers of one address type (no CNAME chain) rotate. */
function rotatable(answers: Answer[]): boolean {
  if (answers.length < 2) return false;
  const t = answers[0].type;
  if (t !== 'A' && t !== 'AAAA') return false;
  for (const a of answers) if (a.type !== t) return false;
  return true;
}

/**
 * Encodes `p` within `limit` bytes: whole if it fits; else without the
 * additional records (no TC, as miekg/dns truncates); else with as many
 * answers as fit, no authority, and TC set so the client retries over TCP.
 */
function fit(p: Packet, limit: number): Buffer {
  const whole = dnsPacket.encode(p);
  if (whole.length <= limit) return whole;
  const opt = (p.additionals ?? []).filter((a) => a.type === 'OPT');
  const noExtra = { ...p, additionals: opt };
  if (dnsPacket.encodingLength(noExtra) <= limit) return dnsPacket.encode(noExtra);
  const answers = p.answers ?? [];
  let lo = 0;
  let hi = answers.length;
  const shape = (n: number): Packet => ({ ...p, flags: (p.flags ?? 0) | FLAG_TC, answers: answers.slice(0, n), authorities: [], additionals: opt });
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (dnsPacket.encodingLength(shape(mid)) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return dnsPacket.encode(shape(lo));
}

function encodeSafe(p: Packet): Buffer | null {
  try {
    return dnsPacket.encode({ ...p, flags: (p.flags ?? 0) & ~FLAG_QR });
  } catch {
    return null;
  }
}
