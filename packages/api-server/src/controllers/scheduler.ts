/**
 * The scheduler (kube-scheduler's default profile, reduced to what a Services
 * lab needs): it puts pending pods on nodes.
 *
 * Model: one key per pod without spec.nodeName whose schedulerName is
 * default-scheduler (or unset), not terminating, not finished. Pod events
 * enqueue such pods; any node event (and any pod change, which can free host
 * ports) re-enqueues every pending pod, as kube-scheduler's queue moves
 * unschedulable pods back on cluster events. Scheduling one pod:
 *   - Filter, in kube-scheduler's plugin order, recording the first failure
 *     per node: NodeUnschedulable (spec.unschedulable) ⇒ "node(s) were
 *     unschedulable"; TaintToleration (NoSchedule/NoExecute taints the pod
 *     does not tolerate — a node whose Ready condition is not True counts as
 *     tainted node.kubernetes.io/not-ready, or …/unreachable when Unknown,
 *     as the node lifecycle controller would taint it) ⇒ "node(s) had
 *     untolerated taint {key: value}"; NodeAffinity (nodeSelector and required
 *     node affinity) ⇒ "node(s) didn't match Pod's node affinity/selector";
 *     NodePorts (hostPort clashes) ⇒ "node(s) didn't have free ports for the
 *     requested pod ports".
 *   - Score: fewest pods of the same controller on the node, then fewest
 *     pods overall, then node name: replicas spread evenly and
 *     deterministically.
 *   - Bind: set spec.nodeName (the registry accepts it once, like the binding
 *     subresource), then the PodScheduled=True condition; event Scheduled
 *     "Successfully assigned ns/pod to node".
 *   - No node fits: PodScheduled=False reason Unschedulable with Kubernetes'
 *     message ("0/3 nodes are available: 3 node(s) didn't match Pod's node
 *     affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is
 *     not helpful for scheduling." or "no nodes available to schedule pods")
 *     and a FailedScheduling event; the pod stays Pending until nodes change.
 */
import type { Logger } from 'pino';
import type { Condition, KubeObject, Node, Pod } from '@kubemu/api';
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
  isTerminating,
  keyOf,
  rfc3339,
  splitKey,
  systemClock,
} from './controller-utils.js';
import { EventRecorder } from './event-recorder.js';
import { R } from './resources.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface SchedulerOptions extends BaseControllerOptions {
  clock?: Clock;
  schedulerName?: string;
}

export class Scheduler extends BaseController {
  readonly #clock: Clock;
  readonly #name: string;
  readonly #events: EventRecorder;

  constructor(client: ObjectClient, log: Logger, opts: SchedulerOptions = {}) {
    super(client, log, 'scheduler', opts);
    this.#clock = opts.clock ?? systemClock;
    this.#name = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.#events = new EventRecorder(client, this.log, { component: this.#name, clock: this.#clock });
  }

  #mine(pod: Pod): boolean {
    return !pod.spec?.nodeName && (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === this.#name && isPodActive(pod);
  }

  protected setupWatches(): void {
    this.watch<Pod>(R.pods, {}, (ev) => {
      if (ev.type !== 'DELETED' && this.#mine(ev.object)) this.queue.add(keyOf(ev.object));
      // A pod leaving a node can make room (host ports): retry the pending ones.
      else if (ev.object.spec?.nodeName && (ev.type === 'DELETED' || !isPodActive(ev.object))) this.resync();
    });
    this.watch<Node>(R.nodes, {}, (ev) => {
      // Only changes that can alter a scheduling decision (heartbeats alone cannot).
      const name = ev.object.metadata.name ?? '';
      const print = ev.type === 'DELETED' ? undefined : nodeFingerprint(ev.object);
      if (this.#nodePrints.get(name) === print) return;
      if (print === undefined) this.#nodePrints.delete(name);
      else this.#nodePrints.set(name, print);
      this.resync();
    });
  }

  readonly #nodePrints = new Map<string, string>();

  protected resync(): void {
    for (const pod of this.client.list<Pod>(R.pods).items) if (this.#mine(pod)) this.queue.add(keyOf(pod));
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const pod = this.client.get<Pod>(R.pods, namespace, name);
    if (!pod || !this.#mine(pod)) return;
    const nodes = this.client.list<Node>(R.nodes).items.filter((n) => !isTerminating(n));
    if (nodes.length === 0) return this.#unschedulable(pod, NO_NODES_AVAILABLE);
    const pods = this.client.list<Pod>(R.pods).items.filter((p) => p.spec?.nodeName && isPodActive(p));
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) {
      const list = byNode.get(p.spec.nodeName!) ?? [];
      list.push(p);
      byNode.set(p.spec.nodeName!, list);
    }
    const reasons = new Map<string, number>();
    const fit: Node[] = [];
    for (const node of nodes) {
      const why = filterNode(pod, node, byNode.get(node.metadata.name ?? '') ?? []);
      if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
      else fit.push(node);
    }
    if (fit.length === 0) return this.#unschedulable(pod, fitErrorMessage(nodes.length, reasons));
    const owner = controllerRef(pod)?.uid;
    const scored = fit.map((n) => {
      const onNode = byNode.get(n.metadata.name ?? '') ?? [];
      return { n, same: owner ? onNode.filter((p) => controllerRef(p)?.uid === owner).length : 0, all: onNode.length };
    });
    scored.sort((a, b) => a.same - b.same || a.all - b.all || (a.n.metadata.name ?? '').localeCompare(b.n.metadata.name ?? ''));
    this.#bind(pod, scored[0]!.n);
  }

  #bind(pod: Pod, node: Node): void {
    const nodeName = node.metadata.name ?? '';
    const next = clone(pod);
    next.spec.nodeName = nodeName;
    let bound: Pod;
    try {
      bound = this.client.update<Pod>(R.pods, next);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.#setScheduledCondition(bound, { type: 'PodScheduled', status: 'True' });
    this.#events.event(bound, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
    this.log.debug({ pod: keyOf(pod), node: nodeName }, 'pod bound');
  }

  #unschedulable(pod: Pod, message: string): void {
    const cur = getCondition(pod.status?.conditions, 'PodScheduled');
    if (!(cur && cur.status === 'False' && cur.reason === 'Unschedulable' && cur.message === message)) {
      this.#setScheduledCondition(pod, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message });
    }
    this.#events.event(pod, 'Warning', 'FailedScheduling', message);
    this.log.debug({ pod: keyOf(pod), message }, 'pod unschedulable');
  }

  #setScheduledCondition(pod: Pod, cond: Omit<Condition, 'lastTransitionTime'>): void {
    // Re-read: binding bumped the resourceVersion and the node agent may have written status since.
    const fresh = this.client.get<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name ?? '') ?? pod;
    const next = clone(fresh);
    next.status ??= {};
    if (!next.status.phase) next.status.phase = 'Pending';
    const conds = (next.status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    const old = getCondition(next.status.conditions, 'PodScheduled');
    const changed = !old || old.status !== cond.status;
    const full: Condition = { ...cond, lastProbeTime: null, lastTransitionTime: changed ? rfc3339(this.#clock.now()) : (old?.lastTransitionTime ?? rfc3339(this.#clock.now())) };
    if (!full.reason) delete full.reason;
    if (!full.message) delete full.message;
    next.status.conditions = [full, ...conds];
    try {
      this.client.updateStatus(R.pods, next);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function nodeFingerprint(n: Node): string {
  return JSON.stringify([n.metadata.labels ?? {}, n.spec?.taints ?? [], !!n.spec?.unschedulable, getCondition(n.status?.conditions, 'Ready')?.status ?? '', !!n.metadata.deletionTimestamp]);
}

/** FitError.Error(): "0/N nodes are available: <sorted histogram>. preemption: …". */
export function fitErrorMessage(total: number, reasons: Map<string, number>): string {
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  const unhelpful = [...reasons.values()].reduce((a, b) => a + b, 0);
  return `0/${total} nodes are available: ${parts.join(', ')}. preemption: 0/${total} nodes are available: ${unhelpful} Preemption is not helpful for scheduling.`;
}

/** The first failing filter's reason for `node`, or undefined when the pod fits. */
export function filterNode(pod: Pod, node: Node, podsOnNode: Pod[]): string | undefined {
  const tolerations = (pod.spec?.tolerations as Toleration[] | undefined) ?? [];
  if (node.spec?.unschedulable && !tolerations.some((t) => tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))) {
    return 'node(s) were unschedulable';
  }
  for (const taint of effectiveTaints(node)) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => tolerates(t, taint))) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
  }
  if (!matchesNodeSelector(pod, node)) return "node(s) didn't match Pod's node affinity/selector";
  if (hostPortsClash(pod, podsOnNode)) return "node(s) didn't have free ports for the requested pod ports";
  return undefined;
}

/** The node's taints plus the condition taints a not-ready node would carry. */
export function effectiveTaints(node: Node): Taint[] {
  const taints: Taint[] = [...((node.spec?.taints as Taint[] | undefined) ?? [])];
  const ready = getCondition(node.status?.conditions, 'Ready');
  const implied = ready?.status === 'Unknown' ? 'node.kubernetes.io/unreachable' : ready?.status === 'True' ? undefined : 'node.kubernetes.io/not-ready';
  if (implied && !taints.some((t) => t.key === implied && t.effect === 'NoSchedule')) taints.push({ key: implied, effect: 'NoSchedule' });
  return taints;
}

/** v1helper.TolerationsTolerateTaint for one toleration. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}
interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

function requirementOK(r: NodeSelectorRequirement, get: (k: string) => string | undefined): boolean {
  const v = get(r.key);
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return v !== undefined && vals.includes(v);
    case 'NotIn':
      return v === undefined || !vals.includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
    case 'Lt': {
      if (v === undefined || vals.length !== 1 || !/^-?\d+$/.test(v) || !/^-?\d+$/.test(vals[0]!)) return false;
      return r.operator === 'Gt' ? BigInt(v) > BigInt(vals[0]!) : BigInt(v) < BigInt(vals[0]!);
    }
    default:
      return false;
  }
}

/** nodeSelector AND required node affinity (terms ORed, requirements ANDed). */
export function matchesNodeSelector(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const affinity = (pod.spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] } } } | undefined)?.nodeAffinity;
  const terms = affinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms) return true;
  const fields = (k: string): string | undefined => (k === 'metadata.name' ? node.metadata.name : undefined);
  return terms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const flds = term.matchFields ?? [];
    if (exprs.length === 0 && flds.length === 0) return false;
    return exprs.every((r) => requirementOK(r, (k) => (Object.prototype.hasOwnProperty.call(labels, k) ? labels[k] : undefined))) && flds.every((r) => requirementOK(r, fields));
  });
}

function hostPorts(pod: Pod): { port: number; protocol: string; ip: string }[] {
  const out: { port: number; protocol: string; ip: string }[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) if (p.hostPort) out.push({ port: p.hostPort, protocol: p.protocol ?? 'TCP', ip: p.hostIP || '0.0.0.0' });
  }
  return out;
}

function hostPortsClash(pod: Pod, podsOnNode: KubeObject[]): boolean {
  const want = hostPorts(pod);
  if (want.length === 0) return false;
  const used = podsOnNode.flatMap((p) => hostPorts(p as Pod));
  return want.some((w) => used.some((u) => u.port === w.port && u.protocol === w.protocol && (u.ip === w.ip || u.ip === '0.0.0.0' || w.ip === '0.0.0.0')));
}
