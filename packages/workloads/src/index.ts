export { runWorkload } from './main.js';
export { kubia } from './kubia.js';
export { nginx } from './nginx.js';
export { echo } from './echo.js';
export { agnhost } from './agnhost.js';
export { clusterDns, runDnsLoad, type DnsLoadOptions, type DnsLoadResult } from './cluster-dns/index.js';
export { IngressController, benchIngress } from './ingress/index.js';
