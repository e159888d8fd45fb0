/**
 * Traffic from every place a user sends it from, in both proxy modes: the
 * host, a pod on the endpoint's node, a pod on another node, the endpoint
 * pod itself (hairpin), a hostNetwork pod, a node. Each goes to a cluster IP,
 * the node port on the endpoint's node, the node port on a node without an
 * endpoint and an external IP, under Cluster and Local traffic policies, over
 * TCP and UDP. Every cell asserts which pod answered and the client address
 * it saw (Kubernetes' source-address matrix), or that the connection was
 * dropped (a Local policy on a node without a local endpoint).
 *
 * Also: a pod reaching its own Service lands on itself on every draw (with
 * and without ClientIP affinity), and a Service whose endpoint lives outside
 * the pod network (a server on the host, hand-written Endpoints) is reachable
 * from pods.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ProxyMode } from '@kubemu/kube-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until, type PodJ } from './helpers/netns-cluster.js';
import { runProbes, type Origin, type Probe, type ProbeResult } from './helpers/probes.js';

const ORIGINS = ['host', 'same-node pod', 'other-node pod', 'endpoint pod', 'hostNetwork pod', 'node'] as const;
const PATHS = ['cluster IP', 'node port, endpoint node', 'node port, other node', 'external IP'] as const;
const POLICIES = ['Cluster', 'Local'] as const;
type OriginName = (typeof ORIGINS)[number];
type PathName = (typeof PATHS)[number];
type Policy = (typeof POLICIES)[number];

/** The node each origin sends from (the host is on no node); the endpoint pod runs on node-1. */
const ORIGIN_NODE: Record<OriginName, number | null> = {
  host: null,
  'same-node pod': 1,
  'other-node pod': 2,
  'endpoint pod': 1,
  'hostNetwork pod': 2,
  node: 3,
};
const POD_OF: Partial<Record<OriginName, string>> = {
  'same-node pod': 'o-a',
  'other-node pod': 'o-b',
  'endpoint pod': 'o-ep',
  'hostNetwork pod': 'o-hn',
};
/** The node whose proxy handles an external path: the endpoint's node, a node without one, the external IP's owner. */
const PATH_NODE: Record<Exclude<PathName, 'cluster IP'>, number> = {
  'node port, endpoint node': 1,
  'node port, other node': 3,
  'external IP': 2,
};
const ENDPOINT_NODE = 1;
const BR_NETFILTER = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');

/** What a cell must show: the address the endpoint saw, or a drop. */
type Expect = { client: string } | { drop: true };

interface Addrs {
  host: string;
  node: (n: number) => string;
  /** node-1's pod gateway (cbr0): the address masquerade picks there towards a local pod. */
  gateway1: string;
  pod: (name: string) => string;
}

/** Kubernetes' answer for one cell (see k8s-services-semantics.md, "source IP"). */
function expected(mode: ProxyMode, origin: OriginName, path: PathName, policy: Policy, a: Addrs): Expect {
  const e = unmasqueraded(mode, origin, path, policy, a);
  // hairpin: a pod that reaches itself is always masqueraded (it would drop a packet from its own address)
  if ('client' in e && e.client === a.pod('o-ep')) return { client: a.gateway1 };
  // without br_netfilter, DNAT between two pods of one node is masqueraded (the reply would skip conntrack)
  if ('client' in e && !BR_NETFILTER && e.client === a.pod('o-a')) return { client: a.gateway1 };
  return e;
}

function unmasqueraded(mode: ProxyMode, origin: OriginName, path: PathName, policy: Policy, a: Addrs): Expect {
  const from = ORIGIN_NODE[origin];
  const via = path === 'cluster IP' ? from! : PATH_NODE[path];
  /** The source masquerade gives on node `n` towards the endpoint. */
  const masq = (n: number) => (n === ENDPOINT_NODE ? a.gateway1 : a.node(n));
  const own = origin === 'host' ? a.host : POD_OF[origin] && origin !== 'hostNetwork pod' ? a.pod(POD_OF[origin]!) : a.node(from!);
  const isPod = origin === 'same-node pod' || origin === 'other-node pod' || origin === 'endpoint pod';
  if (path === 'cluster IP') {
    if (policy === 'Local' && via !== ENDPOINT_NODE) return { drop: true };
    if (mode === 'userspace') return { client: masq(via) }; // the proxy on the client's node connects
    return { client: isPod ? own : masq(via) }; // pods keep their address; the node's own traffic is masqueraded
  }
  if (policy === 'Cluster') return { client: masq(via) };
  // externalTrafficPolicy Local: the node's own pods and the node itself are treated as Cluster
  if (from === via) return { client: mode === 'nftables' && isPod ? own : masq(via) };
  if (via !== ENDPOINT_NODE) return { drop: true };
  return { client: mode === 'nftables' ? own : masq(via) };
}

/** A client pod that only waits (commands come through exec), pinned to node-`node`. */
function clientPod(name: string, node: number, hostNetwork = false): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: node-${node}
  hostNetwork: ${hostNetwork}
  containers: [{name: c, image: e2e-test-images/agnhost, args: [pause]}]
`;
}

for (const mode of ['nftables', 'userspace'] as const) {
  describe.skipIf(!IS_ROOT)(`traffic origins, ${mode} mode (netns)`, () => {
    const c = new NetnsCluster(3, ['--proxy-mode', mode]);
    let addrs: Addrs;
    const ports: Record<Policy, { tcp: number; udp: number; tcpNode: number; udpNode: number }> = {} as never;
    const clusterIPs: Partial<Record<Policy, string>> = {};

    beforeAll(async () => {
      c.up();
      c.apply(`apiVersion: v1
kind: Pod
metadata: {name: o-ep, labels: {app: o-ep}}
spec:
  nodeName: node-1
  containers:
  - {name: echo, image: kubemu/echo, args: [--udp-port=8081], ports: [{containerPort: 8080}]}
---
${clientPod('o-a', 1)}---
${clientPod('o-b', 2)}---
${clientPod('o-hn', 2, true)}---
apiVersion: v1
kind: Service
metadata: {name: o-cluster}
spec:
  type: NodePort
  selector: {app: o-ep}
  externalIPs: [${c.nodeIP(2)}]
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
  - {name: udp, port: 80, targetPort: 8081, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: o-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  selector: {app: o-ep}
  externalIPs: [${c.nodeIP(2)}]
  ports:
  - {name: http, port: 90, targetPort: 8080, protocol: TCP}
  - {name: udp, port: 90, targetPort: 8081, protocol: UDP}
`);
      const pods = await until('the origin pods running', () => {
        const p = c.json<{ items: PodJ[] }>(['get', 'pods']).items;
        return p.length === 4 && p.every((x) => x.status.phase === 'Running' && x.status.podIP) && p;
      }, 60_000);
      await until('o-ep ready in both Services', () => c.readyIPs('o-cluster').length === 1 && c.readyIPs('o-local').length === 1, 30_000);
      await c.waitApplied('o-cluster');
      await c.waitApplied('o-local');
      const ipOf = new Map(pods.map((p) => [p.metadata.name, p.status.podIP!]));
      const node1 = c.json<{ spec: { podCIDR: string } }>(['get', 'node', 'node-1']);
      const nodeIPs = [1, 2, 3].map((n) => c.nodeIP(n));
      addrs = {
        host: c.hostIP(),
        node: (n) => nodeIPs[n - 1]!,
        gateway1: node1.spec.podCIDR.replace(/\.0\/\d+$/, '.1'),
        pod: (name) => ipOf.get(name)!,
      };
      for (const policy of POLICIES) {
        const s = c.json<{ spec: { clusterIP: string; ports: { protocol: string; port: number; nodePort: number }[] } }>(['get', 'svc', `o-${policy.toLowerCase()}`]);
        clusterIPs[policy] = s.spec.clusterIP;
        const tcp = s.spec.ports.find((p) => p.protocol === 'TCP')!;
        const udp = s.spec.ports.find((p) => p.protocol === 'UDP')!;
        ports[policy] = { tcp: tcp.port, udp: udp.port, tcpNode: tcp.nodePort, udpNode: udp.nodePort };
      }
    }, 180_000);
    afterAll(() => c.down(), 60_000);

    function originOf(o: OriginName): Origin {
      if (o === 'host') return { kind: 'host' };
      if (o === 'node') return { kind: 'netns', netns: `km-${c.name}-node-3` };
      return { kind: 'pod', kubeconfig: c.kubeconfig, pod: POD_OF[o]! };
    }

    function target(path: PathName, policy: Policy, proto: 'tcp' | 'udp'): { host: string; port: number } {
      const p = ports[policy];
      if (path === 'cluster IP') return { host: clusterIPs[policy]!, port: p[proto] };
      if (path === 'external IP') return { host: addrs.node(2), port: p[proto] };
      return { host: addrs.node(PATH_NODE[path]), port: proto === 'tcp' ? p.tcpNode : p.udpNode };
    }

    it('every origin × path × policy × protocol reaches the right pod and shows the right client address, or is dropped', async () => {
      const cells = new Map<string, { origin: OriginName; path: PathName; policy: Policy; proto: 'tcp' | 'udp'; want: Expect }>();
      const batches = ORIGINS.map((origin) => {
        const probes: Probe[] = [];
        for (const path of PATHS) {
          // The host has no route to the service CIDR (and must not get one: it would leave the machine).
          if (origin === 'host' && path === 'cluster IP') continue;
          for (const policy of POLICIES) {
            for (const proto of ['tcp', 'udp'] as const) {
              const id = `${origin} → ${path} (${policy}, ${proto})`;
              const want = expected(mode, origin, path, policy, addrs);
              cells.set(id, { origin, path, policy, proto, want });
              const t = target(path, policy, proto);
              probes.push({ id, proto, ...t, path: '/', send: 'hello', timeoutMs: 'drop' in want ? 1200 : 3000 });
            }
          }
        }
        return runProbes(originOf(origin), probes);
      });
      const results: ProbeResult[] = (await Promise.all(batches)).flat();
      expect(results).toHaveLength(cells.size);
      const wrong: string[] = [];
      for (const r of results) {
        const cell = cells.get(r.id)!;
        let seen: string;
        if (r.body !== undefined) {
          let pod = '';
          let client = '';
          if (cell.proto === 'tcp') {
            try {
              ({ pod, clientIP: client } = JSON.parse(r.body) as { pod: string; clientIP: string });
            } catch {
              pod = r.body;
            }
          } else {
            [pod = '', client = ''] = r.body.replace(/:.*$/s, '').split(' ');
          }
          seen = `${pod} saw ${client}`;
        } else {
          seen = r.err === 'timeout' ? 'dropped' : `error ${r.err}`;
        }
        const want = 'drop' in cell.want ? 'dropped' : `o-ep saw ${cell.want.client}`;
        if (seen !== want) wrong.push(`${r.id}: want ${want}, got ${seen} (${r.ms} ms)`);
      }
      expect(wrong).toEqual([]);
    });

    it('a pod reaching its own Service gets the answer on every draw, also with ClientIP affinity pinned to itself', async () => {
      c.apply(`${[1, 2, 3].map((n) => `apiVersion: v1
kind: Pod
metadata: {name: hp-${n}, labels: {app: hp, who: hp-${n}}}
spec:
  nodeName: node-${n}
  containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}]}]
`).join('---\n')}---
apiVersion: v1
kind: Service
metadata: {name: hp}
spec:
  selector: {app: hp}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hp-self}
spec:
  selector: {who: hp-1}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: 8080}]
`);
      await until('3 hp endpoints', () => c.readyIPs('hp').length === 3 && c.readyIPs('hp-self').length === 1, 60_000);
      await c.waitApplied('hp');
      await c.waitApplied('hp-self');
      const hp = c.json<{ spec: { clusterIP: string } }>(['get', 'svc', 'hp']).spec.clusterIP;
      const self = c.json<{ spec: { clusterIP: string } }>(['get', 'svc', 'hp-self']).spec.clusterIP;
      for (const n of [1, 2, 3]) {
        const probes: Probe[] = Array.from({ length: 30 }, (_, i) => ({ id: `hp-${n} #${i}`, proto: 'tcp', host: hp, port: 80, timeoutMs: 3000 }));
        const res = await runProbes({ kind: 'pod', kubeconfig: c.kubeconfig, pod: `hp-${n}` }, probes);
        const failed = res.filter((r) => r.body === undefined).map((r) => `${r.id}: ${r.err}`);
        expect(failed, `hp-${n} → hp`).toEqual([]);
        const selfHits = res.filter((r) => r.body!.trim() === `You've hit hp-${n}`).length;
        // a random draw lands on itself in 30 tries but for a (2/3)^30 ≈ 5e-6 chance; round robin every third time
        expect(selfHits, `hp-${n} landed on itself`).toBeGreaterThan(0);
      }
      const pinned = await runProbes(
        { kind: 'pod', kubeconfig: c.kubeconfig, pod: 'hp-1' },
        Array.from({ length: 10 }, (_, i) => ({ id: `#${i}`, proto: 'tcp' as const, host: self, port: 80, timeoutMs: 3000 })),
      );
      expect(pinned.map((r) => r.body?.trim() ?? r.err)).toEqual(Array(10).fill("You've hit hp-1"));
    });

    it('reaches a Service whose hand-written Endpoints point outside the pod network (a server on the host)', async () => {
      const host = addrs.host;
      let server: ChildProcess | undefined;
      try {
        // A server on the host's bridge address, telling who connected.
        server = spawn(process.execPath, ['-e', `const s=require('http').createServer((q,r)=>r.end('host saw '+q.socket.remoteAddress));s.listen(0,'${host}',()=>console.log(s.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] });
        const port = await new Promise<number>((resolve) => server!.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
        c.apply(`apiVersion: v1
kind: Service
metadata: {name: outside}
spec:
  ports: [{port: 80, targetPort: ${port}}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: outside}
subsets:
- addresses: [{ip: ${host}}]
  ports: [{port: ${port}}]
`);
        await until('the outside Endpoints mirrored', () => c.json<{ items: unknown[] }>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=outside']).items.length === 1, 10_000);
        await c.waitApplied('outside');
        const ip = c.json<{ spec: { clusterIP: string } }>(['get', 'svc', 'outside']).spec.clusterIP;
        for (const [pod, node] of [['o-a', 1], ['o-b', 2]] as const) {
          // 8 s: longer than the userspace proxy's own dial retries (0.25 + 0.5 + 1 + 2 s), so a retried dial is not a failure here
          const [r] = await runProbes({ kind: 'pod', kubeconfig: c.kubeconfig, pod }, [{ id: pod, proto: 'tcp', host: ip, port: 80, timeoutMs: 8000 }]);
          // the pod's traffic leaves the pod network masqueraded as its node: the host has no route to pods
          expect(r!.body ?? r!.err, `${pod} → outside`).toBe(`host saw ${addrs.node(node)}`);
        }
      } finally {
        server?.kill();
      }
    });
  });
}
