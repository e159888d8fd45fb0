/**
 * The `kubemu/cluster-dns` image: the cluster's DNS server, run as ordinary
 * pods behind the kube-dns Service (as CoreDNS is). Watches Services and
 * EndpointSlices through the pod's service account, rebuilds the name
 * index on each batch of changes (at most every 50 ms, or four times the
 * last rebuild's duration when that is longer), serves DNS on
 * UDP/TCP and the probe endpoints.
 *
 *   cluster-dns [--zone cluster.local] [--port 53] [--bind 0.0.0.0]
 *               [--health-port 8080] [--ready-port 8181] [--ttl 5]
 *               [--reverse-cidrs 10.96.0.0/12,10.244.0.0/16] [--log-level info]
 */
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, type EndpointSlice, type Service } from '@kubemu/api';
import { inClusterConfig, Informer, KubeClient, type KubeObjectLike, type ObjectCache } from '../kube/index.js';
import { onTerminate, parseFlags } from '../http-util.js';
import { startHealth } from './health.js';
import { ClusterRecords } from './records.js';
import { Responder } from './responder.js';
import { DnsServer } from './server.js';
import type { ZoneOptions } from './zone-index.js';

export interface ClusterDnsOptions extends ZoneOptions {
  port: number;
  host: string;
  healthPort: number;
  readyPort: number;
  /** Shortest time between two index rebuilds (default 50 ms). */
  minRebuildMs?: number;
}

export class ClusterDnsFlagError extends Error {
  readonly code = 'ERR_FLAG';
}

export function clusterDnsOptions(args: string[]): ClusterDnsOptions & { logLevel: string } {
  const { flags } = parseFlags(args);
  const port = (name: string, def: number) => {
    const v = flags.get(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ClusterDnsFlagError(`--${name}: not a port: ${v}`);
    return n;
  };
  const ttl = Number(flags.get('ttl') ?? 5);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new ClusterDnsFlagError(`--ttl: want 0–3600 seconds, got ${flags.get('ttl')}`);
  const zone = flags.get('zone') ?? 'cluster.local';
  if (!/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?\.?$/i.test(zone)) throw new ClusterDnsFlagError(`--zone: not a domain name: ${zone}`);
  const cidrs = (flags.get('reverse-cidrs') ?? `${DEFAULT_SERVICE_CIDR},${DEFAULT_POD_CIDR}`).split(',').map((s) => s.trim()).filter(Boolean);
  return {
    zone,
    port: port('port', 53),
    host: flags.get('bind') ?? '0.0.0.0',
    healthPort: port('health-port', 8080),
    readyPort: port('ready-port', 8181),
    ttl,
    reverseCidrs: cidrs,
    selfIPs: process.env.POD_IP ? [process.env.POD_IP] : [],
    logLevel: flags.get('log-level') ?? 'info',
  };
}

export interface RunningClusterDns {
  port: number;
  healthPort: number;
  readyPort: number;
  records: ClusterRecords;
  close(): Promise<void>;
}

/**
 * Serves DNS over the given caches; `synced` says when they hold the
 * cluster's state (readiness, and NXDOMAIN instead of SERVFAIL).
 */
export async function serveClusterDns(
  caches: { services: ObjectCache<Service & KubeObjectLike>; slices: ObjectCache<EndpointSlice & KubeObjectLike> },
  synced: Promise<void>,
  opts: ClusterDnsOptions,
  log: Logger,
): Promise<RunningClusterDns> {
  const records = new ClusterRecords(caches.services, caches.slices, opts);
  const minGap = opts.minRebuildMs ?? 50;
  let last = 0;
  let gap = minGap;
  let timer: NodeJS.Timeout | undefined;
  const rebuild = () => {
    timer = undefined;
    last = Date.now();
    try {
      const t0 = performance.now();
      const idx = records.rebuild(last);
      const ms = performance.now() - t0;
      // Under constant churn, rebuilding takes at most a fifth of the time.
      gap = Math.max(minGap, 4 * ms);
      log.debug({ names: idx.names.size, ms: Math.round(ms * 10) / 10 }, 'dns index rebuilt');
    } catch (e) {
      log.warn({ err: e }, 'dns index rebuild failed; serving the previous one');
    }
  };
  const changed = () => {
    if (timer) return;
    const wait = last + gap - Date.now();
    if (wait <= 0) rebuild();
    else timer = setTimeout(rebuild, wait);
  };
  caches.services.onChange(changed);
  caches.slices.onChange(changed);
  rebuild();
  synced.then(
    () => {
      records.synced = true;
      rebuild();
      log.info({ names: records.index.names.size }, 'caches synced; ready');
    },
    (e) => log.warn({ err: e }, 'caches never synced'),
  );

  const responder = new Responder(records);
  const server = new DnsServer(responder, { port: opts.port, host: opts.host, log });
  const port = await server.start();
  const health = await startHealth({ healthPort: opts.healthPort, readyPort: opts.readyPort, host: opts.host.includes(':') ? '::' : '0.0.0.0', ready: () => records.synced });
  log.info({ zone: records.index.zone, port, healthPort: health.healthPort, readyPort: health.readyPort }, 'cluster dns listening');
  return {
    port,
    healthPort: health.healthPort,
    readyPort: health.readyPort,
    records,
    close: async () => {
      clearTimeout(timer);
      await Promise.all([server.close(), health.close()]);
    },
  };
}

/** The workload: in-cluster config, two informers, the servers; stops on SIGTERM. */
export async function clusterDns(args: string[]): Promise<void> {
  const opts = clusterDnsOptions(args);
  const log = pino({ name: 'kubemu', level: opts.logLevel }).child({ component: 'cluster-dns', pod: hostname() });
  const client = new KubeClient(inClusterConfig());
  const warn = (msg: string) => log.warn(msg);
  const services = new Informer<Service & KubeObjectLike>(client, { path: '/api/v1/services', log: warn });
  const slices = new Informer<EndpointSlice & KubeObjectLike>(client, { path: '/apis/discovery.k8s.io/v1/endpointslices', log: warn });
  services.start();
  slices.start();
  const running = await serveClusterDns({ services, slices }, Promise.all([services.waitSynced(), slices.waitSynced()]).then(() => undefined), opts, log);
  onTerminate(() => {
    services.stop();
    slices.stop();
    client.close();
    void running.close();
  });
}
