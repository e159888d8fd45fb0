import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateEphemeralContainersUpdate, validateObject } from './index.js';

type Spec = Record<string, any>;
const kubia = { name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }] };
const debug = (extra: Spec = {}): Spec => ({ name: 'debugger', image: 'busybox', stdin: true, tty: true, resources: {}, terminationMessagePolicy: 'File', ...extra });

function pod(ephemeralContainers?: Spec[], meta: Spec = {}): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kubia-1', namespace: 'default', ...meta }, spec: { containers: [kubia], ...(ephemeralContainers ? { ephemeralContainers } : {}) } };
  applyDefaults(o);
  return o;
}
const update = (next: KubeObject, old: KubeObject): string[] => validateEphemeralContainersUpdate(next, old).map(formatFieldError);
const E = 'spec.ephemeralContainers[0]';

describe('pods/ephemeralcontainers validation (ValidatePodEphemeralContainersUpdate)', () => {
  it('accepts a debug container as kubectl debug makes it', () => {
    expect(update(pod([debug()]), pod())).toEqual([]);
    expect(update(pod([debug(), debug({ name: 'debugger-2', targetContainerName: 'kubia', command: ['sh'] })]), pod([debug()]))).toEqual([]);
  });

  it('refuses what ephemeral containers may not have, with the allow-list paths', () => {
    const bad = debug({
      ports: [{ containerPort: 80 }],
      resources: { limits: { cpu: '1' } },
      readinessProbe: { tcpSocket: { port: 80 } },
      livenessProbe: { exec: { command: ['true'] } },
      startupProbe: { exec: { command: ['true'] } },
      lifecycle: { preStop: { exec: { command: ['true'] } } },
    });
    expect(update(pod([bad]), pod())).toEqual([
      `${E}.ports: Forbidden: cannot be set for an Ephemeral Container`,
      `${E}.resources: Forbidden: cannot be set for an Ephemeral Container`,
      `${E}.livenessProbe: Forbidden: cannot be set for an Ephemeral Container`,
      `${E}.readinessProbe: Forbidden: cannot be set for an Ephemeral Container`,
      `${E}.startupProbe: Forbidden: cannot be set for an Ephemeral Container`,
      `${E}.lifecycle: Forbidden: cannot be set for an Ephemeral Container`,
    ]);
  });

  it('wants names unique across every container, and a target that is a regular container', () => {
    expect(update(pod([debug({ name: 'kubia' })]), pod())).toEqual([`${E}.name: Duplicate value: "kubia"`]);
    expect(update(pod([debug(), debug()]), pod())).toEqual(['spec.ephemeralContainers[1].name: Duplicate value: "debugger"']);
    expect(update(pod([debug({ targetContainerName: 'nope' })]), pod())).toEqual([`${E}.targetContainerName: Not found: "nope"`]);
    expect(update(pod([debug(), debug({ name: 'd2', targetContainerName: 'debugger' })]), pod([debug()]))).toEqual(['spec.ephemeralContainers[1].targetContainerName: Not found: "debugger"']);
  });

  it('checks them as containers (name, image, subPath)', () => {
    expect(update(pod([debug({ name: 'Debug', image: '' })]), pod())).toEqual([
      `${E}.name: Invalid value: "Debug": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      `${E}.image: Required value`,
    ]);
  });

  it('never lets existing ones go or change', () => {
    expect(update(pod([]), pod([debug()]))).toEqual(['spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed\n']);
    const changed = update(pod([debug({ image: 'nginx' })]), pod([debug()]));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^spec\.ephemeralContainers\[debugger\]: Forbidden: existing ephemeral containers "debugger" may not be changed\n/);
    expect(changed[0]).toContain('image');
    // Order is free: a patch may reorder them.
    expect(update(pod([debug({ name: 'b' }), debug({ name: 'a' })]), pod([debug({ name: 'a' }), debug({ name: 'b' })]))).toEqual([]);
  });

  it('refuses static pods', () => {
    expect(update(pod([debug()], { annotations: { 'kubernetes.io/config.mirror': 'x' } }), pod([], { annotations: { 'kubernetes.io/config.mirror': 'x' } }))).toEqual([
      ': Forbidden: static pods do not support ephemeral containers',
    ]);
  });

  it('keeps them out of pod create and plain pod updates', () => {
    expect(validateObject(pod([debug()])).map(formatFieldError)).toEqual(['spec.ephemeralContainers: Forbidden: cannot be set on create']);
    const errs = validateObject(pod([debug()]), pod()).map(formatFieldError);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^spec: Forbidden: pod updates may not change fields other than/);
    expect(errs[0]).toContain('ephemeralContainers: changed');
  });

  it('never throws on wrong JSON types', () => {
    const p = pod();
    (p.spec as Spec).ephemeralContainers = 'x';
    expect(update(p, pod())).toEqual(['spec.ephemeralContainers: Invalid value: "string": must be of type array']);
    expect(update(pod([{ name: 'd', image: 'busybox', stdin: 'yes', targetContainerName: 3 }]), pod())).toEqual([
      `${E}.targetContainerName: Invalid value: "integer": must be of type string`,
      `${E}.stdin: Invalid value: "string": must be of type boolean`,
    ]);
  });
});
