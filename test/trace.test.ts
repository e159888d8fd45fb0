/**
 * `kubemu trace URL` on a real 2-node netns cluster (nftables modes): one
 * kubia pod on node-2 behind a LoadBalancer Service (Cluster policy). Traced
 * through node-1's node port, the output names node-1 as the entry, the DNAT
 * to the pod IP, the SNAT to node-1 and the pod that answered; traced through
 * the LB address, it names the node the LB chose (as the LB's own
 * /connections log says for that client port). A URL that is not the
 * cluster's is one line and exit 1.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';

const c = new NetnsCluster(2, ['--subnet', '172.30.242.0/24']);

const APP = `
apiVersion: v1
kind: Pod
metadata: {name: kubia-n2, labels: {app: kubia}}
spec:
  nodeName: node-2
  containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: kubia}
spec: {type: LoadBalancer, selector: {app: kubia}, ports: [{port: 80, targetPort: 8080}]}
`;

function trace(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KUBEMU, 'trace', ...args, '--name', c.name], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!IS_ROOT)('kubemu trace (e2e, root)', () => {
  let podIP = '';
  let nodePort = 0;
  let lbIP = '';
  beforeAll(async () => {
    c.up();
    c.apply(APP);
    await until('kubia ready', () => c.readyIPs('kubia').length === 1, 60_000);
    await until('an LB address', () => !!c.json<{ status: { loadBalancer: { ingress?: { ip: string }[] } } }>(['get', 'svc', 'kubia']).status.loadBalancer.ingress?.[0]?.ip, 30_000);
    await c.waitApplied('kubia');
    const svc = c.json<{ spec: { ports: { nodePort: number }[] }; status: { loadBalancer: { ingress: { ip: string }[] } } }>(['get', 'svc', 'kubia']);
    nodePort = svc.spec.ports[0]!.nodePort;
    lbIP = svc.status.loadBalancer.ingress[0]!.ip;
    podIP = c.readyIPs('kubia')[0]!;
    // the LB forwards only to nodes that passed its health check
    await until('the LB sees both nodes healthy', () => {
      const h = spawnSync('curl', ['-s', '--max-time', '3', `http://172.30.242.3:10257/healthz`], { encoding: 'utf8' });
      return (JSON.parse(h.stdout || '{}') as { frontends?: { backends: unknown[] }[] }).frontends?.[0]?.backends.length === 2;
    }, 30_000);
  }, 180_000);
  afterAll(() => c.down(), 60_000);

  it("through node-1's node port: node-1 the entry, DNAT to the pod on node-2, SNAT to node-1 (Cluster policy), the pod that answered", () => {
    const n1 = c.nodeIP(1);
    const r = trace([`http://${n1}:${nodePort}/`, '--source-port', '24242']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`  client ${c.hostIP()}:24242 → ${n1}:${nodePort}`);
    expect(r.stdout).toContain(`→ node node-1 ${n1}:${nodePort} (kube-proxy nftables), from ${c.hostIP()}:24242`);
    expect(r.stdout).toContain(`DNAT ${n1}:${nodePort} → ${podIP}:8080 (the endpoint chosen)`);
    expect(r.stdout).toMatch(new RegExp(`SNAT ${c.hostIP()}:24242 → ${n1}:\\d+ \\(Cluster policy: the pod sees node-1`));
    expect(r.stdout).toContain(`→ pod default/kubia-n2 ${podIP}:8080, container kubia`);
    expect(r.stdout).toContain('on node-2: node-1 routed it there');
    expect(r.stdout).toMatch(/→ response 200, \d+ bytes, \d+ ms total\n {4}"You've hit kubia-n2"/);

    const j = trace([`http://${n1}:${nodePort}/`, '-o', 'json']);
    expect(j.status, j.stderr).toBe(0);
    const t = JSON.parse(j.stdout) as { node: { name: string; endpoint: string; nat: { snat?: { to: string } } }; pod: { name: string; node: string }; response: { status: number; body: string }; problems: string[] };
    expect(t.node).toMatchObject({ name: 'node-1', endpoint: `${podIP}:8080` });
    expect(t.node.nat.snat?.to).toMatch(new RegExp(`^${n1}:`));
    expect(t.pod).toMatchObject({ name: 'kubia-n2', node: 'node-2' });
    expect(t.response).toMatchObject({ status: 200, body: "You've hit kubia-n2\n" });
    expect(t.problems).toEqual([]);
  });

  it("through the LB address: the node the LB chose (as its /connections says), then that node's DNAT to the pod", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6 && seen.size < 2; i++) {
      const sport = 25000 + i;
      const r = trace([`http://${lbIP}/`, '--source-port', String(sport)]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const chosen = /→ load balancer .* \(nftables\) chose (node-\d)/.exec(r.stdout)?.[1];
      expect(chosen, r.stdout).toBeDefined();
      seen.add(chosen!);
      // the LB's own record of this client port names the same node
      const log = JSON.parse(spawnSync('curl', ['-s', '--max-time', '3', 'http://172.30.242.3:10257/connections?limit=4096'], { encoding: 'utf8' }).stdout) as { items: { client: string; backendNode: string }[] };
      expect(log.items.find((x) => x.client === `${c.hostIP()}:${sport}`)?.backendNode).toBe(chosen);
      const nIP = c.nodeIP(Number(chosen!.slice(5)));
      expect(r.stdout).toContain('healthy nodes: node-1, node-2');
      expect(r.stdout).toMatch(new RegExp(`DNAT ${lbIP}:80 → ${nIP}:${nodePort} \\(${chosen}'s node port\\)`));
      expect(r.stdout).toMatch(/SNAT .* → 172\.30\.242\.3:\d+ \(the node sees the LB\)/);
      expect(r.stdout).toContain(`→ node ${chosen} ${nIP}:${nodePort} (kube-proxy nftables), from 172.30.242.3:`);
      expect(r.stdout).toContain(`DNAT ${nIP}:${nodePort} → ${podIP}:8080`);
      expect(r.stdout).toContain(`→ pod default/kubia-n2 ${podIP}:8080`);
      expect(r.stdout).toContain("You've hit kubia-n2");
    }
  });

  it('a URL whose host is not the cluster\'s: one line, exit 1', () => {
    const r = trace(['http://172.30.242.99:31000/']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: 172\.30\.242\.99 is neither a node nor a load balancer address of cluster /);
  });
});

const u = new NetnsCluster(2, ['--subnet', '172.30.244.0/24', '--proxy-mode', 'userspace', '--lb-mode', 'userspace']);

describe.skipIf(!IS_ROOT)('kubemu trace, userspace kube-proxy and LB (e2e, root)', () => {
  beforeAll(async () => {
    u.up();
    u.apply(APP);
    await until('kubia ready', () => u.readyIPs('kubia').length === 1, 60_000);
    await until('an LB address', () => !!u.json<{ status: { loadBalancer: { ingress?: { ip: string }[] } } }>(['get', 'svc', 'kubia']).status.loadBalancer.ingress?.[0]?.ip, 30_000);
    await u.waitApplied('kubia');
    // the userspace LB listens only once a node passed its health check (before that, clients are refused)
    await until('the LB sees both nodes healthy', () => {
      const h = spawnSync('curl', ['-s', '--max-time', '3', `http://172.30.244.3:10257/healthz`], { encoding: 'utf8' });
      return (JSON.parse(h.stdout || '{}') as { frontends?: { backends: unknown[] }[] }).frontends?.[0]?.backends.length === 2;
    }, 30_000);
  }, 180_000);
  afterAll(() => u.down(), 60_000);

  it('node port and LB: the relays named from their logs, the endpoint and the pod that answered', () => {
    const svc = u.json<{ spec: { ports: { nodePort: number }[] }; status: { loadBalancer: { ingress: { ip: string }[] } } }>(['get', 'svc', 'kubia']);
    const podIP = u.readyIPs('kubia')[0]!;
    const n1 = u.nodeIP(1);
    const r = spawnSync(process.execPath, [KUBEMU, 'trace', `http://${n1}:${svc.spec.ports[0]!.nodePort}/`, '--name', u.name], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`→ node node-1 ${n1}:${svc.spec.ports[0]!.nodePort} (kube-proxy userspace)`);
    expect(r.stdout).toContain(`relayed by kube-proxy to ${podIP}:8080`);
    expect(r.stdout).toContain(`→ pod default/kubia-n2 ${podIP}:8080, container kubia`);
    expect(r.stdout).toContain("You've hit kubia-n2");

    const l = spawnSync(process.execPath, [KUBEMU, 'trace', `http://${svc.status.loadBalancer.ingress[0]!.ip}/`, '--name', u.name], { encoding: 'utf8', timeout: 60_000 });
    expect(l.status, l.stdout + l.stderr).toBe(0);
    const chosen = /→ load balancer .* \(userspace\) chose (node-\d)\n/.exec(l.stdout)?.[1];
    expect(chosen, l.stdout).toMatch(/^node-[12]$/);
    expect(l.stdout).toContain(`→ node ${chosen} `);
    expect(l.stdout).toMatch(/the LB's relay connection 172\.30\.244\.3:\d+/);
    expect(l.stdout).toContain(`→ pod default/kubia-n2 ${podIP}:8080`);
    expect(l.stdout).not.toContain('\n! ');
  });
});
