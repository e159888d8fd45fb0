/**
 * The README's "Start a cluster" lines, run as written from the host: the
 * shell blocks are read from README.md and each line runs in bash, with only
 * the placeholders a reader fills in (`kubia-xxxxx`, `<another pod's IP>`,
 * `<kubia's CLUSTER-IP>`, `<node port>`) replaced by real values. It starts
 * the default cluster (`kubemu`, 172.30.0.0/24), so it is skipped when one
 * is already running on this machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/control-plane-process.js';
import { IS_ROOT, until } from './helpers/netns-cluster.js';

/** The commands of the README's "Start a cluster" section, in order. */
function readmeLines(): string[] {
  const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = md.split(/^## /m).find((s) => s.startsWith('Start a cluster'));
  if (!section) throw new Error('README.md has no "## Start a cluster" section');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

const defaultClusterRunning = (): boolean => /\bkm-kubemu-/.test(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '');
/** Another cluster holds the default node subnet (the README's addresses would reach it). */
const defaultSubnetTaken = (): boolean => /^172\.30\.0\.0\/24 /m.test(spawnSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).stdout ?? '');

describe.skipIf(!IS_ROOT)('README, as written', () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const fill = new Map<string, string>();
  let started = false;

  function sh(line: string): { status: number; stdout: string; stderr: string } {
    let cmd = line;
    for (const [k, v] of fill) cmd = cmd.replaceAll(k, v);
    const r = spawnSync('bash', ['-c', cmd], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  afterAll(() => {
    if (!started) return;
    spawnSync('bash', ['-c', 'npx kubemu down'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  }, 60_000);

  it("starts a cluster, serves kubia over pod IPs, its cluster IP and a node port from the host, and goes down", async (ctx) => {
    if (defaultClusterRunning() || defaultSubnetTaken()) {
      console.warn('readme.test.ts skipped: a cluster on this machine already holds the name "kubemu" or 172.30.0.0/24 (the README starts the default one)');
      ctx.skip();
    }
    const lines = readmeLines();
    const find = (re: RegExp) => {
      const l = lines.find((x) => re.test(x));
      if (!l) throw new Error(`README.md no longer has a line matching ${re}`);
      return l;
    };
    const ok = (line: string) => {
      const r = sh(line);
      expect(r.status, `${line}\n${r.stdout}${r.stderr}`).toBe(0);
      return r.stdout;
    };

    started = true;
    ok(find(/kubemu up/));
    const exp = find(/^export KUBECONFIG=/);
    env.KUBECONFIG = sh(`${exp} && printf %s "$KUBECONFIG"`).stdout;
    expect(env.KUBECONFIG).toMatch(/kubeconfig$/);
    expect(ok(find(/kubectl get nodes/)).match(/\bReady\b/g)).toHaveLength(3);
    ok(find(/kubectl apply -f examples/));
    ok(find(/kubectl wait/));
    ok(find(/kubectl get pods/));

    const pods = JSON.parse(sh('kubectl get pods -l app=kubia -o json').stdout) as { items: { metadata: { name: string }; status: { podIP: string } }[] };
    expect(pods.items).toHaveLength(3);
    const [me, other] = pods.items;
    fill.set('kubia-xxxxx', me!.metadata.name);
    fill.set("<another pod's IP>", other!.status.podIP);
    await until('kubia endpoints', () => sh(find(/kubectl get endpoints/)).stdout.split(',').length === 3, 15_000);

    expect(ok(find(/another pod's IP/)).trim()).toBe(`You've hit ${other!.metadata.name}`);
    fill.set("<kubia's CLUSTER-IP>", sh("kubectl get svc kubia -o jsonpath='{.spec.clusterIP}'").stdout);
    const viaService = find(/CLUSTER-IP/);
    const names = new Set(pods.items.map((p) => `You've hit ${p.metadata.name}`));
    // every draw answers, including the ones that land on the calling pod itself
    for (let i = 0; i < 12; i++) expect(names, `${viaService} #${i}`).toContain(ok(viaService).trim());
    expect(ok(find(/kubectl logs/))).toMatch(/Kubia server starting/);
    // kubectl debug: an ephemeral busybox container in the pod reaches the app on localhost (stdin is no terminal here:
    // kubectl says so and attaches without one, or shows the container's log once it has finished).
    expect(ok(find(/^kubectl debug -it kubia-xxxxx/))).toContain(`You've hit ${me!.metadata.name}`);

    ok(find(/kubectl expose/));
    fill.set('<node port>', sh("kubectl get svc kubia-np -o jsonpath='{.spec.ports[0].nodePort}'").stdout);
    const fromHost = find(/^curl .*<node port>/);
    await until('the node port answering from the host', () => /You've hit/.test(sh(fromHost).stdout), 10_000);
    for (let i = 0; i < 12; i++) expect(names, `${fromHost} #${i}`).toContain(ok(fromHost).trim());
    // "ssh into one of the nodes and curl the cluster IP"; an unknown node is one line and exit 1.
    expect(names).toContain(ok(find(/kubemu ssh node-1 -- curl/)).trim());
    // port-forward from this machine to a pod of the Service (the README backgrounds it, curls, kills it).
    const pfLine = find(/kubectl port-forward svc\/kubia 8080:80 &/);
    const pf = spawn('bash', ['-c', `exec ${pfLine.replace(/&.*$/, '').trim()}`], { cwd: ROOT, env, stdio: 'ignore' });
    try {
      const viaForward = find(/^curl -s http:\/\/127\.0\.0\.1:8080/);
      await until('the port-forward answering', () => /You've hit/.test(sh(viaForward).stdout), 15_000);
      expect(names).toContain(ok(viaForward).trim());
      expect(lines).toContain('kill %1');
    } finally {
      pf.kill();
    }
    // kubectl top: the kubia pods, once a node agent has reported (every 15 s).
    const topPods = find(/^kubectl top pods/);
    await until('kubectl top pods listing the kubia pods', () => pods.items.every((p) => sh(topPods).stdout.includes(p.metadata.name)), 40_000, 1000);
    expect(ok(find(/^kubectl top nodes/))).toMatch(/node-1[\s\S]*node-2[\s\S]*node-3/);
    const noNode = sh('npx kubemu ssh node-9 -- true');
    expect(noNode.status).toBe(1);
    expect(noNode.stderr.trim()).toBe('error: no node "node-9" in cluster "kubemu" (nodes: node-1, node-2, node-3)');

    // LoadBalancer: an address from the pool, the host's curl spreads over the pods, the LB's pages.
    ok(find(/kubectl apply -f examples\/kubia-svc-loadbalancer/));
    const getLb = find(/kubectl get svc kubia-loadbalancer/);
    await until('kubia-loadbalancer EXTERNAL-IP 172.30.0.200', () => /\b172\.30\.0\.200\b/.test(sh(getLb).stdout), 10_000);
    const viaLb = find(/^curl -s http:\/\/172\.30\.0\.200/);
    await until('the LB address answering from the host', () => /You've hit/.test(sh(viaLb).stdout), 10_000);
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) {
      const body = ok(viaLb).trim();
      expect(names, `${viaLb} #${i}`).toContain(body);
      seen.add(body);
    }
    expect(seen.size).toBeGreaterThan(1);
    const conns = JSON.parse(ok(find(/10257\/connections/))) as { items: { service: string; backendNode: string }[] };
    expect(conns.items.filter((c) => c.service.startsWith('default/kubia-loadbalancer')).length).toBeGreaterThan(0);
    expect(ok(find(/10257\/healthz/))).toContain('172.30.0.200');

    // Ingress: the controller's address, host routing, cookie affinity, HTTPS from an openssl-made Secret.
    await until('the ingress controller ready', () => sh('kubectl get endpoints -n ingress-kubemu ingress-kubemu-controller -o jsonpath={.subsets[0].addresses[*].ip}').stdout.trim() !== '', 60_000);
    ok(find(/kubectl apply -f examples\/kubia-ingress\.yaml/));
    await until('Ingress ADDRESS 172.30.0.250', () => sh(find(/kubectl get ingress kubia/)).stdout.includes('172.30.0.250'), 15_000);
    const viaIngress = find(/^curl -s --resolve kubia\.example\.com:80/);
    await until('kubia through the ingress', () => /You've hit/.test(sh(viaIngress).stdout), 15_000);
    const setCookie = find(/-c \/tmp\/kubia-cookies/);
    const pinnedTo = ok(setCookie).trim();
    expect(names).toContain(pinnedTo);
    const withCookie = find(/-b \/tmp\/kubia-cookies/);
    for (let i = 0; i < 10; i++) expect(ok(withCookie).trim()).toBe(pinnedTo);
    sh('rm -f /tmp/tls.key /tmp/tls.crt /tmp/kubia-cookies; kubectl delete secret tls-secret --ignore-not-found');
    ok(find(/^openssl req/));
    ok(find(/kubectl create secret tls/));
    ok(find(/kubia-ingress-tls\.yaml/));
    const viaTls = find(/https:\/\/kubia\.example\.com/);
    await until('kubia over HTTPS', () => /You've hit/.test(sh(viaTls).stdout), 15_000);

    // Cluster DNS, from a pod and from a node.
    await until('kube-dns ready', () => sh('kubectl get endpoints -n kube-system kube-dns -o jsonpath={.subsets[0].addresses[*].ip}').stdout.split(' ').filter(Boolean).length === 2, 60_000);
    ok(find(/kubectl get pods -n kube-system/));
    expect(names).toContain(ok(find(/curl -s http:\/\/kubia\s/)).trim());
    expect(names).toContain(ok(find(/curl -s http:\/\/kubia\.default\.svc\.cluster\.local/)).trim());
    const kubiaIP = sh("kubectl get svc kubia -o jsonpath='{.spec.clusterIP}'").stdout;
    expect(ok(find(/nslookup kubia/))).toContain(kubiaIP);
    expect(ok(find(/dig \+short @10\.96\.0\.10/)).trim()).toBe(kubiaIP);
    expect(ok(find(/kubemu dns kubia/)).trim()).toBe(`kubia.default.svc.cluster.local\tA\t${kubiaIP}`);
    const nx = sh('npx kubemu dns no-such-service');
    expect(nx.status).toBe(1);
    expect(nx.stderr.trim()).toMatch(/^error: no-such-service: not found in the cluster's DNS/);

    expect(ok(find(/kubemu status/))).toMatch(/node-3/);
    ok(find(/kubemu down/));
    expect(defaultClusterRunning()).toBe(false);
  });
});
