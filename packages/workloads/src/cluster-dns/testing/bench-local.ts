/**
 * Local measurement of the DNS server: a server over ~1000 Services in a
 * child process on 127.0.0.1, and runDnsLoad against it from this one.
 *
 *   node --import tsx packages/workloads/src/cluster-dns/testing/bench-local.ts [services] [seconds] [concurrency]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { RecordType } from 'dns-packet';
import { StaticCache } from '../../kube/index.js';
import { ClusterRecords } from '../records.js';
import { Responder } from '../responder.js';
import { DnsServer } from '../server.js';
import { runDnsLoad } from '../load.js';
import { clusterIP, headless, slice, type Slice, type Svc } from './fixtures.js';

const nServices = Number((process.argv[2] === 'server' ? process.argv[3] : process.argv[2]) ?? 1000);

function cluster(n: number) {
  const services: Svc[] = [];
  const slices: Slice[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns-${i % 20}`;
    const name = `svc-${i}`;
    const ip = `10.96.${(i >> 8) & 255}.${i & 255}`;
    if (i % 10 === 9) services.push(headless(ns, name));
    else services.push(clusterIP(ns, name, ip));
    slices.push(slice(ns, name, [0, 1, 2].map((k) => ({ ip: `10.244.${(i * 3 + k) >> 8 & 255}.${(i * 3 + k) & 255}` }))));
  }
  return { services, slices };
}

if (process.argv[2] === 'server') {
  const { services, slices } = cluster(nServices);
  const records = new ClusterRecords(new StaticCache(services), new StaticCache(slices), { reverseCidrs: ['10.96.0.0/12', '10.244.0.0/16'] });
  const t0 = performance.now();
  const idx = records.rebuild();
  const buildMs = performance.now() - t0;
  records.synced = true;
  const server = new DnsServer(new Responder(records), { port: 0, host: '127.0.0.1', log: pino({ level: 'warn' }) });
  const port = await server.start();
  process.send!({ port, names: idx.names.size, buildMs });
} else {
  const seconds = Number(process.argv[3] ?? 5);
  const concurrency = Number(process.argv[4] ?? 64);
  const child = fork(fileURLToPath(import.meta.url), ['server', String(nServices)], { execArgv: ['--import', 'tsx'] });
  const info = await new Promise<{ port: number; names: number; buildMs: number }>((r) => child.once('message', r as never));
  console.log(`server: ${nServices} services, ${info.names} names, index built in ${info.buildMs.toFixed(1)} ms`);
  const questions: Array<{ name: string; type: RecordType }> = [];
  for (let i = 0; i < nServices; i++) questions.push({ name: `svc-${i}.ns-${i % 20}.svc.cluster.local`, type: 'A' });
  await runDnsLoad({ host: '127.0.0.1', port: info.port, questions, durationMs: 1000, concurrency }); // warm-up
  const r = await runDnsLoad({ host: '127.0.0.1', port: info.port, questions, durationMs: seconds * 1000, concurrency });
  console.log(JSON.stringify({ ...r, qps: Math.round(r.qps), p50Ms: +r.p50Ms.toFixed(3), p99Ms: +r.p99Ms.toFixed(3), maxMs: +r.maxMs.toFixed(3) }));
  child.kill();
}
