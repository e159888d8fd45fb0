/**
 * `kubemu trace` through an Ingress, on a real 2-node netns cluster with the
 * ingress controller addon: 3 kubia pods behind a Service, an Ingress for
 * kubia.example.com and one with cookie affinity for sticky.example.com.
 * The trace sends its own X-Request-ID and reads the controller pod's access
 * log: the ingress hop names the controller pod and the rule, and the
 * upstream pod it names is the pod that answered ("You've hit <pod>").
 * With cookie affinity, a second trace with the cookie the first one got
 * lands on the same pod, and says the cookie was honoured and which pod it
 * pins. Over https (SNI, unverified) the same hop.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBEMU } from './helpers/control-plane-process.js';
import { ingressControllerReady, ingressIP, waitIngressServing } from './helpers/ingress.js';
import { kubiaDeployment } from './helpers/manifests.js';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';

const SUBNET = '172.30.238';
const c = new NetnsCluster(2, ['--addons', 'ingress', '--subnet', `${SUBNET}.0/24`]);
const INGRESS_IP = ingressIP(SUBNET);

const APPS = `${kubiaDeployment({ replicas: 3 })}---
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
metadata:
  name: sticky
  annotations: {nginx.ingress.kubernetes.io/affinity: cookie}
spec:
  rules:
  - host: sticky.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: kubia, port: {number: 80}}}}]
`;

function trace(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KUBEMU, 'trace', ...args, '--name', c.name], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The pod that answered, from its own reply as the trace prints it. */
const hit = (out: string) => /"You've hit ([^"\\]+)/.exec(out)?.[1];
/** The same, from the body in the JSON output. */
const hitBody = (body: string) => /You've hit (\S+)/.exec(body)?.[1];

interface TraceJson {
  ingress?: { controllerPod: string; node: string; ingress: string; rule: { host: string; path: string; pathType: string }; upstream: { pod: string; addr: string }; affinity?: { cookie: string; state: string; value: string; pod: string } };
  pod?: { name: string };
  response: { status: number; body: string };
  problems: string[];
}

describe.skipIf(!IS_ROOT)('kubemu trace through an Ingress (e2e, root)', () => {
  let controller = { name: '', node: '', ip: '' };
  beforeAll(async () => {
    c.up();
    c.apply(APPS);
    await until(
      'kubia and the ingress controller ready',
      () => c.readyIPs('kubia').length === 3 && ingressControllerReady(c),
      120_000,
    );
    await waitIngressServing(c, INGRESS_IP, ['kubia', 'sticky'], ['kubia.example.com', 'sticky.example.com']);
    const p = c.json<{ items: { metadata: { name: string }; spec: { nodeName: string }; status: { podIP: string } }[] }>(['get', 'pods', '-n', 'ingress-kubemu']).items[0]!;
    controller = { name: p.metadata.name, node: p.spec.nodeName, ip: p.status.podIP };
  }, 300_000);
  afterAll(() => c.down(), 60_000);

  it('names the controller pod, the rule, and the upstream pod: the one that answered', () => {
    const r = trace([`http://${INGRESS_IP}/`, '--host', 'kubia.example.com']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const pod = hit(r.stdout);
    expect(pod, r.stdout).toMatch(/^kubia-/);
    expect(r.stdout).toMatch(/X-Request-ID: kubemu-trace-[0-9a-f]{16}, Host: kubia\.example\.com/);
    expect(r.stdout).toMatch(new RegExp(`→ load balancer ${INGRESS_IP}:80 \\(nftables\\) chose node-\\d`));
    expect(r.stdout).toMatch(new RegExp(`DNAT ${SUBNET}\\.1\\d:\\d+ → ${controller.ip}:80 \\(the endpoint chosen\\)`));
    const ip = c.readyIPs('kubia').find((x) => r.stdout.includes(`upstream pod ${pod} ${x}:8080`));
    expect(ip, r.stdout).toBeDefined();
    expect(r.stdout).toMatch(new RegExp(`→ ingress controller ingress-kubemu/${controller.name} on ${controller.node}: rule default/kubia: kubia\\.example\\.com/ \\(Prefix\\) → Service default/kubia:80 → upstream pod ${pod} ${ip}:8080, \\d+ ms`));
    expect(r.stdout).toContain(`→ pod default/${pod} ${ip}:8080, container kubia`);
    expect(r.stdout).toContain(`sees the client as ${controller.ip} (the controller pod`);
    expect(r.stdout).not.toContain('cookie affinity');
    expect(r.stdout).not.toMatch(/^! /m);

    const j = trace([`http://${INGRESS_IP}/`, '--host', 'kubia.example.com', '-o', 'json']);
    expect(j.status, j.stderr).toBe(0);
    const t = JSON.parse(j.stdout) as TraceJson;
    const answered = hitBody(t.response.body);
    expect(answered).toMatch(/^kubia-/);
    expect(t.ingress).toMatchObject({ controllerPod: `ingress-kubemu/${controller.name}`, node: controller.node, ingress: 'default/kubia', rule: { host: 'kubia.example.com', path: '/', pathType: 'Prefix' }, upstream: { pod: answered } });
    expect(t.pod?.name).toBe(answered);
    expect(t.problems).toEqual([]);
  });

  it('cookie affinity: the first trace gets a new cookie pinning the pod that answered; traced again with it, the same pod, and the cookie honoured', () => {
    const first = trace([`http://${INGRESS_IP}/`, '--host', 'sticky.example.com', '-o', 'json']);
    expect(first.status, first.stdout + first.stderr).toBe(0);
    const t = JSON.parse(first.stdout) as TraceJson;
    const pod = hitBody(t.response.body)!;
    expect(pod).toMatch(/^kubia-/);
    expect(t.ingress?.affinity).toMatchObject({ cookie: 'INGRESSCOOKIE', state: 'new', pod });
    const cookie = `INGRESSCOOKIE=${t.ingress!.affinity!.value}`;
    for (let i = 0; i < 3; i++) {
      const again = trace([`http://${INGRESS_IP}/`, '--host', 'sticky.example.com', '--cookie', cookie]);
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(hit(again.stdout)).toBe(pod);
      expect(again.stdout).toContain(`cookie affinity (INGRESSCOOKIE, balanced): the client sent ${cookie}: honoured, it pins pod ${pod} `);
      expect(again.stdout).toContain(`→ ingress controller ingress-kubemu/${controller.name} on ${controller.node}: rule default/sticky: sticky.example.com/ (Prefix)`);
    }
  });

  it('https with --host: SNI, the certificate not verified (said so), the same ingress hop over https', () => {
    const r = trace([`https://${INGRESS_IP}/`, '--host', 'kubia.example.com']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/TLS TLSv1\.\d, SNI kubia\.example\.com; certificate CN=.* not verified \(as curl -k\)/);
    const pod = hit(r.stdout);
    expect(r.stdout).toContain(`→ Service default/kubia:80 → upstream pod ${pod} `);
    expect(r.stdout).toMatch(/GET kubia\.example\.com\/ over https → 200/);
  });
});
