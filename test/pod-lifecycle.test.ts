/**
 * Pod lifecycle as Kubernetes reports it, on a real netns cluster: image pull
 * errors, crash loops, graceful termination, logs, and the agnhost and echo
 * workloads Kubernetes' own tests use.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';

const c = new NetnsCluster(2);
beforeAll(() => c.up(), 120_000);
afterAll(() => c.down(), 60_000);


const pod = (name: string) => c.json<PodJ>(['get', 'pod', name]);

describe.skipIf(!IS_ROOT)('pod lifecycle (netns)', () => {
  it('reports ErrImagePull for an image kubemu does not have', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: no-image}
spec: {containers: [{name: c, image: example.com/nothing:1.0}]}
`);
    await until('ErrImagePull', () => /ErrImagePull|ImagePullBackOff/.test(pod('no-image').status.containerStatuses?.[0].state.waiting?.reason ?? ''));
    expect(c.kubectl(['get', 'pod', 'no-image']).stdout).toMatch(/no-image\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0/);
    expect(pod('no-image').status.phase).toBe('Pending');
  });

  it('backs off a crashing container (CrashLoopBackOff) and keeps its last exit code', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec: {containers: [{name: c, image: busybox, command: [sh, -c, 'echo bye; exit 3']}]}
`);
    await until('CrashLoopBackOff', () => pod('crasher').status.containerStatuses?.[0].state.waiting?.reason === 'CrashLoopBackOff', 30_000);
    const s = pod('crasher').status.containerStatuses![0];
    expect(s.restartCount).toBeGreaterThanOrEqual(1);
    expect(s.lastState?.terminated?.exitCode).toBe(3);
    expect(c.kubectl(['logs', 'crasher']).stdout).toContain('bye');
    expect(c.kubectl(['get', 'pod', 'crasher']).stdout).toMatch(/crasher\s+0\/1\s+CrashLoopBackOff\s+\d+/);
  });

  it('runs a pod with restartPolicy Never to completion', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers: [{name: c, image: busybox, command: [sh, -c, 'echo done']}]
`);
    await until('Succeeded', () => pod('once').status.phase === 'Succeeded');
    expect(c.kubectl(['get', 'pod', 'once']).stdout).toMatch(/once\s+0\/1\s+Completed\s+0/);
    expect(c.kubectl(['logs', 'once']).stdout.trim()).toBe('done');
  });

  it('terminates gracefully: Terminating, SIGTERM, SIGKILL after the grace period, then gone', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 2
  containers: [{name: c, image: busybox, command: [sh, -c, 'trap "echo got TERM" TERM; while true; do sleep 0.1; done']}]
`);
    await until('running', () => pod('stubborn').status.phase === 'Running');
    const t0 = Date.now();
    const r = c.kubectl(['delete', 'pod', 'stubborn', '--wait=false']);
    expect(r.status, r.stderr).toBe(0);
    expect(pod('stubborn').metadata.deletionTimestamp).toBeDefined();
    expect(c.kubectl(['get', 'pod', 'stubborn']).stdout).toMatch(/Terminating/);
    await until('gone', () => c.kubectl(['get', 'pod', 'stubborn']).status !== 0, 20_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
  });

  it('runs the preStop hook before SIGTERM, and the grace period covers both', async () => {
    const mark = `/run/kubemu-prestop-${c.name}`;
    rmSync(mark, { force: true });
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: hooked}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'trap "echo TERM >> ${mark}; exit 0" TERM; while true; do sleep 0.1; done']
    lifecycle:
      preStop:
        exec: {command: [sh, -c, 'echo preStop >> ${mark}; sleep 2']}
`);
    try {
      await until('running', () => pod('hooked').status.phase === 'Running');
      const t0 = Date.now();
      expect(c.kubectl(['delete', 'pod', 'hooked', '--wait=false']).status).toBe(0);
      await until('gone', () => c.kubectl(['get', 'pod', 'hooked']).status !== 0, 20_000);
      // the hook ran first and its 2 s kept the pod Terminating; SIGTERM came after it
      expect(readFileSync(mark, 'utf8').split('\n').filter(Boolean)).toEqual(['preStop', 'TERM']);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    } finally {
      rmSync(mark, { force: true });
    }
  });

  it('serves kubectl logs and logs -f from the container', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: talker}
spec: {containers: [{name: c, image: busybox, command: [sh, -c, 'for i in 1 2 3 4 5; do echo line $i; done; sleep 1000']}]}
`);
    await until('5 lines', () => c.kubectl(['logs', 'talker']).stdout.includes('line 5'));
    expect(c.kubectl(['logs', 'talker', '--tail=2']).stdout.trim().split('\n')).toEqual(['line 4', 'line 5']);
  });

  it('runs agnhost netexec and serve-hostname as Kubernetes tests use them', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: netexec}
spec:
  containers:
  - name: agnhost
    image: registry.k8s.io/e2e-test-images/agnhost:2.47
    args: [netexec, --http-port=8080, --udp-port=8081]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnames}
spec:
  containers:
  - name: agnhost
    image: registry.k8s.io/e2e-test-images/agnhost:2.47
    args: [serve-hostname]
`);
    const ip = await until('netexec running', () => pod('netexec').status.phase === 'Running' && pod('netexec').status.podIP);
    const ip2 = await until('hostnames running', () => pod('hostnames').status.phase === 'Running' && pod('hostnames').status.podIP);
    await until('/hostname', () => c.kubectl(['exec', 'hostnames', '--', 'curl', '-s', '--max-time', '2', `http://${ip}:8080/hostname`]).stdout === 'netexec', 10_000);
    const dial = c.kubectl(['exec', 'netexec', '--', 'curl', '-s', '--max-time', '5', `http://127.0.0.1:8080/dial?request=hostname&protocol=http&host=${ip2}&port=9376&tries=2`]);
    expect(JSON.parse(dial.stdout)).toEqual({ responses: ['hostnames', 'hostnames'], errors: [] });
    const clientip = c.kubectl(['exec', 'hostnames', '--', 'curl', '-s', `http://${ip}:8080/clientip`]).stdout;
    expect(clientip.split(':')[0]).toBe(ip2);
  });

  it('runs the echo server, which names the pod and the client it saw', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: echo}
spec: {containers: [{name: echo, image: kubemu/echo}]}
`);
    const ip = await until('echo running', () => pod('echo').status.phase === 'Running' && pod('echo').status.podIP);
    const from = pod('netexec').status.podIP;
    const out = await until('an answer', () => c.kubectl(['exec', 'netexec', '--', 'curl', '-s', '--max-time', '2', `http://${ip}:8080/x?y=1`]).stdout);
    const body = JSON.parse(out);
    expect(body).toMatchObject({ pod: 'echo', clientIP: from, method: 'GET', path: '/x?y=1' });
  });
});
