/**
 * A pod sandbox: what a container runtime's "pause" sandbox gives a pod,
 * made with iproute2 and util-linux.
 *
 *   node netns km-<c>-node-1                 pod netns km-<c>-p-<uid12>
 *   ┌──────────────────────────┐             ┌─────────────────────────────┐
 *   │ cbr0 10.244.1.1/24 ──────┼─ kp<hash> ──┼─ eth0 10.244.1.5/24         │
 *   └──────────────────────────┘   (veth)    │ lo; default via 10.244.1.1  │
 *                                            └─────────────────────────────┘
 *   programs: nsenter --net=<pod netns> unshare --mount --uts sh -c '…' → exec program
 *     - a new mount namespace (private propagation) where /tmp and /var are
 *       bind mounts of <stateDir>/tmp and <stateDir>/var, so files there are
 *       per pod and invisible on the host and in other pods, and where the
 *       pod's /etc/hosts, /etc/resolv.conf and service account token are
 *       bound (launch-script.ts)
 *     - a new UTS namespace whose hostname is the pod's (its name unless setMounts says otherwise)
 *
 * Every step of the launch exec()s the next (nsenter and unshare do not fork
 * for these namespaces), so the ChildProcess pid *is* the program: SIGTERM
 * and SIGKILL reach it directly, its exit code is the program's, and exec()
 * can enter its namespaces with `nsenter --target <pid>`. A launch that fails
 * before the program starts exits 125 with a "kubemu:" line on stderr; 126/127
 * are the shell's "not executable"/"not found".
 *
 * The sandbox's identity lives in the kernel, not in a file: the pod netns'
 * `lo` carries an interface alias `kubemu-pod;node=…;uid=…;ip=…[;name=…]`, set
 * first thing after the namespace is created, so list() and adopt() work after
 * the node agent restarts and destroy() works on a half-made sandbox.
 * <stateDir>/sandbox.json keeps the pod name, and <stateDir>/pids/<name>.pid
 * the pid of each program started with a name.
 */
import { spawn as spawnChild, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { POD_BRIDGE, cidrContains, formatCidr, isIPv4, mask, parseIPv4 } from '@kubemu/api';
import {
  DEFAULT_PATH, NS_ETH, NetnsError, deleteNetns, ensureNetns, ip, ipBatch, isPodNetns, killNetnsProcesses, listNetns,
  netnsIsLive, netnsPath, netnsPids, nsInode, parseIpJson, podHostname, podNetnsName, podVethName, processAlive, resolveNetns,
  shellQuote, tool, validateClusterName, validatePodName,
} from '@kubemu/netns';
import { launchScript, SANDBOX_SETUP_EXIT_CODE, type PodMounts } from './launch-script.js';

export interface PodSandboxOptions {
  cluster: string;
  /** The node's netns: full name (`km-demo-node-1`) or short name (`node-1`). */
  nodeNs: string;
  podUid: string;
  podName: string;
  podIP: string;
  /** The node's cbr0 address. */
  gatewayIP: string;
  prefixLen: number;
  /** Per-pod directory for /tmp and /var, e.g. /run/kubemu/<cluster>/pods/<uid>. Removed by destroy(). */
  stateDir: string;
}

export interface PodSandboxRef {
  cluster: string;
  nodeNs: string;
  podUid: string;
  stateDir: string;
}

export interface PodSandboxInfo {
  podUid: string;
  podName?: string;
  podIP?: string;
  netns: string;
  nodeNs: string;
}

export interface SpawnOptions {
  /** argv; the program is looked up in env.PATH inside the sandbox. */
  command: string[];
  /** The program's whole environment. PATH and HOSTNAME are added when missing. */
  env: Record<string, string>;
  /** Working directory inside the sandbox (after /tmp and /var are mounted). Default '/'. */
  cwd?: string;
  stdin?: 'pipe' | 'ignore';
  stdout: number | 'pipe' | 'ignore';
  stderr: number | 'pipe' | 'ignore';
  /** Container name: records the pid in <stateDir>/pids/<name>.pid for adopt after a restart. */
  name?: string;
  /**
   * A program of this pod whose namespaces (net, mount, uts) the new one
   * joins instead of getting a mount namespace of its own: an ephemeral
   * container's targetContainerName. Its environment is still `env`.
   */
  target?: number;
}

/** The script a program joining another's namespaces starts under: cd, then exec it. */
export function joinScript(cwd: string): string {
  return `cd ${shellQuote(cwd)} || { echo ${shellQuote(`kubemu: pod sandbox: cd ${cwd} failed`)} >&2; exit ${SANDBOX_SETUP_EXIT_CODE}; }\nexec "$@"`;
}

export interface ExecOptions {
  stdin?: boolean;
  /** Run under a pseudo-terminal (util-linux `script`); stdout carries the terminal output. */
  tty?: boolean;
  /** Added to (and overriding) the target program's initial environment. */
  env?: Record<string, string>;
}

/** PATH for programs whose env has none (the usual image default). */
export { DEFAULT_PATH };
export { SANDBOX_SETUP_EXIT_CODE, type PodMounts };

const MARKER = 'kubemu-pod';
const IFALIAS_MAX = 255;
const UID_RE = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const CONTAINER_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface IpAddrInfo { family: string; local: string; prefixlen: number }
interface IpAddrLink { ifname: string; addr_info?: IpAddrInfo[] }
interface IpLink { ifname: string; ifalias?: string }
interface IpRoute { dst: string; gateway?: string }

interface Marker { node?: string; uid?: string; ip?: string; name?: string }

function parseMarker(alias: string | undefined): Marker | null {
  if (!alias?.startsWith(`${MARKER};`)) return null;
  const m: Record<string, string> = {};
  for (const kv of alias.split(';').slice(1)) {
    const i = kv.indexOf('=');
    if (i > 0) m[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return m;
}

function formatMarker(node: string, uid: string, podIP: string, podName: string): string {
  const base = `${MARKER};node=${node};uid=${uid};ip=${podIP}`;
  const full = `${base};name=${podName}`;
  return full.length <= IFALIAS_MAX ? full : base;
}

function checkStateDir(stateDir: string): string {
  const p = normalize(stateDir);
  if (!isAbsolute(p) || p.split('/').filter(Boolean).length < 2) {
    throw new NetnsError('ERR_INVALID_CONFIG', `stateDir ${JSON.stringify(stateDir)} must be an absolute path at least two levels deep`);
  }
  return p.replace(/\/+$/, '');
}

export class PodSandbox {
  readonly cluster: string;
  /** Full netns name of the node. */
  readonly nodeNs: string;
  readonly podUid: string;
  readonly podName: string;
  readonly podIP: string;
  readonly gatewayIP: string;
  readonly prefixLen: number;
  readonly stateDir: string;
  /** The pod's netns name, `km-<cluster>-p-<uid12>`. */
  readonly netns: string;
  /** Node end of the pod's veth (inside the node netns). */
  readonly vethName: string;
  /** Hostname and kubelet-managed files for programs started from now on (setMounts). */
  #mounts: PodMounts;

  private constructor(o: PodSandboxOptions & { nodeNs: string; stateDir: string }) {
    this.cluster = o.cluster;
    this.nodeNs = o.nodeNs;
    this.podUid = o.podUid;
    this.podName = o.podName;
    this.#mounts = { hostname: podHostname(o.podName) };
    this.podIP = o.podIP;
    this.gatewayIP = o.gatewayIP;
    this.prefixLen = o.prefixLen;
    this.stateDir = o.stateDir;
    this.netns = podNetnsName(o.cluster, o.podUid);
    this.vethName = podVethName(o.cluster, o.podUid);
  }

  /**
   * Creates (or repairs) the sandbox: pod netns, veth to the node's cbr0,
   * eth0 = podIP/prefixLen, lo up, default route via gatewayIP, and
   * <stateDir>/{tmp,var}. Calling it again for the same pod is harmless.
   */
  static async create(opts: PodSandboxOptions): Promise<PodSandbox> {
    validateClusterName(opts.cluster);
    if (!UID_RE.test(opts.podUid)) throw new NetnsError('ERR_INVALID_NAME', `invalid pod UID ${JSON.stringify(opts.podUid)}`);
    validatePodName(opts.podName);
    const nodeNs = resolveNetns(opts.cluster, opts.nodeNs);
    const stateDir = checkStateDir(opts.stateDir);
    const sb = new PodSandbox({ ...opts, nodeNs, stateDir });
    await sb.#checkAddresses();
    // Directories first: a left-over empty directory is cheaper than a left-over namespace.
    await mkdir(join(stateDir, 'tmp'), { recursive: true });
    await chmod(join(stateDir, 'tmp'), 0o1777);
    await mkdir(join(stateDir, 'var'), { recursive: true });
    await mkdir(join(stateDir, 'pids'), { recursive: true });
    await sb.#wire();
    const meta = { cluster: sb.cluster, nodeNs, podUid: sb.podUid, podName: sb.podName, podIP: sb.podIP, gatewayIP: sb.gatewayIP, prefixLen: sb.prefixLen };
    await writeFile(join(stateDir, 'sandbox.json'), JSON.stringify(meta, null, 2) + '\n');
    return sb;
  }

  /**
   * Re-attaches to an existing sandbox (after the node agent restarts): the
   * pod netns must exist and be wired to `nodeNs` (else ERR_SANDBOX_NOT_FOUND
   * / ERR_SANDBOX_BROKEN — destroy it with PodSandbox.remove and create again).
   */
  static async adopt(ref: PodSandboxRef): Promise<PodSandbox> {
    validateClusterName(ref.cluster);
    const nodeNs = resolveNetns(ref.cluster, ref.nodeNs);
    const stateDir = checkStateDir(ref.stateDir);
    const netns = podNetnsName(ref.cluster, ref.podUid);
    if (!(await netnsIsLive(netns))) throw new NetnsError('ERR_SANDBOX_NOT_FOUND', `pod ${ref.podUid}: no sandbox (${netns})`);
    const broken = (why: string): NetnsError => new NetnsError('ERR_SANDBOX_BROKEN', `pod ${ref.podUid} (${netns}): ${why}`);
    const [linksRes, routesRes, vethRes] = await Promise.all([
      ip(netns, ['-j', 'addr', 'show'], { allowFail: true }),
      ip(netns, ['-j', '-4', 'route', 'show', 'default'], { allowFail: true }),
      ip(nodeNs, ['link', 'show', 'dev', podVethName(ref.cluster, ref.podUid)], { allowFail: true }),
    ]);
    const eth = parseIpJson<IpAddrLink>(linksRes.stdout).find((l) => l.ifname === NS_ETH);
    const addr = eth?.addr_info?.find((a) => a.family === 'inet');
    const gw = parseIpJson<IpRoute>(routesRes.stdout)[0]?.gateway;
    if (!addr || !gw) throw broken('eth0 has no address or there is no default route');
    if (vethRes.code !== 0) throw broken(`its veth is not in ${nodeNs}`);
    const marker = parseMarker(await PodSandbox.#alias(netns));
    if (marker?.uid !== undefined && marker.uid !== ref.podUid) throw broken(`the namespace belongs to pod ${marker.uid}`);
    if (marker?.node !== undefined && marker.node !== nodeNs) throw broken(`it was made on ${marker.node}, not ${nodeNs}`);
    let podName = marker?.name;
    if (podName === undefined) {
      try {
        podName = (JSON.parse(await readFile(join(stateDir, 'sandbox.json'), 'utf8')) as { podName?: string }).podName;
      } catch {
        // no metadata
      }
    }
    if (podName === undefined) throw broken('its pod name is unknown (no marker, no sandbox.json)');
    return new PodSandbox({
      cluster: ref.cluster, nodeNs, podUid: ref.podUid, podName, podIP: addr.local, gatewayIP: gw,
      prefixLen: addr.prefixlen, stateDir,
    });
  }

  /** The sandboxes of `nodeNs`, including half-made ones (podIP may then be missing). */
  static async list(cluster: string, nodeNs: string): Promise<PodSandboxInfo[]> {
    validateClusterName(cluster);
    const node = resolveNetns(cluster, nodeNs);
    const pods = (await listNetns()).filter((n) => isPodNetns(n, cluster));
    const found = await Promise.all(
      pods.map(async (netns): Promise<PodSandboxInfo | null> => {
        const m = parseMarker(await PodSandbox.#alias(netns));
        if (!m || m.node !== node || m.uid === undefined) return null;
        const info: PodSandboxInfo = { podUid: m.uid, netns, nodeNs: node };
        if (m.name !== undefined) info.podName = m.name;
        if (m.ip !== undefined) info.podIP = m.ip;
        return info;
      }),
    );
    return found.filter((x): x is PodSandboxInfo => x !== null);
  }

  /**
   * Removes a sandbox whether or not it is healthy: SIGKILLs everything in the
   * pod netns, deletes the veth and the netns, removes stateDir (if given).
   * Idempotent.
   */
  static async remove(ref: { cluster: string; nodeNs: string; podUid: string; stateDir?: string }): Promise<void> {
    validateClusterName(ref.cluster);
    const nodeNs = resolveNetns(ref.cluster, ref.nodeNs);
    const netns = podNetnsName(ref.cluster, ref.podUid);
    await killNetnsProcesses([netns]);
    // Deleting the node end removes the pair now; the netns itself is freed asynchronously.
    await ip(nodeNs, ['link', 'del', podVethName(ref.cluster, ref.podUid)], { allowFail: true });
    await deleteNetns(netns);
    if (ref.stateDir !== undefined) await rm(checkStateDir(ref.stateDir), { recursive: true, force: true });
  }

  /** Kills everything inside, deletes the netns (the veth goes with it) and removes stateDir. */
  destroy(): Promise<void> {
    return PodSandbox.remove(this);
  }

  /** The pod's hostname (the pod name until setMounts says otherwise). */
  get hostname(): string {
    return this.#mounts.hostname;
  }

  /** The hostname, /etc/hosts, /etc/resolv.conf and service account directory of programs started from now on. */
  setMounts(m: PodMounts): void {
    this.#mounts = { ...m };
  }

  /** Pids of every process in the pod's netns (programs and execs). */
  pids(): Promise<number[]> {
    return netnsPids(this.netns);
  }

  /** True when `pid` is alive and inside this pod's network namespace. */
  async contains(pid: number): Promise<boolean> {
    const [mine, theirs] = await Promise.all([nsInode(netnsPath(this.netns)), nsInode(`/proc/${pid}/ns/net`)]);
    return mine !== null && mine === theirs && (await processAlive(pid));
  }

  /** The recorded pid of the program started with `name`, if it still runs in this pod. */
  async containerPid(name: string): Promise<number | null> {
    try {
      const pid = Number((await readFile(this.#pidFile(name), 'utf8')).trim());
      return Number.isInteger(pid) && pid > 0 && (await this.contains(pid)) ? pid : null;
    } catch {
      return null;
    }
  }

  /**
   * Starts a program in the pod: the pod's network, a new mount namespace
   * with private /tmp and /var, a new UTS namespace named after the pod. The
   * returned ChildProcess's pid is the program's own. It runs in its own
   * session (detached), so it outlives the agent and gets no terminal signals.
   */
  spawn(opts: SpawnOptions): ChildProcess {
    if (opts.command.length === 0) throw new NetnsError('ERR_INVALID_CONFIG', 'spawn: empty command');
    if (opts.cwd !== undefined && !isAbsolute(opts.cwd)) throw new NetnsError('ERR_INVALID_CONFIG', `spawn: cwd ${opts.cwd} must be absolute`);
    if (opts.name !== undefined && !CONTAINER_NAME_RE.test(opts.name)) throw new NetnsError('ERR_INVALID_NAME', `invalid container name ${JSON.stringify(opts.name)}`);
    if (!existsSync(netnsPath(this.netns))) throw new NetnsError('ERR_SANDBOX_NOT_FOUND', `pod ${this.podUid}: no sandbox (${this.netns})`);
    if (opts.target !== undefined) this.#checkInside(opts.target);
    const args = opts.target !== undefined
      ? ['--target', String(opts.target), '--net', '--mount', '--uts', '--', tool('sh'), '-c', joinScript(opts.cwd ?? '/'), 'kubemu-pod', ...opts.command]
      : [
        `--net=${netnsPath(this.netns)}`, '--',
        tool('unshare'), '--mount', '--uts', '--propagation', 'private', '--',
        tool('sh'), '-c', this.#launchScript(opts.cwd ?? '/'), 'kubemu-pod', ...opts.command,
      ];
    const stdio: StdioOptions = [opts.stdin ?? 'ignore', opts.stdout, opts.stderr];
    const env = { PATH: DEFAULT_PATH, HOSTNAME: this.hostname, ...opts.env };
    const child = spawnChild(tool('nsenter'), args, { env, stdio, detached: true, cwd: '/' });
    if (opts.name !== undefined && child.pid !== undefined) {
      mkdirSync(join(this.stateDir, 'pids'), { recursive: true });
      writeFileSync(this.#pidFile(opts.name), `${child.pid}\n`);
    }
    return child;
  }

  /**
   * Runs a command inside the namespaces (net, mount, uts) of a program of
   * this pod, in its working directory, with its initial environment plus
   * `opts.env` — `kubectl exec` and exec probes. Throws ERR_NOT_IN_SANDBOX
   * when pid is not a live process of this pod.
   */
  exec(pid: number, command: string[], opts: ExecOptions = {}): ChildProcess {
    if (command.length === 0) throw new NetnsError('ERR_INVALID_CONFIG', 'exec: empty command');
    this.#checkInside(pid);
    const env = { ...this.#environOf(pid), ...opts.env };
    let argv = command;
    if (opts.tty) {
      env.TERM ??= 'xterm';
      argv = [tool('script'), '-qefc', command.map(shellQuote).join(' '), '/dev/null'];
    }
    const args = ['--target', String(pid), '--net', '--mount', '--uts', '--wd', '--', ...argv];
    return spawnChild(tool('nsenter'), args, { env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  }

  // ── internals ──────────────────────────────────────────────────────────

  /** Throws ERR_NOT_IN_SANDBOX unless `pid` is a live process in this pod's network namespace. */
  #checkInside(pid: number): void {
    let inside = false;
    try {
      inside = statSync(`/proc/${pid}/ns/net`).ino === statSync(netnsPath(this.netns)).ino;
    } catch {
      inside = false;
    }
    if (!inside) throw new NetnsError('ERR_NOT_IN_SANDBOX', `pid ${pid} is not running in pod ${this.podName} (${this.netns})`);
  }

  #pidFile(name: string): string {
    return join(this.stateDir, 'pids', `${name}.pid`);
  }

  #environOf(pid: number): Record<string, string> {
    const env: Record<string, string> = {};
    try {
      for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
        const i = kv.indexOf('=');
        if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
      }
    } catch {
      // gone or unreadable: the caller's env only
    }
    if (env.PATH === undefined) env.PATH = DEFAULT_PATH;
    return env;
  }

  #launchScript(cwd: string): string {
    return launchScript(this.stateDir, cwd, this.#mounts);
  }

  /** Validates the addresses against each other and against the node's cbr0. */
  async #checkAddresses(): Promise<void> {
    const bad = (why: string): NetnsError => new NetnsError('ERR_INVALID_ADDRESS', `pod ${this.podName}: ${why}`);
    if (!Number.isInteger(this.prefixLen) || this.prefixLen < 8 || this.prefixLen > 30) throw bad(`prefixLen ${this.prefixLen} must be 8..30`);
    if (!isIPv4(this.podIP) || !isIPv4(this.gatewayIP)) throw bad(`podIP ${this.podIP} / gatewayIP ${this.gatewayIP} must be IPv4`);
    const net = { network: (parseIPv4(this.gatewayIP) & mask(this.prefixLen)) >>> 0, prefix: this.prefixLen };
    if (!cidrContains(net, parseIPv4(this.podIP)) || this.podIP === this.gatewayIP) {
      throw bad(`podIP ${this.podIP} is not a free address of ${formatCidr(net)}`);
    }
    if (!(await netnsIsLive(this.nodeNs))) throw new NetnsError('ERR_NETNS_NOT_FOUND', `node namespace ${this.nodeNs} does not exist`);
    const res = await ip(this.nodeNs, ['-j', '-4', 'addr', 'show', 'dev', POD_BRIDGE], { allowFail: true });
    const cbr = parseIpJson<IpAddrLink>(res.stdout)[0];
    if (res.code !== 0 || !cbr) throw new NetnsError('ERR_NO_POD_NETWORK', `node ${this.nodeNs} has no ${POD_BRIDGE} (addNodePodNetwork first)`);
    const gw = cbr.addr_info?.find((a) => a.family === 'inet');
    if (gw?.local !== this.gatewayIP || gw.prefixlen !== this.prefixLen) {
      throw bad(`gateway ${this.gatewayIP}/${this.prefixLen} is not ${POD_BRIDGE}'s address (${gw ? `${gw.local}/${gw.prefixlen}` : 'none'}) on ${this.nodeNs}`);
    }
  }

  async #wire(): Promise<void> {
    const created = await ensureNetns(this.netns);
    if (!created) {
      // Existing namespace: only ever repair our own pod's (12 hex of a UUID can, in theory, collide).
      const owner = parseMarker(await PodSandbox.#alias(this.netns));
      if (owner?.uid !== undefined && owner.uid !== this.podUid) {
        throw new NetnsError('ERR_INVALID_NAME', `pod ${this.podUid}: its netns name ${this.netns} is taken by pod ${owner.uid}`);
      }
    }
    const marker = formatMarker(this.nodeNs, this.podUid, this.podIP, this.podName);
    // Mark first thing: from here on list() can attribute a half-made sandbox.
    const [, podLinks, vethRes] = await Promise.all([
      ip(this.netns, ['link', 'set', 'dev', 'lo', 'alias', marker]),
      created ? [] : ip(this.netns, ['-j', 'addr', 'show']).then((r) => parseIpJson<IpAddrLink>(r.stdout)),
      ip(this.nodeNs, ['link', 'show', 'dev', this.vethName], { allowFail: true }),
    ]);
    let eth = podLinks.find((l) => l.ifname === NS_ETH);
    if (!eth || vethRes.code !== 0) {
      if (vethRes.code === 0) await ip(this.nodeNs, ['link', 'del', this.vethName], { allowFail: true });
      if (eth) await ip(this.netns, ['link', 'del', NS_ETH], { allowFail: true });
      await ipBatch(this.nodeNs, [
        `link add ${this.vethName} type veth peer name ${NS_ETH} netns ${this.netns}`,
        `link set dev ${this.vethName} master ${POD_BRIDGE} up`,
        // kubelet's hairpin-veth: a pod reaching itself through a Service is DNATed back out of the
        // port it came in on (when bridged frames pass netfilter, as with br_netfilter).
        `link set dev ${this.vethName} type bridge_slave hairpin on`,
      ]);
      eth = undefined;
    } else {
      await ipBatch(this.nodeNs, [`link set dev ${this.vethName} master ${POD_BRIDGE} up`, `link set dev ${this.vethName} type bridge_slave hairpin on`]);
    }
    const want = `${this.podIP}/${this.prefixLen}`;
    const current = (eth?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
    const lines = ['link set lo up'];
    for (const a of current) if (a !== want) lines.push(`addr del ${a} dev ${NS_ETH}`);
    if (!current.includes(want)) lines.push(`addr add ${want} dev ${NS_ETH}`);
    lines.push(`link set ${NS_ETH} up`, `route replace default via ${this.gatewayIP} dev ${NS_ETH}`);
    await ipBatch(this.netns, lines);
  }

  static async #alias(netns: string): Promise<string | undefined> {
    const res = await ip(netns, ['-j', 'link', 'show', 'dev', 'lo'], { allowFail: true });
    return res.code === 0 ? parseIpJson<IpLink>(res.stdout)[0]?.ifalias : undefined;
  }
}
