/**
 * The Deployment controller (Kubernetes' pkg/controller/deployment).
 *
 * Model: one key per Deployment; Deployment events enqueue it, ReplicaSet
 * events enqueue their owning Deployment (or, for orphans, the Deployments
 * whose selector matches), and pod events enqueue the Deployment above the
 * pod's ReplicaSet (Recreate waits for old pods to be gone). Syncing:
 *   1. Claim ReplicaSets like the ReplicaSet controller claims pods (adopt
 *      matching orphans, release those that stopped matching).
 *   2. The new ReplicaSet is the one whose pod template equals the
 *      Deployment's (ignoring the pod-template-hash label) or that carries the
 *      template's hash; it is named `<deployment>-<hash>` where hash is
 *      FNV-32a of the template (+ status.collisionCount) spelled in
 *      Kubernetes' safe alphabet, labelled pod-template-hash on itself, its
 *      selector and its template, owned by the Deployment (controller), and
 *      annotated deployment.kubernetes.io/{revision,desired-replicas,max-replicas}.
 *   3. Rollout. RollingUpdate (default, maxSurge/maxUnavailable 25%, surge
 *      rounded up, unavailable down): the new RS grows while the total stays
 *      within replicas+maxSurge; old RSs shrink, unhealthy pods first, while
 *      availability stays at least replicas-maxUnavailable — step by step as
 *      the ReplicaSet controller reports pods available. Recreate: old RSs go
 *      to 0, and the new RS is created/scaled only when no old pod is left.
 *      Paused Deployments only get their status updated.
 *      Events: ScalingReplicaSet "Scaled up replica set x to 3 from 0".
 *   4. Old RSs at 0 beyond revisionHistoryLimit (10) are deleted.
 *   5. Status via updateStatus: observedGeneration, replicas, updatedReplicas,
 *      readyReplicas, availableReplicas, unavailableReplicas and conditions
 *      Available (MinimumReplicasAvailable / MinimumReplicasUnavailable) and
 *      Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
 *      ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded
 *      after progressDeadlineSeconds (600) without progress).
 */
import type { Logger } from 'pino';
import {
  selectorFromLabelSelector,
  type Condition,
  type Deployment,
  type IntOrString,
  type LabelMatcher,
  type Pod,
  type PodTemplateSpec,
  type ReplicaSet,
} from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import {
  BaseController,
  type BaseControllerOptions,
  type Clock,
  canonicalJSON,
  clone,
  controllerRef,
  getCondition,
  isAlreadyExists,
  isNotFound,
  isPodTerminal,
  keyOf,
  ownerRefFor,
  parseTime,
  rfc3339,
  semanticEqual,
  splitKey,
  systemClock,
} from './controller-utils.js';
import { EventRecorder } from './event-recorder.js';
import { R } from './resources.js';

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const ANN_REVISION = 'deployment.kubernetes.io/revision';
export const ANN_DESIRED = 'deployment.kubernetes.io/desired-replicas';
export const ANN_MAX = 'deployment.kubernetes.io/max-replicas';

const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** controller.ComputeHash's shape: FNV-32a over the template (canonical JSON here) + collisionCount, safe-encoded. */
export function computeHash(template: PodTemplateSpec, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const feed = (b: number): void => {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const b of Buffer.from(canonicalJSON(template), 'utf8')) feed(b);
  if (collisionCount !== undefined && collisionCount !== null) {
    const c = collisionCount >>> 0;
    for (const b of [c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, (c >>> 24) & 0xff, 0, 0, 0, 0]) feed(b);
  }
  let out = '';
  for (const ch of String(h >>> 0)) out += SAFE_ALPHANUMS[ch.charCodeAt(0) % SAFE_ALPHANUMS.length];
  return out;
}

function withoutHash(t: PodTemplateSpec | undefined): unknown {
  if (!t) return undefined;
  const c = clone(t);
  if (c.metadata?.labels) {
    delete c.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
  }
  if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
  return c;
}

/** EqualIgnoreHash. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return semanticEqual(withoutHash(a), withoutHash(b));
}

/** intstr.GetScaledValueFromIntOrPercent. */
export function resolveIntOrPercent(v: IntOrString | undefined, total: number, roundUp: boolean, dflt: IntOrString): number {
  const val = v === undefined || v === null ? dflt : v;
  if (typeof val === 'number') return Math.max(0, Math.floor(val));
  const m = /^(\d+)%$/.exec(String(val).trim());
  if (!m) return /^\d+$/.test(String(val)) ? Number(val) : 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** ResolveFenceposts: [maxSurge, maxUnavailable], never both 0. */
export function fenceposts(d: Deployment): [number, number] {
  const replicas = d.spec.replicas ?? 1;
  if ((d.spec.strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return [0, 0];
  const ru = d.spec.strategy?.rollingUpdate;
  const surge = resolveIntOrPercent(ru?.maxSurge, replicas, true, '25%');
  let unavailable = resolveIntOrPercent(ru?.maxUnavailable, replicas, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

function maxUnavailable(d: Deployment): number {
  const replicas = d.spec.replicas ?? 1;
  if ((d.spec.strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate' || replicas === 0) return 0;
  return Math.min(fenceposts(d)[1], replicas);
}

const specReplicas = (rs: ReplicaSet): number => rs.spec?.replicas ?? 1;
const statusOf = (rs: ReplicaSet) => rs.status ?? { replicas: 0 };
const revisionOf = (rs: ReplicaSet): number => Number(rs.metadata.annotations?.[ANN_REVISION] ?? 0) || 0;

export interface DeploymentControllerOptions extends BaseControllerOptions {
  clock?: Clock;
}

export class DeploymentController extends BaseController {
  readonly #clock: Clock;
  readonly #events: EventRecorder;

  constructor(client: ObjectClient, log: Logger, opts: DeploymentControllerOptions = {}) {
    super(client, log, 'deployment-controller', opts);
    this.#clock = opts.clock ?? systemClock;
    this.#events = new EventRecorder(client, this.log, { component: 'deployment-controller', clock: this.#clock });
  }

  protected setupWatches(): void {
    this.watch<Deployment>(R.deployments, {}, (ev) => this.queue.add(keyOf(ev.object)));
    this.watch<ReplicaSet>(R.replicaSets, {}, (ev) => this.#onReplicaSet(ev.object));
    this.watch<Pod>(R.pods, {}, (ev) => {
      const ref = controllerRef(ev.object);
      if (!ref || ref.kind !== 'ReplicaSet') return;
      const rs = this.client.get<ReplicaSet>(R.replicaSets, ev.object.metadata.namespace, ref.name);
      const dref = rs && controllerRef(rs);
      if (dref?.kind === 'Deployment') this.queue.add(`${ev.object.metadata.namespace}/${dref.name}`);
    });
  }

  #onReplicaSet(rs: ReplicaSet): void {
    const ref = controllerRef(rs);
    if (ref) {
      if (ref.kind === 'Deployment') this.queue.add(`${rs.metadata.namespace}/${ref.name}`);
      return;
    }
    for (const d of this.client.list<Deployment>(R.deployments, { namespace: rs.metadata.namespace }).items) {
      if (selectorOf(d).matches(rs.metadata.labels)) this.queue.add(keyOf(d));
    }
  }

  protected resync(): void {
    for (const d of this.client.list<Deployment>(R.deployments).items) this.queue.add(keyOf(d));
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const d = this.client.get<Deployment>(R.deployments, namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const selector = selectorOf(d);
    if (selector.empty || !d.spec?.template) {
      this.log.warn({ deployment: key }, 'deployment has an empty selector or no template; skipping');
      return;
    }
    let rsList = this.#claim(d, selector);
    const hash = computeHash(d.spec.template, collisionCountOf(d));
    const isNew = (rs: ReplicaSet) => equalIgnoreHash(rs.spec?.template, d.spec.template) || rs.metadata.labels?.[POD_TEMPLATE_HASH] === hash;
    rsList.sort((a, b) => (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    let newRS = rsList.find(isNew);
    let oldRSs = rsList.filter((rs) => rs !== newRS);
    const progress: { reason?: string; message?: string } = {};

    if (d.spec.paused) {
      this.#writeStatus(d, rsList, newRS, progress, key);
      return;
    }

    const replicas = d.spec.replicas ?? 1;
    const [surge] = fenceposts(d);
    if ((d.spec.strategy?.type ?? 'RollingUpdate') === 'Recreate') {
      for (const rs of oldRSs) if (specReplicas(rs) > 0) this.#scale(d, rs, 0);
      oldRSs = oldRSs.map((rs) => this.client.get<ReplicaSet>(R.replicaSets, rs.metadata.namespace, rs.metadata.name ?? '') ?? rs);
      if (this.#oldPodsRunning(oldRSs)) {
        this.#writeStatus(d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS, progress, key);
        return;
      }
      if (!newRS) {
        newRS = this.#createNewRS(d, hash, oldRSs, replicas, progress);
        if (!newRS) return;
      } else {
        newRS = this.#syncRevision(d, newRS, oldRSs, progress);
        if (specReplicas(newRS) !== replicas) newRS = this.#scale(d, newRS, replicas);
      }
    } else {
      if (!newRS) {
        const current = oldRSs.reduce((n, rs) => n + specReplicas(rs), 0);
        const scaleUp = Math.max(0, Math.min(replicas + surge - current, replicas));
        newRS = this.#createNewRS(d, hash, oldRSs, scaleUp, progress);
        if (!newRS) return;
      } else {
        newRS = this.#syncRevision(d, newRS, oldRSs, progress);
        newRS = this.#reconcileNew(d, newRS, oldRSs);
      }
      oldRSs = this.#reconcileOld(d, newRS, oldRSs);
    }
    this.#cleanup(d, oldRSs);
    rsList = [...oldRSs.filter((rs) => this.client.get(R.replicaSets, rs.metadata.namespace, rs.metadata.name ?? '')), newRS];
    this.#writeStatus(d, rsList, newRS, progress, key);
  }

  /** ClaimReplicaSets. */
  #claim(d: Deployment, selector: LabelMatcher): ReplicaSet[] {
    const mine: ReplicaSet[] = [];
    for (const rs of this.client.list<ReplicaSet>(R.replicaSets, { namespace: d.metadata.namespace }).items) {
      if (rs.metadata.deletionTimestamp) continue;
      const ref = controllerRef(rs);
      const matches = selector.matches(rs.metadata.labels);
      if (ref) {
        if (ref.uid !== d.metadata.uid) continue;
        if (matches) mine.push(rs);
        else {
          const next = clone(rs);
          next.metadata.ownerReferences = (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid);
          if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
          this.client.update(R.replicaSets, next);
        }
        continue;
      }
      if (!matches) continue;
      const next = clone(rs);
      next.metadata.ownerReferences = [...(rs.metadata.ownerReferences ?? []), ownerRefFor(d)];
      mine.push(this.client.update<ReplicaSet>(R.replicaSets, next));
    }
    return mine;
  }

  #nextRevision(oldRSs: ReplicaSet[]): number {
    return oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0) + 1;
  }

  #createNewRS(d: Deployment, hash: string, oldRSs: ReplicaSet[], replicas: number, progress: { reason?: string; message?: string }): ReplicaSet | undefined {
    const name = `${d.metadata.name}-${hash}`;
    const template = clone(d.spec.template);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const sel = clone(d.spec.selector);
    sel.matchLabels = { ...(sel.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const revision = this.#nextRevision(oldRSs);
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: {
          [ANN_DESIRED]: String(d.spec.replicas ?? 1),
          [ANN_MAX]: String((d.spec.replicas ?? 1) + fenceposts(d)[0]),
          [ANN_REVISION]: String(revision),
        },
        ownerReferences: [ownerRefFor(d)],
      },
      spec: { replicas, minReadySeconds: d.spec.minReadySeconds ?? 0, selector: sel, template },
    };
    let created: ReplicaSet;
    try {
      created = this.client.create<ReplicaSet>(R.replicaSets, rs);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = this.client.get<ReplicaSet>(R.replicaSets, d.metadata.namespace, name);
      if (existing && controllerRef(existing)?.uid === d.metadata.uid && equalIgnoreHash(existing.spec?.template, d.spec.template)) return existing;
      // Hash collision with someone else's ReplicaSet: bump collisionCount and try again.
      const next = clone(d);
      next.status = { ...(d.status ?? {}), collisionCount: (collisionCountOf(d) ?? 0) + 1 } as Deployment['status'];
      this.client.updateStatus(R.deployments, next);
      this.log.info({ deployment: keyOf(d), name }, 'pod template hash collision; retrying with a new hash');
      return undefined;
    }
    if (replicas > 0) this.#events.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} to ${replicas} from 0`);
    progress.reason = 'NewReplicaSetCreated';
    progress.message = `Created new replica set "${name}"`;
    this.#setRevisionAnnotation(d, String(revision));
    return created;
  }

  /** The new RS takes the next revision when older ones have caught up with it (rollback). */
  #syncRevision(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[], progress: { reason?: string; message?: string }): ReplicaSet {
    const maxOld = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    let rs = newRS;
    if (revisionOf(rs) <= maxOld || !rs.metadata.annotations?.[ANN_REVISION]) {
      const next = clone(rs);
      next.metadata.annotations = { ...(rs.metadata.annotations ?? {}), [ANN_REVISION]: String(maxOld + 1) };
      rs = this.client.update<ReplicaSet>(R.replicaSets, next);
    }
    this.#setRevisionAnnotation(d, rs.metadata.annotations?.[ANN_REVISION] ?? '1');
    if (!getCondition(d.status?.conditions, 'Progressing')) {
      progress.reason = 'FoundNewReplicaSet';
      progress.message = `Found new replica set "${rs.metadata.name}"`;
    }
    return rs;
  }

  #setRevisionAnnotation(d: Deployment, revision: string): void {
    if (d.metadata.annotations?.[ANN_REVISION] === revision) return;
    const cur = this.client.get<Deployment>(R.deployments, d.metadata.namespace, d.metadata.name ?? '');
    if (!cur) return;
    const next = clone(cur);
    next.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [ANN_REVISION]: revision };
    this.client.update(R.deployments, next);
    d.metadata.annotations = next.metadata.annotations;
  }

  /** scaleReplicaSetAndRecordEvent, also refreshing the desired/max annotations. */
  #scale(d: Deployment, rs: ReplicaSet, to: number): ReplicaSet {
    const from = specReplicas(rs);
    const desired = String(d.spec.replicas ?? 1);
    const max = String((d.spec.replicas ?? 1) + fenceposts(d)[0]);
    if (from === to && rs.metadata.annotations?.[ANN_DESIRED] === desired && rs.metadata.annotations?.[ANN_MAX] === max) return rs;
    const next = clone(rs);
    next.spec.replicas = to;
    next.metadata.annotations = { ...(rs.metadata.annotations ?? {}), [ANN_DESIRED]: desired, [ANN_MAX]: max };
    const updated = this.client.update<ReplicaSet>(R.replicaSets, next);
    if (from !== to) {
      this.#events.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} to ${to} from ${from}`);
    }
    return updated;
  }

  /** reconcileNewReplicaSet + NewRSNewReplicas. */
  #reconcileNew(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): ReplicaSet {
    const replicas = d.spec.replicas ?? 1;
    const cur = specReplicas(newRS);
    if (cur === replicas) return this.#scale(d, newRS, cur);
    if (cur > replicas) return this.#scale(d, newRS, replicas);
    const [surge] = fenceposts(d);
    const total = oldRSs.reduce((n, rs) => n + specReplicas(rs), 0) + cur;
    const maxTotal = replicas + surge;
    if (total >= maxTotal) return this.#scale(d, newRS, cur);
    const up = Math.min(maxTotal - total, replicas - cur);
    return this.#scale(d, newRS, cur + up);
  }

  /** reconcileOldReplicaSets: cleanupUnhealthyReplicas then scaleDownOldReplicaSetsForRollingUpdate. */
  #reconcileOld(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): ReplicaSet[] {
    const oldCount = oldRSs.reduce((n, rs) => n + specReplicas(rs), 0);
    if (oldCount === 0) return oldRSs;
    const replicas = d.spec.replicas ?? 1;
    const all = [...oldRSs, newRS];
    const allCount = all.reduce((n, rs) => n + specReplicas(rs), 0);
    const minAvailable = replicas - maxUnavailable(d);
    const newUnavailable = specReplicas(newRS) - (statusOf(newRS).availableReplicas ?? 0);
    const maxScaledDown = allCount - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return oldRSs;
    const out = new Map(oldRSs.map((rs) => [rs.metadata.name, rs]));
    const byAge = [...oldRSs].sort((a, b) => (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0));
    // 1. Unhealthy (not available) old replicas go first.
    let cleaned = 0;
    for (const rs of byAge) {
      if (cleaned >= maxScaledDown) break;
      const n = specReplicas(rs);
      if (n === 0) continue;
      const unhealthy = n - (statusOf(rs).availableReplicas ?? 0);
      if (unhealthy <= 0) continue;
      const down = Math.min(maxScaledDown - cleaned, unhealthy);
      out.set(rs.metadata.name, this.#scale(d, rs, n - down));
      cleaned += down;
    }
    // 2. Then available ones, as far as availability allows.
    const current = [...out.values()];
    const available = [...current, newRS].reduce((n, rs) => n + (statusOf(rs).availableReplicas ?? 0), 0);
    let budget = Math.min(available - minAvailable, maxScaledDown - cleaned);
    for (const rs of byAge.map((r) => out.get(r.metadata.name)!)) {
      if (budget <= 0) break;
      const n = specReplicas(rs);
      if (n === 0) continue;
      const down = Math.min(n, budget);
      out.set(rs.metadata.name, this.#scale(d, rs, n - down));
      budget -= down;
    }
    return [...out.values()];
  }

  /** Any pod of the old ReplicaSets still there (terminating counts: its process still runs). */
  #oldPodsRunning(oldRSs: ReplicaSet[]): boolean {
    if (oldRSs.length === 0) return false;
    const uids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    const pods = this.client.list<Pod>(R.pods, { namespace: oldRSs[0]!.metadata.namespace }).items;
    return pods.some((p) => uids.has(controllerRef(p)?.uid) && !isPodTerminal(p));
  }

  /** cleanupDeployment: keep revisionHistoryLimit old ReplicaSets at 0. */
  #cleanup(d: Deployment, oldRSs: ReplicaSet[]): void {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = oldRSs
      .filter((rs) => specReplicas(rs) === 0 && (statusOf(rs).replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b) || (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      try {
        this.client.delete(R.replicaSets, rs.metadata.namespace, rs.metadata.name ?? '', { preconditions: { uid: rs.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  #writeStatus(d0: Deployment, rsList: ReplicaSet[], newRS: ReplicaSet | undefined, progress: { reason?: string; message?: string }, key: string): void {
    const d = this.client.get<Deployment>(R.deployments, d0.metadata.namespace, d0.metadata.name ?? '') ?? d0;
    const now = this.#clock.now();
    const at = rfc3339(now);
    const replicas = d.spec.replicas ?? 1;
    const sum = (f: (rs: ReplicaSet) => number) => rsList.reduce((n, rs) => n + f(rs), 0);
    const total = sum((rs) => statusOf(rs).replicas ?? 0);
    const updated = newRS ? (statusOf(newRS).replicas ?? 0) : 0;
    const ready = sum((rs) => statusOf(rs).readyReplicas ?? 0);
    const available = sum((rs) => statusOf(rs).availableReplicas ?? 0);
    const unavailable = Math.max(0, replicas - available);
    const prev = d.status ?? {};
    let conds: Condition[] = clone(prev.conditions ?? []);
    // SetDeploymentCondition: same status and reason ⇒ unchanged, unless `refresh` (progress made).
    const set = (c: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>, refresh = false): void => {
      const old = conds.find((x) => x.type === c.type);
      if (old && old.status === c.status && old.reason === c.reason && !refresh) return;
      conds = conds.filter((x) => x.type !== c.type);
      conds.push({ ...c, lastUpdateTime: at, lastTransitionTime: old && old.status === c.status ? (old.lastTransitionTime ?? at) : at });
    };

    if (available >= replicas - maxUnavailable(d)) {
      set({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    } else {
      set({ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
    }

    const rsName = newRS?.metadata.name ?? '';
    const oldActive = rsList.filter((rs) => rs !== newRS).reduce((n, rs) => n + (statusOf(rs).replicas ?? 0), 0);
    const complete = !!newRS && updated === replicas && total === replicas && available === replicas && oldActive === 0;
    const deadline = d.spec.progressDeadlineSeconds ?? 600;
    let recheck: number | undefined;
    if (d.spec.paused) {
      set({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
    } else if (getCondition(conds, 'Progressing')?.reason === 'DeploymentPaused') {
      set({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' });
    } else if (progress.reason) {
      set({ type: 'Progressing', status: 'True', reason: progress.reason, message: progress.message });
    } else if (complete) {
      set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` });
    } else if (newRS) {
      const progressed =
        updated > (prev.updatedReplicas ?? 0) || ready > (prev.readyReplicas ?? 0) || available > (prev.availableReplicas ?? 0) || oldActive < (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0);
      const cur = getCondition(conds, 'Progressing');
      if (progressed || !cur) {
        set({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` }, true);
      } else if (cur.reason !== 'ProgressDeadlineExceeded' && cur.reason !== 'NewReplicaSetAvailable') {
        const since = parseTime(cur.lastUpdateTime) ?? now;
        if (now - since > deadline * 1000) {
          set({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` });
          this.#events.event(d, 'Warning', 'ProgressDeadlineExceeded', `Deployment "${d.metadata.name}" has timed out progressing.`);
        } else {
          recheck = since + deadline * 1000 - now + 100;
        }
      }
    }

    const status: Record<string, unknown> = {};
    if (d.metadata.generation !== undefined) status.observedGeneration = d.metadata.generation;
    if (total) status.replicas = total;
    if (updated) status.updatedReplicas = updated;
    if (ready) status.readyReplicas = ready;
    if (available) status.availableReplicas = available;
    if (unavailable) status.unavailableReplicas = unavailable;
    if (conds.length) status.conditions = conds;
    if (collisionCountOf(d) !== undefined) status.collisionCount = collisionCountOf(d);
    if (!semanticEqual(prev, status)) {
      const next = clone(d);
      next.status = status as Deployment['status'];
      this.client.updateStatus(R.deployments, next);
    }
    if (recheck !== undefined) this.queue.addAfter(key, recheck);
  }
}

/** status.collisionCount (not in the shared Deployment type). */
function collisionCountOf(d: Deployment): number | undefined {
  const c = (d.status as { collisionCount?: unknown } | undefined)?.collisionCount;
  return typeof c === 'number' ? c : undefined;
}

function selectorOf(d: Deployment): LabelMatcher {
  return selectorFromLabelSelector(d.spec?.selector);
}
