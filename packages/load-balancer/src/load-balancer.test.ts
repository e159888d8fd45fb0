/**
 * LoadBalancer without root or a cluster: the api-server, the data plane, the
 * interface addresses and the health probe are fakes that record what the
 * load balancer asks of them; the test decides which nodes answer.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent, AgentWatchOptions } from '@kubemu/agent-client';
import { ApiError, type KubeObject, type Node, type RequestMsg, type Service } from '@kubemu/api';
import type { ConnRecord } from '@kubemu/kube-proxy';
import type { Frontend, LbDataPlane } from './frontend.js';
import { EXCLUDE_NODE_LABEL, METALLB_IPS_ANNOTATION } from './lb-service.js';
import { LoadBalancer, type LbApiLink } from './load-balancer.js';
import type { HealthTarget, Probe } from './node-health.js';

type Req = Omit<RequestMsg, 't' | 'id'>;
const clone = <T>(x: T): T => structuredClone(x);
const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** An api-server holding Services and Nodes: lists, watches, get, updateStatus (409 on a stale resourceVersion) and Events. */
class FakeApi {
  readonly store = { services: new Map<string, Service>(), nodes: new Map<string, Node>() };
  readonly watchers = new Map<string, Set<(ev: AgentEvent) => void>>();
  readonly requests: Req[] = [];
  /** Events as written: creates, then the count updates of folded repeats. */
  readonly events: { verb: string; reason: string; message: string; name: string; count: number }[] = [];
  /** The next updateStatus calls fail with these. */
  readonly failStatus: Error[] = [];
  #rv = 100;

  readonly link: LbApiLink = {
    start: () => {},
    close: () => {},
    waitConnected: async () => {},
    watch: (resource: string, _opts: AgentWatchOptions, fn: (ev: AgentEvent) => void) => {
      const set = this.watchers.get(resource) ?? new Set();
      this.watchers.set(resource, set);
      set.add(fn);
      return () => set.delete(fn);
    },
    request: async (msg: Req) => {
      this.requests.push(clone(msg));
      return this.#handle(msg);
    },
  } as unknown as LbApiLink;

  #map(resource: string): Map<string, KubeObject> {
    return (resource === 'services' ? this.store.services : this.store.nodes) as Map<string, KubeObject>;
  }

  #notify(resource: string, type: AgentEvent['type'], o: KubeObject): void {
    for (const fn of this.watchers.get(resource) ?? []) fn({ type, object: clone(o) });
  }

  /** Creates or replaces an object (as a user would), and tells the watchers unless `quiet`. */
  apply(resource: 'services' | 'nodes', o: KubeObject, quiet = false): void {
    const m = this.#map(resource);
    const k = resource === 'services' ? keyOf(o) : o.metadata.name!;
    const existed = m.has(k);
    const stored = clone(o);
    stored.metadata.uid ??= m.get(k)?.metadata.uid ?? `uid-${k}`;
    stored.metadata.resourceVersion = String(++this.#rv);
    m.set(k, stored);
    if (!quiet) this.#notify(resource, existed ? 'MODIFIED' : 'ADDED', stored);
  }

  remove(resource: 'services' | 'nodes', key: string): void {
    const m = this.#map(resource);
    const o = m.get(key);
    if (!o) return;
    m.delete(key);
    this.#notify(resource, 'DELETED', o);
  }

  service(key: string): Service | undefined {
    return this.store.services.get(key);
  }

  statusWrites(key: string): Req[] {
    return this.requests.filter((r) => r.verb === 'updateStatus' && `${r.namespace ?? 'default'}/${r.name}` === key);
  }

  eventsFor(reason: string) {
    return this.events.filter((e) => e.reason === reason);
  }

  async #handle(msg: Req): Promise<{ object?: KubeObject; items?: KubeObject[] }> {
    if (msg.resource === 'events') {
      const ev = msg.object as KubeObject & { reason: string; message: string; count: number; involvedObject: { name: string } };
      this.events.push({ verb: msg.verb, reason: ev.reason, message: ev.message, name: ev.involvedObject.name, count: ev.count });
      return { object: clone(ev) };
    }
    const m = this.#map(msg.resource);
    const key = msg.resource === 'services' ? `${msg.namespace ?? 'default'}/${msg.name}` : msg.name!;
    switch (msg.verb) {
      case 'list':
        return { items: [...m.values()].map(clone) };
      case 'get': {
        const o = m.get(key);
        if (!o) throw new ApiError(404, 'NotFound', `services "${msg.name}" not found`);
        return { object: clone(o) };
      }
      case 'updateStatus': {
        const injected = this.failStatus.shift();
        if (injected) throw injected;
        const cur = m.get(key) as Service | undefined;
        if (!cur) throw new ApiError(404, 'NotFound', `services "${msg.name}" not found`);
        const obj = msg.object as Service;
        if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) {
          throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on services "${msg.name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        this.apply('services', { ...cur, status: clone(obj.status) } as Service);
        return { object: clone(m.get(key)!) };
      }
      default:
        throw new Error(`fake api: ${msg.verb} ${msg.resource} not served`);
    }
  }
}

/** A data plane that remembers what it was told to serve; `fail` makes sync reject. */
class FakeDataPlane implements LbDataPlane {
  readonly mode = 'nftables' as const;
  readonly syncs: Frontend[][] = [];
  fail = '';
  get current(): Frontend[] {
    return this.syncs.at(-1) ?? [];
  }
  async sync(frontends: Frontend[]): Promise<void> {
    if (this.fail) throw new Error(this.fail);
    this.syncs.push(clone(frontends));
  }
  async connections(): Promise<{ total: number; items: ConnRecord[] }> {
    return { total: 0, items: [] };
  }
  async stop(): Promise<void> {}
}

/** Health checks answered by the test: `ip:port` in `up` answers 200. */
class FakeProbe {
  readonly up = new Set<string>();
  readonly seen: HealthTarget[] = [];
  readonly timeouts = new Set<number>();
  /** While set, checks wait for it before answering. */
  gate?: Promise<void>;
  readonly probe: Probe = async (t, timeoutMs) => {
    this.timeouts.add(timeoutMs);
    this.seen.push({ key: t.key, ip: t.ip, port: t.port, path: t.path });
    await this.gate;
    return this.up.has(`${t.ip}:${t.port}`) ? { ok: true } : { ok: false, error: 'connect ECONNREFUSED' };
  };
}

const POOL = '172.30.0.200-172.30.0.202';

function makeNode(n: number, opts: { labels?: Record<string, string>; addresses?: { type: string; address: string }[] } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `node-${n}`, labels: opts.labels },
    status: { addresses: opts.addresses ?? [{ type: 'InternalIP', address: `172.30.0.${10 + n}` }, { type: 'Hostname', address: `node-${n}` }] },
  };
}

function makeService(name: string, o: { spec?: Partial<Service['spec']>; annotations?: Record<string, string>; created?: string; status?: Service['status'] } = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', annotations: o.annotations, creationTimestamp: o.created ?? '2025-01-01T00:00:00Z' },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }], ...o.spec },
    status: o.status,
  };
}

const ingress = (ip: string) => ({ loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } });

interface Rig {
  api: FakeApi;
  dp: FakeDataPlane;
  probe: FakeProbe;
  addresses: string[][];
  lb: LoadBalancer;
}

const running: LoadBalancer[] = [];
afterEach(async () => {
  for (const lb of running.splice(0)) await lb.stop();
});

/** A load balancer over the fakes (a fresh api unless one is given, as for a restart), started and settled. */
async function startLb(o: { api?: FakeApi; pool?: string; loadBalancerClass?: string; nodes?: Node[]; services?: Service[]; up?: string[] } = {}): Promise<Rig> {
  const api = o.api ?? new FakeApi();
  for (const n of o.nodes ?? [makeNode(1), makeNode(2), makeNode(3)]) api.apply('nodes', n, true);
  for (const s of o.services ?? []) api.apply('services', s, true);
  const dp = new FakeDataPlane();
  const probe = new FakeProbe();
  for (const a of o.up ?? ['172.30.0.11:10256', '172.30.0.12:10256', '172.30.0.13:10256']) probe.up.add(a);
  const addresses: string[][] = [];
  const lb = new LoadBalancer({
    server: 'https://api.invalid',
    token: 'test',
    log: pino({ level: 'silent' }),
    pool: o.pool ?? POOL,
    healthzBind: '',
    checkPeriodMs: 600_000,
    loadBalancerClass: o.loadBalancerClass,
    deps: { client: api.link, dataPlane: dp, addresses: { sync: async (want) => void addresses.push([...want].sort()) }, probe: probe.probe, inHostNetns: () => false },
  });
  running.push(lb);
  await lb.start();
  const rig = { api, dp, probe, addresses, lb };
  await settle(rig);
  return rig;
}

/** Waits until the load balancer has nothing left to do (reconciles, health checks they started, events). */
async function settle({ lb }: Rig): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await lb.settled();
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Frontends as `ip:port/PROTO → nodes`. */
const forwarding = (dp: FakeDataPlane) => dp.current.map((f) => `${f.ip}:${f.port}/${f.protocol} → ${f.backends.map((b) => `${b.node}@${b.ip}:${b.port}`).join(',') || 'none'}`);

describe('LoadBalancer: addresses', () => {
  it('assigns the lowest free address, writes it into status and forwards it to every healthy node', async () => {
    const r = await startLb({ services: [makeService('web')] });
    expect(r.api.service('default/web')!.status).toEqual(ingress('172.30.0.200'));
    expect(r.api.statusWrites('default/web')).toHaveLength(1);
    expect(r.addresses.at(-1)).toEqual(['172.30.0.200']);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-1@172.30.0.11:30080,node-2@172.30.0.12:30080,node-3@172.30.0.13:30080']);
    expect(r.dp.current[0]).toMatchObject({ key: 'default/web:http/TCP', service: 'default/web', local: false, affinitySeconds: 0, sourceRanges: [] });
    await vi.waitFor(() => expect(r.api.eventsFor('IPAllocated').map((e) => e.message)).toEqual(['Assigned IP ["172.30.0.200"]']));
    expect(r.lb.snapshot()).toMatchObject({ pool: { size: 3, used: 1 }, assignments: { 'default/web': { ip: '172.30.0.200' } }, lastSyncError: undefined });
  });

  it('assigns a Service created while running, one frontend per port', async () => {
    const r = await startLb();
    r.api.apply(
      'services',
      makeService('dns', {
        spec: {
          ports: [
            { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP', nodePort: 30053 },
            { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP', nodePort: 30054 },
          ],
        },
      }),
    );
    await settle(r);
    expect(r.api.service('default/dns')!.status).toEqual(ingress('172.30.0.200'));
    expect(forwarding(r.dp)).toEqual([
      '172.30.0.200:53/UDP → node-1@172.30.0.11:30053,node-2@172.30.0.12:30053,node-3@172.30.0.13:30053',
      '172.30.0.200:53/TCP → node-1@172.30.0.11:30054,node-2@172.30.0.12:30054,node-3@172.30.0.13:30054',
    ]);
  });

  it('keeps the addresses already in status at start, before an older Service takes the lowest free one', async () => {
    const older = makeService('older', { created: '2024-01-01T00:00:00Z' });
    const kept = makeService('kept', { created: '2025-06-01T00:00:00Z', status: ingress('172.30.0.200') });
    const r = await startLb({ services: [older, kept] });
    expect(r.api.service('default/kept')!.status).toEqual(ingress('172.30.0.200'));
    expect(r.api.statusWrites('default/kept')).toEqual([]);
    expect(r.api.service('default/older')!.status).toEqual(ingress('172.30.0.201'));
  });

  it('gives every Service the same address again after a restart, writing nothing', async () => {
    const first = await startLb({ services: [makeService('b', { created: '2025-02-01T00:00:00Z' }), makeService('a', { created: '2025-03-01T00:00:00Z' })] });
    expect(first.api.service('default/b')!.status).toEqual(ingress('172.30.0.200'));
    expect(first.api.service('default/a')!.status).toEqual(ingress('172.30.0.201'));
    // a Service deleted while the LB is down frees its address; a new one created meanwhile is older than neither
    await first.lb.stop(false);
    running.splice(running.indexOf(first.lb), 1);
    first.api.remove('services', 'default/b');
    first.api.apply('services', makeService('c', { created: '2024-01-01T00:00:00Z' }), true);
    const writes = first.api.requests.filter((q) => q.verb === 'updateStatus').length;
    const second = await startLb({ api: first.api, nodes: [] });
    expect(second.api.service('default/a')!.status).toEqual(ingress('172.30.0.201'));
    expect(second.api.service('default/c')!.status).toEqual(ingress('172.30.0.200'));
    expect(second.api.requests.filter((q) => q.verb === 'updateStatus').slice(writes).map((q) => q.name)).toEqual(['c']);
  });

  it("honours a requested address, MetalLB's annotation first", async () => {
    const r = await startLb({
      services: [
        makeService('by-spec', { spec: { loadBalancerIP: '172.30.0.202' } }),
        makeService('by-annotation', { spec: { loadBalancerIP: '172.30.0.200' }, annotations: { [METALLB_IPS_ANNOTATION]: '172.30.0.201' } }),
      ],
    });
    expect(r.api.service('default/by-spec')!.status).toEqual(ingress('172.30.0.202'));
    expect(r.api.service('default/by-annotation')!.status).toEqual(ingress('172.30.0.201'));
    // a Service asking for another address moves to it
    r.api.apply('services', makeService('by-spec', { spec: { loadBalancerIP: '172.30.0.200' } }));
    await settle(r);
    expect(r.api.service('default/by-spec')!.status).toEqual(ingress('172.30.0.200'));
    expect(r.lb.pool.ownerOf('172.30.0.202')).toBeUndefined();
  });

  it('leaves a Service pending with an AllocationFailed Event when its address is outside the pool or taken', async () => {
    const r = await startLb({
      services: [
        makeService('first', { created: '2025-01-01T00:00:00Z', spec: { loadBalancerIP: '172.30.0.201' } }),
        makeService('second', { created: '2025-02-01T00:00:00Z', spec: { loadBalancerIP: '172.30.0.201' } }),
        makeService('outside', { spec: { loadBalancerIP: '10.9.9.9' } }),
      ],
    });
    expect(r.api.service('default/first')!.status).toEqual(ingress('172.30.0.201'));
    expect(r.api.service('default/second')!.status).toBeUndefined();
    expect(r.api.service('default/outside')!.status).toBeUndefined();
    await vi.waitFor(() =>
      expect(r.api.eventsFor('AllocationFailed').map((e) => `${e.name}: ${e.message}`).sort()).toEqual([
        `outside: Failed to allocate IP for "default/outside": 10.9.9.9 is not in the load balancer's pool ${POOL}`,
        'second: Failed to allocate IP for "default/second": 172.30.0.201 is already assigned to Service default/first',
      ]),
    );
    expect(forwarding(r.dp).map((f) => f.split(':')[0])).toEqual(['172.30.0.201']);
    // the holder lets go: the waiting Service gets it
    r.api.remove('services', 'default/first');
    await settle(r);
    expect(r.api.service('default/second')!.status).toEqual(ingress('172.30.0.201'));
    await vi.waitFor(() => expect(r.api.eventsFor('EnsuredLoadBalancer').map((e) => `${e.name}: ${e.message}`)).toEqual(['second: Ensured load balancer at 172.30.0.201']));
  });

  it('says once that the pool is exhausted, and assigns the address another Service frees', async () => {
    const r = await startLb({
      services: ['a', 'b', 'c', 'd'].map((n, i) => makeService(n, { created: `2025-01-0${i + 1}T00:00:00Z` })),
    });
    expect(['a', 'b', 'c'].map((n) => r.api.service(`default/${n}`)!.status?.loadBalancer?.ingress?.[0]?.ip)).toEqual(['172.30.0.200', '172.30.0.201', '172.30.0.202']);
    expect(r.api.service('default/d')!.status).toBeUndefined();
    expect(r.lb.snapshot().assignments['default/d']).toEqual({ pending: `no free address left in the load balancer's pool ${POOL} (3 addresses, all assigned)` });
    // more reconciles (node changes, health flips) say nothing more
    for (let i = 0; i < 3; i++) {
      r.api.apply('nodes', makeNode(1, { labels: { round: String(i) } }));
      await settle(r);
    }
    r.probe.up.delete('172.30.0.12:10256');
    await r.lb.health.checkAll();
    await settle(r);
    await vi.waitFor(() => expect(r.api.eventsFor('AllocationFailed')).toHaveLength(1));
    expect(r.api.eventsFor('AllocationFailed')[0]).toMatchObject({ verb: 'create', name: 'd', count: 1 });
    // b goes: d gets its address
    r.api.remove('services', 'default/b');
    await settle(r);
    expect(r.api.service('default/d')!.status).toEqual(ingress('172.30.0.201'));
    expect(r.lb.snapshot().pool.used).toBe(3);
    expect(forwarding(r.dp).map((f) => f.split(':')[0])).toEqual(['172.30.0.200', '172.30.0.202', '172.30.0.201']);
    expect(r.addresses.at(-1)).toEqual(['172.30.0.200', '172.30.0.201', '172.30.0.202']);
  });

  it('clears the status and frees the address when a Service stops being a LoadBalancer', async () => {
    const r = await startLb({ services: [makeService('web')] });
    expect(r.api.service('default/web')!.status).toEqual(ingress('172.30.0.200'));
    const s = r.api.service('default/web')!;
    r.api.apply('services', { ...s, spec: { ...s.spec, type: 'ClusterIP' } });
    await settle(r);
    expect(r.api.service('default/web')!.status?.loadBalancer?.ingress ?? []).toEqual([]);
    expect(r.lb.snapshot().pool.used).toBe(0);
    expect(r.lb.snapshot().assignments).toEqual({});
    expect(r.dp.current).toEqual([]);
    expect(r.addresses.at(-1)).toEqual([]);
    // the address is free for the next Service
    r.api.apply('services', makeService('next'));
    await settle(r);
    expect(r.api.service('default/next')!.status).toEqual(ingress('172.30.0.200'));
  });

  it('clears the status of a Service that stopped being a LoadBalancer even when the first write fails', async () => {
    const r = await startLb({ services: [makeService('web'), makeService('waiting', { created: '2025-09-01T00:00:00Z' })], pool: '172.30.0.200-172.30.0.200' });
    const s = r.api.service('default/web')!;
    r.api.failStatus.push(new ApiError(500, 'InternalError', 'etcdserver: request timed out'));
    r.api.apply('services', { ...s, spec: { ...s.spec, type: 'ClusterIP' } });
    await settle(r);
    await vi.waitFor(() => expect(r.api.service('default/web')!.status?.loadBalancer?.ingress ?? []).toEqual([]), { timeout: 3000 });
    await settle(r);
    expect(r.lb.lastSyncError).toBeUndefined();
    // never two Services showing the same address
    expect(r.api.service('default/waiting')!.status).toEqual(ingress('172.30.0.200'));
  });

  it('clears, at start, the address of a Service that stopped being a LoadBalancer while it was away', async () => {
    const r = await startLb({ services: [makeService('was-lb', { spec: { type: 'ClusterIP' }, status: ingress('172.30.0.200') }), makeService('next', { created: '2025-09-01T00:00:00Z' })] });
    expect(r.api.service('default/was-lb')!.status?.loadBalancer?.ingress ?? []).toEqual([]);
    // .200 was held until its old owner's status was cleared (never two Services showing one address), then freed.
    expect(r.api.service('default/next')!.status).toEqual(ingress('172.30.0.201'));
    expect(r.lb.snapshot().pool.used).toBe(1);
  });

  it('leaves Services of another loadBalancerClass, and other types, alone', async () => {
    const r = await startLb({
      services: [
        makeService('theirs', { spec: { loadBalancerClass: 'example.com/cloud' } }),
        makeService('mine', { spec: { loadBalancerClass: 'kubemu.io/lb' } }),
        makeService('np', { spec: { type: 'NodePort' } }),
      ],
      loadBalancerClass: 'kubemu.io/lb',
    });
    expect(r.api.service('default/theirs')!.status).toBeUndefined();
    expect(r.api.service('default/np')!.status).toBeUndefined();
    expect(r.api.service('default/mine')!.status).toEqual(ingress('172.30.0.200'));
    expect(r.api.statusWrites('default/theirs')).toEqual([]);
    expect(forwarding(r.dp).map((f) => f.split(':')[0])).toEqual(['172.30.0.200']);
    await settle(r);
    expect(r.api.events.filter((e) => e.name !== 'mine')).toEqual([]);
  });

  it('retries a status write that meets a newer version (409) with a fresh copy', async () => {
    const r = await startLb();
    // the Service is created, then changed before the LB's copy catches up
    r.api.apply('services', makeService('web'));
    r.api.apply('services', { ...makeService('web'), metadata: { ...makeService('web').metadata, labels: { tier: 'front' } } }, true);
    await settle(r);
    const verbs = r.api.requests.filter((q) => q.resource === 'services' && q.name === 'web').map((q) => q.verb);
    expect(verbs).toEqual(['updateStatus', 'get', 'updateStatus']);
    const svc = r.api.service('default/web')!;
    expect(svc.status).toEqual(ingress('172.30.0.200'));
    expect(svc.metadata.labels).toEqual({ tier: 'front' });
    expect(r.lb.lastSyncError).toBeUndefined();
  });
});

describe('LoadBalancer: the API away', () => {
  it('forwards a new Service and follows node health while its status cannot be written, and writes it later', async () => {
    const r = await startLb();
    for (let i = 0; i < 3; i++) r.api.failStatus.push(new ApiError(503, 'ServiceUnavailable', 'the control plane is restarting'));
    r.api.apply('services', makeService('web'));
    await settle(r);
    // forwarding first: the data plane serves the address although the status write failed
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-1@172.30.0.11:30080,node-2@172.30.0.12:30080,node-3@172.30.0.13:30080']);
    expect(r.lb.lastSyncError).toMatch(/writing the status of default\/web: the control plane is restarting/);
    await vi.waitFor(() => expect(r.api.service('default/web')!.status).toEqual(ingress('172.30.0.200')), { timeout: 5000 });
    await vi.waitFor(() => expect(r.lb.lastSyncError).toBeUndefined(), { timeout: 3000 });
  });
});

describe('LoadBalancer: nodes behind each frontend', () => {
  it("sends Cluster-policy traffic to nodes whose kube-proxy answers /healthz, following flips", async () => {
    const r = await startLb({ services: [makeService('web')], up: ['172.30.0.11:10256', '172.30.0.13:10256'] });
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-1@172.30.0.11:30080,node-3@172.30.0.13:30080']);
    expect(r.probe.seen.filter((t) => t.key === 'node-2 proxy')[0]).toEqual({ key: 'node-2 proxy', ip: '172.30.0.12', port: 10256, path: '/healthz' });
    // each check may take half the period, at most 1 s
    expect([...r.probe.timeouts]).toEqual([1000]);
    r.probe.up.add('172.30.0.12:10256');
    r.probe.up.delete('172.30.0.11:10256');
    await r.lb.health.checkAll();
    await settle(r);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-2@172.30.0.12:30080,node-3@172.30.0.13:30080']);
    r.probe.up.clear();
    await r.lb.health.checkAll();
    await settle(r);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → none']);
  });

  it("sends Local-policy traffic only to nodes whose healthCheckNodePort answers, keeping the client's address", async () => {
    const local = makeService('web', { spec: { externalTrafficPolicy: 'Local', healthCheckNodePort: 32001 } });
    const r = await startLb({ services: [local], up: ['172.30.0.11:10256', '172.30.0.12:10256', '172.30.0.13:10256', '172.30.0.12:32001'] });
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-2@172.30.0.12:30080']);
    expect(r.dp.current[0]!.local).toBe(true);
    expect(r.probe.seen.filter((t) => t.key === 'node-1 default/web')[0]).toEqual({ key: 'node-1 default/web', ip: '172.30.0.11', port: 32001, path: '/healthz' });
    // an endpoint starts on node-3; node-3's kube-proxy being down does not matter to Local
    r.probe.up.add('172.30.0.13:32001');
    r.probe.up.delete('172.30.0.13:10256');
    await r.lb.health.checkAll();
    await settle(r);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-2@172.30.0.12:30080,node-3@172.30.0.13:30080']);
    // back to Cluster: its per-Service checks go
    r.api.apply('services', { ...r.api.service('default/web')!, spec: { ...local.spec, externalTrafficPolicy: 'Cluster', healthCheckNodePort: undefined } });
    await settle(r);
    expect(r.lb.health.status().map((t) => t.key).sort()).toEqual(['node-1 proxy', 'node-2 proxy', 'node-3 proxy']);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-1@172.30.0.11:30080,node-2@172.30.0.12:30080']);
  });

  it('passes affinity and source ranges on to the data plane, and serves nothing for a bad source range', async () => {
    const r = await startLb({
      services: [
        makeService('sticky', { spec: { sessionAffinity: 'ClientIP', loadBalancerSourceRanges: ['10.0.0.0/8'] } }),
        makeService('bad', { created: '2025-05-01T00:00:00Z', spec: { loadBalancerSourceRanges: ['10.0.0.0/8', 'everyone'] } }),
      ],
    });
    expect(r.dp.current).toHaveLength(1);
    expect(r.dp.current[0]).toMatchObject({ service: 'default/sticky', affinitySeconds: 10800, sourceRanges: ['10.0.0.0/8'] });
    // the bad one keeps its address but gets no traffic, and an Event says why
    expect(r.api.service('default/bad')!.status).toEqual(ingress('172.30.0.201'));
    await vi.waitFor(() =>
      expect(r.api.eventsFor('SyncLoadBalancerFailed').map((e) => `${e.name}: ${e.message}`)).toEqual(['bad: Error syncing load balancer: loadBalancerSourceRanges: "everyone" is not a CIDR']),
    );
  });

  it('keeps nodes labelled exclude-from-external-load-balancers out, and skips a node without an InternalIP', async () => {
    const r = await startLb({
      services: [makeService('web')],
      nodes: [makeNode(1), makeNode(2, { labels: { [EXCLUDE_NODE_LABEL]: '' } }), makeNode(3, { addresses: [{ type: 'Hostname', address: 'node-3' }, { type: 'ExternalIP', address: '203.0.113.3' }] })],
    });
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-1@172.30.0.11:30080']);
    expect(new Set(r.probe.seen.map((t) => t.key))).toEqual(new Set(['node-1 proxy']));
    // the label comes off, node-3 gets its address
    r.api.apply('nodes', makeNode(2));
    r.api.apply('nodes', makeNode(3));
    await settle(r);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-1@172.30.0.11:30080,node-2@172.30.0.12:30080,node-3@172.30.0.13:30080']);
    // a node that goes away leaves at once
    r.api.remove('nodes', 'node-1');
    await settle(r);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-2@172.30.0.12:30080,node-3@172.30.0.13:30080']);
  });
});

describe('LoadBalancer: failures', () => {
  it('retries a data plane that refuses, reporting the error until it applies', async () => {
    const r = await startLb();
    r.dp.fail = 'nft rejected the load balancer\'s rules: Error: Could not process rule';
    r.api.apply('services', makeService('web'));
    await settle(r);
    expect(r.lb.lastSyncError).toBe("nft rejected the load balancer's rules: Error: Could not process rule");
    expect(r.lb.snapshot().lastSyncError).toBe(r.lb.lastSyncError);
    const before = r.dp.syncs.length;
    r.dp.fail = '';
    await vi.waitFor(() => expect(r.lb.lastSyncError).toBeUndefined(), { timeout: 3000 });
    expect(r.dp.syncs.length).toBeGreaterThan(before);
    expect(forwarding(r.dp)).toEqual(['172.30.0.200:80/TCP → node-1@172.30.0.11:30080,node-2@172.30.0.12:30080,node-3@172.30.0.13:30080']);
  });

  it('does nothing more once stopped, even when a check answers or a change arrives late', async () => {
    const r = await startLb({ services: [makeService('web')] });
    let release!: () => void;
    // the next checks hang until released, then find node-1 down
    r.probe.gate = new Promise<void>((res) => (release = res));
    r.probe.up.delete('172.30.0.11:10256');
    const slow = r.lb.health.checkAll();
    r.api.apply('services', makeService('late'));
    const syncs = r.dp.syncs.length;
    const requests = r.api.requests.length;
    await r.lb.stop();
    running.splice(running.indexOf(r.lb), 1);
    release();
    await slow;
    await new Promise((res) => setTimeout(res, 20));
    expect(r.dp.syncs.length).toBe(syncs);
    expect(r.api.requests.slice(requests)).toEqual([]);
  });

  it('refuses to start in the host network namespace', async () => {
    const lb = new LoadBalancer({
      server: '',
      token: '',
      log: pino({ level: 'silent' }),
      pool: POOL,
      healthzBind: '',
      deps: { client: new FakeApi().link, dataPlane: new FakeDataPlane(), addresses: { sync: async () => {} }, probe: async () => ({ ok: true }), inHostNetns: () => true },
    });
    await expect(lb.start()).rejects.toThrow(/refuses to run in the host's/);
  });

  it('rejects a bad pool when it is made', () => {
    expect(() => new LoadBalancer({ server: '', token: '', log: pino({ level: 'silent' }), pool: '172.30.0.9-172.30.0.1', healthzBind: '', deps: { client: new FakeApi().link, dataPlane: new FakeDataPlane() } })).toThrow(
      'pool "172.30.0.9-172.30.0.1": the range ends before it starts',
    );
  });
});
