/** A service port as the nftables proxier wants it (pure). */
import { hasAnyEndpoints, usableEndpoints, type EndpointInfo, type ServicePortState } from '../service-state.js';
import type { NftEndpoint, NftPortInput } from './nft-rules.js';

/** `s` on `node`; `servesExternalIP` says which of its external IPs this node answers for. */
export function nftPortInput(s: ServicePortState, node: string, servesExternalIP: (ip: string) => boolean): NftPortInput {
  const ep = (e: EndpointInfo): NftEndpoint => ({ ip: e.ip, port: e.port });
  return {
    protocol: s.protocol === 'UDP' ? 'udp' : 'tcp',
    clusterIP: s.clusterIP,
    port: s.port,
    nodePort: s.nodePort,
    // Load balancer addresses are DNATed on the way in, never bound here (the LB owns them on the wire).
    externalIPs: [...s.externalIPs.filter(servesExternalIP), ...s.loadBalancerIPs],
    internalLocal: s.internalLocal,
    externalLocal: s.externalLocal,
    cluster: usableEndpoints(s.endpoints).map(ep),
    local: usableEndpoints(s.endpoints, node).map(ep),
    anyEndpoints: hasAnyEndpoints(s.endpoints),
    affinitySeconds: s.affinitySeconds,
  };
}
