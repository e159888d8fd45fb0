/**
 * The pod row of `kubectl get pods`, as kube-apiserver's printPod computes it.
 *
 * STATUS starts from the phase (or status.reason), becomes `SchedulingGated`
 * for a gated pod, `Init:<reason>` / `Init:ExitCode:N` / `Init:i/n` while init
 * containers run, then the waiting/terminated reason of the app containers
 * (ContainerCreating, CrashLoopBackOff, ErrImagePull, Completed, Error, ...)
 * scanning from the last container to the first — "Completed" reverts to
 * Running/NotReady while some container still runs — and finally
 * `Terminating` (or `Unknown` for a pod lost with its node) once deleted.
 * READY counts ready app containers plus started sidecars (restartable init
 * containers); RESTARTS adds `(<age> ago)` of the last container exit.
 */
import type { Condition, ContainerStatus, KubeObject } from '@kubemu/api';
import { humanDuration, since, timestampMillis } from './duration.js';

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface InitContainer {
  name: string;
  restartPolicy?: string;
}

type Status = ContainerStatus & { started?: boolean };

const NODE_UNREACHABLE_REASON = 'NodeLost';

const podSucceeded: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
const podFailed: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

function isTrue(conditions: Condition[] | undefined, type: string): boolean {
  return conditions?.find((c) => c.type === type)?.status === 'True';
}

export function podRow(pod: KubeObject, now: Date): { cells: unknown[]; conditions?: TableRowCondition[] } {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const conditions: Condition[] = status.conditions ?? [];
  const initSpecs: InitContainer[] = spec.initContainers ?? [];
  const initStatuses: Status[] = status.initContainerStatuses ?? [];
  const appStatuses: Status[] = status.containerStatuses ?? [];

  let restarts = 0;
  let sidecarRestarts = 0;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;
  let totalContainers = (spec.containers ?? []).length;
  const latest = (a: number | undefined, b: number | undefined) => (b !== undefined && (a === undefined || b > a) ? b : a);

  const phase: string = status.phase ?? '';
  let reason: string = status.reason || phase;
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  const restartable = new Set(initSpecs.filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  totalContainers += restartable.size;

  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += c.restartCount ?? 0;
    const finished = timestampMillis(c.lastState?.terminated?.finishedAt);
    lastRestart = latest(lastRestart, finished);
    if (restartable.has(c.name)) {
      sidecarRestarts += c.restartCount ?? 0;
      lastSidecarRestart = latest(lastSidecarRestart, finished);
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (restartable.has(c.name) && c.started) {
      if (c.ready) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || isTrue(conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    for (let i = appStatuses.length - 1; i >= 0; i--) {
      const c = appStatuses[i];
      restarts += c.restartCount ?? 0;
      lastRestart = latest(lastRestart, timestampMillis(c.lastState?.terminated?.finishedAt));
      const waiting = c.state?.waiting;
      const terminated = c.state?.terminated;
      if (waiting?.reason) {
        reason = waiting.reason;
      } else if (terminated?.reason) {
        reason = terminated.reason;
      } else if (terminated) {
        reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      } else if (c.ready && c.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed but another still runs is not "Completed".
    if (reason === 'Completed' && hasRunning) reason = isTrue(conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  if (pod.metadata.deletionTimestamp && status.reason === NODE_UNREACHABLE_REASON) {
    reason = 'Unknown';
  } else if (pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') {
    reason = 'Terminating';
  }

  const restartsCell =
    restarts !== 0 && lastRestart !== undefined ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);

  const podIP: string = status.podIPs?.[0]?.ip || status.podIP || '<none>';
  const readinessGates: { conditionType: string }[] = spec.readinessGates ?? [];
  let gates = '<none>';
  if (readinessGates.length > 0) {
    const passed = readinessGates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
    gates = `${passed}/${readinessGates.length}`;
  }

  const cells = [
    pod.metadata.name ?? '',
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsCell,
    since(pod.metadata.creationTimestamp, now),
    podIP,
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gates,
  ];
  const rowConditions = phase === 'Succeeded' ? podSucceeded : phase === 'Failed' ? podFailed : undefined;
  return rowConditions ? { cells, conditions: rowConditions } : { cells };
}
