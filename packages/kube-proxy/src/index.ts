/**
 * @kubemu/kube-proxy. KubeProxy (kube-proxy.ts) watches Services and
 * EndpointSlices and hands each service port to one Proxier (proxier.ts) per
 * data plane: nftables/ (kernel DNAT, the default) or userspace/ (a relay per
 * connection). Shared by both: service-state.ts (what a port is, pure),
 * drop-rules.ts (the filter table), health (proxy-health.ts, health-server.ts).
 */
export * from './proxier.js';
export * from './kube-proxy.js';
export * from './service-state.js';
export * from './proxy-health.js';
export * from './health-server.js';
export * from './drop-rules.js';
export * from './nftables/nftables-proxier.js';
export * from './nftables/nft-rules.js';
export * from './userspace/userspace-proxier.js';
export * from './userspace/round-robin.js';
// The pieces the load balancer's data planes are built from (its own process, same kernel tools).
export * from './nft.js';
export { serviceFlows, enableConntrackAccounting, parseConntrackLine, type CtFlow, type ServiceLookup } from './nftables/conntrack-flows.js';
export * from './userspace/tcp-proxy.js';
export * from './userspace/udp-proxy.js';
export * from './userspace/conn-log.js';
export type { PickFn, RelayOptions } from './userspace/relay.js';
// The live connection stream (/connections?watch=1), shared with the load balancer.
export * from './conn-events.js';
export * from './conn-stream-http.js';
export { ConntrackWatch, conntrackEventArgs, type ConntrackWatchOptions } from './nftables/conntrack-watch.js';
export { parseConntrackEvent, ConntrackEventMapper, type CtEvent, type PortLookup, type PortMatch } from './nftables/conntrack-events.js';
