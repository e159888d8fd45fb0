/**
 * Which Service port a connection's original destination is (pure), for the
 * connection stream: cluster IPs, external IPs, load balancer addresses (on
 * any address), node ports (on the node's own addresses only), with whether
 * the port has endpoints anywhere (none: the connection is refused).
 */
import type { PortLookup, PortMatch } from './nftables/conntrack-events.js';
import { hasAnyEndpoints, type ServicePortState } from './service-state.js';

export function portLookup(ports: Iterable<ServicePortState>, isNodeAddress: (ip: string) => boolean): PortLookup {
  const byAddr = new Map<string, PortMatch>();
  const byNodePort = new Map<string, PortMatch>();
  for (const s of ports) {
    const hasEndpoints = hasAnyEndpoints(s.endpoints);
    const at = (ip: string, via: string) => byAddr.set(`${s.protocol} ${ip}:${s.port}`, { service: s.key, via, hasEndpoints });
    if (s.clusterIP && s.clusterIP !== 'None') at(s.clusterIP, 'cluster-ip');
    for (const ip of s.externalIPs) at(ip, 'external-ip');
    for (const ip of s.loadBalancerIPs) at(ip, 'load-balancer-ip');
    if (s.nodePort) byNodePort.set(`${s.protocol} ${s.nodePort}`, { service: s.key, via: 'node-port', hasEndpoints });
  }
  return (protocol, ip, port) => byAddr.get(`${protocol} ${ip}:${port}`) ?? (isNodeAddress(ip) ? byNodePort.get(`${protocol} ${port}`) : undefined);
}
