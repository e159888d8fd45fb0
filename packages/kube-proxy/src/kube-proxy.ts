/**
 * kube-proxy: one per node. Watches Services, EndpointSlices and its own
 * Node over the agent WebSocket and keeps this node's network namespace
 * serving them, through one Proxier per data plane (proxier.ts):
 *
 *   watch services ─────┐                         ┌─ Proxier.setPort (nftables/ or userspace/)
 *   watch endpointslices┴▶ dirty services ─flush─▶┼─ kernel: kube-ipvs0 /32s (@kubemu/netns)
 *   watch own Node ─▶ health                      └─        filter-table drops (drop-rules)
 *                           (same tick)
 *
 * What is the same in every mode lives here: watches, which version of each
 * Service is applied (/applied), health (/healthz, healthCheckNodePorts),
 * kube-ipvs0 and the drop rules. A watch event reaches the proxier in the
 * same event-loop turn; kernel state follows within milliseconds. When the
 * api-server is away the last known state keeps forwarding; AgentClient
 * resumes or re-lists on reconnect, and the differences arrive as ordinary
 * events.
 */
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { AgentClient, AgentEventSink } from '@kubemu/agent-client';
import { KUBE_PROXY_HEALTH_TIMEOUT_MS, KUBE_PROXY_HEALTHZ_PORT, POD_BRIDGE, SERVICE_INTERFACE, cidrContains, cidrOf, tryParseIPv4, type Cidr, type EndpointSlice, type Node, type Service } from '@kubemu/api';
import { ProxyHealth, type HealthState } from './proxy-health.js';
import { portKernelFacts, servicePorts, skipReason, sliceServiceKey, type ServicePortState } from './service-state.js';
import { KubeIpvs0, inHostNetns, type IpTool } from '@kubemu/netns';
import type { NftRunner } from './nft.js';
import { DropRules, type DropRuleInput } from './drop-rules.js';
import { ProxyHealthServer, ServiceHealthServer } from './health-server.js';
import type { Proxier, ProxierContext, ProxyMode } from './proxier.js';
import { NftablesProxier } from './nftables/nftables-proxier.js';
import { UserspaceProxier } from './userspace/userspace-proxier.js';
import { ConnFanout } from './conn-events.js';
import { ConntrackWatch } from './nftables/conntrack-watch.js';
import { DropWatch } from './drop-watch.js';
import type { PortLookup } from './nftables/conntrack-events.js';
import { portLookup } from './port-lookup.js';

export interface KubeProxyOptions {
  nodeName: string;
  server: string;
  token: string;
  ca?: string;
  log: Logger;
  /** `host:port` for /healthz (default 0.0.0.0:10256); empty string = none. */
  healthzBind?: string;
  /** /healthz turns 503 when an update waits this long to be applied (default KUBE_PROXY_HEALTH_TIMEOUT_MS). */
  healthTimeoutMs?: number;
  udpIdleMs?: number;
  /**
   * `nftables` (default): the kernel forwards (DNAT rules in the node
   * namespace, client IPs kept for Local policies); `userspace`: this process
   * accepts and relays every connection, like Kubernetes' old userspace proxy
   * (dial retries on other endpoints, per-connection accounting).
   */
  mode?: ProxyMode;
  /** What it runs on; the defaults are the real ones (tests inject fakes, so KubeProxy runs without root). */
  deps?: Partial<KubeProxyDeps>;
}

/** The agent-client calls kube-proxy makes. */
export type ApiLink = Pick<AgentClient, 'on' | 'start' | 'watch' | 'waitConnected' | 'close' | 'request'>;

export interface KubeProxyDeps {
  /** The api-server connection (default: an AgentClient to `server` with `token`). */
  client: ApiLink;
  /** How nft scripts run (default: libnftables in process, else the nft binary). */
  nft: () => Promise<NftRunner>;
  /** How iproute2 runs, for kube-ipvs0. */
  ip: IpTool;
  /** This node's interfaces (default os.networkInterfaces). */
  interfaces: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** True in the machine's own network namespace, where kube-proxy refuses to run. */
  inHostNetns: () => boolean;
  now: () => number;
  /** Starts `conntrack -E` for the connection stream (tests pass a fake). */
  conntrackSpawn: (args: string[]) => ChildProcess;
  /** Lists the set of connections a Local policy dropped, as `nft -j` (tests pass a fake). */
  droppedList: () => Promise<string>;
}

/** The data plane for `mode`: the one place a new mode is wired in. */
export function createProxier(mode: ProxyMode, ctx: ProxierContext, opts: { log: Logger; udpIdleMs?: number; runner?: () => Promise<NftRunner> }): Proxier {
  switch (mode) {
    case 'nftables':
      return new NftablesProxier(ctx, opts);
    case 'userspace':
      return new UserspaceProxier(ctx, opts);
  }
}

interface Applied {
  rv: number;
  at: number;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

const rvOf = (o: { metadata: { resourceVersion?: string } }) => Number(o.metadata.resourceVersion ?? 0) || 0;

export class KubeProxy {
  readonly opts: KubeProxyOptions;
  readonly client: ApiLink;
  readonly #deps: Partial<KubeProxyDeps>;
  readonly proxier: Proxier;
  readonly #log: Logger;
  readonly #services = new Map<string, Service>();
  readonly #slices = new Map<string, Map<string, EndpointSlice>>();
  /** The state of every service port handed to the proxier (kube-ipvs0 and drops are computed from it). */
  readonly #ports = new Map<string, ServicePortState>();
  readonly #portsBySvc = new Map<string, Set<string>>();
  readonly #serviceHealth = new Map<string, ServiceHealthServer>();
  readonly #dirty = new Set<string>();
  #flushScheduled = false;
  readonly #applied = new Map<string, Applied>();
  readonly #waiters = new Map<string, { rv: number; resolve: (a: Applied) => void }[]>();
  readonly #events: AgentEventSink;
  readonly #ips: KubeIpvs0;
  readonly #drops: DropRules;
  readonly #now: () => number;
  readonly mode: ProxyMode;
  /** The API server's address (never served from a LoadBalancer status: see #refuseServiceIP). */
  readonly #apiHost: string;
  #kernelRunning?: Promise<void>;
  #kernelAgain = false;
  #kernelWant?: { ips: Set<string>; drop: DropRuleInput };
  /** Some port's kernel facts (service IPs, Local-policy drops) changed since #kernelWant was computed. */
  #factsDirty = true;
  /** The last kernel sync failed; the retry timer tries again. */
  #kernelFailed = false;
  #healthz?: ProxyHealthServer;
  readonly #health: ProxyHealth;
  #stops: (() => void)[] = [];
  #retryTimer?: NodeJS.Timeout;
  readonly #localAddrs = new Set<string>();
  /** The live connection stream (/connections?watch=1): the relays (userspace) and a `conntrack -E` child while watched. */
  readonly connEvents: ConnFanout;
  readonly #ctWatch: ConntrackWatch;
  readonly #dropWatch: DropWatch;
  /** The Service ports for the stream, built when asked after a change. */
  #lookup?: PortLookup;
  /** The pod bridge's subnets (this node's pods). */
  #podNets: Cidr[] = [];
  /** Every subnet this node is on (an external IP there is a neighbour's, not ours to bind). */
  #connectedNets: Cidr[] = [];

  constructor(opts: KubeProxyOptions) {
    this.opts = opts;
    this.#log = opts.log;
    const deps = (this.#deps = opts.deps ?? {});
    this.#now = deps.now ?? Date.now;
    this.client = deps.client ?? new AgentClient({ server: opts.server, token: opts.token, ca: opts.ca, agentName: `kube-proxy/${opts.nodeName}` });
    this.#events = new AgentEventSink(this.client, { component: 'kube-proxy', node: opts.nodeName, defaultKind: 'Service' });
    this.#ips = new KubeIpvs0({ netns: null, refuse: (ip) => this.#refuseServiceIP(ip), tool: deps.ip });
    this.#drops = new DropRules(deps.nft);
    this.mode = opts.mode ?? 'nftables';
    this.#apiHost = hostOf(opts.server);
    this.#health = new ProxyHealth({ timeoutMs: opts.healthTimeoutMs ?? KUBE_PROXY_HEALTH_TIMEOUT_MS, now: this.#now });
    this.#ctWatch = new ConntrackWatch({
      node: opts.nodeName,
      log: opts.log.child({ component: 'conn-events' }),
      // nftables: the kernel forwards, conntrack tells every open and close; userspace: the relays do, conntrack only the refusals
      lifecycle: this.mode === 'nftables',
      lookup: () => (this.#lookup ??= portLookup(this.#ports.values(), (ip) => this.#localAddrs.has(ip))),
      emit: (item) => this.connEvents.emit(item),
      fail: (message) => this.connEvents.fail(message),
      spawn: deps.conntrackSpawn,
    });
    // Drops by a Local policy leave no conntrack entry: the drop rules note them in a set this reads (both modes).
    this.#dropWatch = new DropWatch({
      node: opts.nodeName,
      lookup: () => (this.#lookup ??= portLookup(this.#ports.values(), (ip) => this.#localAddrs.has(ip))),
      emit: (item) => this.connEvents.emit(item),
      list: deps.droppedList,
      active: () => this.#drops.dropping,
    });
    this.connEvents = new ConnFanout({
      first: () => {
        this.#ctWatch.start();
        this.#dropWatch.start();
      },
      last: () => {
        this.#ctWatch.stop();
        this.#dropWatch.stop();
      },
    });
    this.proxier = createProxier(this.mode, {
      node: opts.nodeName,
      connEvents: this.connEvents,
      podBridge: POD_BRIDGE,
      nodeAddresses: () => [...this.#localAddrs],
      isInternalClient: (ip) => this.#isInternalClient(ip),
      servesExternalIP: (ip) => this.#servesExternalIP(ip),
      onPortError: (s, what, err) => this.#portFailed(s, what, err),
    }, { log: opts.log, udpIdleMs: opts.udpIdleMs, runner: deps.nft });
  }

  async start(): Promise<void> {
    if ((this.#deps.inHostNetns ?? inHostNetns)()) throw new Error("kube-proxy programs a node's network namespace; it refuses to run in the host's (start it with `nsenter --net=/run/netns/<node>` or via `kubemu up`)");
    for (const [name, addrs] of Object.entries((this.#deps.interfaces ?? os.networkInterfaces)())) {
      for (const a of addrs ?? []) {
        if (a.family !== 'IPv4' || name === SERVICE_INTERFACE) continue;
        this.#localAddrs.add(a.address);
        const net = cidrOf(a.cidr ?? `${a.address}/32`);
        if (name === POD_BRIDGE) this.#podNets.push(net);
        if (!a.internal && a.netmask !== '255.255.255.255') this.#connectedNets.push(net);
      }
    }
    // Listeners may bind a service IP before `ip addr` has put it on kube-ipvs0 (this namespace only).
    try {
      writeFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', '1');
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot set ip_nonlocal_bind; new cluster IPs wait for their address');
    }
    await this.#ips.sync(new Set()).catch((err) => this.#log.warn({ err: err.message }, 'kube-ipvs0 not ready'));
    await this.proxier.start();
    const bind = this.opts.healthzBind ?? `0.0.0.0:${KUBE_PROXY_HEALTHZ_PORT}`;
    if (bind) {
      const i = bind.lastIndexOf(':');
      this.#healthz = new ProxyHealthServer({
        health: () => this.#health.state(),
        mode: this.mode,
        connections: (limit) => this.#connections(limit),
        affinity: () => this.proxier.affinity(),
        watch: (sink) => this.connEvents.subscribe(sink),
        applied: (svc) => (svc ? { service: svc, ...(this.#applied.get(svc) ?? { rv: 0, at: 0 }) } : Object.fromEntries(this.#applied)),
        waitApplied: (svc, rv, timeoutMs) => this.waitApplied(svc, rv, timeoutMs),
      });
      await this.#healthz.listen(bind.slice(0, i), Number(bind.slice(i + 1))).catch((err) => this.#log.warn({ err: err.message, bind }, 'healthz not served'));
    }
    this.client.on('socket-error', (err: Error) => this.#log.debug({ err: err.message }, 'api-server connection problem; retrying'));
    this.#log.info({ mode: this.mode }, 'kube-proxy starting');
    this.client.on('connected', () => this.#log.info('connected to the api-server'));
    this.client.on('disconnected', () => this.#log.warn('api-server unreachable; forwarding with the last known state'));
    this.client.on('handler-error', (err: Error) => this.#log.error({ err }, 'handling a watch event failed'));
    this.client.start();
    this.#stops.push(this.client.watch('services', {}, (ev) => this.#onService(ev.type, ev.object as Service)));
    this.#stops.push(this.client.watch('discovery.k8s.io/endpointslices', {}, (ev) => this.#onSlice(ev.type, ev.object as EndpointSlice)));
    // Our own Node: /healthz says whether the node is eligible for load-balancer traffic.
    this.#stops.push(this.client.watch('nodes', { fieldSelector: `metadata.name=${this.opts.nodeName}` }, (ev) => this.#health.syncNode(ev.type === 'DELETED' ? undefined : (ev.object as Node))));
    this.#retryTimer = setInterval(() => void this.#retryFailed(), 5000);
    this.#retryTimer.unref();
    await this.client.waitConnected(60_000);
  }

  /** What the data plane says it carries (userspace: its connection log; nftables: the flows conntrack holds). */
  async #connections(limit: number): Promise<unknown> {
    const { total, items } = await this.proxier.connections(Number.isFinite(limit) ? limit : 1000);
    return { node: this.opts.nodeName, mode: this.mode, total, items };
  }

  // ---- watch events -> dirty services ----------------------------------------

  #onService(type: string, svc: Service): void {
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    if (type === 'DELETED') this.#services.delete(key);
    else this.#services.set(key, svc);
    this.#markDirty(key);
  }

  #onSlice(type: string, slice: EndpointSlice): void {
    const key = sliceServiceKey(slice);
    if (!key) return;
    let m = this.#slices.get(key);
    if (type === 'DELETED') {
      m?.delete(slice.metadata.name ?? '');
      if (m && !m.size) this.#slices.delete(key);
    } else {
      if (!m) this.#slices.set(key, (m = new Map()));
      m.set(slice.metadata.name ?? '', slice);
    }
    this.#markDirty(key);
  }

  #markDirty(key: string): void {
    this.#health.queued();
    this.#dirty.add(key);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  // ---- reconcile -------------------------------------------------------------

  #flush(): void {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    const work: Promise<void>[] = [];
    for (const key of keys) work.push(...this.#syncService(key));
    // Changes that touch neither kube-ipvs0, the drops nor the proxier's kernel state (userspace endpoint changes) never wait for ip/nft.
    const kernel = this.#factsDirty || this.proxier.pending ? this.#scheduleKernel() : Promise.resolve();
    const done = Promise.all([...work, kernel]);
    const at = (svcKey: string) => {
      const svc = this.#services.get(svcKey);
      let rv = svc ? rvOf(svc) : 0;
      for (const s of this.#slices.get(svcKey)?.values() ?? []) rv = Math.max(rv, rvOf(s));
      return rv;
    };
    const rvs = keys.map((k) => [k, at(k)] as const);
    void done.then(() => {
      const now = this.#now();
      if (!this.#kernelFailed) this.#health.updated();
      for (const [k, rv] of rvs) this.#markApplied(k, rv, now);
    });
  }

  /** Applies one Service; returns the listener work it started. */
  #syncService(svcKey: string): Promise<void>[] {
    const svc = this.#services.get(svcKey);
    const states = svc ? servicePorts(svc, this.#slices.get(svcKey)?.values() ?? []) : [];
    if (svc && skipReason(svc)) this.#log.debug({ service: svcKey, reason: skipReason(svc) }, 'not proxied');
    const old = this.#portsBySvc.get(svcKey) ?? new Set<string>();
    const now = new Set(states.map((s) => s.key));
    const work: Promise<void>[] = [];
    this.#lookup = undefined;
    for (const k of old) {
      if (now.has(k)) continue;
      this.#ports.delete(k);
      work.push(this.proxier.setPort(k, undefined));
      this.#factsDirty = true;
    }
    if (now.size) this.#portsBySvc.set(svcKey, now);
    else this.#portsBySvc.delete(svcKey);
    for (const st of states) {
      const prev = this.#ports.get(st.key);
      if (!this.#factsDirty && (!prev || kernelKey(prev, this.opts.nodeName) !== kernelKey(st, this.opts.nodeName))) this.#factsDirty = true;
      this.#ports.set(st.key, st);
      work.push(this.proxier.setPort(st.key, st));
    }
    work.push(this.#syncHealth(svcKey, svc, states));
    return work;
  }

  async #syncHealth(svcKey: string, svc: Service | undefined, states: ServicePortState[]): Promise<void> {
    const hc = states[0]?.healthCheckNodePort;
    let h = this.#serviceHealth.get(svcKey);
    if (h && h.port !== hc) {
      h.close();
      this.#serviceHealth.delete(svcKey);
      h = undefined;
    }
    if (!hc || !svc) return;
    const local = new Set(states.flatMap((s) => s.endpoints.filter((e) => e.ready && e.nodeName === this.opts.nodeName).map((e) => e.ip)));
    if (!h) {
      h = new ServiceHealthServer(hc, svc.metadata.namespace ?? 'default', svc.metadata.name ?? '', () => this.#health.state().healthy);
      this.#serviceHealth.set(svcKey, h);
      h.localEndpoints = local.size;
      try {
        await h.listen();
      } catch (err) {
        this.#serviceHealth.delete(svcKey);
        this.#portFailed(states[0], `healthCheckNodePort listener 0.0.0.0:${hc}/TCP`, err as Error);
      }
    }
    h.localEndpoints = local.size;
  }

  /** This node's own addresses and its pods (the pod bridge's subnets). */
  #isInternalClient(ip: string): boolean {
    if (this.#localAddrs.has(ip) || ip.startsWith('127.')) return true;
    const n = tryParseIPv4(ip);
    return n !== undefined && this.#podNets.some((net) => cidrContains(net, n));
  }

  #servesExternalIP(ip: string): boolean {
    // Our own address: serve it. Anything else is bound on kube-ipvs0 (see #kernelInput).
    return this.#localAddrs.has(ip) || this.#refuseServiceIP(ip) === undefined;
  }

  #isLoadBalancerIP(ip: string): boolean {
    for (const s of this.#ports.values()) if (s.loadBalancerIPs.includes(ip)) return true;
    return false;
  }

  /** kube-ipvs0's guard: a service address must not shadow this node's own address or a neighbour's. */
  #refuseServiceIP(ip: string): string | undefined {
    if (this.#localAddrs.has(ip)) return "it is this node's own address";
    // The load balancer's address is a neighbour's by design: serving it here is the short-circuit.
    // Not the API server's, though (a status anyone can write must not cut this node off the API).
    if (this.mode === 'userspace' && this.#isLoadBalancerIP(ip) && ip !== this.#apiHost) return undefined;
    const n = tryParseIPv4(ip);
    if (n === undefined) return 'not an IPv4 address';
    if (this.#connectedNets.some((net) => cidrContains(net, n))) return "it is on a subnet this node is connected to (a neighbour's address)";
    return undefined;
  }

  #portFailed(s: ServicePortState, what: string, err: Error): void {
    const msg = `failed to open ${what} for service ${s.namespace}/${s.name}${s.portName ? `:${s.portName}` : ''} on node ${this.opts.nodeName}: ${err.message}`;
    this.#log.warn({ service: s.key, what, err: err.message }, 'cannot program service');
    const svc = this.#services.get(`${s.namespace}/${s.name}`);
    if (svc) this.#events.emit(svc, 'Warning', 'FailedToStartServiceListener', msg);
  }

  async #retryFailed(): Promise<void> {
    if (this.#kernelFailed) {
      this.#kernelFailed = false;
      await this.#scheduleKernel();
      if (!this.#kernelFailed && !this.#dirty.size) this.#health.updated();
    }
    await this.proxier.retry();
  }

  // ---- kernel: addresses and nftables ------------------------------------------

  #kernelInput(): { ips: Set<string>; drop: DropRuleInput } {
    const ips = new Set<string>();
    const drop: DropRuleInput = { serviceIPs: [], servicePorts: [], dropAddrPorts: [], dropExternalPorts: [], dropNodePorts: [], podBridge: POD_BRIDGE };
    for (const s of this.#ports.values()) {
      if (s.clusterIP) ips.add(s.clusterIP);
      for (const ip of s.externalIPs) if (this.#refuseServiceIP(ip) === undefined) ips.add(ip);
      // The userspace proxy listens on load balancer addresses, so they are bound (nodes do not answer
      // ARP for them: arp_ignore, see @kubemu/netns); nftables DNATs them without binding.
      if (this.mode === 'userspace') for (const ip of s.loadBalancerIPs) if (!this.#localAddrs.has(ip)) ips.add(ip);
      const f = portKernelFacts(s, this.opts.nodeName);
      drop.servicePorts.push(...f.ports.filter((x) => ips.has(x.ip)));
      drop.dropAddrPorts.push(...f.dropAddr);
      drop.dropExternalPorts.push(...f.dropExt);
      drop.dropNodePorts.push(...f.dropNode);
    }
    drop.serviceIPs = [...ips];
    return { ips, drop };
  }

  /**
   * Coalesced, serialized kernel sync: kube-ipvs0 and the filter table from
   * the ports' kernel facts (recomputed only when those changed; both skip
   * when nothing differs), then the nftables proxier's pending ports.
   */
  #scheduleKernel(): Promise<void> {
    if (this.#factsDirty) {
      this.#factsDirty = false;
      this.#kernelWant = this.#kernelInput();
      this.proxier.setServiceAddrs(this.#kernelWant.ips);
    }
    if (this.#kernelRunning) {
      this.#kernelAgain = true;
      return this.#kernelRunning;
    }
    const loop = async () => {
      do {
        this.#kernelAgain = false;
        const w = this.#kernelWant;
        try {
          if (w) {
            await this.#ips.sync(w.ips);
            await this.#drops.sync(w.drop);
          }
          await this.proxier.sync();
          this.#kernelFailed = false;
        } catch (err) {
          this.#kernelFailed = true;
          this.#health.failed((err as Error).message);
          this.#log.error({ err: (err as Error).message }, 'programming kube-ipvs0/nftables failed; retrying within 5 s');
        }
      } while (this.#kernelAgain);
      this.#kernelRunning = undefined;
    };
    this.#kernelRunning = loop();
    return this.#kernelRunning;
  }

  // ---- applied versions ------------------------------------------------------------

  #markApplied(svcKey: string, rv: number, at: number): void {
    const prev = this.#applied.get(svcKey);
    if (!prev || rv >= prev.rv) this.#applied.set(svcKey, { rv, at });
    const ws = this.#waiters.get(svcKey);
    if (!ws) return;
    const left = ws.filter((w) => {
      if (rv >= w.rv) {
        w.resolve({ rv, at });
        return false;
      }
      return true;
    });
    if (left.length) this.#waiters.set(svcKey, left);
    else this.#waiters.delete(svcKey);
  }

  /** What /healthz reports now. */
  healthState(): HealthState {
    return this.#health.state();
  }

  /** Resolves with {rv, at} once `svcKey` has applied resourceVersion ≥ rv (or {timeout} after `timeoutMs`). */
  waitApplied(svcKey: string, rv: number, timeoutMs: number): Promise<unknown> {
    const a = this.#applied.get(svcKey);
    if (a && a.rv >= rv) return Promise.resolve({ service: svcKey, ...a, node: this.opts.nodeName });
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const list = this.#waiters.get(svcKey);
        if (list) this.#waiters.set(svcKey, list.filter((w) => w !== entry));
        resolve({ service: svcKey, timeout: true, node: this.opts.nodeName });
      }, timeoutMs);
      const entry = {
        rv,
        resolve: (x: Applied) => {
          clearTimeout(t);
          resolve({ service: svcKey, ...x, node: this.opts.nodeName });
        },
      };
      const list = this.#waiters.get(svcKey) ?? [];
      list.push(entry);
      this.#waiters.set(svcKey, list);
    });
  }

  async stop(cleanKernel = false): Promise<void> {
    for (const s of this.#stops) s();
    this.#stops = [];
    if (this.#retryTimer) clearInterval(this.#retryTimer);
    this.#ports.clear();
    for (const h of this.#serviceHealth.values()) h.close();
    this.#serviceHealth.clear();
    this.#healthz?.close();
    this.#ctWatch.stop();
    this.client.close();
    await this.#kernelRunning;
    await this.proxier.stop(cleanKernel);
    if (cleanKernel) {
      await this.#drops.teardown();
      await this.#ips.teardown();
    }
  }
}

/** Changes exactly when a port's kernel facts on `node` change (so unchanged ports skip the kernel sync). */
function kernelKey(s: ServicePortState, node: string): string {
  const f = portKernelFacts(s, node);
  return JSON.stringify([f.ports, f.dropAddr, f.dropExt, f.dropNode]);
}
