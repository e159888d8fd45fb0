/**
 * Nodes and pods on a real 3-node netns cluster: pods get real IPs on their
 * nodes and reach each other across nodes; readiness probes move pods in and
 * out of the endpoints; liveness restarts; localhost-only apps stay private.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';
import { ROOT } from './helpers/control-plane-process.js';

const c = new NetnsCluster(3);

beforeAll(() => c.up(), 120_000);
afterAll(() => c.down(), 60_000);




describe.skipIf(!IS_ROOT)('nodes and pods (netns)', () => {
  it('has 3 Ready nodes', () => {
    const nodes = c.json<{ items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] }>(['get', 'nodes']).items;
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const n of nodes) expect(n.status.conditions.find((x) => x.type === 'Ready')?.status).toBe('True');
  });

  it('spreads the kubia RC over the nodes and every pod answers on its IP from a pod on another node', async () => {
    // The book's RC, exactly as in examples/ (what a reader would apply).
    const r = c.kubectl(['apply', '-f', join(ROOT, 'examples', 'kubia-rc.yaml')]);
    expect(r.status, r.stderr).toBe(0);
    const ps = await until('3 running kubia pods', () => {
      const p = c.pods('app=kubia');
      return p.length === 3 && p.every((x) => x.status.phase === 'Running' && x.status.podIP) && p;
    });
    expect(new Set(ps.map((p) => p.spec.nodeName)).size).toBe(3);
    for (const target of ps) {
      const from = ps.find((p) => p.spec.nodeName !== target.spec.nodeName)!;
      const r = c.kubectl(['exec', from.metadata.name, '--', 'curl', '-s', '--max-time', '3', `http://${target.status.podIP}:8080`]);
      expect(r.stdout.trim(), r.stderr).toBe(`You've hit ${target.metadata.name}`);
    }
  });

  it('keeps a pod out of the endpoints until its exec readiness probe passes', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: ready-later, labels: {app: ready-later}}
spec:
  containers:
  - name: kubia
    image: luksa/kubia
    ports: [{containerPort: 8080}]
    readinessProbe:
      exec: {command: [ls, /var/ready]}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: ready-later}
spec:
  selector: {app: ready-later}
  ports: [{port: 80, targetPort: 8080}]
`);
    await until('the pod running', () => c.pods('app=ready-later')[0]?.status.phase === 'Running');
    await new Promise((r) => setTimeout(r, 2500));
    expect(c.readyIPs('ready-later')).toEqual([]);
    // Like Kubernetes: the not-ready address is not listed in the ENDPOINTS column.
    expect(c.kubectl(['get', 'endpoints', 'ready-later']).stdout).not.toMatch(/:8080/);
    expect(c.json<{ subsets: { notReadyAddresses?: unknown[] }[] }>(['get', 'endpoints', 'ready-later']).subsets[0].notReadyAddresses).toHaveLength(1);
    const r = c.kubectl(['exec', 'ready-later', '--', 'touch', '/var/ready']);
    expect(r.status, r.stderr).toBe(0);
    const ip = c.pods('app=ready-later')[0].status.podIP!;
    await until('the pod in the endpoints', () => c.readyIPs('ready-later').includes(ip), 10_000);
    const described = c.kubectl(['describe', 'pod', 'ready-later']).stdout;
    expect(described).toMatch(/Readiness probe failed/);
  });

  it('removes a pod whose httpGet readiness probe starts failing from the endpoints without restarting it', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: unwell, labels: {app: unwell}}
spec:
  containers:
  - name: kubia
    image: luksa/kubia-unhealthy
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /, port: http}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: unwell}
spec:
  selector: {app: unwell}
  ports: [{port: 80, targetPort: http}]
`);
    const ip = await until('unwell ready in endpoints', () => {
      const p = c.pods('app=unwell')[0];
      return p?.status.podIP && c.readyIPs('unwell').includes(p.status.podIP) && p.status.podIP;
    });
    // kubia-unhealthy answers 500 after five requests: readiness turns false.
    await until('unwell out of the endpoints', () => !c.readyIPs('unwell').includes(ip), 20_000);
    const p = c.pods('app=unwell')[0];
    expect(p.status.phase).toBe('Running');
    expect(p.status.containerStatuses?.[0].restartCount).toBe(0);
    expect(p.status.containerStatuses?.[0].ready).toBe(false);
  });

  it('restarts a container whose liveness probe fails', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: liveness}
spec:
  containers:
  - name: kubia
    image: luksa/kubia-unhealthy
    livenessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
`);
    await until('a restart', () => (c.json<PodJ>(['get', 'pod', 'liveness']).status.containerStatuses?.[0].restartCount ?? 0) >= 1, 30_000);
    expect(c.kubectl(['describe', 'pod', 'liveness']).stdout).toMatch(/Liveness probe failed: HTTP probe failed with statuscode: 500/);
  });

  it('reaches an app bound to 127.0.0.1 only from inside its pod', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: localonly}
spec:
  containers:
  - name: app
    image: busybox
    command: [node, -e, "require('http').createServer((q, s) => s.end('local only')).listen(8080, '127.0.0.1')"]
`);
    const ip = await until('localonly running', () => {
      const p = c.json<PodJ>(['get', 'pod', 'localonly']);
      return p.status.phase === 'Running' && p.status.podIP;
    });
    await until('the app listening', () => c.kubectl(['exec', 'localonly', '--', 'curl', '-s', '--max-time', '2', 'http://127.0.0.1:8080']).stdout === 'local only', 10_000);
    const from = c.pods('app=kubia')[0].metadata.name;
    const r = c.kubectl(['exec', from, '--', 'curl', '-s', '--max-time', '2', `http://${ip}:8080`]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
  });

  it('gives pods the Kubernetes service environment variables', () => {
    const env = c.kubectl(['exec', 'localonly', '--', 'env']).stdout;
    expect(env).toMatch(/^KUBERNETES_SERVICE_HOST=10\.96\.0\.1$/m);
    expect(env).toMatch(/^KUBIA_SERVICE_HOST=|^READY_LATER_SERVICE_HOST=/m);
  });

  it('runs a hostNetwork pod in the network of its node, reachable on the node IP', async () => {
    c.apply(`apiVersion: v1
kind: Pod
metadata: {name: on-host}
spec:
  hostNetwork: true
  nodeName: node-2
  containers: [{name: kubia, image: luksa/kubia}]
`);
    const p = await until('on-host running', () => {
      const x = c.json<PodJ>(['get', 'pod', 'on-host']);
      return x.status.phase === 'Running' && x;
    });
    const nodeIP = c.json<{ status: { addresses: { type: string; address: string }[] } }>(['get', 'node', 'node-2']).status.addresses.find((a) => a.type === 'InternalIP')!.address;
    expect(p.status.podIP).toBe(nodeIP);
    const from = c.pods('app=kubia').find((x) => x.spec.nodeName !== 'node-2')!.metadata.name;
    let last = '';
    await until('the node IP answering', () => {
      const r = c.kubectl(['exec', from, '--', 'curl', '-sS', '--max-time', '2', `http://${nodeIP}:8080`]);
      last = `${r.stdout}${r.stderr}`;
      return r.stdout.trim() === "You've hit node-2";
    }, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}; last answer from ${from}: ${last}; on-host log: ${c.kubectl(['logs', 'on-host']).stdout}`);
    });
  });
});
