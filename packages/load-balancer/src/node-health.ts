/**
 * Health checks of the nodes behind the load balancer, as a cloud LB runs
 * them against kube-proxy: an HTTP GET per target every period; 200 is
 * healthy, anything else (an error status, a refused or timed-out
 * connection) is not. One failed check takes a target out, one passed check
 * brings it back (thresholds of 1, so a dead node gets no new connection
 * within two periods and is back within two periods of healing). A target
 * not checked yet counts as unhealthy; a new target is checked at once.
 */
import http from 'node:http';

export interface HealthTarget {
  /** Stable id, e.g. `node-1 proxy` or `node-1 default/kubia`. */
  key: string;
  ip: string;
  port: number;
  path: string;
}

export interface TargetStatus extends HealthTarget {
  healthy: boolean;
  /** ms since the epoch of the last finished check; 0 = never. */
  checkedAt: number;
  /** Why the last check failed. */
  error?: string;
}

export type Probe = (t: HealthTarget, timeoutMs: number) => Promise<{ ok: boolean; error?: string }>;

/** GET http://ip:port/path; ok on 200. */
export const httpProbe: Probe = (t, timeoutMs) =>
  new Promise((resolve) => {
    const req = http.get({ host: t.ip, port: t.port, path: t.path, agent: false, timeout: timeoutMs, headers: { 'user-agent': 'kubemu-load-balancer' } }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? { ok: true } : { ok: false, error: `HTTP ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ ok: false, error: e.message }));
  });

export interface NodeHealthOptions {
  periodMs: number;
  timeoutMs: number;
  probe?: Probe;
  now?: () => number;
}

export class NodeHealth {
  readonly #o: Required<NodeHealthOptions>;
  readonly #targets = new Map<string, TargetStatus>();
  readonly #listeners: Array<() => void> = [];
  readonly #inFlight = new Set<TargetStatus>();
  #timer?: NodeJS.Timeout;

  constructor(o: NodeHealthOptions) {
    this.#o = { ...o, probe: o.probe ?? httpProbe, now: o.now ?? Date.now };
  }

  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /** Replaces the target set; targets whose address changed start over (unhealthy until checked). */
  setTargets(list: HealthTarget[]): void {
    const want = new Map(list.map((t) => [t.key, t]));
    let changed = false;
    for (const [k, cur] of this.#targets) {
      const t = want.get(k);
      if (!t) {
        this.#targets.delete(k);
        changed = true;
      } else if (t.ip !== cur.ip || t.port !== cur.port || t.path !== cur.path) {
        this.#targets.set(k, { ...t, healthy: false, checkedAt: 0 });
        changed = true;
        void this.#check(k);
      }
    }
    for (const [k, t] of want) {
      if (this.#targets.has(k)) continue;
      this.#targets.set(k, { ...t, healthy: false, checkedAt: 0 });
      void this.#check(k);
    }
    if (changed) this.#notify();
  }

  healthy(key: string): boolean {
    return this.#targets.get(key)?.healthy ?? false;
  }

  status(): TargetStatus[] {
    return [...this.#targets.values()].map((t) => ({ ...t }));
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      for (const k of this.#targets.keys()) void this.#check(k);
    }, this.#o.periodMs);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Runs one round of every check now (tests, and `kubemu` tools). */
  async checkAll(): Promise<void> {
    await Promise.all([...this.#targets.keys()].map((k) => this.#check(k)));
  }

  async #check(key: string): Promise<void> {
    const t = this.#targets.get(key);
    // One check at a time per target; a target replaced (new address) is a new target, checked at once.
    if (!t || this.#inFlight.has(t)) return;
    this.#inFlight.add(t);
    try {
      let r: { ok: boolean; error?: string };
      try {
        r = await this.#o.probe(t, this.#o.timeoutMs); // a probe that throws is a failed check
      } catch (e) {
        r = { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
      const cur = this.#targets.get(key);
      if (cur !== t) return; // replaced or removed meanwhile
      const flipped = cur.healthy !== r.ok || cur.checkedAt === 0;
      cur.healthy = r.ok;
      cur.error = r.error;
      cur.checkedAt = this.#o.now();
      if (flipped) this.#notify();
    } finally {
      this.#inFlight.delete(t);
    }
  }

  #notify(): void {
    for (const fn of this.#listeners) fn();
  }
}
