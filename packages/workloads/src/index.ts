export { runWorkload } from './main.js';
export { kubia } from './kubia.js';
export { nginx } from './nginx.js';
export { echo } from './echo.js';
export { agnhost } from './agnhost.js';
export { clusterDns, runDnsLoad, type DnsLoadOptions, type DnsLoadResult } from './cluster-dns/index.js';
export { IngressController, benchIngress } from './ingress/index.js';
// What `kubemu explain ingress` reuses to judge an Ingress exactly as the controller does.
export {
  buildRoutingTable,
  hostRoutes,
  matchRoute,
  normalizeHost,
  prefixKey,
  requestPath,
  servesIngress,
  isDefaultClass,
  LEGACY_CLASS_ANNOTATION,
  resolveBackend,
  loadSecret,
  PROXY_ERRORS,
  parsePublishService,
  parseFlags,
  type RoutingTable,
  type Route,
  type HostRoutes,
  type BackendRef,
  type Endpoint,
  type IngressRef,
  type AccessRecord,
} from './ingress/index.js';
