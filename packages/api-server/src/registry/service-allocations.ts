/**
 * Cluster IPs and node ports for Services: what the Service registry allocates
 * on create, keeps or moves on update, and releases on delete.
 *
 * Allocator state lives in memory and is rebuilt from the stored Services at
 * start, so the store stays the only source of truth.
 */
import type { FieldError, Service, ServicePort } from '@kubemu/api';
import { ClusterIPAllocator } from '../allocators/cluster-ip-allocator.js';
import { NodePortAllocator } from '../allocators/node-port-allocator.js';

export interface AllocationOptions {
  serviceCIDR: string;
  nodePortRange: string;
}

/** What one create/update took, so a failed store write can give it back. */
export interface Taken {
  ips: string[];
  ports: number[];
}

function needsNodePorts(svc: Service): boolean {
  const t = svc.spec.type;
  return t === 'NodePort' || (t === 'LoadBalancer' && svc.spec.allocateLoadBalancerNodePorts !== false);
}

function needsHealthCheck(svc: Service): boolean {
  return svc.spec.type === 'LoadBalancer' && svc.spec.externalTrafficPolicy === 'Local';
}

function hasClusterIP(svc: Service): boolean {
  return svc.spec.type !== 'ExternalName' && svc.spec.clusterIP !== 'None';
}

export class ServiceAllocations {
  readonly ips: ClusterIPAllocator;
  readonly ports: NodePortAllocator;
  readonly #rangeText: string;
  readonly #cidr: string;

  constructor(opts: AllocationOptions) {
    this.ips = new ClusterIPAllocator(opts.serviceCIDR);
    this.ports = new NodePortAllocator(opts.nodePortRange);
    this.#rangeText = opts.nodePortRange;
    this.#cidr = opts.serviceCIDR;
  }

  /** Marks what stored Services hold (at start). */
  rebuild(services: Service[]): void {
    for (const svc of services) {
      for (const ip of svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])) {
        if (ip !== 'None' && this.ips.contains(ip)) this.ips.reserve(ip);
      }
      for (const p of svc.spec.ports ?? []) if (p.nodePort) this.ports.reserve(p.nodePort);
      if (svc.spec.healthCheckNodePort) this.ports.reserve(svc.spec.healthCheckNodePort);
    }
  }

  /**
   * Before validation: drops what a type change made meaningless, if the user
   * left it unchanged (Kubernetes' dropTypeDependentFields).
   */
  dropTypeDependentFields(svc: Service, old: Service): void {
    if (svc.spec.type === 'ExternalName' && old.spec.type !== 'ExternalName') {
      if (svc.spec.clusterIP === old.spec.clusterIP) delete svc.spec.clusterIP;
      if (JSON.stringify(svc.spec.clusterIPs) === JSON.stringify(old.spec.clusterIPs)) delete svc.spec.clusterIPs;
      delete svc.spec.ipFamilies;
      delete svc.spec.ipFamilyPolicy;
    }
    if (!needsNodePorts(svc)) {
      for (const p of svc.spec.ports ?? []) {
        if (p.nodePort && isHeldBy(old, p.nodePort) && svc.spec.type !== 'LoadBalancer') delete p.nodePort;
      }
    }
    if (!needsHealthCheck(svc) && svc.spec.healthCheckNodePort === old.spec.healthCheckNodePort) delete svc.spec.healthCheckNodePort;
    const external = svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer' || (svc.spec.externalIPs?.length ?? 0) > 0;
    if (!external && svc.spec.externalTrafficPolicy === old.spec.externalTrafficPolicy) delete svc.spec.externalTrafficPolicy;
    if (svc.spec.type !== 'LoadBalancer') {
      if (svc.spec.allocateLoadBalancerNodePorts === old.spec.allocateLoadBalancerNodePorts) delete svc.spec.allocateLoadBalancerNodePorts;
      if (svc.spec.loadBalancerClass === old.spec.loadBalancerClass) delete svc.spec.loadBalancerClass;
    }
  }

  /**
   * After validation: fills in values the user left empty on update from the old
   * object (PUT without clusterIP keeps it), Kubernetes' patchAllocatedValues.
   */
  keepAllocatedValues(svc: Service, old: Service): void {
    if (hasClusterIP(svc) && hasClusterIP(old) && !svc.spec.clusterIP && !svc.spec.clusterIPs?.length) {
      svc.spec.clusterIP = old.spec.clusterIP;
      svc.spec.clusterIPs = old.spec.clusterIPs;
    }
    if (needsNodePorts(svc) && needsNodePorts(old)) {
      for (const p of svc.spec.ports ?? []) {
        if (p.nodePort) continue;
        const same = old.spec.ports?.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (same?.nodePort) p.nodePort = same.nodePort;
      }
    }
    if (needsHealthCheck(svc) && needsHealthCheck(old) && !svc.spec.healthCheckNodePort) svc.spec.healthCheckNodePort = old.spec.healthCheckNodePort;
  }

  /** After validation: allocates what the Service needs (mutates it). On errors nothing stays taken. */
  allocate(svc: Service, old?: Service): { errors: FieldError[]; taken: Taken } {
    const taken: Taken = { ips: [], ports: [] };
    const errors: FieldError[] = [];
    if (hasClusterIP(svc)) this.#allocateIP(svc, old, taken, errors);
    else {
      if (svc.spec.type === 'ExternalName') {
        delete svc.spec.clusterIP;
        delete svc.spec.clusterIPs;
      } else svc.spec.clusterIPs = ['None'];
    }
    if (needsNodePorts(svc)) this.#allocatePorts(svc, old, taken, errors);
    else {
      // LoadBalancer with allocateLoadBalancerNodePorts=false keeps the ports the user chose.
      svc.spec.ports?.forEach((p, i) => {
        if (p.nodePort && !(old && isHeldBy(old, p.nodePort))) this.#takePort(p.nodePort, `spec.ports[${i}].nodePort`, taken, errors);
      });
    }
    if (needsHealthCheck(svc)) {
      const want = svc.spec.healthCheckNodePort ?? old?.spec.healthCheckNodePort;
      if (want && want === old?.spec.healthCheckNodePort) svc.spec.healthCheckNodePort = want;
      else if (want) this.#takePort(want, 'spec.healthCheckNodePort', taken, errors);
      else this.#newPort(taken, errors, 'spec.healthCheckNodePort', (p) => (svc.spec.healthCheckNodePort = p));
    } else delete svc.spec.healthCheckNodePort;
    if (errors.length) this.giveBack(taken);
    return { errors, taken };
  }

  #allocateIP(svc: Service, old: Service | undefined, taken: Taken, errors: FieldError[]): void {
    const keep = old && hasClusterIP(old) && old.spec.clusterIP ? old.spec.clusterIP : undefined;
    const want = svc.spec.clusterIP || svc.spec.clusterIPs?.[0] || keep;
    if (want && want === keep) {
      svc.spec.clusterIP = want;
      svc.spec.clusterIPs = [want];
    } else if (want) {
      const r = this.ips.allocateSpecific(want);
      if (r !== 'ok') {
        const why =
          r === 'taken'
            ? `failed to allocate IP ${want}: provided IP is already allocated`
            : `failed to allocate IP ${want}: the provided IP (${want}) is not in the valid range. The range of valid IPs is ${this.#cidr}`;
        errors.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs', badValue: [want], detail: why });
        return;
      }
      taken.ips.push(want);
      svc.spec.clusterIP = want;
      svc.spec.clusterIPs = [want];
    } else {
      try {
        const ip = this.ips.allocate();
        taken.ips.push(ip);
        svc.spec.clusterIP = ip;
        svc.spec.clusterIPs = [ip];
      } catch {
        errors.push({ type: 'InternalError', field: 'spec.clusterIPs', detail: `failed to allocate a serviceIP: range is full` });
        return;
      }
    }
    svc.spec.ipFamilies ??= ['IPv4'];
    svc.spec.ipFamilyPolicy ??= 'SingleStack';
  }

  #allocatePorts(svc: Service, old: Service | undefined, taken: Taken, errors: FieldError[]): void {
    // Ports of one Service with the same port number share a node port (TCP+UDP on 53, say).
    const byPortNumber = new Map<number, number>();
    const ports: ServicePort[] = svc.spec.ports ?? [];
    ports.forEach((p, i) => {
      const field = `spec.ports[${i}].nodePort`;
      const same = old?.spec.ports?.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      const oldPort = same?.nodePort;
      if (p.nodePort && byPortNumber.get(p.port) === p.nodePort) return;
      if (p.nodePort && old && isHeldBy(old, p.nodePort)) {
        byPortNumber.set(p.port, p.nodePort);
        return;
      }
      if (p.nodePort) {
        if (this.#takePort(p.nodePort, field, taken, errors)) byPortNumber.set(p.port, p.nodePort);
        return;
      }
      const shared = byPortNumber.get(p.port) ?? oldPort;
      if (shared) {
        p.nodePort = shared;
        byPortNumber.set(p.port, shared);
        return;
      }
      this.#newPort(taken, errors, field, (n) => {
        p.nodePort = n;
        byPortNumber.set(p.port, n);
      });
    });
  }

  #takePort(port: number, field: string, taken: Taken, errors: FieldError[]): boolean {
    const r = this.ports.allocateSpecific(port);
    if (r === 'ok') {
      taken.ports.push(port);
      return true;
    }
    const detail =
      r === 'taken'
        ? 'provided port is already allocated'
        : `provided port is not in the valid range. The range of valid ports is ${this.#rangeText}`;
    errors.push({ type: 'FieldValueInvalid', field, badValue: port, detail });
    return false;
  }

  #newPort(taken: Taken, errors: FieldError[], field: string, set: (n: number) => void): void {
    try {
      const n = this.ports.allocate();
      taken.ports.push(n);
      set(n);
    } catch {
      errors.push({ type: 'InternalError', field, detail: 'failed to allocate a nodePort: range is full' });
    }
  }

  /** Releases what `svc` holds that `next` (if any) no longer does. */
  releaseUnused(svc: Service, next?: Service): void {
    const keepIPs = new Set(next?.spec.clusterIPs ?? []);
    for (const ip of svc.spec.clusterIPs ?? []) if (ip !== 'None' && !keepIPs.has(ip) && this.ips.contains(ip)) this.ips.release(ip);
    const keepPorts = new Set(next ? heldPorts(next) : []);
    for (const p of heldPorts(svc)) if (!keepPorts.has(p)) this.ports.release(p);
  }

  giveBack(taken: Taken): void {
    for (const ip of taken.ips) this.ips.release(ip);
    for (const p of taken.ports) this.ports.release(p);
  }
}

function heldPorts(svc: Service): number[] {
  const out = (svc.spec.ports ?? []).map((p) => p.nodePort).filter((n): n is number => !!n);
  if (svc.spec.healthCheckNodePort) out.push(svc.spec.healthCheckNodePort);
  return out;
}

function isHeldBy(svc: Service, port: number): boolean {
  return heldPorts(svc).includes(port);
}
