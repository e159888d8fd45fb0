/**
 * Whether this kube-proxy is doing its job, as Kubernetes' proxy health
 * server judges it (pkg/proxy/healthcheck): an update that was queued (a
 * Service or EndpointSlice event) and not applied within `timeoutMs` makes
 * the proxy unhealthy, and so does a data-plane sync that failed until one
 * succeeds. Separately, the node is not eligible for load-balancer traffic
 * while its Node is being deleted or carries the cluster autoscaler's
 * ToBeDeletedByClusterAutoscaler taint. `/healthz` needs both (the load
 * balancer health-checks nodes through it); `/livez` only the first.
 * Pure: the clock is injected.
 */
import type { Node } from '@kubemu/api';

export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface HealthState {
  healthy: boolean;
  nodeEligible: boolean;
  /** When the data plane last caught up (ms since epoch); the current time while healthy, as Kubernetes reports it. */
  lastUpdated: number;
  currentTime: number;
  /** Why it is unhealthy, for people reading /healthz. */
  reason?: string;
}

export class ProxyHealth {
  readonly #now: () => number;
  readonly #timeoutMs: number;
  #lastUpdated: number;
  /** The oldest update queued and not applied yet. */
  #oldestQueued?: number;
  #syncError?: string;
  #nodeEligible = true; // eligible while starting, until the Node says otherwise

  constructor(opts: { timeoutMs: number; now?: () => number }) {
    this.#now = opts.now ?? Date.now;
    this.#timeoutMs = opts.timeoutMs;
    this.#lastUpdated = this.#now();
  }

  /** A change arrived that the data plane does not have yet. */
  queued(): void {
    this.#oldestQueued ??= this.#now();
  }

  /** The data plane caught up with everything queued so far. */
  updated(): void {
    this.#oldestQueued = undefined;
    this.#syncError = undefined;
    this.#lastUpdated = this.#now();
  }

  /** A data-plane sync failed (it is retried); unhealthy until one succeeds. */
  failed(reason: string): void {
    this.#syncError = reason;
  }

  /** This node's Node object (undefined: deleted). */
  syncNode(node: Node | undefined): void {
    this.#nodeEligible = node !== undefined && !node.metadata.deletionTimestamp && !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
  }

  state(): HealthState {
    const now = this.#now();
    let reason: string | undefined;
    if (this.#syncError !== undefined) reason = `the last data-plane sync failed: ${this.#syncError}`;
    else if (this.#oldestQueued !== undefined && now - this.#oldestQueued >= this.#timeoutMs) reason = `an update has waited ${now - this.#oldestQueued} ms (limit ${this.#timeoutMs} ms)`;
    const healthy = reason === undefined;
    return { healthy, nodeEligible: this.#nodeEligible, lastUpdated: healthy ? now : this.#lastUpdated, currentTime: now, ...(reason ? { reason } : {}) };
  }
}
