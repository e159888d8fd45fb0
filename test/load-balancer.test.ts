/**
 * The load balancer on a real 3-node netns cluster, once per LB data plane
 * (nftables: the kernel DNATs to node ports; userspace: a relay): a
 * LoadBalancer Service gets an address from the pool that `kubectl get svc`
 * shows; `curl` from the host reaches pods on every node through it (TCP and
 * UDP); a pod reaching the address short-circuits in its node's kube-proxy;
 * Local policy only uses nodes with a pod, and (nftables) the pod sees the
 * host's address; a node whose kube-proxy dies leaves within two check
 * periods and comes back after a restart; requested addresses, a full pool,
 * type changes, node-port-less Services and source ranges behave as
 * Kubernetes users expect; addresses survive a load balancer restart.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LB_MODES } from '@kubemu/load-balancer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';
import { kubiaDeployment } from './helpers/manifests.js';
import { runProbes, type Origin, type ProbeResult } from './helpers/probes.js';

const HOST: Origin = { kind: 'host' };
const CHECK_PERIOD_MS = 2000;

for (const mode of LB_MODES) {
// A pool of three addresses (.200-.202) so "pool exhausted" is reachable; its own subnet, so the pool can be named.
const subnet = `172.30.${mode === 'nftables' ? 77 : 78}`;
const c = new NetnsCluster(3, ['--lb-mode', mode, '--subnet', `${subnet}.0/24`, '--lb-pool', `${subnet}.200-${subnet}.202`]);

type SvcJ = {
  metadata: { name: string };
  spec: { ports: { port: number; nodePort?: number }[] };
  status: { loadBalancer?: { ingress?: { ip: string }[] } };
};

const subnetAt = (host: number) => `${subnet}.${host}`;
const lbIP = () => subnetAt(3);
const externalIP = (name: string): string | undefined => c.json<SvcJ>(['get', 'svc', name]).status.loadBalancer?.ingress?.[0]?.ip;

async function waitExternalIP(name: string): Promise<string> {
  let ip: string | undefined;
  await until(`Service ${name} got no external IP`, () => !!(ip = externalIP(name)), 10_000);
  return ip!;
}

/** `n` HTTP GETs from the host to ip:port, one connection each. */
async function gets(ip: string, port: number, n: number, path = '/'): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  for (let i = 0; i < n; i += 10) {
    out.push(...(await runProbes(HOST, Array.from({ length: Math.min(10, n - i) }, (_, k) => ({ id: `g${i + k}`, proto: 'tcp' as const, host: ip, port, path, timeoutMs: 3000 })))));
  }
  return out;
}

type LbStatus = { frontends: { ip: string; port: number; protocol: string; backends: { node: string }[] }[]; nodes: { key: string; healthy: boolean }[] };
async function lbStatus(): Promise<LbStatus> {
  const r = await fetch(`http://${lbIP()}:10257/healthz`);
  return (await r.json()) as LbStatus;
}
async function backendsOf(ip: string, port: number): Promise<string[]> {
  const f = (await lbStatus()).frontends.find((x) => x.ip === ip && x.port === port);
  return (f?.backends ?? []).map((b) => b.node).sort();
}

function events(name: string): string {
  return c.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'custom-columns=REASON:.reason,MSG:.message', '--no-headers']).stdout;
}

const pidsFile = () => JSON.parse(readFileSync(`/var/lib/kubemu/${c.name}/cluster.json`, 'utf8')) as { pids: Record<string, number> };

/** Kills a cluster process and returns a function that starts it again with the same command line. */
function kill(what: string): () => void {
  const pid = pidsFile().pids[what]!;
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const netns = spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).stdout.trim();
  process.kill(pid, 'SIGKILL');
  return () => {
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv], { detached: true, stdio: 'ignore' });
    child.unref();
    // Let `kubemu down` stop it as it would the original.
    const rec = JSON.parse(readFileSync(`/var/lib/kubemu/${c.name}/cluster.json`, 'utf8'));
    rec.pids[what] = child.pid;
    spawnSync('sh', ['-c', `cat > /var/lib/kubemu/${c.name}/cluster.json`], { input: JSON.stringify(rec, null, 2) });
  };
}

const KUBIA = `${kubiaDeployment()}---
apiVersion: v1
kind: Service
metadata: {name: kubia-loadbalancer}
spec:
  type: LoadBalancer
  selector: {app: kubia}
  ports: [{port: 80, targetPort: 8080}]
`;

const NETEXEC = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: netexec}
spec:
  replicas: 1
  selector: {matchLabels: {app: netexec}}
  template:
    metadata: {labels: {app: netexec}}
    spec:
      nodeSelector: {kubernetes.io/hostname: node-2}
      containers: [{name: c, image: registry.k8s.io/e2e-test-images/agnhost:2.47, args: [netexec, --http-port=8080, --udp-port=8081]}]
---
apiVersion: v1
kind: Service
metadata: {name: netexec-local}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: netexec}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: udp, port: 81, targetPort: 8081, protocol: UDP}]
`;

describe.skipIf(!IS_ROOT)(`load balancer, ${mode} data plane (e2e, root)`, () => {
  beforeAll(async () => {
    c.up();
    c.apply(KUBIA);
    c.apply(NETEXEC);
    await until('pods not ready', () => c.readyIPs('kubia-loadbalancer').length === 3 && c.readyIPs('netexec-local').length === 1, 60_000);
  }, 180_000);
  afterAll(() => c.down(), 60_000);

  it('gives the Service an address from the pool, shown by kubectl get svc, and spreads the host\'s requests over pods on every node', async () => {
    const ip = await waitExternalIP('kubia-loadbalancer');
    expect(ip).toBe(subnetAt(200));
    const row = c.kubectl(['get', 'svc', 'kubia-loadbalancer', '--no-headers']).stdout;
    expect(row).toMatch(new RegExp(`LoadBalancer\\s+\\S+\\s+${ip.replace(/\./g, '\\.')}\\s+80:3\\d+/TCP`));
    await c.waitApplied('kubia-loadbalancer');
    await until('not every node became a backend', async () => (await backendsOf(ip, 80)).length === 3, 3 * CHECK_PERIOD_MS);
    const results = await gets(ip, 80, 30);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const pods = new Set(results.map((r) => /You've hit (\S+)/.exec(r.body ?? '')?.[1]));
    expect(pods.size).toBe(3);
    // The LB spread connections over the nodes (which node, per connection, is on /connections).
    const conns = (await (await fetch(`http://${lbIP()}:10257/connections?limit=30`)).json()) as { items: { backendNode: string; service: string }[] };
    const viaNodes = new Set(conns.items.filter((x) => x.service.startsWith('default/kubia-loadbalancer')).map((x) => x.backendNode));
    expect(viaNodes.size).toBeGreaterThanOrEqual(2);
  });

  it('answers UDP through the load balancer', async () => {
    const ip = await waitExternalIP('netexec-local');
    await c.waitApplied('netexec-local');
    await until('no UDP backend', async () => (await backendsOf(ip, 81)).length === 1, 3 * CHECK_PERIOD_MS);
    const [r] = await runProbes(HOST, [{ id: 'u', proto: 'udp', host: ip, port: 81, send: 'hostname', timeoutMs: 3000 }]);
    expect(r!.body).toMatch(/^netexec-/);
  });

  it('short-circuits a pod\'s connection to the address in its own node (the pod is the client, not the LB)', async () => {
    const ip = await waitExternalIP('netexec-local');
    const kubiaPod = c.pods('app=kubia').find((p) => p.spec.nodeName === 'node-1')!;
    const [r] = await runProbes({ kind: 'pod', kubeconfig: c.kubeconfig, pod: kubiaPod.metadata.name }, [{ id: 'p', proto: 'tcp', host: ip, port: 80, path: '/clientip', timeoutMs: 3000 }]);
    expect(r!.status).toBe(200);
    expect(r!.body!.split(':')[0]).toBe(kubiaPod.status.podIP);
  });

  it('with externalTrafficPolicy Local sends only to the node with a pod' + (mode === 'nftables' ? ', and the pod sees the host\'s address' : ' (a relay: the pod sees the LB\'s address)'), async () => {
    const ip = await waitExternalIP('netexec-local');
    await until('node-2 alone as the backend', async () => (await backendsOf(ip, 80)).join() === 'node-2', 3 * CHECK_PERIOD_MS);
    const results = await gets(ip, 80, 10, '/clientip');
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const seen = new Set(results.map((r) => r.body!.split(':')[0]));
    expect([...seen]).toEqual([mode === 'nftables' ? c.hostIP() : lbIP()]);
  });

  it('drops a node whose kube-proxy dies within two check periods, keeps serving, and takes it back after a restart', async () => {
    const ip = await waitExternalIP('kubia-loadbalancer');
    await until('every node a backend', async () => (await backendsOf(ip, 80)).length === 3, 3 * CHECK_PERIOD_MS);
    const restart = kill('node-3/kube-proxy');
    const t0 = Date.now();
    await until('node-3 still a backend', async () => !(await backendsOf(ip, 80)).includes('node-3'), 3 * CHECK_PERIOD_MS, 50);
    const dropMs = Date.now() - t0;
    expect(dropMs).toBeLessThanOrEqual(2 * CHECK_PERIOD_MS + 500);
    const results = await gets(ip, 80, 20);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const conns = (await (await fetch(`http://${lbIP()}:10257/connections?limit=20`)).json()) as { items: { backendNode: string; start: number }[] };
    expect(conns.items.filter((x) => x.start > t0 + dropMs && x.backendNode === 'node-3')).toEqual([]);
    restart();
    const t1 = Date.now();
    await until('node-3 did not come back', async () => (await backendsOf(ip, 80)).includes('node-3'), 15_000, 50);
    // Back within two periods of kube-proxy answering again (it needs a moment to start and sync).
    expect(Date.now() - t1).toBeLessThan(10_000);
  });

  it('honours a requested address, and a full pool leaves the next Service <pending> with an Event until an address frees', async () => {
    const svc = (name: string, extra = '') => `
apiVersion: v1
kind: Service
metadata: {name: ${name}${extra ? `, ${extra}` : ''}}
spec: {type: LoadBalancer, selector: {app: kubia}, ports: [{port: 8000, targetPort: 8080}]}
`;
    c.apply(svc('wants-202', `annotations: {metallb.universe.tf/loadBalancerIPs: "${subnetAt(202)}"}`));
    expect(await waitExternalIP('wants-202')).toBe(subnetAt(202));
    // .200 (kubia) .201 (netexec) .202 taken: the pool of three is full.
    c.apply(svc('no-room'));
    await until('no AllocationFailed event', () => /AllocationFailed/.test(events('no-room')), 10_000);
    expect(events('no-room')).toMatch(/no free address left in the load balancer's pool/);
    expect(c.kubectl(['get', 'svc', 'no-room', '--no-headers']).stdout).toMatch(/<pending>/);
    // Type change releases the address (and the status); the pending Service gets it.
    expect(c.kubectl(['patch', 'svc', 'wants-202', '-p', '{"spec":{"type":"NodePort"}}']).status).toBe(0);
    await until('status not cleared after the type change', () => externalIP('wants-202') === undefined, 10_000);
    expect(await waitExternalIP('no-room')).toBe(subnetAt(202));
    // Deleting releases too.
    c.kubectl(['delete', 'svc', 'no-room']);
    c.apply(svc('after-delete', `annotations: {metallb.universe.tf/loadBalancerIPs: "${subnetAt(202)}"}`));
    expect(await waitExternalIP('after-delete')).toBe(subnetAt(202));
    c.kubectl(['delete', 'svc', 'after-delete', 'wants-202']);
  });

  it('tells why it cannot reach a Service without node ports, and leaves other classes alone', async () => {
    c.apply(`
apiVersion: v1
kind: Service
metadata: {name: no-node-ports}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, selector: {app: kubia}, ports: [{port: 8001, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: other-class}
spec: {type: LoadBalancer, loadBalancerClass: example.com/other, selector: {app: kubia}, ports: [{port: 8002, targetPort: 8080}]}
`);
    await until('no event for the node-port-less Service', () => /SyncLoadBalancerFailed/.test(events('no-node-ports')), 10_000);
    expect(events('no-node-ports')).toMatch(/allocateLoadBalancerNodePorts: false/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(externalIP('other-class')).toBeUndefined();
    expect(events('other-class')).toBe('');
    c.kubectl(['delete', 'svc', 'no-node-ports', 'other-class']);
  });

  it('drops clients outside loadBalancerSourceRanges', async () => {
    const ip = await waitExternalIP('kubia-loadbalancer');
    expect(c.kubectl(['patch', 'svc', 'kubia-loadbalancer', '-p', '{"spec":{"loadBalancerSourceRanges":["192.0.2.0/24"]}}']).status).toBe(0);
    await until('the host still gets in', async () => (await gets(ip, 80, 1))[0]!.err === 'timeout', 10_000);
    expect(c.kubectl(['patch', 'svc', 'kubia-loadbalancer', '--type', 'json', '-p', '[{"op":"remove","path":"/spec/loadBalancerSourceRanges"}]']).status).toBe(0);
    await until('the host is still dropped', async () => (await gets(ip, 80, 1))[0]!.status === 200, 10_000);
  });

  it('keeps every address across a load balancer restart', async () => {
    const before = { kubia: externalIP('kubia-loadbalancer'), netexec: externalIP('netexec-local') };
    const restart = kill('load-balancer');
    // A Service created while it is down must not take an address another one holds.
    c.apply(`
apiVersion: v1
kind: Service
metadata: {name: while-down}
spec: {type: LoadBalancer, selector: {app: kubia}, ports: [{port: 8003, targetPort: 8080}]}
`);
    restart();
    expect(await waitExternalIP('while-down')).toBe(subnetAt(202));
    expect({ kubia: externalIP('kubia-loadbalancer'), netexec: externalIP('netexec-local') }).toEqual(before);
    await until('no traffic after the restart', async () => (await gets(before.kubia!, 80, 1))[0]!.status === 200, 10_000);
    c.kubectl(['delete', 'svc', 'while-down']);
  });
});
}
