/**
 * Test helpers for controller tests: a silent logger, a fake clock, polling
 * until an assertion holds, and object builders.
 */
import { afterEach } from 'vitest';
import { pino, type Logger } from 'pino';
import type { Condition, Node, Pod, Service } from '@kubemu/api';
import type { Clock } from '../controllers/controller-utils.js';

/**
 * Registers an afterEach that stops everything handed to the returned function
 * (controllers, watches), so a failing test cannot leak them into the next.
 */
export function stopAfterEach(): (...stops: (() => void)[]) => void {
  let stops: (() => void)[] = [];
  afterEach(() => {
    for (const s of stops) s();
    stops = [];
  });
  return (...more) => void stops.push(...more);
}

export function testLogger(): Logger {
  return pino({ level: process.env.KUBEMU_TEST_LOG ?? 'silent' });
}

export class FakeClock implements Clock {
  constructor(public ms = Date.parse('2025-01-01T00:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export { eventually } from '@kubemu/api/testing';

/** Lets pending watch deliveries and queue work run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export function readyCondition(ready: boolean, at = '2025-01-01T00:00:00Z'): Condition {
  return { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: at, lastProbeTime: null };
}

export function makePod(
  name: string,
  opts: {
    namespace?: string;
    labels?: Record<string, string>;
    ip?: string;
    ready?: boolean;
    nodeName?: string;
    ports?: { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' }[];
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
    hostname?: string;
    subdomain?: string;
  } = {},
): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.namespace ?? 'default', labels: opts.labels ?? {} },
    spec: { containers: [{ name: 'main', image: 'luksa/kubia', ports: opts.ports }] },
    status: { phase: opts.phase ?? 'Running', conditions: [readyCondition(opts.ready ?? true)] },
  };
  if (opts.nodeName) pod.spec.nodeName = opts.nodeName;
  if (opts.hostname) pod.spec.hostname = opts.hostname;
  if (opts.subdomain) pod.spec.subdomain = opts.subdomain;
  if (opts.ip) {
    pod.status!.podIP = opts.ip;
    pod.status!.podIPs = [{ ip: opts.ip }];
  }
  return pod;
}

export function makeService(
  name: string,
  spec: Partial<Service['spec']> & { selector?: Record<string, string> } = {},
  opts: { namespace?: string; labels?: Record<string, string> } = {},
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: opts.namespace ?? 'default', labels: opts.labels },
    spec: { type: 'ClusterIP', ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
  };
}

export function makeNode(name: string, opts: { ready?: boolean; heartbeat?: string; labels?: Record<string, string>; unschedulable?: boolean } = {}): Node {
  const hb = opts.heartbeat ?? '2025-01-01T00:00:00Z';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: opts.unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: hb, lastTransitionTime: hb },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: hb, lastTransitionTime: hb },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: hb, lastTransitionTime: hb },
        {
          type: 'Ready',
          status: opts.ready === false ? 'False' : 'True',
          reason: opts.ready === false ? 'KubeletNotReady' : 'KubeletReady',
          message: opts.ready === false ? 'container runtime is down' : 'kubelet is posting ready status',
          lastHeartbeatTime: hb,
          lastTransitionTime: hb,
        },
      ],
    },
  };
}
