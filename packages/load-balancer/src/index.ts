/**
 * @kubemu/load-balancer: the cluster's external load balancer (load-balancer.ts),
 * its address pool (ip-pool.ts), node health checks (node-health.ts) and two
 * data planes, nftables/ (kernel DNAT) and userspace/ (a relay per connection).
 */
export * from './frontend.js';
export * from './ip-pool.js';
export * from './lb-service.js';
export * from './node-health.js';
export * from './external-addresses.js';
export * from './load-balancer.js';
export * from './nftables/lb-rules.js';
export * from './nftables/nftables-lb.js';
export * from './userspace/userspace-lb.js';
