/**
 * The netns runtime: `kubemu up` builds a cluster from Linux network
 * namespaces on this machine and starts its processes inside them;
 * `kubemu down` removes everything it made, also after a crash.
 *
 *   host ── bridge km-<name> 172.30.0.1 ──┬── km-<name>-control-plane .2  (control plane)
 *                                          ├── km-<name>-node-1 .11       (node-agent; pods 10.244.1.0/24)
 *                                          └── km-<name>-node-N .1N       (…)
 *
 * State: /var/lib/kubemu/<name>/ (cluster.json, control-plane data, logs);
 * pod state under /run/kubemu/<name>/.
 */
import type { ProxyMode } from '@kubemu/kube-proxy';
import { IpPool, LB_MODES, PoolError, type LbMode } from '@kubemu/load-balancer';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_SERVER_PORT, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, cidrContains, cidrOf, cidrsOverlap, clusterDNSIP, formatIPv4, hostAt, nodePodCIDR } from '@kubemu/api';
import { ClusterNetwork, ip, parseIpJson } from '@kubemu/netns';

export const STATE_ROOT = process.env.KUBEMU_STATE_ROOT ?? '/var/lib/kubemu';
export const RUN_ROOT = process.env.KUBEMU_RUN_ROOT ?? '/run/kubemu';

export interface NodeRecord {
  name: string;
  ip: string;
  podCIDR: string;
  netns: string;
}

export interface ClusterRecord {
  name: string;
  subnet: string;
  /** Pods' addresses (each node has a /24 of it) and cluster IPs. */
  podCIDR: string;
  serviceCIDR: string;
  controlPlane: { ip: string; netns: string; port: number };
  nodes: NodeRecord[];
  pids: Record<string, number>;
  /**
   * How each process in `pids` was started (same keys), so `kubemu chaos`
   * can start one again exactly as `up` did (absent on older clusters).
   */
  procs?: Record<string, ProcessSpec>;
  createdAt: string;
  /** kube-proxy's mode on every node. */
  proxyMode: ProxyMode;
  /** The load balancer: its own namespace on the node subnet (absent on clusters made before it existed). */
  loadBalancer?: { ip: string; netns: string; pool: string; mode: LbMode };
}

/** One of the cluster's processes: `node [nodeFlags] kubemu.js ...args` inside `netns`, output appended to `logFile`. */
export interface ProcessSpec {
  netns: string;
  args: string[];
  logFile: string;
  nodeFlags?: string[];
}

export class RuntimeError extends Error {
  readonly code = 'ERR_RUNTIME';
}

const CLI_BIN = resolve(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'kubemu.js');
const WORKLOADS = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'workloads', 'dist', 'main.js');

export function clusterDir(name: string): string {
  return join(STATE_ROOT, name);
}

export function kubeconfigPath(name: string): string {
  return join(clusterDir(name), 'control-plane', 'kubeconfig');
}

export function readRecord(name: string): ClusterRecord | undefined {
  const f = join(clusterDir(name), 'cluster.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as ClusterRecord;
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new RuntimeError(
      'kubemu up needs root to create network namespaces: run it with sudo. Without root, `npx kubemu control-plane --data-dir .kubemu/cp` runs the API alone (no nodes: pods stay Pending).',
    );
  }
}

/** Starts `args` of the kubemu CLI inside `netns`, detached, logging to `logFile`. */
function startIn(netns: string, args: string[], logFile: string, nodeFlags: string[] = []): number {
  const fd = openSync(logFile, 'a');
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, ...nodeFlags, CLI_BIN, ...args], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new RuntimeError(`could not start ${args[0]} in ${netns}; see ${logFile}`);
  return child.pid;
}

/**
 * Starts process `key` of the record (`control-plane`, `node-1/node-agent`,
 * …) as its spec says, and records the spec and the new pid in `rec` (the
 * caller saves it).
 */
export function startProcess(rec: ClusterRecord, key: string, spec?: ProcessSpec): number {
  const s = spec ?? rec.procs?.[key];
  if (!s) throw new RuntimeError(`cluster "${rec.name}" has no record of how ${key} was started (made by an older kubemu); restart the cluster with \`kubemu down\` and \`kubemu up\``);
  const pid = startIn(s.netns, s.args, s.logFile, s.nodeFlags);
  rec.procs = { ...(rec.procs ?? {}), [key]: s };
  rec.pids[key] = pid;
  return pid;
}

/** Writes `rec` back to its cluster.json (atomically). */
export function saveRecord(rec: ClusterRecord): void {
  const f = join(clusterDir(rec.name), 'cluster.json');
  writeFileSync(`${f}.tmp`, JSON.stringify(rec, null, 2));
  renameSync(`${f}.tmp`, f);
}

function ipAt(subnet: string, host: number): string {
  return formatIPv4(hostAt(cidrOf(subnet), host));
}

/** Destinations of the host's IPv4 routes (all tables), default routes left out. */
async function hostRoutes(): Promise<string[]> {
  const res = await ip(null, ['-j', '-4', 'route', 'show', 'table', 'all'], { allowFail: true });
  if (res.code !== 0) return [];
  return parseIpJson<{ dst: string; type?: string }>(res.stdout).filter((r) => r.dst !== 'default' && r.type !== 'broadcast' && r.type !== 'local').map((r) => r.dst);
}

async function pickSubnet(name: string, requested?: string): Promise<string> {
  if (requested) return requested;
  const taken = new Set<string>();
  for (const other of await ClusterNetwork.listClusters()) {
    if (other === name) continue;
    const rec = readRecord(other);
    if (rec) taken.add(rec.subnet);
  }
  // Also clear of what the host routes already (a docker compose cluster's network, a VPN, …).
  const routed = (await hostRoutes()).map((r) => (r.includes('/') ? r : `${r}/32`)).flatMap((r) => {
    try {
      return [cidrOf(r)];
    } catch {
      return [];
    }
  });
  for (let n = 0; n < 256; n++) {
    const s = `172.30.${n}.0/24`;
    if (!taken.has(s) && !routed.some((r) => cidrsOverlap(r, cidrOf(s)))) return s;
  }
  throw new RuntimeError('no free 172.30.N.0/24 subnet left for another cluster');
}

export interface UpOptions {
  name: string;
  nodes: number;
  subnet?: string;
  /** Default DEFAULT_POD_CIDR (each node gets a /24 of it). */
  podCIDR?: string;
  /** Default DEFAULT_SERVICE_CIDR. */
  serviceCIDR?: string;
  progress: (msg: string) => void;
  nodeGraceSeconds?: number;
  /** kube-proxy mode (default nftables). */
  proxyMode?: ProxyMode;
  /** LoadBalancer addresses (default .200-.250 of the node subnet). */
  lbPool?: string;
  /** The load balancer's data plane (default nftables). */
  lbMode?: LbMode;
}

/** The load balancer's place on the node subnet: .3. */
export const LB_HOST = 3;

/**
 * The pool for a cluster on `subnet`: `requested`, or .200-.250 of the subnet.
 * It must lie in the node subnet (the host and nodes reach it on the bridge)
 * and clear of the machines' addresses.
 */
export function lbPoolFor(subnet: string, nodes: number, requested?: string): string {
  const net = cidrOf(subnet);
  const spec = requested ?? `${ipAt(subnet, 200)}-${ipAt(subnet, 250)}`;
  let pool: IpPool;
  try {
    pool = new IpPool(spec);
  } catch (e) {
    throw new RuntimeError(`--lb-pool: ${(e as PoolError).message}`);
  }
  for (const r of pool.ranges) {
    if (!cidrContains(net, r.first) || !cidrContains(net, r.last)) throw new RuntimeError(`--lb-pool ${spec} must lie inside the node subnet ${subnet} (the host and the nodes reach the load balancer on its bridge)`);
  }
  const machines = [1, 2, LB_HOST, ...Array.from({ length: nodes }, (_, i) => 11 + i)].map((h) => ipAt(subnet, h));
  const clash = machines.find((m) => pool.contains(m));
  if (clash) throw new RuntimeError(`--lb-pool ${spec} contains ${clash}, a machine's address on ${subnet}; pick addresses above .${10 + nodes}`);
  return spec;
}

export async function up(opts: UpOptions): Promise<ClusterRecord> {
  requireRoot();
  const { name, progress } = opts;
  const existing = readRecord(name);
  if (existing && Object.values(existing.pids).some(alive)) {
    throw new RuntimeError(`cluster "${name}" is already up; run \`kubemu down --name ${name}\` first`);
  }
  if (existing || (await ClusterNetwork.listClusters()).includes(name)) {
    progress(`cleaning up what an earlier "${name}" left behind…`);
    await down(name, () => {});
  }
  if (opts.lbMode !== undefined && !(LB_MODES as readonly string[]).includes(opts.lbMode)) throw new RuntimeError(`--lb-mode wants one of ${LB_MODES.join(', ')}, got "${opts.lbMode}"`);
  const subnet = await pickSubnet(name, opts.subnet);
  const lbPool = lbPoolFor(subnet, opts.nodes, opts.lbPool);
  // Bundled before anything is made, so a failure here leaves nothing half-built.
  const workloads = await installWorkloads(name);
  const dir = clusterDir(name);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const podCIDR = opts.podCIDR ?? DEFAULT_POD_CIDR;
  const serviceCIDR = opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR;
  let net: ClusterNetwork;
  try {
    net = new ClusterNetwork({ cluster: name, nodeSubnet: subnet, podCIDR, serviceCIDR });
    nodePodCIDR(podCIDR, opts.nodes);
  } catch (err) {
    throw new RuntimeError((err as Error).message);
  }
  const rec: ClusterRecord = {
    name,
    subnet,
    podCIDR,
    serviceCIDR,
    controlPlane: { ip: ipAt(subnet, 2), netns: net.netnsName('control-plane'), port: API_SERVER_PORT },
    nodes: [],
    pids: {},
    procs: {},
    createdAt: new Date().toISOString(),
    proxyMode: opts.proxyMode ?? 'nftables',
    loadBalancer: { ip: ipAt(subnet, LB_HOST), netns: net.netnsName('load-balancer'), pool: lbPool, mode: opts.lbMode ?? 'nftables' },
  };
  const save = () => saveRecord(rec);
  save();
  progress(`network: bridge on ${subnet}`);
  await net.setupHost();
  await net.addNamespace('control-plane', rec.controlPlane.ip, { role: 'control-plane' });
  await net.addNamespace('load-balancer', rec.loadBalancer!.ip, { role: 'load-balancer' });
  for (let i = 1; i <= opts.nodes; i++) {
    const node: NodeRecord = { name: `node-${i}`, ip: ipAt(subnet, 10 + i), podCIDR: nodePodCIDR(podCIDR, i), netns: net.netnsName(`node-${i}`) };
    await net.addNamespace(node.name, node.ip, { role: 'node' });
    await net.addNodePodNetwork(node.name, node.podCIDR);
    rec.nodes.push(node);
  }
  await net.syncPodRoutes();
  save();

  const apiURL = `https://${rec.controlPlane.ip}:${rec.controlPlane.port}`;
  progress(`control plane: starting on ${rec.controlPlane.ip}:${rec.controlPlane.port}`);
  const cpDir = join(dir, 'control-plane');
  rmSync(join(cpDir, 'kubeconfig'), { force: true });
  startProcess(rec, 'control-plane', { netns: rec.controlPlane.netns, args: ['control-plane', '--data-dir', cpDir, '--listen', `${rec.controlPlane.ip}:${rec.controlPlane.port}`, '--service-cidr', serviceCIDR, '--node-monitor-grace-period', String(opts.nodeGraceSeconds ?? 40)], logFile: join(dir, 'logs', 'control-plane.log') });
  save();
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(cpDir, 'kubeconfig'))) {
    if (!alive(rec.pids['control-plane'])) throw new RuntimeError(`the control plane exited; see ${join(dir, 'logs', 'control-plane.log')}`);
    if (Date.now() > deadline) throw new RuntimeError(`the control plane did not start in 30 s; see ${join(dir, 'logs', 'control-plane.log')}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  for (const node of rec.nodes) {
    progress(`${node.name}: node-agent on ${node.ip}, pods ${node.podCIDR}`);
    startProcess(rec, `${node.name}/node-agent`, {
      netns: node.netns,
      args: [
        'node-agent',
        '--cluster', name,
        '--node', node.name,
        '--node-ip', node.ip,
        '--pod-cidr', node.podCIDR,
        '--server', apiURL,
        '--pki-dir', join(cpDir, 'pki'),
        '--state-dir', join(RUN_ROOT, name, node.name),
        '--workloads', workloads,
        // As kubeadm configures kubelet: the DNS address whether or not the addon runs.
        '--cluster-dns', clusterDNSIP(serviceCIDR),
        // Post status well inside the grace period (kubelet: every 10 s against 40 s).
        '--heartbeat-seconds', String(Math.max(1, Math.min(10, Math.floor((opts.nodeGraceSeconds ?? 40) / 4)))),
      ],
      logFile: join(dir, 'logs', `${node.name}-node-agent.log`),
      // The agent is not a hot path: V8's lite mode (no optimizing compiler) saves ~10 MiB per node.
      nodeFlags: ['--lite-mode', '--no-warnings'],
    });
    startProcess(rec, `${node.name}/kube-proxy`, {
      netns: node.netns,
      args: ['kube-proxy', '--node', node.name, '--server', apiURL, '--pki-dir', join(cpDir, 'pki'), '--proxy-mode', rec.proxyMode],
      logFile: join(dir, 'logs', `${node.name}-kube-proxy.log`),
    });
  }
  const lb = rec.loadBalancer!;
  progress(`load balancer: ${lb.ip}, pool ${lb.pool} (${lb.mode})`);
  startProcess(rec, 'load-balancer', {
    netns: lb.netns,
    // /healthz on its own address only: 0.0.0.0 would take port 10257 from every LoadBalancer address.
    args: ['load-balancer', '--server', apiURL, '--pki-dir', join(cpDir, 'pki'), '--pool', lb.pool, '--mode', lb.mode, '--healthz-bind-address', `${lb.ip}:10257`],
    logFile: join(dir, 'logs', 'load-balancer.log'),
  });
  save();
  return rec;
}

/**
 * Bundles the built-in workloads into one file under /run/kubemu/<name>
 * (esbuild: the workloads and the libraries they use, e.g. dns-packet):
 * pods get private /tmp and /var, so a checkout living there (a CI clone in
 * /tmp, say) and its node_modules would be invisible inside them.
 */
export async function installWorkloads(name: string): Promise<string> {
  const dst = join(RUN_ROOT, name, 'workloads');
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  const out = join(dst, 'workloads.mjs');
  const { build, stop } = await import('esbuild');
  try {
    await build({
      entryPoints: [WORKLOADS],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: out,
      logLevel: 'silent',
      // CommonJS libraries in an ES module bundle still call require() for Node's builtins.
      banner: { js: "import { createRequire as __kubemuRequire } from 'node:module'; const require = __kubemuRequire(import.meta.url);" },
      define: { 'process.env.KUBEMU_WORKLOAD_BUNDLE': '"1"' },
    });
  } catch (e) {
    throw new RuntimeError(`bundling the built-in workloads failed (${(e as Error).message.split('\n')[0]}); run \`npm run build\` and try again`);
  } finally {
    // esbuild's service process would otherwise live as long as this one (a docker node's supervisor: for good).
    await stop();
  }
  return out;
}

/** Stops every process and removes every namespace, link, route and file of cluster `name`. */
export async function down(name: string, progress: (msg: string) => void): Promise<void> {
  requireRoot();
  const rec = readRecord(name);
  if (rec) {
    for (const [what, pid] of Object.entries(rec.pids)) {
      if (alive(pid)) {
        progress(`stopping ${what} (pid ${pid})`);
        try {
          process.kill(pid, 'SIGTERM');
          // A process frozen by `kubemu chaos pause-node` acts on the SIGTERM only once it runs again.
          process.kill(pid, 'SIGCONT');
        } catch {
          /* already gone */
        }
      }
    }
    const deadline = Date.now() + 5000;
    while (Object.values(rec.pids).some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const pid of Object.values(rec.pids)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  progress('removing namespaces, links and routes');
  await ClusterNetwork.teardownCluster(name);
  rmSync(join(RUN_ROOT, name), { recursive: true, force: true });
  rmSync(clusterDir(name), { recursive: true, force: true });
}
