/**
 * Ingress cookie affinity decoded to pods, for the dashboard: while a page is
 * open, follows the access log of every ingress controller pod through the
 * API (`pods/log?follow=true`) and keeps, per cookie value, the pod it pins
 * (the controller writes it in each access line: `affinity: {cookie, mode,
 * state, value, pod, addr}`; the value itself is an opaque hash).
 */
import { request } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { ClusterAccess } from '../kubeconfig.js';
import type { CookieView } from './view.js';

const KEEP = 50;

interface AccessLine {
  msg?: string;
  time?: number;
  host?: string;
  ingress?: string;
  affinity?: { cookie: string; mode: string; state: string; value: string; pod: string; addr: string };
}

/** The cookie an access-log line tells of, or undefined (pure). `podNamespace`: where the upstream pods are (the Ingress's namespace). */
export function cookieOfLine(line: string, now: number): Omit<CookieView, 'requests'> | undefined {
  if (!line.includes('"affinity"')) return undefined;
  let o: AccessLine;
  try {
    o = JSON.parse(line) as AccessLine;
  } catch {
    return undefined;
  }
  const a = o.affinity;
  if (o.msg !== 'access' || !a?.value) return undefined;
  const ns = (o.ingress ?? '').split('/')[0] ?? '';
  return {
    ingress: o.ingress ?? '',
    host: o.host ?? '',
    cookie: a.cookie,
    value: a.value,
    mode: a.mode,
    state: a.state,
    pod: a.pod ? `${ns}/${a.pod}` : '',
    addr: a.addr,
    time: typeof o.time === 'number' ? o.time : now,
  };
}

export class IngressCookies {
  readonly #byValue = new Map<string, CookieView>();
  readonly #streams = new Map<string, { req?: ClientRequest; timer?: NodeJS.Timeout }>();
  #stopped = false;

  constructor(
    readonly access: ClusterAccess,
    /** Called when the table changed. */
    readonly onChange: () => void,
    readonly now: () => number = Date.now,
  ) {}

  /** The cookies seen, newest first. */
  current(): CookieView[] {
    return [...this.#byValue.values()].sort((a, b) => b.time - a.time);
  }

  /** Takes one access-log line (exposed for tests). */
  line(text: string): void {
    const c = cookieOfLine(text, this.now());
    if (!c) return;
    const prev = this.#byValue.get(c.value);
    this.#byValue.delete(c.value);
    this.#byValue.set(c.value, { ...c, requests: (prev?.requests ?? 0) + 1 });
    while (this.#byValue.size > KEEP) this.#byValue.delete(this.#byValue.keys().next().value!);
    this.onChange();
  }

  /** Follows exactly these controller pods (`ns/name`). */
  follow(pods: string[]): void {
    if (this.#stopped) return;
    const want = new Set(pods);
    for (const [key, s] of this.#streams) {
      if (!want.has(key)) {
        clearTimeout(s.timer);
        s.req?.destroy();
        this.#streams.delete(key);
      }
    }
    for (const key of want) if (!this.#streams.has(key)) this.#open(key);
  }

  stop(): void {
    this.follow([]);
    this.#stopped = true;
  }

  #open(key: string): void {
    const [ns, name] = key.split('/') as [string, string];
    const s: { req?: ClientRequest; timer?: NodeJS.Timeout } = {};
    this.#streams.set(key, s);
    const again = () => {
      if (this.#streams.get(key) !== s) return;
      s.timer = setTimeout(() => {
        if (this.#streams.get(key) !== s) return;
        this.#streams.delete(key);
        this.#open(key);
      }, 2000);
    };
    const url = new URL(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/log?follow=true&sinceSeconds=2`, this.access.server);
    let buf = '';
    s.req = request(url, { method: 'GET', ca: this.access.ca, headers: this.access.token ? { Authorization: `Bearer ${this.access.token}` } : {} }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return again();
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          this.line(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
      res.on('error', () => undefined);
      res.on('close', again);
    });
    s.req.on('error', again);
    s.req.end();
  }
}
