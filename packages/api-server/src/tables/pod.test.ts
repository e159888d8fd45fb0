import type { KubeObject } from '@kubemu/api';
import { describe, expect, it } from 'vitest';
import { podRow } from './pod.js';

const now = new Date('2024-05-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Opts {
  phase?: string;
  reason?: string;
  containers?: string[];
  statuses?: Record<string, unknown>[];
  initContainers?: Record<string, unknown>[];
  initStatuses?: Record<string, unknown>[];
  conditions?: Record<string, unknown>[];
  deleted?: boolean;
  nodeName?: string;
  podIP?: string;
  readinessGates?: string[];
}

function pod(o: Opts = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'kubia-7d5b9',
      namespace: 'default',
      creationTimestamp: ago(302),
      ...(o.deleted ? { deletionTimestamp: ago(5), deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: {
      containers: (o.containers ?? ['kubia']).map((name) => ({ name, image: 'luksa/kubia' })),
      ...(o.initContainers ? { initContainers: o.initContainers } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.readinessGates ? { readinessGates: o.readinessGates.map((conditionType) => ({ conditionType })) } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.conditions ? { conditions: o.conditions } : {}),
      ...(o.podIP ? { podIP: o.podIP, podIPs: [{ ip: o.podIP }] } : {}),
      ...(o.statuses ? { containerStatuses: o.statuses } : {}),
      ...(o.initStatuses ? { initContainerStatuses: o.initStatuses } : {}),
    },
  };
}

const running = (name = 'kubia', extra: Record<string, unknown> = {}) => ({
  name,
  ready: true,
  started: true,
  restartCount: 0,
  image: 'luksa/kubia',
  imageID: '',
  state: { running: { startedAt: ago(300) } },
  ...extra,
});
const waiting = (name: string, reason: string, extra: Record<string, unknown> = {}) => ({
  name,
  ready: false,
  restartCount: 0,
  image: 'luksa/kubia',
  imageID: '',
  state: { waiting: { reason } },
  ...extra,
});
const terminated = (name: string, exitCode: number, reason?: string, extra: Record<string, unknown> = {}) => ({
  name,
  ready: false,
  restartCount: 0,
  image: 'busybox',
  imageID: '',
  state: { terminated: { exitCode, ...(reason ? { reason } : {}), finishedAt: ago(60) } },
  ...extra,
});

/** NAME READY STATUS RESTARTS AGE. */
const head = (p: KubeObject) => podRow(p, now).cells.slice(0, 5);

describe('pod rows', () => {
  it('a running, ready pod', () => {
    const row = podRow(pod({ statuses: [running()], nodeName: 'node-1', podIP: '10.244.1.5', conditions: [{ type: 'Ready', status: 'True' }] }), now);
    expect(row.cells).toEqual(['kubia-7d5b9', '1/1', 'Running', '0', '5m2s', '10.244.1.5', 'node-1', '<none>', '<none>']);
    expect(row.conditions).toBeUndefined();
  });

  it('a pending pod not yet scheduled', () => {
    expect(podRow(pod({ phase: 'Pending' }), now).cells).toEqual(['kubia-7d5b9', '0/1', 'Pending', '0', '5m2s', '<none>', '<none>', '<none>', '<none>']);
  });

  it('ContainerCreating, ErrImagePull and ImagePullBackOff come from the waiting reason', () => {
    expect(head(pod({ phase: 'Pending', statuses: [waiting('kubia', 'ContainerCreating')] }))).toEqual(['kubia-7d5b9', '0/1', 'ContainerCreating', '0', '5m2s']);
    expect(head(pod({ phase: 'Pending', statuses: [waiting('kubia', 'ErrImagePull')] }))[2]).toBe('ErrImagePull');
    expect(head(pod({ phase: 'Pending', statuses: [waiting('kubia', 'ImagePullBackOff')] }))[2]).toBe('ImagePullBackOff');
  });

  it('CrashLoopBackOff with restarts and the age of the last exit', () => {
    const crashing = waiting('kubia', 'CrashLoopBackOff', { restartCount: 2, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(300) } } });
    expect(head(pod({ statuses: [crashing] }))).toEqual(['kubia-7d5b9', '0/1', 'CrashLoopBackOff', '2 (5m ago)', '5m2s']);
  });

  it('counts restarts of all containers and takes the latest exit', () => {
    const a = running('a', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(3 * 3600) } } });
    const b = running('b', { restartCount: 3, lastState: { terminated: { exitCode: 137, finishedAt: ago(45) } } });
    expect(head(pod({ containers: ['a', 'b'], statuses: [a, b] }))).toEqual(['kubia-7d5b9', '2/2', 'Running', '4 (45s ago)', '5m2s']);
  });

  it('Completed and Error pods carry the Completed row condition', () => {
    const done = podRow(pod({ phase: 'Succeeded', statuses: [terminated('kubia', 0, 'Completed')] }), now);
    expect(done.cells.slice(0, 4)).toEqual(['kubia-7d5b9', '0/1', 'Completed', '0']);
    expect(done.conditions).toEqual([{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
    const failed = podRow(pod({ phase: 'Failed', statuses: [terminated('kubia', 1, 'Error')] }), now);
    expect(failed.cells[2]).toBe('Error');
    expect(failed.conditions).toEqual([{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }]);
  });

  it('a terminated container without a reason shows its exit code or signal', () => {
    expect(head(pod({ phase: 'Failed', statuses: [terminated('kubia', 137)] }))[2]).toBe('ExitCode:137');
    const signalled = terminated('kubia', 0, undefined, { state: { terminated: { exitCode: 0, signal: 9 } } });
    expect(head(pod({ phase: 'Failed', statuses: [signalled] }))[2]).toBe('Signal:9');
  });

  it('an evicted pod shows the status reason', () => {
    expect(head(pod({ phase: 'Failed', reason: 'Evicted' }))[2]).toBe('Evicted');
  });

  it('a completed container beside a running one is Running or NotReady, not Completed', () => {
    const statuses = [terminated('job', 0, 'Completed'), running('web')];
    expect(head(pod({ containers: ['job', 'web'], statuses, conditions: [{ type: 'Ready', status: 'True' }] }))[2]).toBe('Running');
    expect(head(pod({ containers: ['job', 'web'], statuses, conditions: [{ type: 'Ready', status: 'False' }] })).slice(1, 3)).toEqual(['1/2', 'NotReady']);
  });

  it('Terminating once deleted, Unknown when lost with its node', () => {
    expect(head(pod({ deleted: true, statuses: [running()] }))[2]).toBe('Terminating');
    expect(head(pod({ deleted: true, reason: 'NodeLost', statuses: [running()] }))[2]).toBe('Unknown');
    expect(head(pod({ deleted: true, phase: 'Succeeded', statuses: [terminated('kubia', 0, 'Completed')] }))[2]).toBe('Completed');
  });

  it('init containers: progress, failures and waiting reasons', () => {
    const initContainers = [{ name: 'init-db' }, { name: 'init-cache' }];
    const base = { phase: 'Pending', initContainers, statuses: [waiting('kubia', 'PodInitializing')] };
    expect(head(pod({ ...base, initStatuses: [waiting('init-db', 'PodInitializing'), waiting('init-cache', 'PodInitializing')] }))[2]).toBe('Init:0/2');
    expect(head(pod({ ...base, initStatuses: [terminated('init-db', 0, 'Completed'), running('init-cache', { ready: false })] }))[2]).toBe('Init:1/2');
    expect(head(pod({ ...base, initStatuses: [waiting('init-db', 'CrashLoopBackOff', { restartCount: 4 })] }))).toEqual([
      'kubia-7d5b9',
      '0/1',
      'Init:CrashLoopBackOff',
      '4',
      '5m2s',
    ]);
    expect(head(pod({ ...base, initStatuses: [terminated('init-db', 1, 'Error')] }))[2]).toBe('Init:Error');
    expect(head(pod({ ...base, initStatuses: [terminated('init-db', 3)] }))[2]).toBe('Init:ExitCode:3');
    const killed = terminated('init-db', 0, undefined, { state: { terminated: { exitCode: 1, signal: 9 } } });
    expect(head(pod({ ...base, initStatuses: [killed] }))[2]).toBe('Init:Signal:9');
  });

  it('a started sidecar (restartable init container) counts as a container', () => {
    const p = pod({
      initContainers: [{ name: 'proxy', restartPolicy: 'Always' }],
      initStatuses: [running('proxy', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(120) } } })],
      statuses: [running()],
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
    });
    expect(head(p)).toEqual(['kubia-7d5b9', '2/2', 'Running', '1 (2m ago)', '5m2s']);
  });

  it('SchedulingGated from the PodScheduled condition', () => {
    const gated = pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] });
    expect(head(gated)[2]).toBe('SchedulingGated');
  });

  it('readiness gates count the gates whose condition is True', () => {
    const p = pod({
      statuses: [running()],
      readinessGates: ['example.com/lb-ready', 'example.com/dns-ready'],
      conditions: [
        { type: 'example.com/lb-ready', status: 'True' },
        { type: 'example.com/dns-ready', status: 'False' },
      ],
    });
    expect(podRow(p, now).cells[8]).toBe('1/2');
  });
});
