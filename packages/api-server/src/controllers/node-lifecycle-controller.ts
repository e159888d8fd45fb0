/**
 * The node lifecycle controller (Kubernetes' pkg/controller/nodelifecycle):
 * notices nodes whose agent went quiet and takes their pods out of service.
 *
 * Model: node agents refresh the Ready condition's lastHeartbeatTime. The
 * controller remembers, per node, the last heartbeat value it saw and when it
 * saw it change (its own clock, injectable, so agent clock skew does not
 * matter — as Kubernetes' probeTimestamp). Every `monitorPeriodMs` (and on
 * node events) each node is checked:
 *   - Heartbeat unchanged for longer than `gracePeriodMs` (40 s) ⇒ Ready,
 *     MemoryPressure, DiskPressure and PIDPressure become Unknown, reason
 *     NodeStatusUnknown, message "Kubelet stopped posting node status."
 *     (conditions never posted: NodeStatusNeverUpdated / "Kubelet never posted
 *     node status."); lastHeartbeatTime is left as it was.
 *   - Taints follow Ready: Unknown ⇒ node.kubernetes.io/unreachable, False ⇒
 *     node.kubernetes.io/not-ready, each as NoSchedule and NoExecute (with
 *     timeAdded); True ⇒ both removed.
 *   - Ready leaves True ⇒ event NodeNotReady ("Node x status is now:
 *     NodeNotReady"); while not Ready, every pod on the node whose Ready
 *     condition is True gets it set False (MarkPodsNotReady; the node agent
 *     sets it back when it returns), with a Warning NodeNotReady "Node is not
 *     ready" event on the pod — so endpoints drop the pods at once.
 *   - Eviction (taint manager): pods on a node with a NoExecute taint are
 *     deleted once the taint is older than their matching toleration's
 *     tolerationSeconds; for the not-ready/unreachable taints a pod with no
 *     matching toleration gets `podEvictionTimeoutMs` (300 s, what the
 *     DefaultTolerationSeconds admission plugin gives every pod), for other
 *     NoExecute taints it goes at once; a toleration without seconds keeps
 *     the pod. Event TaintManagerEviction "Marking for deletion Pod ns/name".
 */
import type { Logger } from 'pino';
import type { Condition, Node, Pod } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import {
  BaseController,
  type BaseControllerOptions,
  type Clock,
  clone,
  getCondition,
  isNotFound,
  isPodReady,
  isTerminating,
  parseTime,
  rfc3339,
  semanticEqual,
  systemClock,
} from './controller-utils.js';
import { EventRecorder } from './event-recorder.js';
import { R } from './resources.js';
import { tolerates, type Taint, type Toleration } from './scheduler.js';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
const NODE_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export interface NodeLifecycleOptions extends Omit<BaseControllerOptions, 'resyncPeriodMs'> {
  clock?: Clock;
  /** --node-monitor-grace-period (default 40 s). */
  gracePeriodMs?: number;
  /** --node-monitor-period (default 5 s). */
  monitorPeriodMs?: number;
  /** Eviction delay for pods without a matching toleration (default 300 s); set `evictPods: false` to never evict. */
  podEvictionTimeoutMs?: number;
  evictPods?: boolean;
}

interface Health {
  heartbeat: string;
  probeAt: number;
  readyStatus: string | undefined;
}

export class NodeLifecycleController extends BaseController {
  readonly #clock: Clock;
  readonly #grace: number;
  readonly #evictAfter: number;
  readonly #evict: boolean;
  readonly #health = new Map<string, Health>();
  readonly #events: EventRecorder;

  constructor(client: ObjectClient, log: Logger, opts: NodeLifecycleOptions = {}) {
    super(client, log, 'node-lifecycle-controller', { ...opts, resyncPeriodMs: opts.monitorPeriodMs ?? 5000 });
    this.#clock = opts.clock ?? systemClock;
    this.#grace = opts.gracePeriodMs ?? 40_000;
    this.#evictAfter = opts.podEvictionTimeoutMs ?? 300_000;
    this.#evict = opts.evictPods ?? true;
    this.#events = new EventRecorder(client, this.log, { component: 'node-controller', clock: this.#clock });
  }

  protected setupWatches(): void {
    this.watch<Node>(R.nodes, {}, (ev) => {
      if (ev.type === 'DELETED') this.#health.delete(ev.object.metadata.name ?? '');
      else this.queue.add(ev.object.metadata.name ?? '');
    });
    this.watch<Pod>(R.pods, {}, (ev) => {
      const node = ev.object.spec?.nodeName;
      if (!node || ev.type === 'DELETED') return;
      const h = this.#health.get(node);
      if (h && h.readyStatus !== 'True' && isPodReady(ev.object)) this.queue.add(node);
    });
  }

  protected resync(): void {
    for (const n of this.client.list<Node>(R.nodes).items) this.queue.add(n.metadata.name ?? '');
  }

  /** One monitor pass over every node, synchronously (tests drive it with a fake clock). */
  checkAll(): void {
    for (const n of this.client.list<Node>(R.nodes).items) this.sync(n.metadata.name ?? '');
  }

  protected sync(name: string): void {
    let node = this.client.get<Node>(R.nodes, undefined, name);
    if (!node) {
      this.#health.delete(name);
      return;
    }
    const now = this.#clock.now();
    const ready = getCondition(node.status?.conditions, 'Ready');
    const hb = ready?.lastHeartbeatTime ?? '';
    let h = this.#health.get(name);
    if (!h || h.heartbeat !== hb) {
      h = { heartbeat: hb, probeAt: now, readyStatus: h?.readyStatus };
      this.#health.set(name, h);
    }
    if (now - h.probeAt > this.#grace) node = this.#markUnknown(node, now);
    else this.queue.addAfter(name, this.#grace - (now - h.probeAt) + 10);

    const status = getCondition(node.status?.conditions, 'Ready')?.status;
    node = this.#syncTaints(node, status, now);
    if (h.readyStatus === 'True' && status !== 'True') {
      this.#events.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      this.log.info({ node: name, ready: status }, 'node is not ready');
    } else if (h.readyStatus !== undefined && h.readyStatus !== 'True' && status === 'True') {
      this.#events.event(node, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
      this.log.info({ node: name }, 'node is ready again');
    }
    h.readyStatus = status;

    const pods = this.client.list<Pod>(R.pods).items.filter((p) => p.spec?.nodeName === name);
    if (status !== 'True') this.#markPodsNotReady(pods, now);
    if (this.#evict) this.#evictPods(name, node, pods, now);
  }

  /** tryUpdateNodeHealth for a node past its grace period. */
  #markUnknown(node: Node, now: number): Node {
    const next = clone(node);
    next.status ??= {};
    const conds: Condition[] = next.status.conditions ?? [];
    const at = rfc3339(now);
    let changed = false;
    for (const type of NODE_CONDITIONS) {
      const c = conds.find((x) => x.type === type);
      if (!c) {
        conds.push({
          type,
          status: 'Unknown',
          reason: 'NodeStatusNeverUpdated',
          message: 'Kubelet never posted node status.',
          lastHeartbeatTime: node.metadata.creationTimestamp ?? at,
          lastTransitionTime: at,
        });
        changed = true;
      } else if (c.status !== 'Unknown') {
        c.status = 'Unknown';
        c.reason = 'NodeStatusUnknown';
        c.message = 'Kubelet stopped posting node status.';
        c.lastTransitionTime = at;
        changed = true;
      }
    }
    if (!changed) return node;
    next.status.conditions = conds;
    try {
      return this.client.updateStatus<Node>(R.nodes, next);
    } catch (err) {
      if (isNotFound(err)) return node;
      throw err;
    }
  }

  #syncTaints(node: Node, ready: string | undefined, now: number): Node {
    const want = ready === 'True' ? undefined : ready === 'Unknown' ? TAINT_UNREACHABLE : TAINT_NOT_READY;
    const current = (node.spec?.taints as Taint[] | undefined) ?? [];
    const kept = current.filter((t) => !((t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY) && t.key !== want));
    if (want) {
      if (!kept.some((t) => t.key === want && t.effect === 'NoSchedule')) kept.push({ key: want, effect: 'NoSchedule' });
      if (!kept.some((t) => t.key === want && t.effect === 'NoExecute')) kept.push({ key: want, effect: 'NoExecute', timeAdded: rfc3339(now) });
    }
    if (semanticEqual(kept, current)) return node;
    const next = clone(node);
    next.spec ??= {};
    if (kept.length) next.spec.taints = kept;
    else delete next.spec.taints;
    try {
      return this.client.update<Node>(R.nodes, next);
    } catch (err) {
      if (isNotFound(err)) return node;
      throw err;
    }
  }

  #markPodsNotReady(pods: Pod[], now: number): void {
    for (const pod of pods) {
      if (!isPodReady(pod)) continue;
      const next = clone(pod);
      next.status!.conditions = next.status!.conditions!.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const, lastTransitionTime: rfc3339(now) } : c));
      try {
        this.client.updateStatus(R.pods, next);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      this.#events.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }

  #evictPods(name: string, node: Node, pods: Pod[], now: number): void {
    const noExecute = ((node.spec?.taints as Taint[] | undefined) ?? []).filter((t) => t.effect === 'NoExecute');
    if (noExecute.length === 0) return;
    let nextCheck = Infinity;
    for (const pod of pods) {
      if (isTerminating(pod)) continue;
      let deadline = Infinity;
      for (const taint of noExecute) {
        const since = parseTime(taint.timeAdded) ?? now;
        const matching = ((pod.spec?.tolerations as Toleration[] | undefined) ?? []).filter((t) => tolerates(t, taint));
        let allowMs: number;
        if (matching.length === 0) allowMs = taint.key === TAINT_UNREACHABLE || taint.key === TAINT_NOT_READY ? this.#evictAfter : 0;
        else if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) allowMs = Infinity;
        else allowMs = Math.max(0, Math.min(...matching.map((t) => t.tolerationSeconds!))) * 1000;
        deadline = Math.min(deadline, since + allowMs);
      }
      if (deadline === Infinity) continue;
      if (now >= deadline) {
        try {
          this.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid } });
          this.#events.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
          this.log.info({ node: name, pod: `${pod.metadata.namespace}/${pod.metadata.name}` }, 'evicting pod from unavailable node');
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      } else {
        nextCheck = Math.min(nextCheck, deadline - now);
      }
    }
    if (Number.isFinite(nextCheck)) this.queue.addAfter(name, nextCheck + 10);
  }
}
