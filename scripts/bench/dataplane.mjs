#!/usr/bin/env node
/**
 * Data-plane benchmark (root, netns runtime). For each kube-proxy mode
 * (nftables, then userspace) it starts its own 3-node cluster
 * (`kubemu up --name benchnf|benchus --proxy-mode …`), runs a server pod on
 * node-2 and drives load over these paths, all measured in the same cluster:
 *
 *   direct         node-1 ──────────────────────────────▶ pod (node-2)
 *   clusterip      node-1 ─▶ kube-proxy node-1 ─────────▶ pod (node-2)
 *   nodeport       node-1 ─▶ node-3:nodePort kube-proxy ─▶ pod (node-2)
 *   pod-direct     client pod (node-1) ─────────────────▶ pod (node-2)
 *   pod-clusterip  client pod (node-1) ─▶ kube-proxy node-1 ─▶ pod (node-2)
 *   host-nodeport  the host ─▶ node-3:nodePort kube-proxy ─▶ pod (node-2)
 *   host-lb-nftables / host-lb-userspace
 *                  the host ─▶ load balancer (.3) ─▶ some node:nodePort ─▶ pod (node-2)
 *                  (the Service is type LoadBalancer; the LB process is restarted in
 *                  each of its modes and measured against direct in its own rounds)
 *
 * The last three are where users stand (a pod calling a Service, the README's
 * curl from the host). Each path's ratio is to its own baseline: pod-clusterip
 * to pod-direct, every other path to direct (the host has no route to pods).
 *
 * (nftables: "kube-proxy" is the DNAT rules it programmed in that node's
 * namespace; userspace: the kube-proxy process relays the bytes.)
 *
 * Tests: HTTP keep-alive requests/s, a new connection per request, bulk TCP
 * throughput, UDP echo, and latency at half of direct's keep-alive load.
 * Each path prints its ratio to direct. Then 1,000 Services × 10 endpoints
 * are created and the time from an EndpointSlice write to every kube-proxy
 * applying it is measured. Each mode's cluster is torn down after it, and a
 * summary prints both modes' ratios side by side.
 *
 * Usage: sudo node scripts/bench/dataplane.mjs [--modes nftables,userspace] [--phases proxy,lb,ingress] [--seconds 3] [--rounds 3] [--services 1000] [--no-dataplane]
 * Each test runs --rounds times with the paths interleaved (direct, clusterip,
 * nodeport, direct, …); the median run of each path is reported, so drift and
 * a noisy neighbour on a 2-core machine do not decide a ratio.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';

const SELF = new URL(import.meta.url).pathname;

// ---------------------------------------------------------------- load generator (runs inside a namespace)
if (process.argv[2] === '--load') {
  const cfg = JSON.parse(process.argv[3]);
  const res = await load(cfg);
  process.stdout.write(JSON.stringify(res));
  process.exit(0);
}

function pct(arr, p) {
  if (!arr.length) return NaN;
  const s = Float64Array.from(arr).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function load({ kind, host, port, seconds, concurrency, rate, hostHeader }) {
  const warm = 500;
  const start = performance.now();
  const measureFrom = start + warm;
  const end = measureFrom + seconds * 1000;
  const lat = [];
  let count = 0;
  let bytes = 0;
  let errors = 0;
  const record = (t0) => {
    const t1 = performance.now();
    if (t0 >= measureFrom && t1 <= end) {
      count++;
      lat.push(t1 - t0);
    }
  };
  const httpOnce = (agent, secure = false) =>
    new Promise((res) => {
      const t0 = performance.now();
      const opts = { host, port, path: '/', agent, headers: hostHeader ? { host: hostHeader } : {} };
      const req = secure
        ? https.get({ ...opts, servername: hostHeader, rejectUnauthorized: false }, onRes)
        : http.get(opts, onRes);
      function onRes(r) {
        r.on('data', () => {});
        r.on('end', () => {
          if (r.statusCode === 200) record(t0);
          else errors++;
          res();
        });
      }
      req.on('error', () => {
        errors++;
        res();
      });
    });
  if (kind === 'tlsnew') {
    // a new TLS connection per request (handshake included), as many short-lived HTTPS clients do
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await httpOnce(false, true);
    }));
    return { rps: count / seconds, p50: pct(lat, 50), p99: pct(lat, 99), errors };
  }
  if (kind === 'keepalive' || kind === 'newconn') {
    const agent = kind === 'keepalive' ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : false;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await httpOnce(agent);
    }));
    return { rps: count / seconds, p50: pct(lat, 50), p99: pct(lat, 99), errors };
  }
  if (kind === 'rate') {
    // open loop at `rate` requests/s (1 ms ticks) over up to `concurrency` keep-alive connections
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const inflight = new Set();
    const tick = 1;
    let due = 0;
    await new Promise((done) => {
      const t = setInterval(() => {
        const now = performance.now();
        if (now > end) {
          clearInterval(t);
          Promise.all(inflight).then(done);
          return;
        }
        due += (rate * tick) / 1000;
        while (due >= 1) {
          due--;
          const p = httpOnce(agent).then(() => inflight.delete(p));
          inflight.add(p);
        }
      }, tick);
    });
    return { rps: count / seconds, p50: pct(lat, 50), p99: pct(lat, 99), errors };
  }
  if (kind === 'bulk') {
    await Promise.all(Array.from({ length: concurrency }, () => new Promise((res) => {
      const s = net.connect({ host, port });
      s.on('data', (d) => {
        const now = performance.now();
        if (now >= measureFrom && now <= end) bytes += d.length;
        if (now > end) s.destroy();
      });
      s.on('close', res);
      s.on('error', () => {
        errors++;
        res();
      });
    })));
    return { mbps: (bytes * 8) / seconds / 1e6, errors };
  }
  if (kind === 'udp') {
    const payload = Buffer.alloc(64, 'x');
    await Promise.all(Array.from({ length: concurrency }, () => new Promise((res) => {
      const s = dgram.createSocket('udp4');
      let t0 = 0;
      let timer;
      const send = () => {
        if (performance.now() > end) {
          s.close();
          return res();
        }
        t0 = performance.now();
        s.send(payload, port, host);
        clearTimeout(timer);
        timer = setTimeout(() => {
          errors++;
          send();
        }, 500);
      };
      s.on('message', () => {
        record(t0);
        send();
      });
      s.bind(0, send);
    })));
    return { rps: count / seconds, p50: pct(lat, 50), p99: pct(lat, 99), errors };
  }
  throw new Error(`unknown load kind ${kind}`);
}

// ---------------------------------------------------------------- orchestration (host)
const root = resolve(import.meta.dirname, '..', '..');
const kubemu = join(root, 'packages/cli/bin/kubemu.js');
let NAME = 'benchnf';
function arg(k, d) {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] : d;
}
const MODES = arg('--modes', 'nftables,userspace').split(',');
const SECONDS = Number(arg('--seconds', 3));
/** proxy (the kube-proxy paths), lb (both LB modes), ingress. */
const PHASES = arg('--phases', 'proxy,lb,ingress').split(',');
const ROUNDS = Math.max(1, Number(arg('--rounds', 3)));
const NSERVICES = Number(arg('--services', 1000));

if (process.getuid?.() !== 0) {
  console.error('scripts/bench/dataplane.mjs needs root (network namespaces): run it with sudo');
  process.exit(1);
}


const SERVER = `const http=require('http'),net=require('net'),dgram=require('dgram');
http.createServer((q,s)=>s.end('ok')).listen(8080);
const buf=Buffer.alloc(64*1024,120);
net.createServer(s=>{s.setNoDelay(true);s.on('error',()=>{});const w=()=>{while(!s.destroyed&&s.write(buf)){}};s.on('drain',w);w();}).listen(9000);
const u=dgram.createSocket('udp4');u.on('message',(m,r)=>u.send(m,r.port,r.address));u.bind(9001);
console.log('bench server up');`;

function kubectl(args, input) {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs one load in network namespace `netns` (null: the host's). */
function runLoad(netns, cfg) {
  return new Promise((res, rej) => {
    const argv = [process.execPath, SELF, '--load', JSON.stringify(cfg)];
    const child = netns ? spawn('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`load ${cfg.kind} exited ${code}`))));
  });
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
let kubeconfig = '';

async function dataplane(mode) {
  kubectl(['apply', '--validate=false', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench-server', labels: { app: 'bench' } }, spec: { nodeName: 'node-2', containers: [{ name: 's', image: 'bench', command: [process.execPath, '-e', SERVER], ports: [{ containerPort: 8080 }, { containerPort: 9000 }, { containerPort: 9001, protocol: 'UDP' }] }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench-client' }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost', args: ['pause'] }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench' }, spec: { type: 'LoadBalancer', selector: { app: 'bench' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'bulk', port: 9000, targetPort: 9000 }, { name: 'udp', port: 9001, targetPort: 9001, protocol: 'UDP' }] } },
    ],
  }));
  let pod;
  for (let i = 0; ; i++) {
    pod = JSON.parse(kubectl(['get', 'pod', 'bench-server', '-o', 'json']));
    const eps = JSON.parse(kubectl(['get', 'endpoints', 'bench', '-o', 'json']));
    const client = JSON.parse(kubectl(['get', 'pod', 'bench-client', '-o', 'json']));
    if (pod.status.podIP && eps.subsets?.[0]?.addresses?.length && client.status.phase === 'Running') break;
    if (i > 300) throw new Error('bench server not ready in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  const svc = JSON.parse(kubectl(['get', 'svc', 'bench', '-o', 'json']));
  const np = Object.fromEntries(svc.spec.ports.map((p) => [p.name, p.nodePort]));
  const node3 = JSON.parse(kubectl(['get', 'node', 'node-3', '-o', 'json'])).status.addresses.find((a) => a.type === 'InternalIP').address;
  const clientUid = JSON.parse(kubectl(['get', 'pod', 'bench-client', '-o', 'json'])).metadata.uid;
  const node1 = `km-${NAME}-node-1`;
  const clientPod = `km-${NAME}-p-${clientUid.replace(/-/g, '').slice(0, 12)}`;
  const direct = { host: pod.status.podIP, http: 8080, bulk: 9000, udp: 9001 };
  const clusterip = { host: svc.spec.clusterIP, http: 80, bulk: 9000, udp: 9001 };
  const nodeport = { host: node3, http: np.http, bulk: np.bulk, udp: np.udp };
  const paths = {
    direct: { from: node1, ...direct, base: 'direct' },
    clusterip: { from: node1, ...clusterip, base: 'direct' },
    nodeport: { from: node1, ...nodeport, base: 'direct' },
    'pod-direct': { from: clientPod, ...direct, base: 'pod-direct' },
    'pod-clusterip': { from: clientPod, ...clusterip, base: 'pod-direct' },
    'host-nodeport': { from: null, ...nodeport, base: 'direct' },
  };
  const tests = [
    { name: 'keep-alive req/s', kind: 'keepalive', port: 'http', concurrency: 16, metric: 'rps' },
    { name: 'new conn req/s', kind: 'newconn', port: 'http', concurrency: 16, metric: 'rps' },
    { name: 'bulk TCP Mbit/s', kind: 'bulk', port: 'bulk', concurrency: 1, metric: 'mbps' },
    { name: 'UDP echo /s', kind: 'udp', port: 'udp', concurrency: 8, metric: 'rps' },
  ];
  const results = {};
  // Rounds interleave the paths; each path keeps its median run (by the test's metric).
  const measure = async (name, metric, cfgOf, on = paths) => {
    const runs = Object.fromEntries(Object.keys(on).map((p) => [p, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [p, a] of Object.entries(on)) runs[p].push(await runLoad(a.from, cfgOf(a)));
    }
    const medians = Object.fromEntries(Object.entries(runs).map(([p, rs]) => [p, rs.sort((x, y) => x[metric] - y[metric])[Math.floor(rs.length / 2)]]));
    if (on === paths) results[name] = medians;
    return medians;
  };
  let half = 10_000;
  if (PHASES.includes('proxy')) {
    for (const t of tests) {
      await measure(t.name, t.metric, (a) => ({ kind: t.kind, host: a.host, port: a[t.port], seconds: SECONDS, concurrency: t.concurrency }));
    }
    half = Math.max(50, Math.floor(results['keep-alive req/s'].direct.rps / 2));
    await measure(`latency @ ${half}/s`, 'p99', (a) => ({ kind: 'rate', host: a.host, port: a.http, seconds: SECONDS, concurrency: 64, rate: half }));

    console.log(`\ndata plane, ${mode} mode (${SECONDS} s per run, median of ${ROUNDS} interleaved rounds, server pod on node-2; ratio = path / its baseline)\n`);
    console.log(`${'test'.padEnd(22)}${'path'.padEnd(15)}${'value'.padStart(10)}${'ratio'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'+p99 ms'.padStart(9)}${'errors'.padStart(8)}`);
    for (const t of [...tests, { name: `latency @ ${half}/s`, metric: 'rps' }]) {
      for (const [p, a] of Object.entries(paths)) {
        const d = results[t.name][a.base];
        const r = results[t.name][p];
        const v = r[t.metric];
        console.log(`${t.name.padEnd(22)}${p.padEnd(15)}${f(v).padStart(10)}${f(v / d[t.metric], 2).padStart(8)}${f(r.p50, 3).padStart(9)}${f(r.p99, 3).padStart(9)}${(p === a.base ? '' : f(r.p99 - d.p99, 3)).padStart(9)}${String(r.errors).padStart(8)}`);
      }
    }
  }
  // The load balancer, once per data plane: host → LB → a node's node port → pod, against direct in the same rounds.
  const lbIP = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? JSON.parse(kubectl(['get', 'svc', 'bench', '-o', 'json'])).status.loadBalancer.ingress[0].ip;
  results.lb = {};
  for (const lbMode of PHASES.includes('lb') ? LB_MODES : []) {
    await restartLoadBalancer(lbMode, lbIP);
    const lbPaths = { direct: paths.direct, [`host-lb-${lbMode}`]: { from: null, host: lbIP, http: 80, bulk: 9000, udp: 9001, base: 'direct' } };
    const r = {};
    for (const t of tests) r[t.name] = await measure(t.name, t.metric, (a) => ({ kind: t.kind, host: a.host, port: a[t.port], seconds: SECONDS, concurrency: t.concurrency }), lbPaths);
    // Added latency at half of what this path sustains (half of direct's rate may be more than a relay can carry).
    const lbHalf = Math.max(50, Math.floor(Math.min(half * 2, r['keep-alive req/s'][`host-lb-${lbMode}`].rps) / 2));
    r.latencyRate = lbHalf;
    r.latency = await measure('latency', 'p99', (a) => ({ kind: 'rate', host: a.host, port: a.http, seconds: SECONDS, concurrency: 64, rate: lbHalf }), lbPaths);
    results.lb[lbMode] = r;
    const p = `host-lb-${lbMode}`;
    console.log(`\nload balancer, ${lbMode} data plane (LB at ${lbIP}; ratio = host → LB → node → pod / direct, same rounds)`);
    for (const t of tests) console.log(`${t.name.padEnd(22)}${p.padEnd(20)}${f(r[t.name][p][t.metric]).padStart(10)}${f(r[t.name][p][t.metric] / r[t.name].direct[t.metric], 2).padStart(8)}  errors ${r[t.name][p].errors}`);
    console.log(`${`+p99 ms @ ${lbHalf}/s`.padEnd(22)}${p.padEnd(20)}${f(r.latency[p].p99 - r.latency.direct.p99, 3).padStart(10)}`);
  }
  await restartLoadBalancer('nftables', lbIP);
  if (PHASES.includes('lb')) results.deadNode = await deadNodeDetection(lbIP);

  if (!PHASES.includes('ingress')) return results;
  // The ingress controller: host → its LB address → a node port → controller pod → the server pod (L7, keep-alive both sides).
  kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'bench' },
    spec: { rules: [{ host: 'bench.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'bench', port: { name: 'http' } } } }] } }] },
  }));
  const ingressIP = await waitIngress();
  const ingPaths = { direct: paths.direct, 'host-ingress': { from: null, host: ingressIP, http: 80, https: 443, hostHeader: 'bench.example', base: 'direct' } };
  const ing = {};
  const ingTests = [
    { name: 'keep-alive req/s', kind: 'keepalive', port: 'http', concurrency: 16 },
    { name: 'new conn req/s', kind: 'newconn', port: 'http', concurrency: 16 },
    { name: 'new HTTPS conn req/s', kind: 'tlsnew', port: 'https', concurrency: 16 },
  ];
  for (const t of ingTests) {
    // direct has no TLS: its HTTPS row compares with plain new connections to the pod
    ing[t.name] = await measure(t.name, 'rps', (a) => ({ kind: t.kind === 'tlsnew' && !a.hostHeader ? 'newconn' : t.kind, host: a.host, port: a[t.port] ?? a.http, hostHeader: a.hostHeader, seconds: SECONDS, concurrency: t.concurrency }), ingPaths);
  }
  // The L7 hop's added latency at half of what the ingress path sustains.
  const ingHalf = Math.max(50, Math.floor(ing['keep-alive req/s']['host-ingress'].rps / 2));
  ing.latencyRate = ingHalf;
  ing.latency = await measure('latency', 'p99', (a) => ({ kind: 'rate', host: a.host, port: a.http, hostHeader: a.hostHeader, seconds: SECONDS, concurrency: 64, rate: ingHalf }), ingPaths);
  results.ingress = ing;
  console.log(`\ningress (controller at ${ingressIP}; ratio = host → LB → node → controller pod → pod / direct, same rounds; HTTPS vs plain new connections direct)`);
  for (const t of ingTests) console.log(`${t.name.padEnd(22)}${'host-ingress'.padEnd(20)}${f(ing[t.name]['host-ingress'].rps).padStart(10)}${f(ing[t.name]['host-ingress'].rps / ing[t.name].direct.rps, 2).padStart(8)}  errors ${ing[t.name]['host-ingress'].errors}`);
  console.log(`${`+p99 ms @ ${ingHalf}/s`.padEnd(22)}${'host-ingress'.padEnd(20)}${f(ing.latency['host-ingress'].p99 - ing.latency.direct.p99, 3).padStart(10)}`);
  return results;
}

/** The ingress controller's address once it routes bench.example to the server. */
async function waitIngress() {
  for (let i = 0; ; i++) {
    const svc = JSON.parse(kubectl(['get', 'svc', '-n', 'ingress-kubemu', 'ingress-kubemu-controller', '-o', 'json']));
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    if (ip) {
      const ok = await new Promise((res) => {
        http.get({ host: ip, port: 80, path: '/', headers: { host: 'bench.example' }, agent: false, timeout: 1000 }, (r) => {
          r.resume();
          res(r.statusCode === 200);
        }).on('error', () => res(false));
      });
      if (ok) return ip;
    }
    if (i > 600) throw new Error('the ingress controller did not route bench.example in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const LB_MODES = ['nftables', 'userspace'];

/**
 * How fast the LB stops sending to a node whose kube-proxy died (its /healthz
 * check fails) and takes it back once kube-proxy runs again: node-3's
 * kube-proxy is killed and restarted 3 times.
 */
async function deadNodeDetection(lbIP) {
  const recPath = `/var/lib/kubemu/${NAME}/cluster.json`;
  const lbAddr = JSON.parse(readFileSync(recPath, 'utf8')).loadBalancer.ip;
  const backends = async () => (await getJSON(`http://${lbAddr}:10257/healthz`).catch(() => ({}))).frontends?.find((x) => x.ip === lbIP && x.port === 80)?.backends?.map((b) => b.node) ?? [];
  const out = [];
  const back = [];
  for (let i = 0; i < 3; i++) {
    const rec = JSON.parse(readFileSync(recPath, 'utf8'));
    const pid = rec.pids['node-3/kube-proxy'];
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGKILL');
    const t0 = performance.now();
    while ((await backends()).includes('node-3')) await new Promise((r) => setTimeout(r, 20));
    out.push(performance.now() - t0);
    const child = spawn('nsenter', [`--net=/run/netns/km-${NAME}-node-3`, '--', ...argv], { detached: true, stdio: 'ignore' });
    child.unref();
    rec.pids['node-3/kube-proxy'] = child.pid;
    writeFileSync(recPath, JSON.stringify(rec, null, 2));
    const t1 = performance.now();
    while (!(await backends()).includes('node-3')) await new Promise((r) => setTimeout(r, 20));
    back.push(performance.now() - t1);
  }
  console.log(`\ndead node: out of the LB's backends after ${out.map((x) => f(x, 0)).join(', ')} ms (goal ≤ 2 check periods = 4000 ms); back ${back.map((x) => f(x, 0)).join(', ')} ms after kube-proxy was restarted`);
  return { out, back };
}

/** Restarts the cluster's load balancer in `lbMode` and waits until it forwards the bench Service to every node. */
async function restartLoadBalancer(lbMode, lbIP) {
  const recPath = `/var/lib/kubemu/${NAME}/cluster.json`;
  const rec = JSON.parse(readFileSync(recPath, 'utf8'));
  const pid = rec.pids['load-balancer'];
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 50));
    } catch {
      break;
    }
  }
  const mi = argv.indexOf('--mode');
  if (mi >= 0) argv[mi + 1] = lbMode;
  else argv.push('--mode', lbMode);
  const child = spawn('nsenter', [`--net=/run/netns/${rec.loadBalancer.netns}`, '--', ...argv], { detached: true, stdio: 'ignore' });
  child.unref();
  rec.pids['load-balancer'] = child.pid;
  writeFileSync(recPath, JSON.stringify(rec, null, 2));
  for (let i = 0; ; i++) {
    const st = await getJSON(`http://${rec.loadBalancer.ip}:10257/healthz`).catch(() => undefined);
    const fe = st?.frontends?.find((x) => x.ip === lbIP && x.port === 80);
    if (st?.mode === lbMode && fe?.backends?.length === 3) break;
    if (i > 200) throw new Error(`the load balancer (${lbMode}) did not forward to 3 nodes in 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- programming latency
let apiCreds;
function api(method, path, body) {
  if (!apiCreds) {
    const cfg = readFileSync(kubeconfig, 'utf8');
    apiCreds = { server: /server: (\S+)/.exec(cfg)[1], ca: Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)[1], 'base64'), token: /token: (\S+)/.exec(cfg)[1] };
  }
  const { server, ca, token } = apiCreds;
  const u = new URL(path, server);
  return new Promise((res, rej) => {
    const req = https.request({ method, host: u.hostname, port: u.port, path: u.pathname + u.search, ca, agent: apiAgent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => (r.statusCode >= 300 ? rej(new Error(`${method} ${path}: ${r.statusCode} ${b.slice(0, 200)}`)) : res(JSON.parse(b))));
    });
    req.on('error', rej);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
const apiAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });

function getJSON(url) {
  return new Promise((res, rej) => {
    http.get(url, { agent: false }, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => res(JSON.parse(b)));
    }).on('error', rej);
  });
}

async function pool(n, conc, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (i < n) await fn(i++);
  }));
}

function sliceFor(i, flip = false) {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `s-${i}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': `s-${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: 10 }, (_, k) => {
      const node = (k % 3) + 1;
      return { addresses: [`10.244.${node}.${100 + ((i * 10 + k) % 150)}`], nodeName: `node-${node}`, conditions: { ready: !(flip && k === 0) } };
    }),
  };
}

async function programming(nodeIPs) {
  console.log(`\nprogramming latency: creating ${NSERVICES} Services × 10 endpoints…`);
  const t0 = Date.now();
  await pool(NSERVICES, 16, (i) => api('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: `s-${i}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }));
  const sliceRV = new Map();
  await pool(NSERVICES, 16, async (i) => {
    const o = await api('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', sliceFor(i));
    sliceRV.set(`default/s-${i}`, Number(o.metadata.resourceVersion));
  });
  const created = Date.now();
  // every node has applied every slice: the newest "applied at" over all of them
  const lastApplied = async (ip) => {
    for (;;) {
      const all = Object.entries(await getJSON(`http://${ip}:10256/applied`)).filter(([k, a]) => a.rv >= (sliceRV.get(k) ?? Infinity));
      if (all.length >= NSERVICES) return Math.max(...all.map(([, a]) => a.at));
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const doneAt = Math.max(...(await Promise.all(nodeIPs.map(lastApplied))));
  console.log(`  created in ${((created - t0) / 1000).toFixed(1)} s; all applied on all nodes ${Math.max(0, doneAt - created)} ms after the last write returned`);
  const lat = [];
  const SAMPLES = 200;
  for (let k = 0; k < SAMPLES; k++) {
    const i = Math.floor(Math.random() * NSERVICES);
    const cur = await api('GET', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/s-${i}-x`);
    const next = { ...sliceFor(i, cur.endpoints[0].conditions.ready !== false), metadata: { ...cur.metadata } };
    const w0 = Date.now();
    const o = await api('PUT', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/s-${i}-x`, next);
    const rv = Number(o.metadata.resourceVersion);
    const per = await Promise.all(nodeIPs.map((ip) => getJSON(`http://${ip}:10256/applied?service=default/s-${i}&rv=${rv}&timeoutMs=10000`)));
    if (per.some((p) => p.timeout)) {
      lat.push(Infinity);
      continue;
    }
    lat.push(Math.max(...per.map((p) => p.at)) - w0);
    await new Promise((r) => setTimeout(r, 10));
  }
  console.log(`  EndpointSlice write → applied by all ${nodeIPs.length} kube-proxies (${SAMPLES} updates, ${NSERVICES} Services × 10 endpoints):`);
  console.log(`  p50 ${pct(lat, 50)} ms   p99 ${pct(lat, 99)} ms   max ${Math.max(...lat)} ms   (goal p99 ≤ 100 ms)`);
  return lat;
}

// ---------------------------------------------------------------- main
const down = () => spawnSync(process.execPath, [kubemu, 'down', '--name', NAME], { encoding: 'utf8' });
process.once('SIGINT', () => {
  down();
  process.exit(130);
});

const summary = [];
try {
  for (const mode of MODES) {
    NAME = mode === 'userspace' ? 'benchus' : 'benchnf';
    down();
    console.log(`\n═══ kube-proxy mode: ${mode} ═══\n• kubemu up --name ${NAME} --nodes 3 --proxy-mode ${mode}`);
    execFileSync(process.execPath, [kubemu, 'up', '--name', NAME, '--nodes', '3', '--proxy-mode', mode, '--addons', 'ingress'], { stdio: 'ignore' });
    kubeconfig = execFileSync(process.execPath, [kubemu, 'kubeconfig', '--name', NAME], { encoding: 'utf8' }).trim();
    apiCreds = undefined; // a new cluster: new CA and token
    try {
      if (!process.argv.includes('--no-dataplane')) {
        const r = await dataplane(mode);
        summary.push([mode, r]);
      }
      const nodes = JSON.parse(kubectl(['get', 'nodes', '-o', 'json'])).items.map((n) => n.status.addresses.find((a) => a.type === 'InternalIP').address);
      if (NSERVICES > 0) await programming(nodes);
    } finally {
      console.log(`• tearing ${NAME} down`);
      down();
    }
  }
  if (summary.length) {
    const goals = { 'keep-alive req/s': '≥ 0.85', 'new conn req/s': '≥ 0.60', 'bulk TCP Mbit/s': '≥ 0.70', 'UDP echo /s': '—' };
    // each path against its baseline (see the header)
    const cols = [['clusterip', 'direct', 'CIP'], ['nodeport', 'direct', 'NP'], ['pod-clusterip', 'pod-direct', 'pod→CIP'], ['host-nodeport', 'direct', 'host→NP']];
    const head = summary.map(([m]) => cols.map(([, , label]) => `${m.slice(0, 2)} ${label}`.padStart(12)).join('')).join('');
    console.log('\nsummary (ratio to direct in the same cluster; pod→CIP to pod→pod; NodePort is the goal path):');
    console.log(`${'test'.padEnd(20)}${head}${'goal'.padStart(8)}`);
    for (const t of Object.keys(goals)) {
      const metric = t === 'bulk TCP Mbit/s' ? 'mbps' : 'rps';
      const cells = summary.map(([, r]) => cols.map(([p, base]) => (r[t] ? f(r[t][p][metric] / r[t][base][metric], 2) : '-').padStart(12)).join(''));
      console.log(`${t.padEnd(20)}${cells.join('')}${goals[t].padStart(8)}`);
    }
    const lat = summary.map(([, r]) => {
      const k = Object.keys(r).find((x) => x.startsWith('latency'));
      return cols.map(([p, base]) => (k ? f(r[k][p].p99 - r[k][base].p99, 3) : '-').padStart(12)).join('');
    });
    console.log(`${'+p99 ms @ half load'.padEnd(20)}${lat.join('')}${'≤ 1 ms'.padStart(8)}`);
    console.log('\nload balancer (host → LB → node → pod, ratio to direct in the same rounds; goal keep-alive ≥ 0.85 nftables, ≥ 0.6 userspace):');
    for (const [m, r] of summary) {
      for (const lbMode of LB_MODES) {
        const lr = r.lb?.[lbMode];
        if (!lr) continue;
        const p = `host-lb-${lbMode}`;
        const cells = Object.keys(goals).map((t) => {
          const metric = t === 'bulk TCP Mbit/s' ? 'mbps' : 'rps';
          return `${t.split(' ')[0]} ${f(lr[t][p][metric] / lr[t].direct[metric], 2)}`;
        });
        console.log(`  kube-proxy ${m.padEnd(10)} LB ${lbMode.padEnd(10)} ${cells.join('  ')}  +p99 ${f(lr.latency[p].p99 - lr.latency.direct.p99, 3)} ms @ ${lr.latencyRate}/s`);
      }
    }
    for (const [m, r] of summary) if (r.deadNode) console.log(`  kube-proxy ${m.padEnd(10)} dead node out after max ${f(Math.max(...r.deadNode.out), 0)} ms (goal ≤ 4000 ms), back after max ${f(Math.max(...r.deadNode.back), 0)} ms`);
    console.log('\ningress (host → LB → node → controller → pod, ratio to direct; goal keep-alive ≥ 0.5, +p99 ≤ 2 ms at half of the path’s own rate):');
    for (const [m, r] of summary) {
      const g = r.ingress;
      if (!g) continue;
      const cell = (t) => f(g[t]['host-ingress'].rps / g[t].direct.rps, 2);
      console.log(`  kube-proxy ${m.padEnd(10)} keep-alive ${cell('keep-alive req/s')}  new conn ${cell('new conn req/s')}  new HTTPS conn ${cell('new HTTPS conn req/s')}  +p99 ${f(g.latency['host-ingress'].p99 - g.latency.direct.p99, 3)} ms @ ${g.latencyRate}/s`);
    }
  }
} finally {
  apiAgent.destroy();
}
