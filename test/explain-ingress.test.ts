/**
 * `kubemu explain` on the seed's troubleshooting cases explain.test.ts does
 * not cover, on a real 2-node netns cluster with the ingress controller:
 * a Service with no endpoints at all (its selector matches nothing), a
 * Local-policy node port asked on a node without a local pod, a
 * LoadBalancer whose address is pending (loadBalancerIP outside the pool),
 * and `explain ingress`: a Host no rule matches (✘, exit 1, the right host
 * named) vs the right Host (exit 0), a backend Service that does not exist.
 * Each time explain's verdict is checked against the real traffic: the
 * refused cluster IP, the silent node port, the controller's 404 and 503,
 * the kubia pod that answers the right Host.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';
import { ingressControllerReady, ingressIP, waitIngressServing } from './helpers/ingress.js';
import { kubiaDeployment } from './helpers/manifests.js';

const SUBNET = '172.30.236';
const c = new NetnsCluster(2, ['--addons', 'ingress', '--subnet', `${SUBNET}.0/24`]);
const INGRESS_IP = ingressIP(SUBNET);

const APPS = `${kubiaDeployment({ replicas: 2 })}---
apiVersion: v1
kind: Service
metadata: {name: kubia}
spec: {selector: {app: kubia}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: kubia}
spec:
  rules:
  - host: kubia.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: kubia, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken}
spec:
  rules:
  - host: broken.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: kubia-gone, port: {number: 80}}}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}
---
apiVersion: v1
kind: Service
metadata: {name: lonely, namespace: empty}
spec: {selector: {app: lonely}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: local-1, labels: {app: local-kubia}}
spec:
  nodeName: node-1
  containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: kubia-local}
spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: local-kubia}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: kubia-lb}
spec: {type: LoadBalancer, loadBalancerIP: ${SUBNET}.100, selector: {app: kubia}, ports: [{port: 80, targetPort: 8080}]}
`;

function kubemu(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KUBEMU, ...args, '--name', c.name], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** curl from the host: HTTP status and body (status 0: no answer). */
function curl(url: string, extra: string[] = []): { code: number; body: string; exit: number } {
  const r = spawnSync('curl', ['-sS', '--max-time', '3', '-o', '-', '-w', '\n%{http_code}', ...extra, url], { encoding: 'utf8' });
  const out = r.stdout ?? '';
  const nl = out.lastIndexOf('\n');
  return { code: Number(out.slice(nl + 1)) || 0, body: out.slice(0, Math.max(0, nl)), exit: r.status ?? -1 };
}

const nodePort = (svc: string) => c.json<{ spec: { ports: { nodePort: number }[] } }>(['get', 'svc', svc]).spec.ports[0]!.nodePort;

describe.skipIf(!IS_ROOT)('kubemu explain: no endpoints, Local policy, LB pending, Ingress host (e2e, root)', () => {
  beforeAll(async () => {
    c.up();
    c.apply(APPS);
    await until(
      'kubia, local-1 and the ingress controller ready',
      () =>
        c.readyIPs('kubia').length === 2 &&
        c.readyIPs('kubia-local').length === 1 &&
        ingressControllerReady(c),
      120_000,
    );
    await waitIngressServing(c, INGRESS_IP, ['kubia'], ['kubia.example.com']);
    for (const s of ['kubia', 'kubia-local']) await c.waitApplied(s);
    await until('the AllocationFailed event of kubia-lb', () => c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=kubia-lb,reason=AllocationFailed', '-o', 'name']).stdout.trim() !== '', 30_000);
  }, 300_000);
  afterAll(() => c.down(), 60_000);

  it('a Service whose selector matches no pod (none in its namespace): ✘ no pods, no endpoints, exit 1 — and its cluster IP refuses', () => {
    const r = kubemu(['explain', 'service', 'lonely', '-n', 'empty']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^✘ selector app=lonely matches no pods: namespace empty has no pods at all$/m);
    expect(r.stdout).toMatch(/→ fix: create the pods \(a Deployment whose template has the labels app=lonely\) in namespace empty/);
    expect(r.stdout).toMatch(/^✘ Endpoints lonely are empty \(no ready pod\), so connections to the Service are refused at once$/m);
    // Reality: from a node, the cluster IP refuses at once (curl exit 7), no hang.
    const ip = c.json<{ spec: { clusterIP: string } }>(['get', 'svc', 'lonely', '-n', 'empty']).spec.clusterIP;
    const hit = spawnSync('nsenter', [`--net=/run/netns/km-${c.name}-node-1`, 'curl', '-sS', '--max-time', '3', `http://${ip}/`], { encoding: 'utf8' });
    expect(hit.status, hit.stderr).toBe(7);
  });

  it('externalTrafficPolicy Local: the node port on a node without a local pod is ✘ (exit 1) and really silent; the node with one answers', () => {
    const port = nodePort('kubia-local');
    const all = kubemu(['explain', 'service', 'kubia-local']);
    expect(all.status, all.stdout).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^✔ node port ${port} \\(Local policy\\) served by node-1 \\(${SUBNET}\\.11\\)$`, 'm'));
    expect(all.stdout).toMatch(/^ {4}node-2 has no local endpoint: it drops node-port traffic \(externalTrafficPolicy: Local\)$/m);

    for (const node of ['node-2', `${SUBNET}.12`]) {
      const r = kubemu(['explain', 'service', 'kubia-local', '--node', node]);
      expect(r.status, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^✘ node port ${port} on node-2 \\(${SUBNET}\\.12\\): externalTrafficPolicy Local and node-2 has no ready local endpoint, so it drops the connection; only node-1 \\(${SUBNET}\\.11\\) serves it$`, 'm'));
      expect(r.stdout).toContain(`→ fix: connect to node-1's address (${SUBNET}.11:${port}), run a ready pod on node-2, or set externalTrafficPolicy: Cluster`);
    }
    expect(kubemu(['explain', 'service', 'kubia-local', '--node', 'node-1']).status).toBe(0);
    const bad = kubemu(['explain', 'service', 'kubia-local', '--node', 'node-9']);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(`error: node "node-9" is not a node of cluster ${c.name} (nodes: node-1 ${SUBNET}.11, node-2 ${SUBNET}.12)`);

    // Reality: node-2 drops it (no answer), node-1 answers from its local pod.
    expect(curl(`http://${SUBNET}.12:${port}/`).code).toBe(0);
    expect(curl(`http://${SUBNET}.11:${port}/`).body).toBe("You've hit local-1\n");
  });

  it('a LoadBalancer whose address is pending (loadBalancerIP outside the pool): ✘ with the reason and the AllocationFailed Event, exit 1', () => {
    const r = kubemu(['explain', 'service', 'kubia-lb']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const why = `${SUBNET}.100 is not in the load balancer's pool ${SUBNET}.200-${SUBNET}.250`;
    expect(r.stdout).toContain(`✘ external IP <pending>: ${why}\n`);
    expect(r.stdout).toMatch(new RegExp(`^ {4}Event AllocationFailed( \\(×\\d+\\))? from load-balancer: Failed to allocate IP for "default/kubia-lb": ${why.replace(/\./g, '\\.')}$`, 'm'));
    expect(r.stdout).toContain("→ fix: set loadBalancerIP to an address inside the load balancer's pool, or drop it to get one assigned.");
    // Everything behind it is fine: the node ports serve it.
    expect(r.stdout).toMatch(/^✔ node port \d+ served by every node/m);
    // Reality: no address in its status.
    expect(c.json<{ status: { loadBalancer: { ingress?: unknown[] } } }>(['get', 'svc', 'kubia-lb']).status.loadBalancer.ingress ?? []).toEqual([]);
  });

  it('explain ingress: a healthy Ingress ✔ (exit 0), with its class, controller, address and backend pods', () => {
    const r = kubemu(['explain', 'ingress', 'kubia']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`Ingress default/kubia (class kubemu, address ${INGRESS_IP}) in cluster ${c.name}`);
    expect(r.stdout).toMatch(/^✔ no ingressClassName, so the default IngressClass kubemu: served by the ingress controller ingress-kubemu\/ingress-kubemu-controller \(class kubemu\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^✔ the ingress controller ingress-kubemu/ingress-kubemu-controller: 1 of 1 pods ready \\(ingress-kubemu-controller-\\S+\\); its Service ingress-kubemu/ingress-kubemu-controller has the address ${INGRESS_IP} and node ports 80→\\d+, 443→\\d+$`, 'm'));
    expect(r.stdout).toMatch(/^✔ kubia\.example\.com\/ \(Prefix\) → Service kubia:80: ready pods kubia-\S+, kubia-\S+ \(10\.244\.\d+\.\d+:8080, 10\.244\.\d+\.\d+:8080\)$/m);
    const j = JSON.parse(kubemu(['explain', 'ingress', 'kubia', '-o', 'json']).stdout) as { reachable: boolean; checks: { id: string; status: string }[] };
    expect(j.reachable).toBe(true);
    expect(j.checks.map((k) => `${k.id} ${k.status}`)).toEqual(['class ok', 'controller ok', 'address ok', 'backend:kubia.example.com/ ok']);
  });

  it('explain ingress --host: a Host no rule matches is ✘ naming kubia.example.com (exit 1) and really gets 404; the right Host is ✔ and really reaches kubia', () => {
    const wrong = kubemu(['explain', 'ingress', 'kubia', '--host', 'wrong.example.com']);
    expect(wrong.status, wrong.stdout + wrong.stderr).toBe(1);
    expect(wrong.stdout).toMatch(/^✘ request Host: wrong\.example\.com, path \/: no rule of Ingress kubia matches host wrong\.example\.com, so the controller answers 404 Not Found$/m);
    expect(wrong.stdout).toMatch(/^ {4}Ingress kubia has rules for kubia\.example\.com$/m);
    expect(wrong.stdout).toContain(`→ fix: send Host: kubia.example.com (curl -H 'Host: kubia.example.com' http://${INGRESS_IP}/), or add a rule for host wrong.example.com to Ingress kubia.`);
    const wrongHit = curl(`http://${INGRESS_IP}/`, ['-H', 'Host: wrong.example.com']);
    expect(wrongHit.code).toBe(404);
    expect(wrongHit.body).not.toMatch(/You've hit/);
    // Plain curl to the address sends Host: <address>: no rule either.
    expect(kubemu(['explain', 'ingress', 'kubia', '--path', '/']).stdout).toMatch(new RegExp(`^✘ request Host: ${INGRESS_IP.replace(/\./g, '\\.')}, path /: no rule of Ingress kubia matches host`, 'm'));
    expect(curl(`http://${INGRESS_IP}/`).code).toBe(404);

    const right = kubemu(['explain', 'ingress', 'kubia', '--host', 'kubia.example.com', '--path', '/any/path']);
    expect(right.status, right.stdout + right.stderr).toBe(0);
    const m = /^✔ request Host: kubia\.example\.com, path \/any\/path: rule kubia\.example\.com\/ \(Prefix\) → Service kubia:80 → ready pods (kubia-\S+), (kubia-\S+) \(/m.exec(right.stdout);
    expect(m, right.stdout).not.toBeNull();
    const hit = curl(`http://${INGRESS_IP}/any/path`, ['-H', 'Host: kubia.example.com']);
    expect(hit.code).toBe(200);
    const pod = /^You've hit (\S+)$/m.exec(hit.body)?.[1];
    expect([m![1], m![2]]).toContain(pod);
  });

  it('explain ingress: a backend Service that does not exist is ✘ (exit 1), and the controller really answers 503', () => {
    const r = kubemu(['explain', 'ingress', 'broken', '--host', 'broken.example.com']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^✘ broken\.example\.com\/ \(Prefix\) → Service kubia-gone:80: Service kubia-gone does not exist in namespace default \(Services there: .*kubia.*\)$/m);
    expect(r.stdout).toMatch(/^✘ request Host: broken\.example\.com, path \/: rule broken\.example\.com\/ \(Prefix\) → Service kubia-gone:80, but Service kubia-gone does not exist/m);
    expect(curl(`http://${INGRESS_IP}/`, ['-H', 'Host: broken.example.com']).code).toBe(503);
  });

  it('explain ingress: an unknown Ingress, namespace or a --path without "/": one line on stderr, exit 1', () => {
    for (const [args, msg] of [
      [['nope'], 'error: ingress "nope" not found in namespace "default"'],
      [['kubia', '-n', 'nope'], 'error: namespace "nope" not found'],
      [['kubia', '--path', 'x'], 'error: --path "x" must begin with "/"'],
    ] as const) {
      const r = kubemu(['explain', 'ingress', ...args]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim()).toBe(msg);
    }
  });
});
