/**
 * Kubelet's probe worker state machine for one probe of one container:
 * starts after initialDelaySeconds, runs every periodSeconds, and flips its
 * result only after successThreshold consecutive successes or failureThreshold
 * consecutive failures. Initial result: readiness false, liveness/startup true
 * (startup: unknown until it succeeds).
 */
import type { Probe } from '@kubemu/api';
import type { ProbeResult } from './probe.js';

export type ProbeKind = 'Readiness' | 'Liveness' | 'Startup';

export interface ProbeWorkerEvents {
  /** The result flipped (after thresholds). */
  onChange(ok: boolean): void;
  /** Each failed attempt (kubelet emits an Unhealthy event). */
  onFailure(r: ProbeResult): void;
}

export class ProbeWorker {
  readonly kind: ProbeKind;
  readonly #probe: Probe;
  readonly #run: () => Promise<ProbeResult>;
  readonly #events: ProbeWorkerEvents;
  #timer?: NodeJS.Timeout;
  #result: boolean;
  #successes = 0;
  #failures = 0;
  #stopped = false;
  #busy = false;

  constructor(kind: ProbeKind, probe: Probe, run: () => Promise<ProbeResult>, events: ProbeWorkerEvents) {
    this.kind = kind;
    this.#probe = probe;
    this.#run = run;
    this.#events = events;
    this.#result = kind === 'Liveness';
  }

  get result(): boolean {
    return this.#result;
  }

  /** `sinceStartMs`: how long the container has been running (probes resume after an agent restart). */
  start(sinceStartMs = 0): void {
    const delay = Math.max(0, (this.#probe.initialDelaySeconds ?? 0) * 1000 - sinceStartMs);
    this.#timer = setTimeout(() => this.#tick(), delay);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const period = (this.#probe.periodSeconds ?? 10) * 1000;
    if (!this.#busy) {
      this.#busy = true;
      let r: ProbeResult;
      try {
        r = await this.#run();
      } catch (e) {
        r = { ok: false, message: (e as Error).message };
      }
      this.#busy = false;
      if (this.#stopped) return;
      this.#record(r);
    }
    this.#timer = setTimeout(() => this.#tick(), period);
  }

  #record(r: ProbeResult): void {
    if (r.ok) {
      this.#failures = 0;
      this.#successes++;
      if (!this.#result && this.#successes >= (this.#probe.successThreshold ?? 1)) this.#flip(true);
      return;
    }
    this.#successes = 0;
    this.#failures++;
    this.#events.onFailure(r);
    // A startup probe that never succeeded also "fails" at the threshold: the container is killed.
    if (this.#failures >= (this.#probe.failureThreshold ?? 3) && (this.#result || this.kind === 'Startup')) this.#flip(false);
  }

  #flip(ok: boolean): void {
    this.#result = ok;
    if (!ok) this.#failures = 0;
    this.#events.onChange(ok);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
