/**
 * Endpoint choice for one service port, as the userspace kube-proxy did it
 * (k8s pkg/proxy/userspace/roundrobin.go):
 *
 *   endpoints ──shuffle──▶ [e2 e0 e1]  index ─▶ next() = e[index++ % n]
 *                                        │
 *   ClientIP affinity: clientIP ─▶ {endpoint, lastUsed}; a hit younger than
 *   the timeout wins and slides the window; entries whose endpoint left are
 *   dropped.
 *
 * Any change of the endpoint set re-shuffles and resets the index, so new
 * connections spread evenly at once. Pure: time is passed in.
 */

interface Sticky {
  endpoint: string;
  lastUsed: number;
}

export class RoundRobin {
  #endpoints: string[] = [];
  #set = new Set<string>();
  #index = 0;
  #ttlMs = 0;
  readonly #affinity = new Map<string, Sticky>();
  #lastSweep = 0;
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** Sets the endpoints (`ip:port`); a different set is shuffled and the index reset. */
  setEndpoints(list: readonly string[]): void {
    const next = new Set(list);
    if (next.size === this.#set.size && [...next].every((e) => this.#set.has(e))) return;
    this.#set = next;
    const arr = [...next];
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    this.#endpoints = arr;
    this.#index = 0;
    for (const [ip, s] of this.#affinity) if (!next.has(s.endpoint)) this.#affinity.delete(ip);
  }

  /** ClientIP affinity timeout in seconds; 0 turns affinity off (and forgets every client). */
  setAffinity(seconds: number): void {
    const ms = Math.max(0, seconds) * 1000;
    if (ms === this.#ttlMs) return;
    this.#ttlMs = ms;
    this.#affinity.clear();
  }

  /**
   * The endpoint for a new connection from `clientIP`, or undefined when there
   * is none. `resetAffinity` (after a failed dial) skips the sticky entry.
   */
  next(clientIP: string, now: number, resetAffinity = false): string | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    if (this.#ttlMs > 0) {
      if (now - this.#lastSweep > 60_000) this.#sweep(now);
      const s = this.#affinity.get(clientIP);
      if (s && !resetAffinity && now - s.lastUsed < this.#ttlMs && this.#set.has(s.endpoint)) {
        s.lastUsed = now;
        return s.endpoint;
      }
    }
    const ep = this.#endpoints[this.#index % n];
    this.#index = (this.#index + 1) % n;
    if (this.#ttlMs > 0) this.#affinity.set(clientIP, { endpoint: ep, lastUsed: now });
    return ep;
  }

  /** Number of clients with a live sticky entry (for tests and status). */
  stickyClients(now: number): number {
    let k = 0;
    for (const s of this.#affinity.values()) if (now - s.lastUsed < this.#ttlMs) k++;
    return k;
  }

  /** The clients held to an endpoint now, with the ms left. */
  stickies(now: number): { client: string; endpoint: string; msLeft: number }[] {
    const out: { client: string; endpoint: string; msLeft: number }[] = [];
    for (const [client, s] of this.#affinity) {
      const left = this.#ttlMs - (now - s.lastUsed);
      if (left > 0 && this.#set.has(s.endpoint)) out.push({ client, endpoint: s.endpoint, msLeft: left });
    }
    return out;
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [ip, s] of this.#affinity) if (now - s.lastUsed >= this.#ttlMs) this.#affinity.delete(ip);
  }
}
