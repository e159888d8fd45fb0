/**
 * @kubemu/netns: host networking, the one home for it. Running a tool in a
 * namespace (run.ts, typed errors in errors.ts), the names kubemu gives
 * namespaces and links (names.ts), namespaces themselves (netns.ts),
 * `kube-ipvs0` (kube-ipvs0.ts) and the netns runtime's cluster network
 * (cluster-network.ts). A new host-networking call goes here; IPv4 math is
 * @kubemu/api's ip4.ts.
 */
export * from './errors.js';
export * from './run.js';
export * from './names.js';
export * from './netns.js';
export * from './kube-ipvs0.js';
export * from './cluster-network.js';
export * from './host-firewall.js';
