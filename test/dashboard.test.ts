/**
 * `kubemu dashboard` in a real browser (headless Chromium) against a real
 * 2-node netns cluster: the page shows the nodes, the pods on each and the
 * Services with their endpoints; scaling the Deployment adds a pod and an
 * endpoint without a reload; a pod whose readiness probe starts failing
 * turns its endpoint unready on the map and shows in the rollout timeline;
 * clicking the Service shows its explain checklist naming that pod; traffic
 * sent to the node port shows up as connections, and so do connections from
 * a pod that is itself an endpoint and from the other node. A screenshot is saved in
 * test-results/. The page without the token gets nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchBrowser } from './helpers/browser.js';
import { KUBEMU } from './helpers/control-plane-process.js';
import { ingressIP, waitIngressServing } from './helpers/ingress.js';
import { kubiaDeployment, kubiaNodePort } from './helpers/manifests.js';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';


// Ready while /tmp/unready does not exist (each pod has its own /tmp): `touch` it to make a pod fail its probe.
const APPS = [
  kubiaDeployment({ replicas: 2, portName: 'http', readyUnless: '/tmp/unready' }),
  kubiaNodePort({ portName: 'http', targetPort: 'http', nodePort: 30080 }),
  kubiaNodePort({ name: 'kubia-sticky', sessionAffinity: 'ClientIP', nodePort: 30081 }),
].join('---');

function startDashboard(c: NetnsCluster, onChild: (p: ChildProcess) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [KUBEMU, 'dashboard', '--name', c.name, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    onChild(p);
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => reject(new Error(`kubemu dashboard exited ${code}: ${out}${err}`)));
    setTimeout(() => reject(new Error(`kubemu dashboard printed no URL in 20 s: ${out}${err}`)), 20_000);
  });
}

const readyEndpoints = (page: Page) => page.locator('[data-service="default/kubia"] .ep[data-state="ready"]').count();

const STICKY = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: sticky
  annotations: {nginx.ingress.kubernetes.io/affinity: cookie}
spec:
  rules:
  - host: sticky.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: kubia, port: {number: 80}}}}]}
`;

interface Answer {
  status: number;
  body: string;
  setCookie: string;
}

/** GET / from the host with these headers (fetch would drop Host); status 0 when it failed. */
function get(host: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get({ host, port: 80, path: '/', headers, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: String(res.headers['set-cookie']?.[0] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '', setCookie: '' }));
  });
}

function suite(mode: 'nftables' | 'userspace', subnet: string, ingress = false) {
  const c = new NetnsCluster(2, ['--subnet', subnet, ...(ingress ? ['--addons', 'ingress'] : []), ...(mode === 'userspace' ? ['--proxy-mode', 'userspace', '--lb-mode', 'userspace'] : [])]);
  let dashboard: ChildProcess | undefined;
  let browser: Browser | undefined;
  let url = '';
  let page: Page;

describe.skipIf(!IS_ROOT)(`kubemu dashboard in a browser (${mode})`, () => {

  beforeAll(async () => {
    c.up();
    c.apply(APPS);
    await until('2 kubia pods ready', () => c.pods('app=kubia').filter((p) => p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length === 2, 60_000);
    url = await startDashboard(c, (p) => (dashboard = p));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    dashboard?.kill('SIGINT');
    c.down();
  });

  it('shows the nodes, the pods on each node and the Service with its ready endpoints', async () => {
    await page.waitForSelector('#status.ok', { timeout: 10_000 });
    for (const n of ['node-1', 'node-2']) await page.waitForSelector(`[data-node="${n}"][data-ready="true"]`, { timeout: 10_000 });
    const pods = c.pods('app=kubia');
    for (const p of pods) {
      // Each pod is drawn inside the column of the node it runs on.
      await page.waitForSelector(`[data-node="${p.spec.nodeName}"] [data-pod="default/${p.metadata.name}"][data-ready="true"]`, { timeout: 10_000 });
      await page.waitForSelector(`[data-service="default/kubia"] [data-endpoint="${p.status.podIP}"][data-state="ready"]`, { timeout: 10_000 });
    }
    expect(await readyEndpoints(page)).toBe(2);
    expect(await page.locator('[data-service="default/kubernetes"]').count()).toBe(1);
    expect(await page.textContent('[data-service="default/kubia"]')).toContain(':30080');
  });

  it('sees a scale-up without a reload: a third pod and a third ready endpoint', async () => {
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    expect(c.kubectl(['scale', 'deployment/kubia', '--replicas=3']).status).toBe(0);
    await page.waitForFunction(() => document.querySelectorAll('[data-pod^="default/kubia-"]').length === 3, undefined, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-service="default/kubia"] .ep[data-state="ready"]').length === 3, undefined, { timeout: 30_000 });
    // Same page: the marker set before the change is still there.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  });

  it('turns the endpoint of a pod that fails its readiness probe unready, and the explain checklist names the pod', async () => {
    const pod = c.pods('app=kubia').find((p) => p.status.podIP)!;
    const t0 = Date.now();
    expect(c.kubectl(['exec', pod.metadata.name, '--', 'touch', '/tmp/unready']).status).toBe(0);
    await page.waitForSelector(`[data-service="default/kubia"] [data-endpoint="${pod.status.podIP}"][data-state="unready"]`, { timeout: 20_000 });
    await page.waitForSelector(`[data-pod="default/${pod.metadata.name}"][data-ready="false"]`, { timeout: 5_000 });
    const seenMs = Date.now() - t0;
    expect(await readyEndpoints(page)).toBe(2);
    // The rollout timeline has the pod going unready and its endpoint following.
    await page.waitForSelector(`[data-panel="timeline"] [data-what="endpoint-unready"]`, { timeout: 5_000 });
    expect(await page.textContent('[data-panel="timeline"]')).toContain(pod.metadata.name);
    // … and then each node's kube-proxy applying the change.
    await page.waitForFunction(() => ['node-1', 'node-2'].every((n) => [...document.querySelectorAll('[data-panel="timeline"] [data-what="proxy-applied"]')].some((e) => e.textContent!.includes(`${n} applied it`))), undefined, { timeout: 10_000 });

    await page.click('[data-service="default/kubia"]');
    await page.waitForSelector('[data-panel="explain"] [data-check-id="ready"]', { timeout: 20_000 });
    const ready = await page.textContent('[data-panel="explain"] [data-check-id="ready"]');
    // Two of three still answer, so the Service is reachable; the line names the one that is not and its probe.
    expect(ready).toContain('2 of 3 pods ready');
    expect(ready).toContain(pod.metadata.name);
    expect(ready).toContain('/tmp/unready');
    await page.screenshot({ path: join(ARTIFACTS, `dashboard-${mode}.png`), fullPage: true });
    console.log(`dashboard (${mode}): endpoint unready on the page ${seenMs} ms after the probe started failing (period 1 s); screenshot in test-results/dashboard-${mode}.png`);

    expect(c.kubectl(['exec', pod.metadata.name, '--', 'rm', '/tmp/unready']).status).toBe(0);
    await page.waitForSelector(`[data-service="default/kubia"] [data-endpoint="${pod.status.podIP}"][data-state="ready"]`, { timeout: 20_000 });
  });

  it('shows the load balancer and its health checks of both nodes', async () => {
    await page.waitForSelector('[data-panel="lb-health"]', { timeout: 10_000 });
    const text = await page.textContent('[data-panel="lb-health"]');
    expect(text).toContain('node-1 proxy');
    expect(text).toContain('node-2 proxy');
  });

  it("shows the client that ClientIP affinity holds to the pod that answered it, with the time left", async () => {
    const reply = await (await fetch(`http://${c.nodeIP(1)}:30081/`)).text();
    const answered = /You've hit (\S+)/.exec(reply)![1]!;
    const ip = c.pods('app=kubia').find((p) => p.metadata.name === answered)!.status.podIP!;
    await page.waitForFunction(
      ([client, ep]) => [...document.querySelectorAll('[data-panel="affinity"] tr')].some((tr) => tr.textContent!.includes(client!) && tr.textContent!.includes(ep!)),
      [c.hostIP(), `${ip}:8080`],
      { timeout: 10_000 },
    );
    const row = await page.locator('[data-panel="affinity"] tr', { hasText: `${ip}:8080` }).first().textContent();
    expect(row).toContain('default/kubia-sticky');
    expect(Number(/(\d+)s$/.exec(row!.trim())![1])).toBeGreaterThan(10700);
  });

  it('shows live traffic: connections per second on the endpoints that answered, and a clicked connection\'s path names the pod', async () => {
    // Keep the page's streams open long enough to have subscribed, then send traffic from the host to node-1's node port.
    await page.waitForTimeout(1500);
    const answered = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const r = await (await fetch(`http://${c.nodeIP(1)}:30080/`, { headers: { Connection: 'close' } })).text();
      const pod = /You've hit (\S+)/.exec(r)![1]!;
      answered.set(pod, (answered.get(pod) ?? 0) + 1);
    }
    const pods = c.pods('app=kubia');
    for (const [name] of answered) {
      const ip = pods.find((p) => p.metadata.name === name)!.status.podIP!;
      // The endpoint of each pod that answered shows a rate.
      await page.waitForSelector(`[data-service="default/kubia"] [data-endpoint="${ip}"] .cps`, { timeout: 10_000 });
    }
    await page.waitForSelector('[data-panel="connections"] [data-connection]', { timeout: 5_000 });
    const conn = page.locator('[data-panel="connections"] [data-connection]', { hasText: 'default/kubia:http/TCP' }).first();
    const text = (await conn.textContent())!;
    expect(text).toContain('node-port');
    await conn.click();
    await page.waitForSelector('[data-panel="trace"]', { timeout: 5_000 });
    const trace = (await page.textContent('[data-panel="trace"]'))!;
    expect([...answered.keys()].some((name) => trace.includes(name))).toBe(true);
    expect(trace).toContain('node-1 kube-proxy');
  });

  it('shows connections from a pod that is itself an endpoint of the Service, and from the other node', async () => {
    /** Waits for a connection row holding every one of `want`. */
    const row = (want: string[]) =>
      page.waitForFunction((w) => [...document.querySelectorAll('[data-panel="connections"] [data-connection]')].some((el) => w.every((x) => el.textContent!.includes(x))), want, { timeout: 15_000 });
    const self = c.pods('app=kubia').find((p) => p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))!;
    const clusterIP = c.json<{ spec: { clusterIP: string } }>(['get', 'service', 'kubia']).spec.clusterIP;
    // From the pod to its own Service's cluster IP: it may be sent to itself.
    const fromPod = c.kubectl(['exec', self.metadata.name, '--', 'sh', '-c', `for i in 1 2 3 4 5 6; do curl -s -m 2 http://${clusterIP}/; echo; done`], undefined, 30_000).stdout;
    expect(fromPod.match(/You've hit kubia-/g)?.length).toBe(6);
    await row([self.spec.nodeName!, `${self.status.podIP}:`, 'default/kubia:http/TCP', '(cluster-ip)']);
    // From node-2 itself to node-1's node port: the connection crosses nodes and node-1's kube-proxy sees node-2's address.
    for (let i = 0; i < 3; i++) {
      const r = spawnSync('ip', ['netns', 'exec', `km-${c.name}-node-2`, 'curl', '-s', '-m', '3', `http://${c.nodeIP(1)}:30080/`], { encoding: 'utf8' });
      expect(r.stdout).toContain("You've hit kubia-");
    }
    await row(['node-1', `${c.nodeIP(2)}:`, 'default/kubia:http/TCP', '(node-port)']);
  });

  it.runIf(ingress)('decodes the Ingress affinity cookie a client got to the pod it pins', async () => {
    c.apply(STICKY);
    const address = ingressIP(subnet.replace(/\.0\/24$/, ''));
    await waitIngressServing(c, address, ['sticky'], ['sticky.example'], 60_000);
    const first = await get(address, { Host: 'sticky.example' });
    expect(first.status).toBe(200);
    const pod = /You've hit (\S+)/.exec(first.body)![1]!;
    const cookie = first.setCookie.split(';')[0]!;
    // The same cookie again: the controller honours it (same pod).
    expect((await get(address, { Host: 'sticky.example', Cookie: cookie })).body).toContain(pod);
    await page.waitForFunction(
      ([p]) => [...document.querySelectorAll('[data-panel="cookies"] tr')].some((tr) => tr.textContent!.includes(p!) && tr.textContent!.includes('honoured')),
      [pod],
      { timeout: 15_000 },
    );
    const row = (await page.locator('[data-panel="cookies"] tr', { hasText: pod }).first().textContent())!;
    expect(row).toContain('default/sticky');
    expect(row).toContain(cookie.split('=')[0]!);
  });

  it('refuses the data without the token', async () => {
    const bare = url.replace(/#.*/, '');
    const other = await browser!.newPage();
    await other.goto(bare);
    await other.waitForFunction(() => document.getElementById('status')?.className === 'bad', undefined, { timeout: 10_000 });
    expect(await other.locator('[data-pod]').count()).toBe(0);
    const api = await fetch(`${bare}api/snapshot`);
    expect(api.status).toBe(401);
    await other.close();
  });
});
}

suite('nftables', '172.30.226.0/24', true);
suite('userspace', '172.30.227.0/24');
