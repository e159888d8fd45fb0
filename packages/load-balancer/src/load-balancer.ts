/**
 * The load balancer: one process, in its own network namespace on the
 * cluster network, outside every node (a cloud LB, MetalLB, or
 * cloud-provider-kind). It
 *   - gives each LoadBalancer Service an address from its pool and writes
 *     `status.loadBalancer.ingress` (allocator.ts decides; this writes),
 *   - answers on that address (a /32 on its interface, external-addresses.ts),
 *   - health-checks every node through kube-proxy (node-health.ts):
 *     :10256/healthz for Cluster policy, the Service's healthCheckNodePort
 *     for Local, and
 *   - forwards each new connection to a healthy node's node port, through one
 *     data plane: nftables (the kernel DNATs) or userspace (this process relays).
 *
 *   watch services ─┐                      ┌─▶ status / Events (api-server)
 *   watch nodes ────┼▶ reconcile (coalesced)┼─▶ addresses on eth0
 *   health flips ───┘                      └─▶ data plane: frontends → healthy node ports
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { AgentClient, AgentEventSink } from '@kubemu/agent-client';
import { ApiError, KUBE_PROXY_HEALTHZ_PORT, type Node, type Service } from '@kubemu/api';
import { inHostNetns } from '@kubemu/netns';
import { ConnFanout, ConntrackWatch, type PortLookup, type PortMatch } from '@kubemu/kube-proxy';
import { IpPool } from './ip-pool.js';
import { EXCLUDE_NODE_LABEL, isOurs, lbService, type LbService } from './lb-service.js';
import { NodeHealth, type HealthTarget, type Probe } from './node-health.js';
import type { Backend, Frontend, LbDataPlane, LbMode } from './frontend.js';
import { ExternalAddresses } from './external-addresses.js';
import { NftablesLb } from './nftables/nftables-lb.js';
import { UserspaceLb } from './userspace/userspace-lb.js';
import { LbHealthServer } from './health-server.js';

export const LB_HEALTHZ_PORT = 10257;
export const DEFAULT_CHECK_PERIOD_MS = 2000;

export type LbApiLink = Pick<AgentClient, 'start' | 'watch' | 'waitConnected' | 'close' | 'request'>;

export interface LoadBalancerOptions {
  server: string;
  token: string;
  ca?: string;
  log: Logger;
  /** Address range(s) handed out, e.g. "172.30.0.200-172.30.0.250". */
  pool: string;
  mode?: LbMode;
  /** Health-check period (default 2 s) and per-check timeout (default half the period, at most 1 s). */
  checkPeriodMs?: number;
  checkTimeoutMs?: number;
  /** `host:port` for /healthz and /connections (default 0.0.0.0:10257); '' = none. */
  healthzBind?: string;
  /** Interface the external addresses go on (default eth0). */
  device?: string;
  /** Also serve Services with this spec.loadBalancerClass (default: only those without one). */
  loadBalancerClass?: string;
  deps?: Partial<LoadBalancerDeps>;
}

export interface LoadBalancerDeps {
  client: LbApiLink;
  dataPlane: LbDataPlane;
  addresses: Pick<ExternalAddresses, 'sync'>;
  probe: Probe;
  inHostNetns: () => boolean;
  /** Starts `conntrack -E` for the connection stream (tests pass a fake). */
  conntrackSpawn: (args: string[]) => ChildProcess;
}

interface Assignment {
  ip?: string;
  /** Why there is no address (shown once as an Event, logged once). */
  pending?: string;
}

const svcKey = (s: Service) => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;

export class LoadBalancer {
  readonly opts: LoadBalancerOptions;
  readonly pool: IpPool;
  readonly client: LbApiLink;
  readonly dataPlane: LbDataPlane;
  readonly health: NodeHealth;
  readonly #log: Logger;
  readonly #deps: Partial<LoadBalancerDeps>;
  readonly #events: AgentEventSink;
  readonly #addresses: Pick<ExternalAddresses, 'sync'>;
  readonly #services = new Map<string, Service>();
  readonly #nodes = new Map<string, Node>();
  readonly #assigned = new Map<string, Assignment>();
  /** Per Service: the last problem reported, so each is said once. */
  readonly #reported = new Map<string, string>();
  /** Frontend problems already reported (`key message`). */
  readonly #frontendProblems = new Set<string>();
  #frontends: Frontend[] = [];
  #stops: Array<() => void> = [];
  #scheduled = false;
  #running?: Promise<void>;
  #again = false;
  #retry?: NodeJS.Timeout;
  #healthServer?: LbHealthServer;
  /** The live connection stream (/connections?watch=1): the relays (userspace) and a `conntrack -E` child while watched. */
  readonly connEvents: ConnFanout;
  readonly #ctWatch: ConntrackWatch;
  #lookup?: PortLookup;
  #synced = { services: false, nodes: false };
  #stopped = false;
  lastSyncError?: string;

  constructor(opts: LoadBalancerOptions) {
    this.opts = opts;
    this.#log = opts.log;
    const deps = (this.#deps = opts.deps ?? {});
    this.pool = new IpPool(opts.pool);
    this.client = deps.client ?? new AgentClient({ server: opts.server, token: opts.token, ca: opts.ca, agentName: 'load-balancer' });
    this.#events = new AgentEventSink(this.client, { component: 'load-balancer', node: 'load-balancer', defaultKind: 'Service' });
    const mode = deps.dataPlane?.mode ?? opts.mode ?? 'nftables';
    this.#ctWatch = new ConntrackWatch({
      node: 'load-balancer',
      log: opts.log.child({ component: 'conn-events' }),
      // nftables: the kernel forwards, conntrack tells every open and close; userspace: the relays do, conntrack only the refusals
      lifecycle: mode === 'nftables',
      lookup: () => (this.#lookup ??= frontendLookup(this.#frontends)),
      emit: (item) => this.connEvents.emit(item),
      fail: (message) => this.connEvents.fail(message),
      spawn: deps.conntrackSpawn,
    });
    this.connEvents = new ConnFanout({ first: () => this.#ctWatch.start(), last: () => this.#ctWatch.stop() });
    const onFrontendError = (f: Frontend, message: string) => this.#frontendFailed(f, message);
    this.dataPlane = deps.dataPlane ?? (mode === 'userspace' ? new UserspaceLb({ log: opts.log, onFrontendError, events: this.connEvents }) : new NftablesLb({ log: opts.log }));
    this.#addresses = deps.addresses ?? new ExternalAddresses({ dev: opts.device ?? 'eth0', inPool: (ip) => this.pool.contains(ip) });
    const period = opts.checkPeriodMs ?? DEFAULT_CHECK_PERIOD_MS;
    this.health = new NodeHealth({ periodMs: period, timeoutMs: opts.checkTimeoutMs ?? Math.min(1000, Math.floor(period / 2)), probe: deps.probe });
    this.health.onChange(() => this.#schedule());
  }

  get mode(): LbMode {
    return this.dataPlane.mode;
  }

  async start(): Promise<void> {
    if ((this.#deps.inHostNetns ?? inHostNetns)()) {
      throw new Error("the load balancer programs its own network namespace; it refuses to run in the host's (start it with `nsenter --net=/run/netns/<lb>` or via `kubemu up`)");
    }
    if (this.opts.healthzBind !== '') {
      this.#healthServer = new LbHealthServer(this, this.#log);
      await this.#healthServer.listen(this.opts.healthzBind ?? `0.0.0.0:${LB_HEALTHZ_PORT}`);
    }
    this.client.start();
    // Services arrive first as ADDED events; adoption of addresses already in status happens in
    // the first reconcile, which waits for both initial lists (see #onInitial).
    this.#stops.push(
      this.client.watch('services', {}, (ev) => {
        const s = ev.object as Service;
        if (ev.type === 'DELETED') this.#services.delete(svcKey(s));
        else this.#services.set(svcKey(s), s);
        this.#schedule();
      }),
      this.client.watch('nodes', {}, (ev) => {
        const n = ev.object as Node;
        if (ev.type === 'DELETED') this.#nodes.delete(n.metadata.name ?? '');
        else this.#nodes.set(n.metadata.name ?? '', n);
        this.#schedule();
      }),
    );
    await this.client.waitConnected();
    // The initial lists: one request each, so the first reconcile sees every Service (and adopts
    // every address already assigned) before it hands out a new one.
    const [svcs, nodes] = await Promise.all([this.client.request({ verb: 'list', resource: 'services' }), this.client.request({ verb: 'list', resource: 'nodes' })]);
    for (const s of (svcs.items ?? []) as Service[]) if (!this.#services.has(svcKey(s))) this.#services.set(svcKey(s), s);
    for (const n of (nodes.items ?? []) as Node[]) if (!this.#nodes.has(n.metadata.name ?? '')) this.#nodes.set(n.metadata.name ?? '', n);
    this.#synced = { services: true, nodes: true };
    this.health.start();
    this.#schedule();
    this.#log.info({ pool: this.pool.spec, size: this.pool.size, mode: this.mode }, 'load balancer started');
  }

  async stop(clean = true): Promise<void> {
    this.#stopped = true; // a late health answer or queued change must not program the data plane again
    for (const s of this.#stops.splice(0)) s();
    this.health.stop();
    if (this.#retry) clearTimeout(this.#retry);
    await this.#running;
    this.client.close();
    await this.#healthServer?.close();
    this.#ctWatch.stop();
    if (clean) await this.dataPlane.stop().catch(() => {});
  }

  /** Waits for the reconcile in progress (and any it scheduled). */
  async settled(): Promise<void> {
    while (this.#scheduled || this.#running) await (this.#running ?? new Promise((r) => setImmediate(r)));
  }

  /** What /healthz reports. */
  snapshot() {
    const assignments: Record<string, Assignment> = {};
    for (const [k, a] of this.#assigned) assignments[k] = a;
    return {
      mode: this.mode,
      pool: { spec: this.pool.spec, size: this.pool.size, used: this.pool.used },
      assignments,
      frontends: this.#frontends,
      nodes: this.health.status(),
      lastSyncError: this.lastSyncError,
    };
  }

  /** Node name for a node address (for /connections). */
  nodeByIP(ip: string): string | undefined {
    for (const n of this.#nodes.values()) if (internalIP(n) === ip) return n.metadata.name ?? '';
    return undefined;
  }

  #schedule(): void {
    if (!this.#synced.services || !this.#synced.nodes) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#stopped) return;
      this.#running = this.#reconcile()
        .catch((e) => {
          this.lastSyncError = (e as Error).message;
          this.#log.warn({ err: (e as Error).message }, 'load balancer sync failed; retrying in 1 s');
          this.#retry ??= setTimeout(() => {
            this.#retry = undefined;
            this.#schedule();
          }, 1000);
        })
        .finally(() => {
          this.#running = undefined;
          if (this.#again) {
            this.#again = false;
            this.#schedule();
          }
        });
    });
  }

  /**
   * One pass: addresses (in memory) → health targets → the data plane →
   * then the API (status, Events). Forwarding never waits on the API: when
   * the control plane is away, nodes still leave and rejoin on their checks;
   * a status write that fails is retried a second later on its own.
   */
  async #reconcile(): Promise<void> {
    const ours = [...this.#services.values()].filter((s) => isOurs(s, this.opts.loadBalancerClass)).map((s) => ({ s, lb: lbService(s) }));
    const oursKeys = new Set(ours.map((o) => o.lb.key));
    // A Service that left type LoadBalancer while this process was away still shows an address of
    // ours: hold it as if assigned, so it is cleared below before anyone else is given it.
    for (const s of this.#services.values()) {
      if (s.spec?.type === 'LoadBalancer') continue;
      for (const i of s.status?.loadBalancer?.ingress ?? []) {
        if (!i.ip || !this.pool.contains(i.ip) || this.pool.ownerOf(i.ip) !== undefined) continue;
        this.pool.allocate(svcKey(s), i.ip);
        this.#assigned.set(svcKey(s), { ip: i.ip });
      }
    }
    // Services no longer ours (deleted, another type or class): their addresses stay held until
    // their status is cleared, so no other Service is given an address one still shows.
    const leaving = [...this.#assigned.keys()].filter((k) => !oursKeys.has(k));

    // 1. Addresses: those already in status first (stable across restarts), oldest Service first.
    ours.sort((a, b) => Number(b.lb.statusIPs.length > 0) - Number(a.lb.statusIPs.length > 0) || created(a.s) - created(b.s) || a.lb.key.localeCompare(b.lb.key));
    for (const { s, lb } of ours) this.#assign(s, lb);

    // 2. Health targets: kube-proxy on every node; Local Services' health check node ports.
    const nodes = [...this.#nodes.values()]
      .filter((n) => n.metadata.labels?.[EXCLUDE_NODE_LABEL] === undefined)
      .map((n) => ({ name: n.metadata.name ?? '', ip: internalIP(n) }))
      .filter((n): n is { name: string; ip: string } => !!n.ip)
      .sort((a, b) => a.name.localeCompare(b.name));
    const targets: HealthTarget[] = [];
    for (const n of nodes) targets.push({ key: `${n.name} proxy`, ip: n.ip, port: KUBE_PROXY_HEALTHZ_PORT, path: '/healthz' });
    for (const { lb } of ours) {
      if (!lb.local || !lb.healthCheckNodePort || !this.#assigned.get(lb.key)?.ip) continue;
      for (const n of nodes) targets.push({ key: `${n.name} ${lb.key}`, ip: n.ip, port: lb.healthCheckNodePort, path: '/healthz' });
    }
    this.health.setTargets(targets);

    // 3. Frontends and the nodes each may use now.
    const frontends: Frontend[] = [];
    const held = new Set<string>();
    for (const { lb } of ours) {
      const ip = this.#assigned.get(lb.key)?.ip;
      if (!ip) continue;
      held.add(ip);
      if (lb.problem?.startsWith('loadBalancerSourceRanges')) continue;
      const healthy = nodes.filter((n) => this.health.healthy(lb.local ? `${n.name} ${lb.key}` : `${n.name} proxy`));
      for (const p of lb.ports) {
        const backends: Backend[] = p.nodePort ? healthy.map((n) => ({ node: n.name, ip: n.ip, port: p.nodePort! })) : [];
        frontends.push({ key: `${lb.key}:${p.name}/${p.protocol}`, service: lb.key, ip, protocol: p.protocol, port: p.port, local: lb.local, affinitySeconds: lb.affinitySeconds, sourceRanges: lb.sourceRanges, backends });
      }
    }

    // 4. The kernel and listeners: addresses on first (userspace listeners bind them), then traffic.
    await this.#addresses.sync(held);
    await this.dataPlane.sync(frontends);
    if (changedBackends(this.#frontends, frontends)) this.#log.info({ frontends: frontends.map((f) => `${f.ip}:${f.port}/${f.protocol} → ${f.backends.map((b) => b.node).join(',') || 'none'}`) }, 'forwarding updated');
    this.#frontends = frontends;
    this.#lookup = undefined;
    // Problems of frontends that are gone are forgotten (said again if they come back).
    for (const k of this.#frontendProblems) if (!frontends.some((f) => k.startsWith(`${f.key} `))) this.#frontendProblems.delete(k);

    // 5. The API: statuses and Events, each on its own; a failure is retried, the rest carries on.
    const failed: string[] = [];
    const api = async (what: string, fn: () => Promise<void>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (e) {
        failed.push(`${what}: ${(e as Error).message}`);
        return false;
      }
    };
    for (const key of leaving) {
      const s = this.#services.get(key);
      if (s && !(await api(`clearing the status of ${key}`, () => this.#clearStatus(s, this.pool.heldBy(key))))) continue;
      const freed = this.pool.releaseAll(key);
      this.#assigned.delete(key);
      this.#reported.delete(key);
      if (freed.length) {
        this.#log.info({ service: key, released: freed }, 'address released');
        // A Service waiting for an address gets this one in the next pass.
        if ([...this.#assigned.values()].some((a) => a.pending)) this.#schedule();
      }
    }
    for (const { s, lb } of ours) {
      const a = this.#assigned.get(lb.key)!;
      if (a.ip && (lb.statusIPs.length !== 1 || lb.statusIPs[0] !== a.ip)) await api(`writing the status of ${lb.key}`, () => this.#writeStatus(s, a.ip!));
      else if (!a.ip && lb.statusIPs.length) await api(`clearing the status of ${lb.key}`, () => this.#clearStatus(s, lb.statusIPs));
      this.#report(s, lb, a);
    }
    if (failed.length) throw new Error(failed.join('; '));
    this.lastSyncError = undefined;
  }

  #assign(s: Service, lb: LbService): void {
    const cur = this.#assigned.get(lb.key);
    if (cur?.ip && (!lb.requestedIP || lb.requestedIP === cur.ip)) return;
    if (cur?.ip) this.pool.release(lb.key, cur.ip); // the requested address changed
    let r = lb.requestedIP !== undefined ? this.pool.allocate(lb.key, lb.requestedIP) : undefined;
    if (!r) {
      const keep = lb.statusIPs.find((ip) => this.pool.contains(ip) && !this.pool.ownerOf(ip));
      r = this.pool.allocate(lb.key, keep);
    }
    this.#assigned.set(lb.key, r.ok ? { ip: r.ip } : { pending: r.message });
    if (r.ok && r.ip !== cur?.ip) {
      this.#log.info({ service: lb.key, ip: r.ip }, 'address assigned');
      this.#events.emit(s, 'Normal', 'IPAllocated', `Assigned IP ["${r.ip}"]`);
    }
    void s;
  }

  /** A frontend the data plane could not serve (the others are served): one Event and log line per problem. */
  #frontendFailed(f: Frontend, message: string): void {
    const key = `${f.key} ${message}`;
    if (this.#frontendProblems.has(key)) return;
    this.#frontendProblems.add(key);
    this.#log.warn({ service: f.service, frontend: `${f.ip}:${f.port}/${f.protocol}` }, message);
    const s = this.#services.get(f.service);
    if (s) this.#events.emit(s, 'Warning', 'SyncLoadBalancerFailed', `Error syncing load balancer: ${message}`);
  }

  /** One Event and one log line per problem (pending address, unreachable Service). */
  #report(s: Service, lb: LbService, a: Assignment): void {
    const problem = a.pending ?? lb.problem;
    const last = this.#reported.get(lb.key);
    if (problem === last) return;
    if (problem) {
      this.#reported.set(lb.key, problem);
      const reason = a.pending ? 'AllocationFailed' : 'SyncLoadBalancerFailed';
      this.#log.warn({ service: lb.key, reason }, problem);
      this.#events.emit(s, 'Warning', reason, a.pending ? `Failed to allocate IP for "${lb.key}": ${problem}` : `Error syncing load balancer: ${problem}`);
    } else {
      this.#reported.delete(lb.key);
      if (a.ip) this.#events.emit(s, 'Normal', 'EnsuredLoadBalancer', `Ensured load balancer at ${a.ip}`);
    }
  }

  async #writeStatus(s: Service, ip: string): Promise<void> {
    await this.#updateStatus(s, (x) => {
      x.status = { ...x.status, loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } };
    });
  }

  async #clearStatus(s: Service, ips: string[]): Promise<void> {
    const have = s.status?.loadBalancer?.ingress ?? [];
    if (!have.some((i) => i.ip && ips.includes(i.ip))) return;
    await this.#updateStatus(s, (x) => {
      const rest = (x.status?.loadBalancer?.ingress ?? []).filter((i) => !i.ip || !ips.includes(i.ip));
      x.status = { ...x.status, loadBalancer: rest.length ? { ingress: rest } : {} };
    });
  }

  /** updateStatus with the newest copy; one retry on a conflict (the watch brings the rest). */
  async #updateStatus(s: Service, edit: (x: Service) => void): Promise<void> {
    let cur: Service = structuredClone(s);
    for (let attempt = 0; attempt < 2; attempt++) {
      edit(cur);
      try {
        const r = await this.client.request({ verb: 'updateStatus', resource: 'services', namespace: cur.metadata.namespace, name: cur.metadata.name, object: cur });
        if (r.object) this.#services.set(svcKey(s), r.object as Service);
        return;
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return;
        if (!(e instanceof ApiError && e.code === 409) || attempt === 1) throw e;
        cur = (await this.client.request({ verb: 'get', resource: 'services', namespace: cur.metadata.namespace, name: cur.metadata.name })).object as Service;
      }
    }
  }
}

function internalIP(n: Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

function created(s: Service): number {
  return Date.parse(s.metadata.creationTimestamp ?? '') || 0;
}

function changedBackends(a: Frontend[], b: Frontend[]): boolean {
  const sig = (l: Frontend[]) => l.map((f) => `${f.ip}:${f.port}/${f.protocol}>${f.backends.map((x) => x.node).join(',')}`).join(';');
  return sig(a) !== sig(b);
}

/** The frontend a connection's original destination is (for the connection stream): refused when it has no healthy node. */
export function frontendLookup(frontends: Frontend[]): PortLookup {
  const m = new Map<string, PortMatch>(frontends.map((f) => [`${f.protocol} ${f.ip}:${f.port}`, { service: f.key, via: 'load-balancer', hasEndpoints: f.backends.length > 0 }]));
  return (protocol, ip, port) => m.get(`${protocol} ${ip}:${port}`);
}
