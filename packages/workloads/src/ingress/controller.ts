/**
 * The ingress controller: watches the API through ObjectCaches (informers in
 * a pod, StaticCaches in tests) and, on every change, rebuilds
 *
 *   Ingresses + IngressClasses ─▶ routing table (config.ts)
 *   Services + EndpointSlices  ─▶ backends      (endpoints.ts)
 *   Secrets                    ─▶ certificates  (certs.ts)
 *   own Service's LB address   ─▶ Ingress status (status.ts)
 *
 * then swaps the results into the running proxy (no restart, open
 * connections untouched) and hands new problems to `onEvent` once each.
 * Rebuilds are coalesced: many changes in one tick cost one rebuild.
 */
import type { EndpointSlice, Ingress, IngressClass, Secret, Service } from '@kubemu/api';
import type { Logger } from 'pino';
import type { KubeObjectLike, ObjectCache } from '../kube/index.js';
import { noAccessLog, type AccessLog } from './access-log.js';
import { CertStore, makeDefaultCertificate, type KeyPair } from './certs.js';
import { buildRoutingTable, type RoutingTable } from './config.js';
import { BackendRegistry } from './endpoints.js';
import { EventGate, refKey, type IngressEvent } from './events.js';
import { IngressProxy } from './proxy.js';
import { IngressServers } from './servers.js';
import { addressesOf, StatusPublisher, statusChanges, type StatusWriter } from './status.js';

/** An API object as the caches hold it (metadata.name always set). */
export type Cached<T> = T & KubeObjectLike;

export interface ControllerCaches {
  ingresses: ObjectCache<Cached<Ingress>>;
  ingressClasses: ObjectCache<Cached<IngressClass>>;
  services: ObjectCache<Cached<Service>>;
  endpointSlices: ObjectCache<Cached<EndpointSlice>>;
  secrets: ObjectCache<Cached<Secret>>;
}

export interface ControllerOptions {
  /** The IngressClass served (default "kubemu"). */
  ingressClass?: string;
  /** The controller's own Service, whose LB address goes into Ingress status. */
  publishService?: { namespace: string; name: string };
  host?: string;
  httpPort: number;
  httpsPort: number;
  /** HTTPS port named in redirects (default: httpsPort as listened on, 443 left out). */
  redirectHttpsPort?: number;
  readTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxHeaderSize?: number;
  defaultCert?: KeyPair;
  accessLog?: AccessLog;
  log?: Logger;
  /** Receives each new problem once (the entry point posts it as a core/v1 Event). */
  onEvent?: (e: IngressEvent) => void;
  writeStatus?: StatusWriter;
}

export class IngressController {
  readonly #caches: ControllerCaches;
  readonly #opts: ControllerOptions;
  readonly #backends = new BackendRegistry();
  readonly #events = new EventGate();
  #proxy?: IngressProxy;
  #certs?: CertStore;
  #servers?: IngressServers;
  #status?: StatusPublisher;
  #scheduled = false;
  #stopped = false;
  #lastStatus: Promise<void> = Promise.resolve();

  constructor(caches: ControllerCaches, opts: ControllerOptions) {
    this.#caches = caches;
    this.#opts = opts;
  }

  get table(): RoutingTable | undefined {
    return this.#proxy?.table;
  }

  /** Builds the first configuration, listens, and follows cache changes. Resolves with the bound ports. */
  async start(): Promise<{ httpPort: number; httpsPort: number }> {
    const o = this.#opts;
    const defaultCert = o.defaultCert ?? (await makeDefaultCertificate());
    this.#certs = new CertStore(defaultCert);
    const accessLog = o.accessLog ?? noAccessLog;
    const readTimeoutMs = o.readTimeoutMs ?? 60_000;
    const empty = buildRoutingTable({ ingresses: [], ingressClasses: [] }, this.#class);
    this.#proxy = new IngressProxy(empty, this.#backends, { accessLog, readTimeoutMs, connectTimeoutMs: o.connectTimeoutMs, redirectHttpsPort: o.redirectHttpsPort ?? o.httpsPort });
    this.#servers = new IngressServers(this.#proxy, this.#certs, defaultCert, { accessLog, readTimeoutMs }, o);
    if (o.writeStatus) this.#status = new StatusPublisher(o.writeStatus, (ref, err) => o.log?.warn({ ingress: refKey(ref), err: err.message }, 'could not update Ingress status'));
    const ports = await this.#servers.listen();
    // Listening on port 0 (tests): redirects name the port actually bound.
    if (!o.redirectHttpsPort) this.#proxy.redirectHttpsPort = ports.httpsPort;
    for (const c of Object.values(this.#caches) as ObjectCache<KubeObjectLike>[]) c.onChange(() => this.#schedule());
    this.sync();
    return ports;
  }

  get #class(): string {
    return this.#opts.ingressClass ?? 'kubemu';
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#stopped) this.sync();
    });
  }

  /** Rebuilds everything from the caches now. Never throws: a bad object is reported, the rest is served. */
  sync(): void {
    if (!this.#proxy || !this.#certs) return;
    const c = this.#caches;
    try {
      const ingresses = c.ingresses.items();
      const table = buildRoutingTable({ ingresses, ingressClasses: c.ingressClasses.items() }, this.#class);
      const gone = this.#backends.update(table.backends, { services: c.services.items(), slices: c.endpointSlices.items() });
      const certEvents = this.#certs.update(table.tls, (ns, name) => c.secrets.get(ns, name));
      this.#proxy.update(table, gone);
      for (const e of this.#events.fresh([...table.events, ...certEvents])) this.#emit(e);
      this.#publishStatus(ingresses, table);
    } catch (e) {
      this.#opts.log?.error({ err: (e as Error).message }, 'ingress configuration rebuild failed; keeping the previous one');
    }
  }

  #emit(e: IngressEvent): void {
    this.#opts.log?.warn({ ingress: refKey(e.ingress), reason: e.reason }, e.message);
    try {
      this.#opts.onEvent?.(e);
    } catch {
      // The event sink's failures are its own.
    }
  }

  #publishStatus(ingresses: readonly Ingress[], table: RoutingTable): void {
    const ps = this.#opts.publishService;
    if (!this.#status || !ps) return;
    const svc = this.#caches.services.get(ps.namespace, ps.name);
    const ours = addressesOf(svc?.status?.loadBalancer?.ingress);
    const served = new Set(table.served.map(refKey));
    this.#lastStatus = this.#status.apply(statusChanges(ingresses, served, ours));
  }

  /** Resolves when the status writes started by the last sync are done (for tests). */
  statusSettled(): Promise<void> {
    return this.#lastStatus;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#servers?.close();
    this.#proxy?.close();
  }
}
