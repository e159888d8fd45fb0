/**
 * KubeProxy without root: the api-server connection, nft, iproute2, the
 * node's interfaces and the clock are fakes that record what kube-proxy
 * asks of them (as knftables' fake does for Kubernetes' proxier tests).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent, AgentWatchOptions } from '@kubemu/agent-client';
import type { EndpointSlice, KubeObject, Node, Service } from '@kubemu/api';
import type { IpTool, RunResult } from '@kubemu/netns';
import { KubeProxy, type ApiLink } from './kube-proxy.js';
import type { NftRunner } from './nft.js';

/** An api-server that the test drives: watches get the events the test sends. */
class FakeApi {
  readonly watches = new Map<string, ((ev: AgentEvent) => void)[]>();
  readonly link: ApiLink = {
    on: () => this.link as never,
    start: () => {},
    close: () => {},
    waitConnected: async () => {},
    request: async () => ({}),
    watch: (resource: string, _opts: AgentWatchOptions, fn: (ev: AgentEvent) => void) => {
      this.watches.set(resource, [...(this.watches.get(resource) ?? []), fn]);
      return () => {};
    },
  } as unknown as ApiLink;
  #rv = 100;

  send(resource: string, type: AgentEvent['type'], object: KubeObject): number {
    const rv = ++this.#rv;
    object.metadata.resourceVersion = String(rv);
    for (const fn of this.watches.get(resource) ?? []) fn({ type, object });
    return rv;
  }
}

/** nft that records every script; `fail` makes the next scripts fail as nft would. */
class FakeNft implements NftRunner {
  readonly kind = 'nft' as const;
  readonly scripts: string[] = [];
  fail = '';
  async run(script: string): Promise<RunResult> {
    this.scripts.push(script);
    return this.fail ? { code: 1, stdout: '', stderr: this.fail } : { code: 0, stdout: '', stderr: '' };
  }
}

/** iproute2 that keeps kube-ipvs0's addresses in memory and records the batches. */
class FakeIp {
  readonly addrs = new Set<string>();
  readonly batches: string[][] = [];
  readonly tool: IpTool = {
    ip: async (_ns, args) => {
      if (args.includes('-j')) return { code: 0, stdout: JSON.stringify([{ addr_info: [...this.addrs].map((local) => ({ family: 'inet', local })) }]), stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    },
    ipBatch: async (_ns, lines) => {
      this.batches.push([...lines]);
      for (const l of lines) {
        const m = /^addr (replace|del) ([\d.]+)\/32/.exec(l);
        if (m) m[1] === 'replace' ? this.addrs.add(m[2]!) : this.addrs.delete(m[2]!);
      }
      return { code: 0, stdout: '', stderr: '' };
    },
  };
}

const iface = (address: string, netmask: string, internal = false): NetworkInterfaceInfo =>
  ({ address, netmask, family: 'IPv4', internal, mac: '00:00:00:00:00:00', cidr: null }) as NetworkInterfaceInfo;

const service: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' }] },
};

function slice(...ips: [string, string][]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ port: 8080, protocol: 'TCP' }],
    endpoints: ips.map(([ip, nodeName]) => ({ addresses: [ip], nodeName, conditions: { ready: true } })),
  };
}

const running: KubeProxy[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

async function start() {
  const api = new FakeApi();
  const nft = new FakeNft();
  const ip = new FakeIp();
  const kp = new KubeProxy({
    nodeName: 'node-1',
    server: 'https://unused',
    token: 'unused',
    log: pino({ level: 'silent' }),
    healthzBind: '',
    mode: 'nftables',
    deps: {
      client: api.link,
      nft: async () => nft,
      ip: ip.tool,
      inHostNetns: () => false,
      interfaces: () => ({ lo: [iface('127.0.0.1', '255.0.0.0', true)], eth0: [iface('172.30.0.11', '255.255.255.0')], cbr0: [iface('10.244.1.1', '255.255.255.0')] }),
    },
  });
  running.push(kp);
  await kp.start();
  return { api, nft, ip, kp };
}

describe('KubeProxy (nftables mode, fakes)', () => {
  it('turns a Service and its EndpointSlice into one nft transaction, kube-ipvs0 and drop rules, then sends only what changes', async () => {
    const { api, nft, ip, kp } = await start();
    api.send('services', 'ADDED', structuredClone(service));
    const rv = api.send('discovery.k8s.io/endpointslices', 'ADDED', slice(['10.244.1.5', 'node-1'], ['10.244.2.5', 'node-2']));
    expect(await kp.waitApplied('default/web', rv, 2000)).toMatchObject({ rv });
    const nat = nft.scripts.filter((s) => s.includes('kubemu-nat')).join('\n');
    expect(nat).toContain('add element ip kubemu-nat svc-ips { 10.96.0.10 . tcp . 80 : goto p1-int }');
    expect(nat).toContain('add element ip kubemu-nat nodeports { tcp . 30080 : goto p1-ext }');
    expect(nat).toMatch(/add element ip kubemu-nat eps-tcp \{ \d+ : 10\.244\.1\.5 \. 8080 \}/);
    expect(nat).toContain('add element ip kubemu-nat hairpin { 10.244.1.5 . 10.244.1.5 }'); // this node's endpoint only
    expect(nat).not.toContain('10.244.2.5 . 10.244.2.5');
    expect(ip.addrs).toEqual(new Set(['10.96.0.10']));
    expect(nft.scripts.some((s) => s.includes('table ip kubemu-proxy') && s.includes('10.96.0.10 . tcp . 80'))).toBe(true);

    // an endpoint change: one small transaction on the maps, no table rebuild, no iproute2
    const before = { scripts: nft.scripts.length, batches: ip.batches.length };
    const rv2 = api.send('discovery.k8s.io/endpointslices', 'MODIFIED', slice(['10.244.1.5', 'node-1'], ['10.244.3.5', 'node-3']));
    expect(await kp.waitApplied('default/web', rv2, 2000)).toMatchObject({ rv: rv2 });
    const sent = nft.scripts.slice(before.scripts);
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toContain('delete table');
    expect(sent[0]).toMatch(/delete element ip kubemu-nat eps-tcp \{ \d+ \}\nadd element ip kubemu-nat eps-tcp \{ \d+ : 10\.244\.3\.5 \. 8080 \}/);
    expect(ip.batches.length).toBe(before.batches);

    // the Service goes: its address and rules go with it
    api.send('services', 'DELETED', structuredClone(service));
    for (let i = 0; i < 100 && ip.addrs.size; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ip.addrs).toEqual(new Set());
    expect(nft.scripts.at(-1)).toContain('delete element ip kubemu-nat svc-ips { 10.96.0.10 . tcp . 80 }');
  });

  it('reports unhealthy while the data plane refuses updates or an update waits too long, and takes the node out when it is being deleted', async () => {
    const { api, nft, kp } = await start();
    expect(kp.healthState()).toMatchObject({ healthy: true, nodeEligible: true });
    nft.fail = 'Error: Could not process rule: No such file or directory';
    api.send('services', 'ADDED', structuredClone(service));
    const rv = api.send('discovery.k8s.io/endpointslices', 'ADDED', slice(['10.244.1.5', 'node-1']));
    await kp.waitApplied('default/web', rv, 2000);
    expect(kp.healthState()).toMatchObject({ healthy: false, reason: expect.stringContaining('Could not process rule') });
    nft.fail = '';
    const rv2 = api.send('discovery.k8s.io/endpointslices', 'MODIFIED', slice(['10.244.1.6', 'node-1']));
    await kp.waitApplied('default/web', rv2, 2000);
    expect(kp.healthState().healthy).toBe(true);

    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } };
    api.send('nodes', 'MODIFIED', node);
    expect(kp.healthState()).toMatchObject({ healthy: true, nodeEligible: false });
    api.send('nodes', 'DELETED', node);
    expect(kp.healthState().nodeEligible).toBe(false);
  });
});
