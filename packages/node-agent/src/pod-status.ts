/**
 * A pod's status as kubelet reports it, computed from its containers: phase,
 * the five conditions, container statuses, IPs.
 */
import type { Condition, ContainerStatus, Pod, PodStatus } from '@kubemu/api';
import type { ContainerRunner } from './container-runner.js';
import { metaTime } from '@kubemu/api';

export interface PodFacts {
  pod: Pod;
  containers: ContainerRunner[];
  /** Ephemeral containers: reported in ephemeralContainerStatuses, counted for neither phase nor readiness. */
  ephemeral?: ContainerRunner[];
  hostIP: string;
  podIP?: string;
  startTime: string;
  sandboxReady: boolean;
}

function phaseOf(f: PodFacts): PodStatus['phase'] {
  const cs = f.containers;
  const policy = f.pod.spec.restartPolicy ?? 'Always';
  if (cs.some((c) => c.state.running)) return 'Running';
  const allTerminated = cs.length > 0 && cs.every((c) => c.state.terminated);
  if (allTerminated && policy !== 'Always') return cs.every((c) => c.state.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
  // Restarting containers (waiting after a run) keep the pod Running, as in Kubernetes.
  if (cs.some((c) => c.restartCount > 0 || c.state.terminated)) return 'Running';
  return 'Pending';
}

function condition(type: string, ok: boolean, prev: Condition[] | undefined, reason?: string, message?: string): Condition {
  const status = ok ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  const lastTransitionTime = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : metaTime();
  return { type, status, lastProbeTime: null, lastTransitionTime, ...(!ok && reason ? { reason, message } : {}) };
}

export function podStatus(f: PodFacts): PodStatus {
  const prev = f.pod.status?.conditions;
  const unready = f.containers.filter((c) => !c.ready).map((c) => c.spec.name);
  const terminal = phaseOf(f);
  const allReady = unready.length === 0 && f.containers.length > 0;
  const readyReason = terminal === 'Succeeded' || terminal === 'Failed' ? 'PodCompleted' : 'ContainersNotReady';
  const readyMsg = readyReason === 'PodCompleted' ? '' : `containers with unready status: [${unready.join(' ')}]`;
  const statuses: ContainerStatus[] = f.containers.map((c) => ({
    name: c.spec.name,
    state: c.state,
    lastState: c.lastState,
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.spec.image ?? '',
    imageID: c.spec.image ? `kubemu://${c.spec.image}` : '',
    ...(c.state.running || c.state.terminated ? { containerID: `kubemu://${f.pod.metadata.uid}/${c.spec.name}/${c.restartCount}` } : {}),
    started: c.started,
  }));
  return {
    phase: terminal,
    conditions: [
      condition('PodReadyToStartContainers', f.sandboxReady, prev),
      condition('Initialized', true, prev),
      condition('Ready', allReady, prev, readyReason, readyMsg),
      condition('ContainersReady', allReady, prev, readyReason, readyMsg),
      condition('PodScheduled', true, prev),
    ],
    hostIP: f.hostIP,
    hostIPs: [{ ip: f.hostIP }],
    ...(f.podIP ? { podIP: f.podIP, podIPs: [{ ip: f.podIP }] } : {}),
    startTime: f.startTime,
    containerStatuses: statuses,
    ...(f.ephemeral?.length
      ? {
          ephemeralContainerStatuses: f.ephemeral.map((c) => ({
            name: c.spec.name,
            state: c.state,
            lastState: {},
            ready: false,
            restartCount: 0,
            image: c.spec.image ?? '',
            imageID: c.spec.image ? `kubemu://${c.spec.image}` : '',
            ...(c.state.running || c.state.terminated ? { containerID: `kubemu://${f.pod.metadata.uid}/${c.spec.name}/0` } : {}),
          })),
        }
      : {}),
    qosClass: f.pod.status?.qosClass ?? 'BestEffort',
  };
}
