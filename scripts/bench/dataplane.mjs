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
 *   host-lb-nftables / host-lb-userspace   (phase lb)
 *                  the host ─▶ load balancer (.3) ─▶ some node:nodePort ─▶ pod (node-2)
 *   host-ingress   (phase ingress) the host ─▶ LB ─▶ node ─▶ ingress controller pod ─▶ pod
 *
 * Each path's ratio is to its own baseline in the same rounds: pod-clusterip
 * to pod-direct, every other path to direct (the host has no route to pods).
 *
 * Load generators, run inside the client's namespace (node-1, the client pod
 * or the host), each figure says which one produced it:
 *   keep-alive req/s   wrk -t1 -c16
 *   new conn req/s     wrk -t1 -c16 -H 'Connection: close'
 *   bulk TCP Mbit/s    iperf3 (client → server, first --warmup s omitted)
 *   bulk UDP Mbit/s    iperf3 -u -b 0 (what arrives at the server)
 *   UDP echo /s        this file's Node generator (8 in flight; no Debian tool measures an echo rate)
 *   p99 @ half load    this file's Node generator, open loop at half of direct's keep-alive
 *                      rate (capped by --latency-rate-max, default 2000: the generator's own limit; there is no wrk2 in Debian)
 *
 * Before every run the TIME_WAIT sockets and conntrack entries of earlier
 * runs are deleted (this cluster's namespaces; on the host, this cluster's
 * subnet and server pod only), and the clients in node-1 and the client pod
 * may reuse ports in TIME_WAIT (tcp_tw_reuse=1): a new-connection run opens
 * more connections than there are ephemeral ports, and without this later
 * runs from node-1 fell to a tenth of the first ones.
 *
 * Placement: the client tool, the server pod's processes and every proxy
 * process (kube-proxy on each node, the load balancer) are pinned with taskset
 * to --cpus client,server,proxy (default 0,1,1); the placement is printed.
 *
 * Rounds: --rounds (≥ 5 for a result) interleaved rounds of --seconds (≥ 5)
 * per path, each path's first run in a round preceded by --warmup s of the
 * same load that is thrown away. In a round each path runs right beside its
 * baseline (direct, clusterip, direct, nodeport, …; reversed on odd rounds),
 * taking turns in --slices short runs (default: 1 s each; direct, clusterip,
 * clusterip, direct, direct, clusterip, …), and its ratio for that round is
 * its mean rate over its slices ÷ its baseline's over theirs. This machine's
 * speed moves by 5–20 % between runs seconds apart (a VM's neighbours): a
 * pair of long runs keeps that, many alternating slices average it out.
 * Every path and every ratio prints min / median / max over the rounds; a
 * ratio whose max − min exceeds 0.1 is marked UNSTABLE and is not a result.
 *
 * --against REV builds REV in a temporary git worktree, starts its cluster
 * beside this tree's (benchnfo / benchuso), interleaves both clusters' runs
 * in the same rounds and prints new ÷ old for every path and test.
 *
 * Then 1,000 Services × 10 endpoints are created and the time from an
 * EndpointSlice write to every kube-proxy applying it is measured.
 *
 * Usage: sudo node scripts/bench/dataplane.mjs [--modes nftables,userspace] [--phases proxy,lb,ingress]
 *   [--tests keepalive,newconn,bulk,udp,echo,latency] [--paths direct,clusterip,…]
 *   [--seconds 5] [--slices 5] [--rounds 5] [--warmup 1] [--cpus 0,1,1] [--services 1000] [--no-dataplane]
 *   [--against REV] [--json FILE] [--verbose] [--smoke]
 * --verbose: every run's figure as it ends (the JSON file has them all, as `runs`).
 * --smoke: 1 s runs, 1 round, no warm-up, 20 Services, keep-alive only through the LB and ingress,
 * one dead-node cycle (checks the bench still starts and every tool runs; no figure is a result).
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import http from 'node:http';
import dgram from 'node:dgram';
import { ROOT, deleteTimeWait, f, fail, fs, interleave, loadavg, metric, needRoot, onExit, options, pin, placement, againstTree, ratios, stats, writeMetrics, UNSTABLE_SPREAD } from './lib.mjs';

const SELF = new URL(import.meta.url).pathname;

// ---------------------------------------------------------------- Node load generator (runs inside a namespace)
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

async function load({ kind, host, port, seconds, warmup, concurrency, rate, hostHeader }) {
  const start = performance.now();
  const measureFrom = start + warmup * 1000;
  const end = measureFrom + seconds * 1000;
  const lat = [];
  let count = 0;
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
      const req = secure ? https.get({ ...opts, servername: hostHeader, rejectUnauthorized: false }, onRes) : http.get(opts, onRes);
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
  const result = () => ({ value: count / seconds, p50: pct(lat, 50), p99: pct(lat, 99), errors });
  if (kind === 'tlsnew' || kind === 'newconn') {
    // a new (TLS) connection per request, handshake included, as many short-lived clients do
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await httpOnce(false, kind === 'tlsnew');
    }));
    return result();
  }
  if (kind === 'rate') {
    // open loop at `rate` requests/s (1 ms ticks) over up to `concurrency` keep-alive connections
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const inflight = new Set();
    let due = 0;
    await new Promise((done) => {
      const t = setInterval(() => {
        if (performance.now() > end) {
          clearInterval(t);
          Promise.all(inflight).then(done);
          return;
        }
        due += rate / 1000;
        while (due >= 1) {
          due--;
          const p = httpOnce(agent).then(() => inflight.delete(p));
          inflight.add(p);
        }
      }, 1);
    });
    return result();
  }
  if (kind === 'udp') {
    const payload = Buffer.alloc(64, 'x');
    await Promise.all(Array.from({ length: concurrency }, () => new Promise((res) => {
      const s = dgram.createSocket('udp4');
      let t0 = 0;
      let timer;
      const send = () => {
        if (performance.now() > end) {
          clearTimeout(timer);
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
    return result();
  }
  throw new Error(`unknown load kind ${kind}`);
}

// ---------------------------------------------------------------- options
const o = options();
const SMOKE = o.flag('smoke');
const MODES = o.list('modes', 'nftables,userspace');
/** proxy (the kube-proxy paths), lb (both LB modes), ingress. */
const PHASES = o.list('phases', 'proxy,lb,ingress');
const SECONDS = Math.max(1, Math.round(o.num('seconds', SMOKE ? 1 : 5)));
const ROUNDS = Math.max(1, o.num('rounds', SMOKE ? 1 : 5));
const WARMUP = Math.max(0, Math.round(o.num('warmup', SMOKE ? 0 : 1)));
/** A path's run in a round is --slices runs of --seconds ÷ --slices s, alternating with its baseline's (see measure). */
const SLICES = Math.max(1, Math.round(o.num('slices', SECONDS)));
if (SECONDS % SLICES) fail(`--slices ${SLICES} must divide --seconds ${SECONDS} (the tools take whole seconds)`);
const SLICE_SECONDS = SECONDS / SLICES;
const NSERVICES = o.num('services', SMOKE ? 20 : 1000);
const CPUS = placement(o.str('cpus', '0,1,1'));
const AGAINST = o.str('against', undefined);
const JSON_OUT = o.str('json', undefined);
const LATENCY_RATE_MAX = o.num('latency-rate-max', 2000);
/** --verbose: every run's figure as it ends. */
const VERBOSE = o.flag('verbose');
/** Every run's figure, by test and series (in the JSON file as `runs`). */
const RAW = {};
const ALL_TESTS = ['keepalive', 'newconn', 'bulk', 'udp', 'echo', 'latency'];
const TESTS = o.list('tests', ALL_TESTS.join(','));
const ALL_PATHS = ['direct', 'clusterip', 'nodeport', 'pod-direct', 'pod-clusterip', 'host-nodeport'];
const PATHS = o.list('paths', ALL_PATHS.join(','));
/** The LB and ingress phases: a smoke only checks that their paths carry traffic. */
const EDGE_TESTS = SMOKE ? ['keepalive'] : TESTS;
for (const t of TESTS) if (!ALL_TESTS.includes(t)) fail(`--tests: unknown test ${t}; pick from ${ALL_TESTS.join(',')}`);
for (const p of PATHS) if (!ALL_PATHS.includes(p)) fail(`--paths: unknown path ${p}; pick from ${ALL_PATHS.join(',')}`);
for (const m of MODES) if (!['nftables', 'userspace'].includes(m)) fail(`--modes: unknown mode ${m}; pick nftables, userspace or both`);

needRoot('scripts/bench/dataplane.mjs');
for (const tool of ['wrk', 'iperf3', 'taskset', 'nsenter', 'conntrack', 'kubectl']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) fail(`${tool} is not on PATH: install it (apt-get install -y wrk iperf3 util-linux conntrack) and run the bench again`);
}
if (!SMOKE && (ROUNDS < 5 || SECONDS < 5)) console.log(`note: ${ROUNDS} rounds of ${SECONDS} s — fewer than 5 × 5 s, so these figures are for development, not results`);

/**
 * Goals. Through kube-proxy NodePort is the goal path (ratio to direct):
 * nftables is a kernel data plane, userspace a relay; added p99 ≤ 1 ms.
 * The LB: keep-alive ≥ 0.85 (nftables LB) / 0.6 (userspace LB); ingress:
 * keep-alive ≥ 0.5, added p99 ≤ 2 ms.
 */
const GOALS = {
  nftables: { keepalive: 0.95, newconn: 0.95, bulk: 0.95, latency: 1 },
  userspace: { keepalive: 0.85, newconn: 0.6, bulk: 0.7, latency: 1 },
};
function goalFor(mode, phase, path, test) {
  if (phase === 'proxy') {
    if (path !== 'nodeport' || GOALS[mode][test] === undefined) return undefined;
    return test === 'latency' ? ['<=', GOALS[mode].latency] : ['>=', GOALS[mode][test]];
  }
  if (phase.startsWith('lb-') && test === 'keepalive') return ['>=', phase === 'lb-nftables' ? 0.85 : 0.6];
  if (phase === 'ingress' && test === 'keepalive') return ['>=', 0.5];
  if (phase === 'ingress' && test === 'latency') return ['<=', 2];
  return undefined;
}

// ---------------------------------------------------------------- clusters
const trees = [{ label: 'new', root: ROOT }];
const cleanups = [];
const clusters = new Set();
onExit(() => {
  for (const c of clusters) c.down();
  for (const c of cleanups) c();
});
const old = againstTree(o, cleanups);
if (old) trees.push(old);

const SERVER = `const http=require('http'),dgram=require('dgram');
http.createServer((q,s)=>s.end('ok')).listen(8080);
const u=dgram.createSocket('udp4');u.on('message',(m,r)=>u.send(m,r.port,r.address));u.bind(9001);
console.log('bench server up');`;

class Cluster {
  constructor(mode, tree) {
    this.mode = mode;
    this.tree = tree;
    this.label = tree.label;
    this.name = `${mode === 'userspace' ? 'benchus' : 'benchnf'}${tree.label === 'old' ? 'o' : ''}`;
    this.kubemu = join(tree.root, 'packages/cli/bin/kubemu.js');
    this.apiCreds = undefined;
    this.apiAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  }
  down() {
    spawnSync(process.execPath, [this.kubemu, 'down', '--name', this.name], { encoding: 'utf8' });
  }
  up() {
    this.down();
    clusters.add(this);
    const addons = PHASES.includes('ingress') ? ['--addons', 'ingress'] : [];
    console.log(`• kubemu up --name ${this.name} --nodes 3 --proxy-mode ${this.mode} (${this.label === 'old' ? `${this.tree.sha.slice(0, 12)}, --against` : 'this tree'})`);
    const r = spawnSync(process.execPath, [this.kubemu, 'up', '--name', this.name, '--nodes', '3', '--proxy-mode', this.mode, ...addons], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubemu up --name ${this.name} failed:\n${(r.stderr || r.stdout).slice(-2000)}\nsee /var/lib/kubemu/${this.name}/ for its logs`);
    this.kubeconfig = execFileSync(process.execPath, [this.kubemu, 'kubeconfig', '--name', this.name], { encoding: 'utf8' }).trim();
  }
  teardown() {
    console.log(`• tearing ${this.name} down`);
    this.down();
    clusters.delete(this);
    this.apiAgent.destroy();
  }
  kubectl(args, input) {
    const r = spawnSync('kubectl', ['--kubeconfig', this.kubeconfig, ...args], { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} (cluster ${this.name}): ${r.stderr}`);
    return r.stdout;
  }
  get(...what) {
    return JSON.parse(this.kubectl(['get', ...what, '-o', 'json']));
  }
  record() {
    return JSON.parse(readFileSync(`/var/lib/kubemu/${this.name}/cluster.json`, 'utf8'));
  }
  /** The server pod (node-2), a client pod (node-1) and the bench Service; fills this.paths. */
  async deploy() {
    const pinned = (argv) => ['taskset', '-c', String(CPUS.server), ...argv];
    this.kubectl(['apply', '--validate=false', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench-server', labels: { app: 'bench' } }, spec: { nodeName: 'node-2', containers: [
          { name: 's', image: 'bench', command: pinned([process.execPath, '-e', SERVER]), ports: [{ containerPort: 8080 }, { containerPort: 9001, protocol: 'UDP' }] },
          { name: 'iperf3', image: 'bench', command: pinned(['iperf3', '-s', '-p', '9000']), ports: [{ containerPort: 9000 }, { containerPort: 9000, protocol: 'UDP' }] },
        ] } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench-client' }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost', args: ['pause'] }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench' }, spec: { type: 'LoadBalancer', selector: { app: 'bench' }, ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'bulk', port: 9000, targetPort: 9000 },
          // iperf3 -u keeps its control connection on TCP 9000 and sends its datagrams to UDP 9000 (same node port)
          { name: 'bulk-udp', port: 9000, targetPort: 9000, protocol: 'UDP' },
          { name: 'udp', port: 9001, targetPort: 9001, protocol: 'UDP' },
        ] } },
      ],
    }));
    let pod;
    let client;
    for (let i = 0; ; i++) {
      pod = this.get('pod', 'bench-server');
      client = this.get('pod', 'bench-client');
      const eps = this.get('endpoints', 'bench');
      if (pod.status.podIP && eps.subsets?.[0]?.addresses?.length && client.status.phase === 'Running' && pod.status.containerStatuses?.every((c) => c.ready)) break;
      if (i > 300) throw new Error(`bench server not ready in 30 s in cluster ${this.name}; see kubectl --kubeconfig ${this.kubeconfig} describe pod bench-server`);
      await sleep(100);
    }
    await sleep(500);
    const svc = this.get('svc', 'bench');
    const np = Object.fromEntries(svc.spec.ports.map((p) => [p.name, p.nodePort]));
    if (np.bulk !== np['bulk-udp']) throw new Error(`TCP and UDP 9000 got different node ports (${np.bulk}, ${np['bulk-udp']}); iperf3 -u needs one`);
    const node3 = this.get('node', 'node-3').status.addresses.find((a) => a.type === 'InternalIP').address;
    const node1 = `km-${this.name}-node-1`;
    const clientPod = `km-${this.name}-p-${client.metadata.uid.replace(/-/g, '').slice(0, 12)}`;
    const direct = { host: pod.status.podIP, http: 8080, bulk: 9000, udp: 9001 };
    const clusterip = { host: svc.spec.clusterIP, http: 80, bulk: 9000, udp: 9001 };
    const nodeport = { host: node3, http: np.http, bulk: np.bulk, udp: np.udp };
    // A run opens more connections than there are ephemeral ports: the clients this bench owns
    // (node-1, the client pod) may reuse a port still in TIME_WAIT (timestamps keep it safe).
    this.podNamespaces = [clientPod, `km-${this.name}-p-${pod.metadata.uid.replace(/-/g, '').slice(0, 12)}`];
    for (const ns of [node1, clientPod]) spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1'], { stdio: 'ignore' });
    this.paths = {
      direct: { from: node1, ...direct, base: 'direct' },
      clusterip: { from: node1, ...clusterip, base: 'direct' },
      nodeport: { from: node1, ...nodeport, base: 'direct' },
      'pod-direct': { from: clientPod, ...direct, base: 'pod-direct' },
      'pod-clusterip': { from: clientPod, ...clusterip, base: 'pod-direct' },
      'host-nodeport': { from: null, ...nodeport, base: 'direct' },
    };
    this.pinProxies();
  }
  /** Forgets what the last run left (TIME_WAIT sockets and conntrack entries; see deleteTimeWait): this cluster's namespaces, and on the host its subnet and server pod. */
  clearTimeWait() {
    deleteTimeWait({ namespaces: this.namespaces, podNamespaces: this.podNamespaces, subnet: this.record().subnet, hostDsts: this.paths ? [this.paths.direct.host] : [] });
  }
  get namespaces() {
    const rec = this.record();
    return [...rec.nodes.map((n) => n.netns), ...(rec.loadBalancer ? [rec.loadBalancer.netns] : [])];
  }
  /** kube-proxy on every node and the load balancer → the proxy CPU; returns what was pinned. */
  pinProxies() {
    const rec = this.record();
    const out = [];
    for (const [k, pid] of Object.entries(rec.pids)) {
      if (k.endsWith('/kube-proxy') || k === 'load-balancer') if (pin(pid, CPUS.proxy)) out.push(`${k} (${pid})`);
    }
    this.pinned = out;
    return out;
  }
  // ---------------------------------------------------------------- API (programming latency)
  api(method, path, body) {
    if (!this.apiCreds) {
      const cfg = readFileSync(this.kubeconfig, 'utf8');
      this.apiCreds = { server: /server: (\S+)/.exec(cfg)[1], ca: Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)[1], 'base64'), token: /token: (\S+)/.exec(cfg)[1] };
    }
    const { server, ca, token } = this.apiCreds;
    const u = new URL(path, server);
    return new Promise((res, rej) => {
      const req = https.request({ method, host: u.hostname, port: u.port, path: u.pathname + u.search, ca, agent: this.apiAgent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => (r.statusCode >= 300 ? rej(new Error(`${method} ${path}: ${r.statusCode} ${b.slice(0, 200)}`)) : res(JSON.parse(b))));
      });
      req.on('error', rej);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- load tools
/** Runs argv pinned to the client CPU inside network namespace `netns` (null: the host's); resolves its stdout. */
function inNs(netns, argv, timeoutMs) {
  const cmd = [...(netns ? ['nsenter', `--net=/run/netns/${netns}`, '--'] : []), 'taskset', '-c', String(CPUS.client), ...argv];
  return new Promise((res, rej) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) res(out);
      else rej(Object.assign(new Error(`${argv[0]} in ${netns ?? 'the host'} exited ${code ?? sig}: ${(err || out).trim().slice(0, 400)}`), { out }));
    });
  });
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const lat = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
  };
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  // with Connection: close the server's close is the normal end of each response, not an error
  const errors = (se ? Number(se[1]) + Number(se[3]) + Number(se[4]) : 0) + non2xx;
  if (!Number.isFinite(rps)) throw new Error(`wrk printed no Requests/sec:\n${out.slice(0, 400)}`);
  return { value: rps, p50: lat(50), p99: lat(99), errors };
}

/** `time`: { seconds, warmup } of one run (a slice: see measure). */
async function wrk(from, host, port, { close = false, hostHeader } = {}, { seconds, warmup }) {
  const url = `http://${host}:${port}/`;
  const base = ['wrk', '-t1', '-c16', '--latency', '--timeout', '2s', ...(close ? ['-H', 'Connection: close'] : []), ...(hostHeader ? ['-H', `Host: ${hostHeader}`] : [])];
  if (warmup > 0) await inNs(from, [...base, `-d${warmup}s`, url], (warmup + 20) * 1000);
  return parseWrk(await inNs(from, [...base, `-d${seconds}s`, url], (seconds + 20) * 1000));
}

async function iperf(from, host, port, udp, { seconds, warmup }) {
  const argv = ['iperf3', '-c', host, '-p', String(port), '-t', String(seconds), '-O', String(warmup), '-J', '--connect-timeout', '3000', ...(udp ? ['-u', '-b', '0'] : [])];
  for (let attempt = 1; ; attempt++) {
    let j;
    try {
      j = JSON.parse(await inNs(from, argv, (seconds + warmup + 20) * 1000));
    } catch (e) {
      // iperf3 -J prints its error as JSON and exits 1; a server still closing the previous test says "busy"
      let msg = e.message;
      try {
        msg = JSON.parse(e.out).error ?? msg;
      } catch {}
      if (attempt < 4) {
        await sleep(1000);
        continue;
      }
      throw new Error(`iperf3 to ${host}:${port}${udp ? ' (UDP)' : ''} from ${from ?? 'the host'}: ${msg}`);
    }
    if (udp) return { value: j.end.sum_received.bits_per_second / 1e6, lost: j.end.sum_received.lost_percent, errors: 0 };
    return { value: j.end.sum_received.bits_per_second / 1e6, retransmits: j.end.sum_sent.retransmits ?? 0, errors: 0 };
  }
}

async function nodeLoad(from, cfg, { seconds, warmup }) {
  return JSON.parse(await inNs(from, [process.execPath, SELF, '--load', JSON.stringify({ seconds, warmup, ...cfg })], (seconds + warmup + 30) * 1000));
}

/** The tests: how one run goes over path `p`, and which tool produced the figure. */
const TEST_DEFS = {
  keepalive: { label: 'keep-alive req/s', tool: 'wrk -t1 -c16', run: (p, _, time) => wrk(p.from, p.host, p.http, { hostHeader: p.hostHeader }, time) },
  newconn: { label: 'new conn req/s', tool: "wrk -t1 -c16 -H 'Connection: close'", run: (p, _, time) => wrk(p.from, p.host, p.http, { close: true, hostHeader: p.hostHeader }, time) },
  bulk: { label: 'bulk TCP Mbit/s', tool: 'iperf3', run: (p, _, time) => iperf(p.from, p.host, p.bulk, false, time) },
  udp: { label: 'bulk UDP Mbit/s', tool: 'iperf3 -u -b 0', run: (p, _, time) => iperf(p.from, p.host, p.bulk, true, time) },
  echo: { label: 'UDP echo /s', tool: 'node generator (8 in flight)', run: (p, _, time) => nodeLoad(p.from, { kind: 'udp', host: p.host, port: p.udp, concurrency: 8 }, time) },
  latency: { label: 'p99 ms at a fixed rate', tool: 'node generator (open loop)', metric: 'p99', run: (p, rate, time) => nodeLoad(p.from, { kind: 'rate', host: p.host, port: p.http, hostHeader: p.hostHeader, concurrency: 64, rate }, time) },
  tlsnew: { label: 'new HTTPS conn req/s', tool: 'node generator (16 in flight)', run: (p, _, time) => nodeLoad(p.from, p.https ? { kind: 'tlsnew', host: p.host, port: p.https, hostHeader: p.hostHeader, concurrency: 16 } : { kind: 'newconn', host: p.host, port: p.http, concurrency: 16 }, time) },
};

// ---------------------------------------------------------------- measuring
const metrics = [];

/**
 * Runs test `t` over `paths` (name → path, per cluster) in interleaved rounds
 * across all clusters; prints every path's min/median/max, its ratio to its
 * baseline and (with --against) new ÷ old; adds the ratios to `metrics`.
 */
async function measure(cs, phase, paths, t, { rate } = {}) {
  const def = TEST_DEFS[t];
  const key = def.metric ?? 'value';
  // A unit is a path and its baseline (with --against, in both trees): a ratio compares runs
  // seconds apart, not a whole round apart. In a round a unit's
  // --seconds per member are --slices short runs, the members taking turns (A B, B A, A B, …,
  // starting with the other member on odd rounds): this machine's speed moves between runs
  // even seconds apart, and a ratio of many alternating slices averages that away where one
  // pair of long runs cannot. A percentile (the latency test) is over one whole run, not sliced.
  const baseOf = (p) => cs[0].pathsFor(phase)[p].base;
  const units = [];
  const unit = (members) => {
    const u = [];
    for (const [key, p] of members) for (const c of cs) u.push({ key: `${c.label}:${key}`, c, p });
    units.push({ key: u.map((m) => m.key).join('+'), members: u });
  };
  for (const p of paths) {
    if (p !== baseOf(p)) unit([[`${baseOf(p)}@${p}`, baseOf(p)], [p, p]]);
    else if (!paths.some((q) => q !== p && baseOf(q) === p)) unit([[p, p]]);
  }
  const label = `${def.label}${rate ? ` @ ${rate}/s` : ''}`;
  const slices = def.metric ? 1 : SLICES;
  const sliceSeconds = def.metric ? SECONDS : SLICE_SECONDS;
  const byUnit = await interleave(units, ROUNDS, async (u, round) => {
    const got = u.members.map(() => []);
    for (let k = 0; k < slices; k++) {
      const order = u.members.map((_, i) => i);
      if ((k + round) % 2) order.reverse();
      for (const i of order) {
        const m = u.members[i];
        for (const c of cs) c.clearTimeWait();
        // the first slice of a member in a round is preceded by its warm-up
        got[i].push(await def.run(m.c.pathsFor(phase)[m.p], rate, { seconds: sliceSeconds, warmup: k === 0 ? WARMUP : 0 }));
      }
    }
    const out = got.map(combineSlices);
    if (VERBOSE) {
      for (const [i, m] of u.members.entries()) {
        const r = out[i];
        process.stdout.write(`[${m.key} ${f(r[key], def.metric ? 3 : 1)}${r.slices ? ` (${r.slices.map((x) => f(x, 0)).join(' ')})` : ''}${r.errors ? ` errors ${r.errors}` : ''}] `);
      }
    }
    return out;
  }, `${cs[0].mode} ${phase} ${label}`);
  const runs = new Map();
  for (const u of units) u.members.forEach((m, i) => runs.set(m.key, byUnit.get(u.key).map((r) => r[i])));
  RAW[`${cs[0].mode} ${phase} ${label}`] = Object.fromEntries([...runs].map(([k, rs]) => [k, rs.map((r) => r[key])]));
  /** A path's runs; a baseline's are all its runs (beside every path that uses it), or those beside path `beside`. */
  const runsOf = (c, p, beside) => (beside ? runs.get(`${c.label}:${p}@${beside}`) : [...runs].filter(([k]) => k === `${c.label}:${p}` || k.startsWith(`${c.label}:${p}@`)).flatMap(([, r]) => r));
  const vals = (c, p, beside) => runsOf(c, p, beside).map((r) => r[key]);
  console.log(`\n${label} — ${def.tool}; ${ROUNDS} round(s) × ${SECONDS} s${slices > 1 ? ` (${slices} alternating slices of ${sliceSeconds} s)` : ''}; load average ${loadavg()}; min / median / max${def.metric ? '; + = added p99 over its baseline' : '; ratio = path ÷ its baseline, same rounds'}${cs.length > 1 ? '; new ÷ old = this tree ÷ --against, same rounds' : ''}`);
  console.log(`  ${'path'.padEnd(16)}${cs.map((c) => `${c.label} ${def.metric ? 'p99 ms' : 'value'}`.padStart(26) + (def.metric ? '+ms'.padStart(22) : 'ratio'.padStart(22))).join('')}${cs.length > 1 ? (def.metric ? 'new − old ms' : 'new ÷ old').padStart(22) : ''}  errors`);
  for (const p of paths) {
    const c0 = cs[0];
    const base = c0.pathsFor(phase)[p].base;
    let line = `  ${p.padEnd(16)}`;
    for (const c of cs) {
      const v = vals(c, p);
      const s = stats(v);
      line += fs(s, def.metric ? 3 : 1).padStart(26);
      if (p === base) {
        line += ''.padStart(22);
        continue;
      }
      const b = vals(c, base, p);
      const rv = def.metric ? v.map((x, i) => x - b[i]) : ratios(v, b);
      const rs = stats(rv);
      const unstable = !def.metric && rs.max - rs.min > UNSTABLE_SPREAD;
      line += `${fs(rs, def.metric ? 3 : 2)}${unstable ? '!' : ' '}`.padStart(22);
      if (c.label === 'new') {
        metrics.push(metric({ bench: 'dataplane', name: `${c.mode} ${p} ${def.metric ? `+p99 ms @ ${rate}/s` : `${def.label} ÷ ${base}`}`, unit: def.metric ? 'ms' : '×', tool: def.tool, values: rv, goal: goalFor(c.mode, phase, p, t), ratio: !def.metric }));
      }
    }
    if (cs.length > 1) {
      const [n, old] = cs;
      // a baseline beside several paths: its new and old runs pair up in the same order
      const rv = def.metric ? vals(n, p).map((x, i) => x - vals(old, p)[i]) : ratios(vals(n, p), vals(old, p));
      const rs = stats(rv);
      const unstable = !def.metric && rs.max - rs.min > UNSTABLE_SPREAD;
      line += `${fs(rs, def.metric ? 3 : 2)}${unstable ? '!' : ' '}`.padStart(22);
      metrics.push(metric({ bench: 'dataplane', name: `${n.mode} ${phase === 'proxy' ? '' : `${phase} `}${p} ${def.label}${rate ? ` @ ${rate}/s` : ''} new ${def.metric ? '− old ms' : '÷ old'}`, unit: def.metric ? 'ms' : '×', tool: def.tool, values: rv, ratio: !def.metric, goal: def.metric ? undefined : ['>=', 0.95] }));
    }
    line += `  ${cs.map((c) => runsOf(c, p).reduce((a, r) => a + (r.errors ?? 0), 0)).join('/')}`;
    console.log(line);
  }
  console.log(`  (! = max − min > ${UNSTABLE_SPREAD}: unstable, not a result; a baseline's figures are all its runs, beside each path)`);
  return { vals };
}

/** One round's figure of a member from its slices: the mean rate over equal slices (the total ÷ the time); errors add up. */
function combineSlices(rs) {
  if (rs.length === 1) return rs[0];
  const sum = (k) => rs.reduce((a, r) => a + (r[k] ?? 0), 0);
  const out = { value: sum('value') / rs.length, errors: sum('errors'), slices: rs.map((r) => r.value) };
  if (rs[0].retransmits !== undefined) out.retransmits = sum('retransmits');
  if (rs[0].lost !== undefined) out.lost = sum('lost') / rs.length; // a percentage: the mean over equal slices
  return out;
}

Cluster.prototype.pathsFor = function pathsFor(phase) {
  return this.phasePaths?.[phase] ?? this.paths;
};

function printPlacement(cs) {
  console.log(`\nplacement (taskset): client tools (wrk, iperf3 -c, node generator) on CPU ${CPUS.client}; server pod (node http, iperf3 -s) on CPU ${CPUS.server}; proxies on CPU ${CPUS.proxy}:`);
  for (const c of cs) console.log(`  ${c.name}: ${c.pinned.join(', ')}${c.mode === 'nftables' ? ' (nftables mode: the kernel forwards; kube-proxy only programs)' : ''}`);
  console.log('  everything else (api-server, node agents, the kernel’s softirqs) is unpinned');
  console.log('  clients in node-1 and the client pod: net.ipv4.tcp_tw_reuse=1; before each run the TIME_WAIT sockets and conntrack entries of earlier runs are deleted');
}

async function proxyPhase(cs) {
  const paths = PATHS;
  if (!paths.includes('direct') || (paths.includes('pod-clusterip') && !paths.includes('pod-direct'))) fail('--paths must include each path’s baseline: direct (and pod-direct for pod-clusterip)');
  const runs = {};
  for (const t of TESTS.filter((x) => x !== 'latency')) runs[t] = await measure(cs, 'proxy', paths, t);
  if (TESTS.includes('latency')) {
    const direct = runs.keepalive ? stats(runs.keepalive.vals(cs[0], 'direct')).median : 4000;
    const rate = Math.max(50, Math.min(LATENCY_RATE_MAX, Math.floor(direct / 2)));
    await measure(cs, 'proxy', paths, 'latency', { rate });
  }
}

async function lbPhase(cs) {
  for (const lbMode of ['nftables', 'userspace']) {
    for (const c of cs) {
      await restartLoadBalancer(c, lbMode);
      c.phasePaths = { ...c.phasePaths, [`lb-${lbMode}`]: { direct: c.paths.direct, [`host-lb-${lbMode}`]: { from: null, host: c.lbIP, http: 80, bulk: 9000, udp: 9001, base: 'direct' } } };
    }
    const paths = ['direct', `host-lb-${lbMode}`];
    for (const t of EDGE_TESTS.filter((x) => x !== 'latency')) await measure(cs, `lb-${lbMode}`, paths, t);
    if (EDGE_TESTS.includes('latency')) await measure(cs, `lb-${lbMode}`, paths, 'latency', { rate: Math.min(LATENCY_RATE_MAX, 1000) });
  }
  for (const c of cs) await restartLoadBalancer(c, 'nftables');
  const dead = await deadNodeDetection(cs[0]);
  metrics.push(metric({ bench: 'dataplane', name: `${cs[0].mode} LB: dead node out of the backends, ms`, unit: 'ms', tool: 'LB /healthz polling', values: dead.out, goal: ['<=', 4000] }));
}

async function ingressPhase(cs) {
  for (const c of cs) {
    c.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'bench' },
      spec: { rules: [{ host: 'bench.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'bench', port: { name: 'http' } } } }] } }] },
    }));
    const ip = await waitIngress(c);
    c.phasePaths = { ...c.phasePaths, ingress: { direct: c.paths.direct, 'host-ingress': { from: null, host: ip, http: 80, https: 443, hostHeader: 'bench.example', base: 'direct' } } };
  }
  const paths = ['direct', 'host-ingress'];
  for (const t of ['keepalive', 'newconn', 'tlsnew'].filter((x) => x === 'tlsnew' || EDGE_TESTS.includes(x))) await measure(cs, 'ingress', paths, t);
  if (EDGE_TESTS.includes('latency')) await measure(cs, 'ingress', paths, 'latency', { rate: Math.min(LATENCY_RATE_MAX, 1000) });
}

/** The ingress controller's address once it routes bench.example to the server. */
async function waitIngress(c) {
  for (let i = 0; ; i++) {
    const svc = c.get('svc', '-n', 'ingress-kubemu', 'ingress-kubemu-controller');
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
    if (i > 600) throw new Error(`the ingress controller of ${c.name} did not route bench.example in 60 s`);
    await sleep(100);
  }
}

/**
 * How fast the LB stops sending to a node whose kube-proxy died (its /healthz
 * check fails) and takes it back once kube-proxy runs again: node-3's
 * kube-proxy is killed and restarted 3 times.
 */
async function deadNodeDetection(c) {
  const recPath = `/var/lib/kubemu/${c.name}/cluster.json`;
  const lbAddr = c.record().loadBalancer.ip;
  const backends = async () => (await getJSON(`http://${lbAddr}:10257/healthz`).catch(() => ({}))).frontends?.find((x) => x.ip === c.lbIP && x.port === 80)?.backends?.map((b) => b.node) ?? [];
  const out = [];
  const back = [];
  for (let i = 0; i < (SMOKE ? 1 : 3); i++) {
    const rec = c.record();
    const pid = rec.pids['node-3/kube-proxy'];
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGKILL');
    const t0 = performance.now();
    while ((await backends()).includes('node-3')) await sleep(20);
    out.push(performance.now() - t0);
    const child = spawn('nsenter', [`--net=/run/netns/km-${c.name}-node-3`, '--', 'taskset', '-c', String(CPUS.proxy), ...argv], { detached: true, stdio: 'ignore' });
    child.unref();
    rec.pids['node-3/kube-proxy'] = child.pid;
    writeFileSync(recPath, JSON.stringify(rec, null, 2));
    const t1 = performance.now();
    while (!(await backends()).includes('node-3')) await sleep(20);
    back.push(performance.now() - t1);
  }
  console.log(`\ndead node: out of the LB's backends after ${out.map((x) => f(x, 0)).join(', ')} ms (goal ≤ 2 check periods = 4000 ms); back ${back.map((x) => f(x, 0)).join(', ')} ms after kube-proxy was restarted`);
  return { out, back };
}

/** Restarts the cluster's load balancer in `lbMode` (pinned to the proxy CPU) and waits until it forwards the bench Service to every node. */
async function restartLoadBalancer(c, lbMode) {
  const recPath = `/var/lib/kubemu/${c.name}/cluster.json`;
  c.lbIP ??= c.get('svc', 'bench').status.loadBalancer.ingress[0].ip;
  const rec = c.record();
  const pid = rec.pids['load-balancer'];
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
      await sleep(50);
    } catch {
      break;
    }
  }
  const mi = argv.indexOf('--mode');
  if (mi >= 0) argv[mi + 1] = lbMode;
  else argv.push('--mode', lbMode);
  const child = spawn('nsenter', [`--net=/run/netns/${rec.loadBalancer.netns}`, '--', 'taskset', '-c', String(CPUS.proxy), ...argv], { detached: true, stdio: 'ignore' });
  child.unref();
  rec.pids['load-balancer'] = child.pid;
  writeFileSync(recPath, JSON.stringify(rec, null, 2));
  for (let i = 0; ; i++) {
    const st = await getJSON(`http://${rec.loadBalancer.ip}:10257/healthz`).catch(() => undefined);
    const fe = st?.frontends?.find((x) => x.ip === c.lbIP && x.port === 80);
    if (st?.mode === lbMode && fe?.backends?.length === 3) break;
    if (i > 200) throw new Error(`the load balancer of ${c.name} (${lbMode}) did not forward to 3 nodes in 20 s; see /var/lib/kubemu/${c.name}/ for its log`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------- programming latency
function getJSON(url) {
  return new Promise((res, rej) => {
    http.get(url, { agent: false }, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => {
        try {
          res(JSON.parse(b));
        } catch (e) {
          rej(e);
        }
      });
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

async function programming(c) {
  const nodeIPs = c.get('nodes').items.map((n) => n.status.addresses.find((a) => a.type === 'InternalIP').address);
  console.log(`\nprogramming latency (${c.name}): creating ${NSERVICES} Services × 10 endpoints…`);
  const t0 = Date.now();
  await pool(NSERVICES, 16, (i) => c.api('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: `s-${i}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }));
  const sliceRV = new Map();
  await pool(NSERVICES, 16, async (i) => {
    const obj = await c.api('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', sliceFor(i));
    sliceRV.set(`default/s-${i}`, Number(obj.metadata.resourceVersion));
  });
  const created = Date.now();
  // every node has applied every slice: the newest "applied at" over all of them
  const lastApplied = async (ip) => {
    for (;;) {
      const all = Object.entries(await getJSON(`http://${ip}:10256/applied`)).filter(([k, a]) => a.rv >= (sliceRV.get(k) ?? Infinity));
      if (all.length >= NSERVICES) return Math.max(...all.map(([, a]) => a.at));
      await sleep(50);
    }
  };
  const doneAt = Math.max(...(await Promise.all(nodeIPs.map(lastApplied))));
  console.log(`  created in ${((created - t0) / 1000).toFixed(1)} s; all applied on all nodes ${Math.max(0, doneAt - created)} ms after the last write returned`);
  const lat = [];
  const SAMPLES = SMOKE ? 10 : 200;
  for (let k = 0; k < SAMPLES; k++) {
    const i = Math.floor(Math.random() * NSERVICES);
    const cur = await c.api('GET', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/s-${i}-x`);
    const next = { ...sliceFor(i, cur.endpoints[0].conditions.ready !== false), metadata: { ...cur.metadata } };
    const w0 = Date.now();
    const obj = await c.api('PUT', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/s-${i}-x`, next);
    const rv = Number(obj.metadata.resourceVersion);
    const per = await Promise.all(nodeIPs.map((ip) => getJSON(`http://${ip}:10256/applied?service=default/s-${i}&rv=${rv}&timeoutMs=10000`)));
    if (per.some((p) => p.timeout)) {
      lat.push(Infinity);
      continue;
    }
    lat.push(Math.max(...per.map((p) => p.at)) - w0);
    await sleep(10);
  }
  const p99 = pct(lat, 99);
  console.log(`  EndpointSlice write → applied by all ${nodeIPs.length} kube-proxies (${SAMPLES} updates, ${NSERVICES} Services × 10 endpoints):`);
  console.log(`  p50 ${pct(lat, 50)} ms   p99 ${p99} ms   max ${Math.max(...lat)} ms   (goal p99 ≤ 100 ms)`);
  if (c.label === 'new') metrics.push(metric({ bench: 'dataplane', name: `${c.mode} EndpointSlice write → applied, p99 ms`, unit: 'ms', tool: 'kube-proxy /applied', values: [p99], goal: ['<=', 100] }));
  return p99;
}

// ---------------------------------------------------------------- main
const phases = { proxy: proxyPhase, lb: lbPhase, ingress: ingressPhase };
for (const ph of PHASES) if (!phases[ph]) fail(`--phases: unknown phase ${ph}; pick from proxy,lb,ingress`);
const t00 = Date.now();
for (const mode of MODES) {
  console.log(`\n═══ kube-proxy mode: ${mode} ═══`);
  const cs = trees.map((tree) => new Cluster(mode, tree));
  for (const c of cs) c.up();
  try {
    if (!o.flag('no-dataplane')) {
      for (const c of cs) await c.deploy();
      printPlacement(cs);
      for (const ph of PHASES) await phases[ph](cs);
    }
    if (NSERVICES > 0) {
      const p99s = [];
      for (const c of cs) p99s.push(await programming(c));
      if (cs.length > 1) console.log(`  programming p99 new ÷ old: ${f(p99s[0] / p99s[1], 2)} (one sample of 200 updates each, not interleaved)`);
    }
  } finally {
    for (const c of cs) c.teardown();
  }
}

// ---------------------------------------------------------------- summary
const ratioMetrics = metrics.filter((m) => m.ratio);
console.log(`\nsummary (${ROUNDS} round(s) × ${SECONDS} s, ${f((Date.now() - t00) / 60000, 1)} min): median (min–max) of per-round ratios; ! = unstable (max − min > ${UNSTABLE_SPREAD})`);
for (const m of metrics) {
  const st = SMOKE ? 'smoke' : m.unstable ? 'UNSTABLE' : m.met === null ? '' : m.met ? 'met' : 'NOT MET';
  console.log(`  ${m.name.padEnd(58)}${fs(m, m.unit === 'ms' ? 3 : 2).padStart(24)}${(m.goal ?? '').padStart(8)}  ${st.padEnd(9)}${m.tool}`);
}
const unstable = ratioMetrics.filter((m) => m.unstable).length;
console.log(`\n${ratioMetrics.length - unstable} of ${ratioMetrics.length} ratios stable; load average at the end: ${loadavg()}`);
writeMetrics(JSON_OUT, 'dataplane', metrics, { runs: RAW, loadavg: loadavg(), rounds: ROUNDS, seconds: SECONDS, warmup: WARMUP, cpus: CPUS, against: trees[1]?.sha ?? null, modes: MODES, phases: PHASES });
if (JSON_OUT) console.log(`metrics written to ${JSON_OUT}`);
