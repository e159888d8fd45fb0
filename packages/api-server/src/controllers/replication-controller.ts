/**
 * One reconciler for ReplicationControllers (map selector, core/v1) and
 * ReplicaSets (LabelSelector, apps/v1), as Kubernetes'
 * pkg/controller/replicaset (which also runs ReplicationControllers).
 *
 * Model: keys are "rc:<ns>/<name>" and "rs:<ns>/<name>". Owner events enqueue
 * the owner; a pod event enqueues its controller (from its controller
 * ownerReference) or, for an orphan, every RC/RS of the namespace whose
 * selector matches it. Syncing one owner:
 *   1. Claim: of the namespace's active pods (not Succeeded/Failed, not
 *      terminating), those controlled by this owner and still matching stay
 *      its own; controlled ones that stopped matching are released (their
 *      ownerReference removed); matching orphans are adopted (a controller
 *      ownerReference is added) unless the owner is being deleted.
 *   2. Manage: fewer than spec.replicas (default 1) ⇒ create pods from the
 *      template (generateName "<name>-", the template's labels and
 *      annotations, ownerReference controller=true blockOwnerDeletion=true),
 *      at most 500 per sync, stopping at the first failure; more ⇒ delete the
 *      surplus, preferring unscheduled, then Pending/Unknown, then not ready,
 *      then pods on nodes crowded with this owner's pods, then the most
 *      recently ready, most restarted, newest (Kubernetes' ActivePodsWithRanks).
 *      Events: SuccessfulCreate "Created pod: x", SuccessfulDelete
 *      "Deleted pod: x", FailedCreate / FailedDelete on errors.
 *   3. Status (via updateStatus, only when it changed): replicas,
 *      fullyLabeledReplicas, readyReplicas, availableReplicas (ready for
 *      minReadySeconds; re-checked when that time comes), observedGeneration,
 *      and a ReplicaFailure condition while creating/deleting fails.
 */
import type { Logger } from 'pino';
import {
  selectorFromLabelSelector,
  selectorFromMap,
  type Condition,
  type KubeObject,
  type LabelMatcher,
  type Pod,
  type PodTemplateSpec,
  type ReplicaSet,
  type ReplicationController,
  type ResourceInfo,
} from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import {
  BaseController,
  type BaseControllerOptions,
  type Clock,
  clone,
  controllerRef,
  getCondition,
  isNotFound,
  isPodActive,
  isPodAvailable,
  isPodReady,
  keyOf,
  ownerRefFor,
  parseTime,
  rfc3339,
  semanticEqual,
  systemClock,
} from './controller-utils.js';
import { EventRecorder } from './event-recorder.js';
import { R } from './resources.js';

export const BURST_REPLICAS = 500;

type Owner = ReplicationController | ReplicaSet;

interface KindInfo {
  prefix: 'rc' | 'rs';
  resource: ResourceInfo;
  kind: string;
  events: EventRecorder;
}

export interface ReplicationControllerOptions extends BaseControllerOptions {
  clock?: Clock;
  /** Most pods created or deleted per sync (default 500). */
  burstReplicas?: number;
}

/** The pod selector of an RC (map; empty ⇒ the template's labels, as API defaulting does) or RS (LabelSelector; empty ⇒ nothing). */
export function ownerSelector(owner: Owner): LabelMatcher {
  if (owner.kind === 'ReplicationController') {
    const sel = (owner as ReplicationController).spec?.selector;
    const map = sel && Object.keys(sel).length ? sel : owner.spec?.template?.metadata?.labels;
    return map && Object.keys(map).length ? selectorFromMap(map) : selectorFromMap(null);
  }
  const m = selectorFromLabelSelector((owner as ReplicaSet).spec?.selector);
  return m.empty ? selectorFromMap(null) : m;
}

export class ReplicationManager extends BaseController {
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #rc: KindInfo;
  readonly #rs: KindInfo;

  constructor(client: ObjectClient, log: Logger, opts: ReplicationControllerOptions = {}) {
    super(client, log, 'replication-manager', opts);
    this.#clock = opts.clock ?? systemClock;
    this.#burst = opts.burstReplicas ?? BURST_REPLICAS;
    this.#rc = {
      prefix: 'rc',
      resource: R.replicationControllers,
      kind: 'ReplicationController',
      events: new EventRecorder(client, this.log, { component: 'replication-controller', clock: this.#clock }),
    };
    this.#rs = {
      prefix: 'rs',
      resource: R.replicaSets,
      kind: 'ReplicaSet',
      events: new EventRecorder(client, this.log, { component: 'replicaset-controller', clock: this.#clock }),
    };
  }

  protected setupWatches(): void {
    this.watch<Owner>(R.replicationControllers, {}, (ev) => this.queue.add(`rc:${keyOf(ev.object)}`));
    this.watch<Owner>(R.replicaSets, {}, (ev) => this.queue.add(`rs:${keyOf(ev.object)}`));
    this.watch<Pod>(R.pods, {}, (ev) => this.#onPod(ev.object));
  }

  #onPod(pod: Pod): void {
    const ns = pod.metadata.namespace ?? 'default';
    const ref = controllerRef(pod);
    if (ref) {
      if (ref.kind === 'ReplicationController' && ref.apiVersion === 'v1') this.queue.add(`rc:${ns}/${ref.name}`);
      else if (ref.kind === 'ReplicaSet' && ref.apiVersion.startsWith('apps/')) this.queue.add(`rs:${ns}/${ref.name}`);
      return;
    }
    if (!isPodActive(pod)) return;
    for (const k of [this.#rc, this.#rs]) {
      for (const o of this.client.list<Owner>(k.resource, { namespace: ns }).items) {
        if (ownerSelector(o).matches(pod.metadata.labels)) this.queue.add(`${k.prefix}:${keyOf(o)}`);
      }
    }
  }

  protected resync(): void {
    for (const k of [this.#rc, this.#rs]) {
      for (const o of this.client.list<Owner>(k.resource).items) this.queue.add(`${k.prefix}:${keyOf(o)}`);
    }
  }

  protected sync(key: string): void {
    const colon = key.indexOf(':');
    const info = key.slice(0, colon) === 'rc' ? this.#rc : this.#rs;
    const rest = key.slice(colon + 1);
    const slash = rest.indexOf('/');
    const ns = rest.slice(0, slash);
    const name = rest.slice(slash + 1);
    const owner = this.client.get<Owner>(info.resource, ns, name);
    if (!owner) return;
    const selector = ownerSelector(owner);
    const pods = this.#claim(owner, selector);

    let failure: { reason: string; message: string } | undefined;
    let pending: unknown;
    try {
      failure = this.#manage(owner, info, pods);
    } catch (err) {
      pending = err;
    }
    this.#updateStatus(owner, info, selector, failure, key);
    if (pending) throw pending;
    if (failure) throw new Error(failure.message);
  }

  /** ClaimPods: adopt matching orphans, release non-matching, return this owner's active pods. */
  #claim(owner: Owner, selector: LabelMatcher): Pod[] {
    const mine: Pod[] = [];
    const deleting = !!owner.metadata.deletionTimestamp;
    for (const pod of this.client.list<Pod>(R.pods, { namespace: owner.metadata.namespace }).items) {
      if (!isPodActive(pod)) continue;
      const ref = controllerRef(pod);
      const matches = selector.matches(pod.metadata.labels);
      if (ref) {
        if (ref.uid !== owner.metadata.uid) continue;
        if (matches) {
          mine.push(pod);
        } else if (!deleting) {
          const next = clone(pod);
          next.metadata.ownerReferences = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
          if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
          this.#tryUpdatePod(next);
        }
        continue;
      }
      if (!matches || deleting || pod.metadata.deletionTimestamp) continue;
      const next = clone(pod);
      next.metadata.ownerReferences = [...(pod.metadata.ownerReferences ?? []), ownerRefFor(owner)];
      const adopted = this.#tryUpdatePod(next);
      if (adopted) mine.push(adopted);
    }
    return mine;
  }

  #tryUpdatePod(pod: Pod): Pod | undefined {
    try {
      return this.client.update<Pod>(R.pods, pod);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates or deletes pods; returns a failure to report, if any. */
  #manage(owner: Owner, info: KindInfo, pods: Pod[]): { reason: string; message: string } | undefined {
    const want = Math.max(0, owner.spec?.replicas ?? 1);
    const diff = pods.length - want;
    if (diff < 0) {
      if (owner.metadata.deletionTimestamp) return undefined;
      const template = owner.spec?.template;
      if (!template) return { reason: 'FailedCreate', message: 'spec.template is missing' };
      const n = Math.min(-diff, this.#burst);
      for (let i = 0; i < n; i++) {
        try {
          const pod = this.client.create<Pod>(R.pods, podFromTemplate(owner, template));
          info.events.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (err) {
          const message = (err as Error).message;
          info.events.event(owner, 'Warning', 'FailedCreate', `Error creating: ${message}`);
          return { reason: 'FailedCreate', message };
        }
      }
      this.log.debug({ owner: keyOf(owner), kind: info.kind, created: n }, 'pods created');
    } else if (diff > 0) {
      const victims = rankForDeletion(pods, this.#clock.now()).slice(0, Math.min(diff, this.#burst));
      for (const pod of victims) {
        try {
          this.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid } });
          info.events.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (err) {
          if (isNotFound(err)) continue;
          const message = (err as Error).message;
          info.events.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${message}`);
          return { reason: 'FailedDelete', message };
        }
      }
      this.log.debug({ owner: keyOf(owner), kind: info.kind, deleted: victims.length }, 'pods deleted');
    }
    return undefined;
  }

  #updateStatus(owner: Owner, info: KindInfo, selector: LabelMatcher, failure: { reason: string; message: string } | undefined, key: string): void {
    const now = this.#clock.now();
    const minReady = owner.spec?.minReadySeconds ?? 0;
    const pods = this.client
      .list<Pod>(R.pods, { namespace: owner.metadata.namespace })
      .items.filter((p) => isPodActive(p) && controllerRef(p)?.uid === owner.metadata.uid && selector.matches(p.metadata.labels));
    const templateLabels = owner.spec?.template?.metadata?.labels ?? {};
    let fully = 0;
    let ready = 0;
    let available = 0;
    let recheck = Infinity;
    for (const p of pods) {
      if (Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)) fully++;
      if (isPodReady(p)) {
        ready++;
        if (isPodAvailable(p, minReady, now)) available++;
        else {
          const since = parseTime(getCondition(p.status?.conditions, 'Ready')?.lastTransitionTime) ?? now;
          recheck = Math.min(recheck, since + minReady * 1000 - now);
        }
      }
    }
    const prev = owner.status ?? { replicas: 0 };
    const status: Record<string, unknown> = { replicas: pods.length };
    if (fully) status.fullyLabeledReplicas = fully;
    if (ready) status.readyReplicas = ready;
    if (available) status.availableReplicas = available;
    if (owner.metadata.generation !== undefined) status.observedGeneration = owner.metadata.generation;
    const conds = ((prev as { conditions?: Condition[] }).conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
    if (failure) {
      const old = getCondition((prev as { conditions?: Condition[] }).conditions, 'ReplicaFailure');
      const same = old && old.status === 'True' && old.reason === failure.reason && old.message === failure.message;
      conds.push(same ? old : { type: 'ReplicaFailure', status: 'True', reason: failure.reason, message: failure.message, lastTransitionTime: rfc3339(now) });
    }
    if (conds.length) status.conditions = conds;
    if (!semanticEqual(prev, status)) {
      const next = clone(owner);
      next.status = status as Owner['status'];
      try {
        this.client.updateStatus(info.resource, next);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (Number.isFinite(recheck)) this.queue.addAfter(key, Math.max(recheck, 0) + 50);
  }
}

/** GetPodFromTemplate. */
export function podFromTemplate(owner: KubeObject, template: PodTemplateSpec): Pod {
  const meta = template.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ownerReferences: [ownerRefFor(owner)],
    },
    spec: clone(template.spec),
  };
  if (meta.annotations && Object.keys(meta.annotations).length) pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers?.length) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** ActivePodsWithRanks order: the first ones are deleted first. */
export function rankForDeletion(pods: Pod[], now: number): Pod[] {
  const perNode = new Map<string, number>();
  for (const p of pods) if (p.spec?.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  const info = pods.map((p) => {
    const ready = isPodReady(p);
    return {
      p,
      assigned: p.spec?.nodeName ? 1 : 0,
      phase: PHASE_ORDER[p.status?.phase ?? 'Pending'] ?? 0,
      ready: ready ? 1 : 0,
      rank: p.spec?.nodeName ? (perNode.get(p.spec.nodeName) ?? 0) : 0,
      readySince: ready ? (parseTime(getCondition(p.status?.conditions, 'Ready')?.lastTransitionTime) ?? now) : 0,
      restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => Math.max(n, c?.restartCount ?? 0), 0),
      created: parseTime(p.metadata.creationTimestamp) ?? 0,
    };
  });
  info.sort(
    (a, b) =>
      a.assigned - b.assigned ||
      a.phase - b.phase ||
      a.ready - b.ready ||
      b.rank - a.rank ||
      (a.ready && b.ready ? b.readySince - a.readySince : 0) ||
      b.restarts - a.restarts ||
      b.created - a.created ||
      (b.p.metadata.name ?? '').localeCompare(a.p.metadata.name ?? ''),
  );
  return info.map((i) => i.p);
}
