/**
 * Cluster DNS on a real 3-node netns cluster, from inside pods, with the
 * tools the seed uses (curl, nslookup, dig, getent): short names, `svc.ns`
 * and FQDNs reach kubia; SRV answers the named port; a headless Service
 * resolves to exactly its ready pods and follows readiness; ExternalName is a
 * CNAME; a selector-less Service with hand-written Endpoints reaches a server
 * on the host; unknown names get NXDOMAIN, outside names a quick refusal;
 * lookups survive losing one DNS pod.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';
import { kubiaDeployment } from './helpers/manifests.js';

const SUBNET = '172.30.81';
const c = new NetnsCluster(3, ['--addons', 'dns', '--subnet', `${SUBNET}.0/24`]);
let client = '';
let hostServer: ChildProcess | undefined;

function exec(cmd: string, timeoutMs = 20_000) {
  const t0 = Date.now();
  const r = c.kubectl(['exec', client, '--', 'sh', '-c', cmd], undefined, timeoutMs);
  return { ...r, ms: Date.now() - t0 };
}

const dig = (args: string) => exec(`dig +short +time=2 +tries=1 ${args}`).stdout.trim().split('\n').filter(Boolean).sort();

const APPS = `${kubiaDeployment({ readyFile: true })}---
apiVersion: v1
kind: Service
metadata: {name: kubia}
spec: {selector: {app: kubia}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: kubia-headless}
spec: {clusterIP: None, selector: {app: kubia}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: external}
spec: {type: ExternalName, externalName: kubia.default.svc.cluster.local}
---
apiVersion: v1
kind: Service
metadata: {name: on-the-host}
spec: {ports: [{port: 80, targetPort: 8089}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: on-the-host}
subsets: [{addresses: [{ip: ${SUBNET}.1}], ports: [{port: 8089}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: busybox, command: [sleep, infinity]}]
`;

describe.skipIf(!IS_ROOT)('cluster DNS (e2e, root)', () => {
  beforeAll(async () => {
    c.up();
    // A server on the host's bridge address (exists once the cluster is up), in its own process:
    // the test drives kubectl synchronously, which would stall a server in this one.
    hostServer = spawn(process.execPath, ['-e', `require('http').createServer((q, r) => r.end('hello from the host\\n')).listen(8089, '${SUBNET}.1', () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      hostServer!.stdout!.once('data', () => resolve());
      hostServer!.once('exit', (code) => reject(new Error(`the host server exited (${code})`)));
    });
    c.apply(APPS);
    client = 'client';
    await until('the DNS pods ready', () => c.json<{ subsets?: { addresses?: unknown[] }[] }>(['get', 'endpoints', '-n', 'kube-system', 'kube-dns']).subsets?.[0]?.addresses?.length === 2, 90_000);
    await until('the client pod running', () => c.json<{ status: { phase: string } }>(['get', 'pod', 'client']).status.phase === 'Running', 60_000);
    for (const p of c.pods('app=kubia')) c.kubectl(['exec', p.metadata.name, '--', 'touch', '/var/ready']);
    await until('kubia ready', () => c.readyIPs('kubia').length === 3, 30_000);
  }, 240_000);
  afterAll(() => {
    c.down();
    hostServer?.kill();
  }, 60_000);

  it('writes the pod resolv.conf as kubelet does', () => {
    const conf = exec('cat /etc/resolv.conf').stdout;
    expect(conf).toMatch(/^nameserver 10\.96\.0\.10$/m);
    expect(conf).toMatch(/^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
    expect(conf).toMatch(/^options ndots:5$/m);
  });

  it('reaches kubia by short name, by name.namespace and by FQDN', () => {
    for (const name of ['kubia', 'kubia.default', 'kubia.default.svc.cluster.local']) {
      const r = exec(`curl -s --max-time 5 http://${name}`);
      expect(r.stdout, `${name}: ${r.stderr}`).toMatch(/^You've hit kubia-/);
    }
    const clusterIP = c.json<{ spec: { clusterIP: string } }>(['get', 'svc', 'kubia']).spec.clusterIP;
    expect(exec('getent hosts kubia').stdout).toMatch(new RegExp(`^${clusterIP.replace(/\./g, '\\.')}\\s+kubia\\.default\\.svc\\.cluster\\.local`));
    expect(exec('nslookup kubia.default.svc.cluster.local').stdout).toContain(clusterIP);
  });

  it('answers SRV for the named port', () => {
    const srv = dig('SRV _http._tcp.kubia.default.svc.cluster.local');
    expect(srv).toEqual(['0 100 80 kubia.default.svc.cluster.local.']);
  });

  it('resolves a headless Service to exactly the ready pods, following readiness within 2 s', async () => {
    const ips = () => dig('kubia-headless.default.svc.cluster.local');
    expect(ips()).toEqual(c.readyIPs('kubia'));
    const victim = c.pods('app=kubia')[0]!;
    c.kubectl(['exec', victim.metadata.name, '--', 'rm', '/var/ready']);
    await until('the endpoint to leave', () => !c.readyIPs('kubia').includes(victim.status.podIP!), 15_000, 100);
    const t0 = Date.now();
    await until('DNS to drop the unready pod', () => !ips().includes(victim.status.podIP!), 5000, 100);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(ips()).toEqual(c.readyIPs('kubia'));
    c.kubectl(['exec', victim.metadata.name, '--', 'touch', '/var/ready']);
    await until('DNS to take the pod back', () => ips().includes(victim.status.podIP!), 10_000, 100);
  });

  it('answers an ExternalName Service with a CNAME', () => {
    const r = exec('dig +time=2 +tries=1 external.default.svc.cluster.local').stdout;
    expect(r).toMatch(/external\.default\.svc\.cluster\.local\.\s+\d+\s+IN\s+CNAME\s+kubia\.default\.svc\.cluster\.local\./);
  });

  it('reaches a server on the host through a selector-less Service with hand-written Endpoints', () => {
    expect(exec('curl -s --max-time 5 http://on-the-host').stdout).toBe('hello from the host\n');
  });

  it('answers NXDOMAIN for unknown cluster names and refuses outside names at once', () => {
    const nx = exec('dig +time=2 +tries=1 nosuch.default.svc.cluster.local');
    expect(nx.stdout).toMatch(/status: NXDOMAIN/);
    expect(nx.stdout).toMatch(/AUTHORITY SECTION:[\s\S]*SOA/);
    const out = exec('dig +time=2 +tries=1 example.com');
    expect(out.stdout).toMatch(/status: (REFUSED|SERVFAIL)/);
    const t = exec('getent hosts example.com');
    expect(t.status).not.toBe(0);
    expect(t.ms).toBeLessThan(3000);
  });

  it('keeps answering when one DNS pod is killed', async () => {
    const dnsPods = c.json<{ items: { metadata: { name: string } }[] }>(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns']).items;
    expect(dnsPods).toHaveLength(2);
    c.kubectl(['delete', 'pod', '-n', 'kube-system', dnsPods[0]!.metadata.name, '--wait=false']);
    for (let i = 0; i < 10; i++) {
      const r = exec('curl -s --max-time 5 http://kubia');
      expect(r.stdout, r.stderr).toMatch(/^You've hit kubia-/);
    }
  });
});
