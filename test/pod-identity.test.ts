/**
 * What a pod sees of its identity, on a real netns cluster, read from inside
 * the pod with `kubectl exec`: /etc/resolv.conf and /etc/hosts as kubelet
 * writes them (per dnsPolicy, dnsConfig, hostname/subdomain, hostAliases,
 * hostNetwork), and the service account token volume — its files, that it is
 * read-only, and that the token authenticates against the API from inside the
 * pod (and a garbage one does not). The host's own files stay as they were.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';

const c = new NetnsCluster(1);
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
const hostHosts = readFileSync('/etc/hosts', 'utf8');

beforeAll(() => {
  if (IS_ROOT) c.up();
}, 120_000);
afterAll(() => {
  if (IS_ROOT) c.down();
}, 60_000);

const pod = (name: string) => c.json<PodJ & { spec: { serviceAccountName?: string } }>(['get', 'pod', name]);
const running = (name: string) => until(`${name} running`, () => pod(name).status.phase === 'Running', 30_000);

function exec(name: string, script: string): { status: number; stdout: string; stderr: string } {
  return c.kubectl(['exec', name, '--', 'sh', '-c', script]);
}
function cat(name: string, path: string): string {
  const r = exec(name, `cat ${path}`);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** The node's resolver, as the pod would get it: kubelet's parse of /etc/resolv.conf (nameservers, last search line, options). */
function hostSearches(): string[] {
  const lines = hostResolv.split('\n').filter((l) => /^search\s/.test(l));
  return lines.length ? lines.at(-1)!.trim().split(/\s+/).slice(1).filter((d) => d !== '.').map((d) => d.replace(/\.$/, '')) : [];
}

function podYaml(name: string, spec: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, command: [sleep, '3600']}]
${spec}`;
}

describe.skipIf(!IS_ROOT)('pod identity: resolv.conf, hosts, service account token (netns)', () => {
  it('a ClusterFirst pod resolves through cluster DNS, with its namespace first in the search path', async () => {
    c.apply(podYaml('plain', ''));
    await running('plain');
    const search = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', ...hostSearches()].filter((d, i, a) => a.indexOf(d) === i);
    expect(cat('plain', '/etc/resolv.conf')).toBe(`search ${search.join(' ')}\nnameserver 10.96.0.10\noptions ndots:5\n`);
    const ip = pod('plain').status.podIP!;
    expect(cat('plain', '/etc/hosts')).toBe(
      `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n${ip}\tplain\n`,
    );
    expect(exec('plain', 'hostname').stdout.trim()).toBe('plain');
    // The host's files are untouched.
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(hostResolv);
    expect(readFileSync('/etc/hosts', 'utf8')).toBe(hostHosts);
  });

  it('mounts the default service account token read-only, bound to the pod; it authenticates from inside, a garbage one does not', async () => {
    const p = pod('plain');
    expect(p.spec.serviceAccountName).toBe('default');
    expect(cat('plain', `${SA_DIR}/namespace`)).toBe('default');
    const kubeconfig = readFileSync(c.kubeconfig, 'utf8');
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)![1]!, 'base64').toString('utf8');
    expect(cat('plain', `${SA_DIR}/ca.crt`)).toBe(ca);
    const token = cat('plain', `${SA_DIR}/token`);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({
      iss: 'https://kubernetes.default.svc.cluster.local',
      sub: 'system:serviceaccount:default:default',
      aud: ['https://kubernetes.default.svc.cluster.local'],
      'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'default' }, pod: { name: 'plain', uid: p.metadata.uid }, node: { name: 'node-1' } },
    });
    expect(claims.exp - claims.iat).toBe(3607);
    const w = exec('plain', `touch ${SA_DIR}/x`);
    expect(w.status).not.toBe(0);
    expect(w.stderr).toMatch(/Read-only file system/);
    expect(existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')).toBe(false);

    const curl = (auth: string) =>
      exec('plain', `curl -s -o /dev/null -w '%{http_code}' --cacert ${SA_DIR}/ca.crt -H "Authorization: Bearer ${auth}" https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/services`).stdout;
    expect(curl(`$(cat ${SA_DIR}/token)`)).toBe('200');
    expect(curl('garbage.not.a-token')).toBe('401');
  });

  it('hostname, subdomain, hostAliases and dnsPolicy None with dnsConfig', async () => {
    c.apply(
      podYaml(
        'custom',
        `  hostname: db
  subdomain: backend
  hostAliases: [{ip: 10.1.2.3, hostnames: [foo.local, bar.local]}]
  dnsPolicy: None
  dnsConfig:
    nameservers: [1.2.3.4, 1.2.3.4]
    searches: [ns1.svc.cluster-domain.example, my.dns.search.suffix]
    options: [{name: ndots, value: '2'}, {name: edns0}]
`,
      ),
    );
    await running('custom');
    expect(cat('custom', '/etc/resolv.conf')).toBe('search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2 edns0\n');
    const ip = pod('custom').status.podIP!;
    expect(cat('custom', '/etc/hosts')).toMatch(new RegExp(`\\n${ip.replace(/\./g, '\\.')}\\tdb\\.backend\\.default\\.svc\\.cluster\\.local\\tdb\\n\\n# Entries added by HostAliases\\.\\n10\\.1\\.2\\.3\\tfoo\\.local\\tbar\\.local\\n$`));
    expect(exec('custom', 'hostname').stdout.trim()).toBe('db');
    expect(exec('custom', 'echo $HOSTNAME').stdout.trim()).toBe('db');
  });

  it("automountServiceAccountToken: false mounts nothing; a hostNetwork pod keeps the node's resolver and hosts", async () => {
    c.apply(podYaml('no-token', '  automountServiceAccountToken: false\n'));
    c.apply(podYaml('on-host', '  hostNetwork: true\n  hostAliases: [{ip: 10.9.9.9, hostnames: [extra.local]}]\n'));
    await running('no-token');
    await running('on-host');
    expect(exec('no-token', `ls ${SA_DIR}`).status).not.toBe(0);
    const servers = hostResolv.split('\n').filter((l) => /^nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
    const resolv = cat('on-host', '/etc/resolv.conf');
    expect(resolv).not.toContain('10.96.0.10');
    for (const s of servers) expect(resolv).toContain(`nameserver ${s}\n`);
    expect(cat('on-host', '/etc/hosts')).toBe(`${hostHosts}\n# Entries added by HostAliases.\n10.9.9.9\textra.local\n`);
    expect(exec('on-host', 'hostname').stdout.trim()).toBe('node-1');
  });

  it('a pod whose token cannot be had waits in ContainerCreating with FailedMount events, and starts once it can', async () => {
    c.apply('apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: temp}\n');
    expect(c.kubectl(['cordon', 'node-1']).status).toBe(0);
    c.apply(podYaml('orphan', '  serviceAccountName: temp\n'));
    expect(c.kubectl(['delete', 'sa', 'temp']).status).toBe(0);
    expect(c.kubectl(['uncordon', 'node-1']).status).toBe(0);
    await until('FailedMount', () => c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=orphan,reason=FailedMount']).stdout.includes('failed to fetch token'), 30_000);
    const events = c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=orphan,reason=FailedMount']).stdout;
    expect(events).toMatch(/MountVolume\.SetUp failed for volume "kube-api-access-\w+" : failed to fetch token: serviceaccounts "temp" not found/);
    const s = pod('orphan').status;
    expect(s.phase).toBe('Pending');
    expect(s.containerStatuses?.[0]?.state.waiting?.reason).toBe('ContainerCreating');
    c.apply('apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: temp}\n');
    await running('orphan');
    expect(cat('orphan', `${SA_DIR}/namespace`)).toBe('default');
  });

  it('refuses a pod whose service account does not exist, as the ServiceAccount admission plugin does', () => {
    const r = c.kubectl(['apply', '-f', '-'], podYaml('ghost', '  serviceAccountName: nobody\n'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('pods "ghost" is forbidden: error looking up service account default/nobody: serviceaccount "nobody" not found');
  });
});
