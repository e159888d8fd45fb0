import { describe, expect, it } from 'vitest';
import type { Pod } from '@kubemu/api';
import { validateContainer } from './pod-target.js';
import { parseExecOptions } from './exec-relay.js';
import { parseLogOptions } from './logs-relay.js';

const pod = (containers: string[], init: string[] = []): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web' },
  spec: { containers: containers.map((name) => ({ name })), initContainers: init.map((name) => ({ name })) },
});

const q = (s: string) => new URLSearchParams(s);
const message = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
};

describe('validateContainer', () => {
  it('defaults to the only container and checks named ones, as kube-apiserver', () => {
    expect(validateContainer(pod(['main']), undefined)).toBe('main');
    expect(validateContainer(pod(['main', 'side'], ['init']), 'init')).toBe('init');
    expect(message(() => validateContainer(pod(['main', 'side'], ['init']), undefined))).toBe('a container name must be specified for pod web, choose one of: [init main side]');
    expect(message(() => validateContainer(pod(['main']), 'nope'))).toBe('container nope is not valid for pod web');
  });
});

describe('parseExecOptions', () => {
  it('reads kubectl’s query', () => {
    expect(parseExecOptions(q('command=sh&command=-c&command=echo%20hi&container=main&stdin=true&stdout=true&stderr=true'))).toEqual({
      command: ['sh', '-c', 'echo hi'],
      container: 'main',
      stdin: true,
      stdout: true,
      stderr: true,
      tty: false,
    });
    expect(parseExecOptions(q('command=ls&stdout=1&stderr=1&tty=1'))).toMatchObject({ stderr: false, tty: true });
  });

  it('refuses what kubelet refuses', () => {
    expect(message(() => parseExecOptions(q('command=ls')))).toBe('you must specify at least 1 of stdin, stdout, stderr');
    expect(message(() => parseExecOptions(q('stdout=true')))).toBe('you must specify at least one command for the container');
  });
});

describe('parseLogOptions', () => {
  it('reads kubectl’s query', () => {
    expect(parseLogOptions(q('container=main&follow=true&tailLines=2&timestamps=true&limitBytes=100&sinceSeconds=60'))).toEqual({
      container: 'main',
      follow: true,
      previous: false,
      timestamps: true,
      tailLines: 2,
      limitBytes: 100,
      sinceSeconds: 60,
    });
    expect(parseLogOptions(q('sinceTime=2026-01-01T00:00:00Z')).sinceTime).toBe('2026-01-01T00:00:00Z');
  });

  it('refuses malformed numbers and conflicting options', () => {
    expect(message(() => parseLogOptions(q('tailLines=x')))).toContain('tailLines');
    expect(message(() => parseLogOptions(q('limitBytes=0')))).toContain('limitBytes');
    expect(message(() => parseLogOptions(q('sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z')))).toContain('at most one of');
  });
});
