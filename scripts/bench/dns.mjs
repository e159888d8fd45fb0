#!/usr/bin/env node
/**
 * Cluster DNS benchmark (root, netns runtime). Starts its own 3-node cluster
 * with the DNS addon (`kubemu up --name benchdns --addons dns`), creates
 * --services Services, then measures, all in the same run:
 *
 *   service   node-1 ─▶ 10.96.0.10 (kube-proxy DNAT) ─▶ a DNS pod    queries/s, p50/p99
 *   direct    node-1 ─────────────────────────────────▶ one DNS pod  queries/s, p50/p99
 *   pod       a client pod ─▶ 10.96.0.10, one query at a time        lookup latency p50/p99
 *   create    Service created (API answers) ─▶ its name resolves     p50/p99
 *
 * The ratio service/direct is what kube-proxy costs DNS. Goals (issue 12):
 * ≥ 20,000 queries/s through the Service; create → resolvable p99 ≤ 500 ms.
 *
 * Queries/s run in --rounds interleaved rounds (default 5); min / median / max are printed.
 *
 * Usage: sudo node scripts/bench/dns.mjs [--seconds 5] [--rounds 5] [--services 1000] [--concurrency 64] [--creates 50]
 *   [--json FILE] [--smoke]
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fs, metric, needRoot, onExit, options, ratios, stats, writeMetrics } from './lib.mjs';
import https from 'node:https';
import dgram from 'node:dgram';

const SELF = new URL(import.meta.url).pathname;
const root = resolve(SELF, '..', '..', '..');

// ---------------------------------------------------------------- children (run inside a namespace)
if (process.argv[2] === '--load') {
  const { runDnsLoad } = await import(join(root, 'packages/workloads/dist/cluster-dns/load.js'));
  const r = await runDnsLoad(JSON.parse(process.argv[3]));
  process.stdout.write(JSON.stringify(r));
  process.exit(0);
}
if (process.argv[2] === '--creates') {
  process.stdout.write(JSON.stringify(await createToResolvable(JSON.parse(process.argv[3]))));
  process.exit(0);
}

/** Creates `n` Services one after another; for each, the time from the API's answer to its A record resolving via `dns`. */
async function createToResolvable({ server, token, ca, dns, n }) {
  const dnsPacket = (await import('dns-packet')).default;
  const agent = new https.Agent({ ca, keepAlive: true });
  const post = (path, body) =>
    new Promise((res, rej) => {
      const u = new URL(path, server);
      const req = https.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => (r.statusCode < 300 ? res(JSON.parse(b)) : rej(new Error(`${r.statusCode} ${b}`))));
      });
      req.on('error', rej);
      req.end(JSON.stringify(body));
    });
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, r));
  let id = 1;
  const ask = (name) =>
    new Promise((res) => {
      const qid = id++ & 0xffff;
      const t = setTimeout(() => {
        sock.off('message', on);
        res(false);
      }, 200);
      const on = (m) => {
        let p;
        try {
          p = dnsPacket.decode(m);
        } catch {
          return;
        }
        if (p.id !== qid) return;
        clearTimeout(t);
        sock.off('message', on);
        res(p.rcode === 'NOERROR' && p.answers.some((a) => a.type === 'A'));
      };
      sock.on('message', on);
      sock.send(dnsPacket.encode({ type: 'query', id: qid, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), 53, dns);
    });
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `dnsbench-${Date.now().toString(36)}-${i}`;
    await post('/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });
    const t0 = performance.now();
    while (!(await ask(`${name}.default.svc.cluster.local`))) {
      if (performance.now() - t0 > 10_000) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    out.push(performance.now() - t0);
  }
  sock.close();
  agent.destroy();
  return out;
}

// ---------------------------------------------------------------- parent
const kubemu = join(root, 'packages/cli/bin/kubemu.js');
const NAME = 'benchdns';
const o = options();
const SMOKE = o.flag('smoke');
const SECONDS = o.num('seconds', SMOKE ? 1 : 5);
const ROUNDS = Math.max(1, o.num('rounds', SMOKE ? 1 : 5));
const NSERVICES = o.num('services', SMOKE ? 20 : 1000);
const CONC = o.num('concurrency', 64);
const CREATES = o.num('creates', SMOKE ? 5 : 50);
const JSON_OUT = o.str('json', undefined);
needRoot('scripts/bench/dns.mjs');
let kubeconfig = '';

const kubectl = (args, input) => {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const inNetns = (netns, mode, cfg) =>
  new Promise((res, rej) => {
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, SELF, mode, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`${mode} exited ${code}`))));
  });
const pct = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const down = () => spawnSync(process.execPath, [kubemu, 'down', '--name', NAME], { encoding: 'utf8' });
onExit(down);

down();
console.log(`• kubemu up --name ${NAME} --nodes 3 --addons dns`);
execFileSync(process.execPath, [kubemu, 'up', '--name', NAME, '--nodes', '3', '--addons', 'dns'], { stdio: 'ignore' });
try {
  kubeconfig = execFileSync(process.execPath, [kubemu, 'kubeconfig', '--name', NAME], { encoding: 'utf8' }).trim();
  const rec = JSON.parse(readFileSync(`/var/lib/kubemu/${NAME}/cluster.json`, 'utf8'));
  kubectl(['run', 'dns-client', '--image', 'busybox', '--restart', 'Never', '--', 'sleep', 'infinity']);
  for (let i = 0; ; i++) {
    const eps = JSON.parse(kubectl(['get', 'endpoints', '-n', 'kube-system', 'kube-dns', '-o', 'json']));
    const client = JSON.parse(kubectl(['get', 'pod', 'dns-client', '-o', 'json']));
    if ((eps.subsets?.[0]?.addresses?.length ?? 0) >= 2 && client.status.phase === 'Running') break;
    if (i > 600) throw new Error('DNS pods or the client pod not ready in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`• creating ${NSERVICES} Services`);
  const items = Array.from({ length: NSERVICES }, (_, i) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}` }, spec: { ports: [{ port: 80 }] } }));
  for (let i = 0; i < items.length; i += 200) kubectl(['create', '--validate=false', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: items.slice(i, i + 200) }));
  await new Promise((r) => setTimeout(r, 1000));

  const dnsIP = JSON.parse(kubectl(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).spec.clusterIP;
  const podIP = JSON.parse(kubectl(['get', 'endpoints', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).subsets[0].addresses[0].ip;
  const node1 = `km-${NAME}-node-1`;
  const questions = Array.from({ length: Math.min(NSERVICES, 1000) }, (_, i) => ({ name: `s${i}.default.svc.cluster.local`, type: 'A' }));
  const cfg = (host) => ({ host, port: 53, questions, concurrency: CONC, durationMs: SECONDS * 1000 });
  // Interleaved rounds (service, direct; direct, service; …); the median run of each path is shown.
  const runs = { service: [], direct: [] };
  for (let round = 0; round < ROUNDS; round++) {
    process.stdout.write(`  queries/s: round ${round + 1}/${ROUNDS}\n`);
    for (const k of round % 2 ? ['direct', 'service'] : ['service', 'direct']) runs[k].push(await inNetns(node1, '--load', cfg(k === 'service' ? dnsIP : podIP)));
  }
  const med = (rs) => [...rs].sort((a, b) => a.qps - b.qps)[rs.length >> 1];
  const service = med(runs.service);
  const direct = med(runs.direct);

  const clientUid = JSON.parse(kubectl(['get', 'pod', 'dns-client', '-o', 'json'])).metadata.uid;
  const clientNetns = `km-${NAME}-p-${clientUid.replace(/-/g, '').slice(0, 12)}`;
  const fromPod = await inNetns(clientNetns, '--load', { host: dnsIP, port: 53, questions, concurrency: 1, count: 3000, durationMs: 30_000 });

  const kc = readFileSync(kubeconfig, 'utf8');
  const token = /token: (\S+)/.exec(kc)[1];
  const ca = readFileSync(join(`/var/lib/kubemu/${NAME}/control-plane/pki`, 'ca.crt'), 'utf8');
  const creates = await inNetns(node1, '--creates', { server: `https://${rec.controlPlane.ip}:${rec.controlPlane.port}`, token, ca, dns: dnsIP, n: CREATES });

  console.log(`\ncluster DNS, ${NSERVICES} Services, ${SECONDS} s per run, ${CONC} queries in flight from node-1 (median of ${ROUNDS} interleaved rounds)\n`);
  console.log(`${'path'.padEnd(34)}${'queries/s'.padStart(11)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'lost'.padStart(7)}`);
  for (const [label, r] of [[`service ${dnsIP} (kube-proxy)`, service], [`direct to one DNS pod ${podIP}`, direct], ['a pod, one query at a time', fromPod]]) {
    console.log(`${label.padEnd(34)}${f(r.qps, 0).padStart(11)}${f(r.p50Ms, 3).padStart(9)}${f(r.p99Ms, 3).padStart(9)}${String(r.lost).padStart(7)}`);
  }
  const perRound = ratios(runs.service.map((r) => r.qps), runs.direct.map((r) => r.qps));
  console.log(`\nservice / direct: ${fs(stats(perRound))} (median, min–max of per-round ratios)   service ${fs(stats(runs.service.map((r) => r.qps)), 0)} queries/s (goal: ≥ 20,000 through the Service)`);
  console.log(`Service create → resolvable (${CREATES} creates): p50 ${f(pct(creates, 50), 1)} ms   p99 ${f(pct(creates, 99), 1)} ms   max ${f(Math.max(...creates), 1)} ms   (goal p99 ≤ 500 ms)`);
  const tool = 'node generator (cluster-dns/load)';
  writeMetrics(JSON_OUT, 'dns', [
    metric({ bench: 'dns', name: 'queries/s through the kube-dns Service', unit: '/s', tool, values: runs.service.map((r) => r.qps), goal: ['>=', 20000] }),
    metric({ bench: 'dns', name: 'queries/s Service ÷ one DNS pod', unit: '×', tool, values: perRound, ratio: true }),
    metric({ bench: 'dns', name: 'lookup p99 ms from a pod (one at a time)', unit: 'ms', tool, values: [fromPod.p99Ms] }),
    metric({ bench: 'dns', name: 'Service create → resolvable p99 ms', unit: 'ms', tool: 'dns-packet queries', values: [pct(creates, 99)], goal: ['<=', 500] }),
  ], { rounds: ROUNDS, seconds: SECONDS });
} finally {
  console.log(`• tearing ${NAME} down`);
  down();
}
