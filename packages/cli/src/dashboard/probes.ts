/**
 * What the dashboard asks the machines themselves, once a second: the load
 * balancer's own view (/healthz: frontends and each node's health as it
 * sees it), each node's answer on every Local Service's healthCheckNodePort,
 * the ClientIP affinity each kube-proxy holds (/affinity), and — after an
 * EndpointSlice change — when each node's kube-proxy applied it (/applied,
 * a long poll), which is the last step of the rollout timeline.
 */
import type { DashboardState } from './state.js';
import { getJson, type JsonAnswer } from './http-json.js';
import type { AffinityView, HealthCheckView, LbView, TimelineEntry } from './view.js';

const KUBE_PROXY_PORT = 10256;
const LB_PORT = 10257;
/** Long polls to /applied in flight at most: a change to 1,000 Services at once follows the first ones only. */
const MAX_FOLLOWING = 60;

export interface ProbeResults {
  lb?: LbView;
  healthChecks: HealthCheckView[];
  affinity: AffinityView[];
}

export interface ProbeOptions {
  state: DashboardState;
  /** The load balancer's address, when the cluster has one. */
  lbIP?: string;
  periodMs?: number;
  get?: typeof getJson;
  now?: () => number;
}

interface LbHealthz {
  mode: string;
  frontends: { service: string; ip: string; port: number; protocol: string; local: boolean; affinitySeconds: number; backends: { node: string }[] }[];
  nodes: { key: string; ip: string; port: number; healthy: boolean; checkedAt: number; error?: string }[];
  lastSyncError?: string;
}

export class ClusterProbes {
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #following = 0;
  #last: ProbeResults = { healthChecks: [], affinity: [] };
  readonly #get: typeof getJson;
  readonly #now: () => number;
  /** Called after every round whose results differ from the last. */
  onUpdate?: (r: ProbeResults) => void;

  constructor(readonly o: ProbeOptions) {
    this.#get = o.get ?? getJson;
    this.#now = o.now ?? Date.now;
  }

  get current(): ProbeResults {
    return this.#last;
  }

  start(): void {
    const tick = async () => {
      if (this.#running) return;
      this.#running = true;
      try {
        const r = await this.round();
        if (JSON.stringify(r) !== JSON.stringify(this.#last)) {
          this.#last = r;
          this.onUpdate?.(r);
        }
      } finally {
        this.#running = false;
      }
    };
    void tick();
    this.#timer = setInterval(() => void tick(), this.o.periodMs ?? 1000);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One round of every probe. */
  async round(): Promise<ProbeResults> {
    const [lb, healthChecks, affinity] = await Promise.all([this.#lb(), this.#healthChecks(), this.#affinity()]);
    return { ...(lb ? { lb } : {}), healthChecks, affinity };
  }

  async #lb(): Promise<LbView | undefined> {
    const ip = this.o.lbIP;
    if (!ip) return undefined;
    const a = await this.#get<LbHealthz>(`http://${ip}:${LB_PORT}/healthz`);
    if (!('body' in a) || !a.body) return { ip, mode: '', reachable: false, error: 'error' in a ? a.error : `HTTP ${a.status}`, nodes: [], frontends: [] };
    const h = a.body;
    return {
      ip,
      mode: h.mode,
      reachable: true,
      ...(h.lastSyncError ? { error: h.lastSyncError } : {}),
      nodes: h.nodes.map((n) => ({ node: n.key.split(' ')[0] ?? n.key, key: n.key, healthy: n.healthy, detail: n.healthy ? `${n.ip}:${n.port} answers 200` : (n.error ?? (n.checkedAt ? 'failing' : 'not checked yet')) })),
      frontends: h.frontends.map((f) => ({ ip: f.ip, port: f.port, protocol: f.protocol, service: f.service, backends: f.backends.map((b) => b.node), local: f.local, affinitySeconds: f.affinitySeconds })),
    };
  }

  async #healthChecks(): Promise<HealthCheckView[]> {
    const services = this.o.state.list('services').filter((s) => s.healthCheckNodePort && s.externalTrafficPolicy === 'Local');
    const nodes = this.o.state.list('nodes').filter((n) => n.ip);
    const asks = services.flatMap((s) =>
      nodes.map(async (n): Promise<HealthCheckView> => {
        const a: JsonAnswer<{ localEndpoints?: number }> = await this.#get(`http://${n.ip}:${s.healthCheckNodePort}/`, 1000);
        const base = { service: `${s.namespace}/${s.name}`, node: n.name, port: s.healthCheckNodePort! };
        return 'error' in a ? { ...base, status: 0, localEndpoints: 0, error: a.error } : { ...base, status: a.status, localEndpoints: a.body?.localEndpoints ?? 0 };
      }),
    );
    return Promise.all(asks);
  }

  async #affinity(): Promise<AffinityView[]> {
    // Only worth asking when some Service has ClientIP affinity.
    if (!this.o.state.list('services').some((s) => s.sessionAffinity === 'ClientIP')) return [];
    const nodes = this.o.state.list('nodes').filter((n) => n.ip && n.ready);
    const all = await Promise.all(
      nodes.map(async (n) => {
        const a = await this.#get<{ items: { service: string; client: string; endpoint: string; secondsLeft: number }[] }>(`http://${n.ip}:${KUBE_PROXY_PORT}/affinity`);
        return 'body' in a && a.status === 200 && a.body ? a.body.items.map((i) => ({ seenOn: n.name, ...i })) : [];
      }),
    );
    return all.flat();
  }

  /**
   * Follows one EndpointSlice change to every ready node's kube-proxy: each
   * answer (when it applied version `rv` of `service`) becomes a timeline entry.
   */
  followApplied(service: string, rv: number, add: (e: TimelineEntry) => void): void {
    if (!rv) return;
    const seen = this.#now();
    const nodes = this.o.state.list('nodes').filter((x) => x.ip && x.ready);
    if (this.#following + nodes.length > MAX_FOLLOWING) return;
    for (const n of nodes) {
      const url = `http://${n.ip}:${KUBE_PROXY_PORT}/applied?service=${encodeURIComponent(service)}&rv=${rv}&timeoutMs=10000`;
      this.#following++;
      void this.#get<{ at?: number; rv?: number; timeout?: boolean }>(url, 12_000).then((a) => {
        this.#following--;
        if (!('body' in a) || !a.body) return;
        if (a.body.timeout) return add({ time: this.#now(), subject: service, what: 'proxy-applied', detail: `${n.name}: not applied after 10 s` });
        const at = a.body.at ?? this.#now();
        add({ time: at, subject: service, what: 'proxy-applied', detail: `${n.name} applied it ${Math.max(0, at - seen)} ms after the dashboard saw the change` });
      });
    }
  }
}
