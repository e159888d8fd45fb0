export { IngressController, type ControllerCaches, type ControllerOptions, type Cached } from './controller.js';
export { buildRoutingTable, type RoutingTable, type Route } from './config.js';
export { matchRoute } from './router.js';
export { ingressControllerWorkload } from './workload.js';
export { benchIngress, type BenchResult } from './bench.js';
export type { IngressEvent } from './events.js';
