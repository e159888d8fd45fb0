/**
 * The docker runtime, inside a container: `kubemu container ROLE` is every
 * container's entrypoint (DESIGN.md §5: a node is a privileged container
 * running the same programs a node namespace runs).
 *
 *   control-plane   the API server; writes the host's kubeconfig; deploys the addons
 *   node            node-agent + kube-proxy; pods are namespaces inside the container
 *   load-balancer   the load balancer
 *
 * The container's own network namespace is the machine: it is named and
 * configured exactly as `kubemu up` configures a namespace (ClusterNetwork),
 * minus the wiring Docker already did, and loses Docker's default route (no
 * way out of the machine). Addresses follow the plan of DESIGN.md: control
 * plane .2, load balancer .3, node-N .(10+N); node-N's pods in the Nth /24 of
 * the pod CIDR, routed via its address on every machine.
 *
 * Settings come from the environment the compose file gives every container
 * (see ContainerSettings); the processes run under a Supervisor.
 */
import { accessSync, chownSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_SERVER_PORT, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, DEFAULT_NODE_SUBNET, cidrOf, clusterDNSIP, formatIPv4, hostAt, nodePodCIDR, type KubeObject } from '@kubemu/api';
import { ClusterNetwork, run } from '@kubemu/netns';
import { lastPoolAddress } from '../runtime/addons.js';
import { PublishedRelay } from './published-relay.js';
import { Supervisor, type SupervisedProcess } from './supervisor.js';

export const CONTAINER_ROLES = ['control-plane', 'node', 'load-balancer'] as const;
export type ContainerRole = (typeof CONTAINER_ROLES)[number];

/** The control plane's data (store, PKI, kubeconfig): a named volume, mounted read-only on the other containers. */
export const CP_DATA_DIR = '/var/lib/kubemu/control-plane';
/** Where the host's `./.kubemu` is mounted on the control plane. */
export const HOST_OUT_DIR = '/kubemu-out';
/** A file here named after a process keeps the supervisor from restarting it (chaos). */
export const HOLD_DIR = '/run/kubemu-hold';

const CLI_BIN = resolve(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'kubemu.js');

export class ContainerConfigError extends Error {
  readonly code = 'ERR_CONTAINER_CONFIG';
}

export interface ContainerSettings {
  cluster: string;
  subnet: string;
  podCIDR: string;
  serviceCIDR: string;
  nodes: number;
  /** node role: which node (1-based). */
  nodeIndex?: number;
  proxyMode: string;
  lbMode: string;
  lbPool: string;
  addons: string[];
  nodeGraceSeconds: number;
  /** The host port published for the API server: the host's kubeconfig points at 127.0.0.1:<it>. */
  hostApiPort: number;
}

function intIn(env: NodeJS.ProcessEnv, key: string, dflt: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ContainerConfigError(`${key} wants a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

/** Reads the KUBEMU_* environment; throws ContainerConfigError naming the variable. */
export function settingsFromEnv(role: ContainerRole, env: NodeJS.ProcessEnv = process.env): ContainerSettings {
  const subnet = env.KUBEMU_SUBNET || DEFAULT_NODE_SUBNET;
  const nodes = intIn(env, 'KUBEMU_NODES', 3, 1, 50);
  const s: ContainerSettings = {
    cluster: env.KUBEMU_CLUSTER || 'kubemu',
    subnet,
    podCIDR: env.KUBEMU_POD_CIDR || DEFAULT_POD_CIDR,
    serviceCIDR: env.KUBEMU_SERVICE_CIDR || DEFAULT_SERVICE_CIDR,
    nodes,
    proxyMode: env.KUBEMU_PROXY_MODE || 'nftables',
    lbMode: env.KUBEMU_LB_MODE || 'nftables',
    lbPool: env.KUBEMU_LB_POOL || `${ipAt(subnet, 200)}-${ipAt(subnet, 250)}`,
    addons: (env.KUBEMU_ADDONS ?? 'dns,ingress').split(',').map((x) => x.trim()).filter((x) => x && x !== 'none'),
    nodeGraceSeconds: intIn(env, 'KUBEMU_NODE_GRACE_SECONDS', 40, 2, 3600),
    hostApiPort: intIn(env, 'KUBEMU_API_PORT', API_SERVER_PORT, 1, 65535),
  };
  if (role === 'node') {
    const name = env.KUBEMU_NODE ?? '';
    const m = /^node-(\d+)$/.exec(name);
    if (!m) throw new ContainerConfigError(`KUBEMU_NODE wants node-N (N from 1 to 50), got "${name}"`);
    s.nodeIndex = Number(m[1]);
    if (s.nodeIndex < 1 || s.nodeIndex > 50) throw new ContainerConfigError(`KUBEMU_NODE wants node-N (N from 1 to 50), got "${name}"`);
  }
  const bad = s.addons.find((a) => a !== 'dns' && a !== 'ingress');
  if (bad) throw new ContainerConfigError(`KUBEMU_ADDONS: unknown addon "${bad}" (have: dns, ingress, none)`);
  return s;
}

function ipAt(subnet: string, host: number): string {
  return formatIPv4(hostAt(cidrOf(subnet), host));
}

/** Node N's address and pod CIDR (the same plan as `kubemu up`). */
export function nodePlan(s: ContainerSettings, index: number): { name: string; ip: string; podCIDR: string } {
  return { name: `node-${index}`, ip: ipAt(s.subnet, 10 + index), podCIDR: nodePodCIDR(s.podCIDR, index) };
}

export function controlPlaneIP(s: ContainerSettings): string {
  return ipAt(s.subnet, 2);
}

export function loadBalancerIP(s: ContainerSettings): string {
  return ipAt(s.subnet, 3);
}

function allNodes(s: ContainerSettings) {
  return Array.from({ length: s.nodes }, (_, i) => nodePlan(s, i + 1));
}

function say(line: string): void {
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), name: 'kubemu', component: 'container', msg: line })}\n`);
}

async function waitForFile(path: string, what: string): Promise<void> {
  const started = Date.now();
  let told = 0;
  while (!existsSync(path)) {
    if (Date.now() - started > (told + 1) * 10_000) say(`still waiting for ${what} (${path})`), told++;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The engine mounts /proc/sys read-only in a container that is not
 * privileged; this container's own mount of it is made writable (SYS_ADMIN),
 * so the node, its pods' namespaces and kube-proxy can set their sysctls.
 */
async function writableProcSys(): Promise<void> {
  try {
    accessSync('/proc/sys/net/ipv4/ip_forward', constants.W_OK);
    writeFileSync('/proc/sys/net/ipv4/ip_forward', readFileSync('/proc/sys/net/ipv4/ip_forward'));
    return;
  } catch {
    // read-only: remount below
  }
  const res = await run('mount', ['-o', 'remount,rw', '/proc/sys'], { allowFail: true });
  if (res.code !== 0) throw new ContainerConfigError(`/proc/sys is read-only and could not be remounted (${res.stderr.trim()}): the container needs CAP_SYS_ADMIN and apparmor=unconfined (see docker-compose.yml)`);
}

/** Runs ROLE until SIGTERM. */
export async function runContainerRole(role: ContainerRole, s: ContainerSettings): Promise<void> {
  await writableProcSys();
  const net = new ClusterNetwork({ cluster: s.cluster, nodeSubnet: s.subnet, podCIDR: s.podCIDR, serviceCIDR: s.serviceCIDR });
  const peers = allNodes(s).map((n) => ({ ip: n.ip, podCIDR: n.podCIDR }));
  const sup = new Supervisor({ holdDir: HOLD_DIR, log: say });
  const node = (args: string[], nodeFlags: string[] = []): Pick<SupervisedProcess, 'command' | 'args'> => ({ command: process.execPath, args: [...nodeFlags, CLI_BIN, ...args] });
  const apiURL = `https://${controlPlaneIP(s)}:${API_SERVER_PORT}`;
  const pki = join(CP_DATA_DIR, 'pki');
  const onStop: (() => void)[] = [];

  if (role === 'control-plane') {
    await net.adoptCurrentNamespace('control-plane', controlPlaneIP(s), { role: 'control-plane', peers });
    sup.add({
      name: 'control-plane',
      ...node(['control-plane', '--data-dir', CP_DATA_DIR, '--listen', `0.0.0.0:${API_SERVER_PORT}`, '--advertise-address', controlPlaneIP(s), '--service-cidr', s.serviceCIDR, '--node-monitor-grace-period', String(s.nodeGraceSeconds)]),
    });
    void afterControlPlaneStart(s).catch((e) => say(`addons/kubeconfig: ${(e as Error).message}`));
  } else if (role === 'node') {
    const me = nodePlan(s, s.nodeIndex!);
    await net.adoptCurrentNamespace(me.name, me.ip, { role: 'node', peers });
    await net.addNodePodNetwork(me.name, me.podCIDR);
    await waitForFile(join(pki, 'agent.token'), "the control plane's credentials");
    const { installWorkloads, RUN_ROOT } = await import('../runtime/netns-runtime.js');
    const workloads = await installWorkloads(s.cluster);
    sup.add({
      name: 'node-agent',
      ...node(
        [
          'node-agent', '--cluster', s.cluster, '--node', me.name, '--node-ip', me.ip, '--pod-cidr', me.podCIDR, '--server', apiURL, '--pki-dir', pki,
          '--state-dir', join(RUN_ROOT, s.cluster, me.name), '--workloads', workloads, '--cluster-dns', clusterDNSIP(s.serviceCIDR),
          '--heartbeat-seconds', String(Math.max(1, Math.min(10, Math.floor(s.nodeGraceSeconds / 4)))),
        ],
        ['--lite-mode', '--no-warnings'],
      ),
    });
    sup.add({ name: 'kube-proxy', ...node(['kube-proxy', '--node', me.name, '--server', apiURL, '--pki-dir', pki, '--proxy-mode', s.proxyMode]) });
  } else {
    const ip = loadBalancerIP(s);
    await net.adoptCurrentNamespace('load-balancer', ip, { role: 'load-balancer', peers });
    await waitForFile(join(pki, 'agent.token'), "the control plane's credentials");
    sup.add({
      name: 'load-balancer',
      ...node(['load-balancer', '--server', apiURL, '--pki-dir', pki, '--pool', s.lbPool, '--mode', s.lbMode, '--healthz-bind-address', `${ip}:10257`]),
    });
    const ingressIP = s.addons.includes('ingress') ? lastPoolAddress(s.lbPool) : undefined;
    if (ingressIP) {
      const relay = new PublishedRelay(say);
      onStop.push(() => relay.close());
      for (const port of [80, 443]) await relay.listen({ listenHost: ip, listenPort: port, targetHost: ingressIP, targetPort: port });
    }
  }
  say(`${role} is up`);
  await new Promise<void>((resolveStop) => {
    const stop = (sig: string) => {
      say(`${sig}: stopping`);
      for (const f of onStop) f();
      void sup.stop().then(() => resolveStop());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * The host's kubeconfig (`./.kubemu/kubeconfig`, server 127.0.0.1:<published
 * port>, owned by whoever owns the folder), then, once the nodes are Ready,
 * the addons (create-if-missing, so a restart changes nothing).
 */
async function afterControlPlaneStart(s: ContainerSettings): Promise<void> {
  const kubeconfig = join(CP_DATA_DIR, 'kubeconfig');
  await waitForFile(kubeconfig, "the control plane's kubeconfig");
  if (existsSync(HOST_OUT_DIR)) {
    const text = readFileSync(kubeconfig, 'utf8').replace(/server: https:\/\/[^\s]+/g, `server: https://127.0.0.1:${s.hostApiPort}`);
    const out = join(HOST_OUT_DIR, 'kubeconfig');
    mkdirSync(HOST_OUT_DIR, { recursive: true });
    writeFileSync(out, text, { mode: 0o600 });
    const owner = statSync(HOST_OUT_DIR);
    chownSync(out, owner.uid, owner.gid);
    writeFileSync(join(HOST_OUT_DIR, 'kubeconfig-cluster'), readFileSync(kubeconfig, 'utf8'), { mode: 0o600 });
    chownSync(join(HOST_OUT_DIR, 'kubeconfig-cluster'), owner.uid, owner.gid);
    say(`kubeconfig for the host: ./.kubemu/kubeconfig (https://127.0.0.1:${s.hostApiPort}); from the cluster network: ./.kubemu/kubeconfig-cluster`);
  }
  if (s.addons.length === 0) return;
  const { loadKubeconfig } = await import('../kubeconfig.js');
  const { RestClient } = await import('../rest-client.js');
  const c = new RestClient(loadKubeconfig(kubeconfig));
  const started = Date.now();
  for (;;) {
    const list = await c.call<{ items: KubeObject[] }>('GET', '/api/v1/nodes').catch(() => ({ items: [] as KubeObject[] }));
    const ready = list.items.filter((x) => x.status?.conditions?.some((k: { type: string; status: string }) => k.type === 'Ready' && k.status === 'True')).length;
    // Every node, so the addons' pods spread; after a minute, whatever is Ready.
    if (ready >= s.nodes || (ready >= 1 && Date.now() - started > 60_000)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const { dnsAddon, ingressAddon, installAddons } = await import('../runtime/addons.js');
  await installAddons(c, [...(s.addons.includes('dns') ? dnsAddon(s.serviceCIDR, s.podCIDR) : []), ...(s.addons.includes('ingress') ? ingressAddon(lastPoolAddress(s.lbPool)) : [])]);
  say(`addons: ${s.addons.join(', ')}`);
}
