/**
 * Backends: the ready endpoints (pod IP + target port, pod name from the
 * targetRef) behind each Service port an Ingress names, read from the
 * Service and its EndpointSlices, as ingress-nginx does (it talks to pods
 * directly, not through the cluster IP).
 *
 *   Ingress backend  service s, port 80 | "http"
 *        → Service port {name: "http", port: 80, targetPort: "web"}
 *        → every slice labelled kubernetes.io/service-name=s: its port named
 *          "http" (the resolved targetPort, per slice) × its ready endpoints
 *
 * A Backend object lives as long as some Ingress names it, so its round-robin
 * position survives rebuilds; `update` swaps its endpoint list in place.
 */
import { createHash } from 'node:crypto';
import type { EndpointSlice, Service, ServicePort } from '@kubemu/api';
import type { BackendRef } from './config.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface Endpoint {
  ip: string;
  port: number;
  /** The pod's name (targetRef), or the address when the slice has no targetRef. */
  pod: string;
  /** "ip:port" */
  key: string;
  /** Stable opaque id for the affinity cookie: a salted hash of the backend and "ip:port". */
  token: string;
}

export class Backend {
  endpoints: readonly Endpoint[] = [];
  /** Why there is nothing to send to (shown in the 503 body), when endpoints is empty. */
  problem = '';
  #byToken = new Map<string, Endpoint>();
  #rr = 0;

  constructor(readonly ref: BackendRef) {}

  get id(): string {
    return this.ref.id;
  }

  /** Next endpoint in round-robin order, or undefined when none is ready. */
  next(): Endpoint | undefined {
    const eps = this.endpoints;
    if (eps.length === 0) return undefined;
    if (this.#rr >= eps.length) this.#rr = 0;
    return eps[this.#rr++];
  }

  byToken(token: string): Endpoint | undefined {
    return this.#byToken.get(token);
  }

  set(endpoints: Endpoint[], problem: string): void {
    this.endpoints = endpoints;
    this.problem = endpoints.length ? '' : problem;
    this.#byToken = new Map(endpoints.map((e) => [e.token, e]));
  }
}

export function endpointToken(backendId: string, key: string): string {
  return createHash('sha1').update(`${backendId}|${key}`).digest('hex').slice(0, 20);
}

function findServicePort(svc: Service, port: number | string): ServicePort | undefined {
  const ports = svc.spec?.ports ?? [];
  return typeof port === 'number' ? ports.find((p) => p.port === port) : ports.find((p) => p.name === port);
}

/** Ready endpoints for one Service port from its slices, sorted by address so the order is stable. */
export function readyEndpoints(backendId: string, svcPort: ServicePort, slices: readonly EndpointSlice[]): Endpoint[] {
  const want = svcPort.name ?? '';
  const out = new Map<string, Endpoint>();
  for (const s of slices) {
    if (s.addressType === 'FQDN') continue;
    const p = (s.ports ?? []).find((sp) => (sp.name ?? '') === want && (sp.protocol ?? 'TCP') === 'TCP');
    if (!p?.port) continue;
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      const ip = e.addresses?.[0];
      if (!ip) continue;
      const key = ip.includes(':') ? `[${ip}]:${p.port}` : `${ip}:${p.port}`;
      if (!out.has(key)) out.set(key, { ip, port: p.port, pod: e.targetRef?.name ?? ip, key, token: endpointToken(backendId, key) });
    }
  }
  return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface ResolveInput {
  services: readonly Service[];
  slices: readonly EndpointSlice[];
}

/** The current endpoints (or the reason there are none) of one backend reference. */
export function resolveBackend(ref: BackendRef, svc: Service | undefined, slices: readonly EndpointSlice[]): { endpoints: Endpoint[]; problem: string } {
  const name = `${ref.namespace}/${ref.service}`;
  if (!svc) return { endpoints: [], problem: `service ${name} not found` };
  if (svc.spec?.type === 'ExternalName') return { endpoints: [], problem: `service ${name} is of type ExternalName, which kubemu's ingress does not proxy` };
  const sp = findServicePort(svc, ref.port);
  if (!sp) return { endpoints: [], problem: `service ${name} has no port ${ref.port}` };
  const endpoints = readyEndpoints(ref.id, sp, slices);
  return { endpoints, problem: endpoints.length ? '' : `service ${name} port ${ref.port} has no ready endpoints` };
}

/** All backends by id; `update` re-resolves them and drops the ones no Ingress names any more. */
export class BackendRegistry {
  readonly #backends = new Map<string, Backend>();

  get(id: string): Backend | undefined {
    return this.#backends.get(id);
  }

  ids(): string[] {
    return [...this.#backends.keys()];
  }

  /** Re-resolves every referenced backend; returns the ids that went away. */
  update(refs: ReadonlyMap<string, BackendRef>, input: ResolveInput): string[] {
    const services = new Map<string, Service>();
    for (const s of input.services) services.set(`${s.metadata.namespace ?? 'default'}/${s.metadata.name}`, s);
    const slicesBySvc = new Map<string, EndpointSlice[]>();
    for (const s of input.slices) {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!svc) continue;
      const k = `${s.metadata.namespace ?? 'default'}/${svc}`;
      let list = slicesBySvc.get(k);
      if (!list) slicesBySvc.set(k, (list = []));
      list.push(s);
    }
    for (const [id, ref] of refs) {
      let b = this.#backends.get(id);
      if (!b) this.#backends.set(id, (b = new Backend(ref)));
      const k = `${ref.namespace}/${ref.service}`;
      const { endpoints, problem } = resolveBackend(ref, services.get(k), slicesBySvc.get(k) ?? []);
      b.set(endpoints, problem);
    }
    const gone: string[] = [];
    for (const id of this.#backends.keys()) {
      if (!refs.has(id)) {
        this.#backends.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }
}
