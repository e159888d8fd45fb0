export { clusterDns, serveClusterDns, clusterDnsOptions, type ClusterDnsOptions, type RunningClusterDns } from './cluster-dns.js';
export { buildZoneIndex, type ZoneIndex, type ZoneOptions, type NameEntry } from './zone-index.js';
export { ClusterRecords, resolve, type Resolution } from './records.js';
export { Responder, type RecordSource } from './responder.js';
export { DnsServer, DnsServerError, type DnsServerOptions } from './server.js';
export { FairQueue } from './fair-queue.js';
export { startHealth } from './health.js';
export { runDnsLoad, type DnsLoadOptions, type DnsLoadResult } from './load.js';
