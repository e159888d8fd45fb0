/**
 * The network of one netns-runtime cluster: a host bridge and one network
 * namespace per machine (control plane, load balancer, nodes), wired like a
 * small L2 segment that has no way out.
 *
 *   host netns                         km-<c>-node-1 (172.30.0.11)
 *   ┌──────────────────────┐           ┌───────────────────────────────────┐
 *   │ km-<c> bridge .1/24  │─kmv-<c>-0b┼─eth0 .11/24   cbr0 10.244.1.1/24 ─┼─ pods
 *   │  (no NAT, host       │           │ ip_forward=1  kube-ipvs0 (svc /32)│
 *   │   forwarding as is)  │           │ unreachable 10.244.0.0/16, svc CIDR│
 *   │                      │           │ 10.244.2.0/24 via .12 (per node)  │
 *   │                      │─kmv-<c>-0c── km-<c>-node-2 (.12) …            │
 *   │                      │─kmv-<c>-02── km-<c>-control-plane (.2)        │
 *   └──────────────────────┘─kmv-<c>-03── km-<c>-load-balancer (.3)        │
 *
 * Network safety: no namespace has a default route, so anything outside the
 * node subnet, the pod CIDR and the service CIDR fails with "Network is
 * unreachable" before a packet is sent; the pod and service CIDRs have
 * `unreachable` routes so an address nobody owns fails fast too (the /24 per
 * node and the /32 service IPs are more specific and win). The host keeps its
 * own sysctls and routes; it only gains the bridge and its connected route.
 * The host has no route to pod addresses (a reply to one would leave through
 * its default route), so pod traffic towards it is masqueraded as the node
 * (table `ip kubemu-podnet` in each node, as a CNI's ip-masq does for
 * destinations outside the cluster's networks); pods talk to the control
 * plane, LB and other nodes with their own address, since those all have
 * routes back. Replies of connections the host opens (to a node port, say)
 * are conntrack's business and pass untouched.
 *
 * Every step is idempotent and reads the kernel's state rather than a file,
 * so calling it again after a crash repairs a half-made namespace, and
 * teardown() finds everything by name (see names.ts). Topology changes on one
 * instance are serialized; the lock is per process (one `kubemu up` at a time).
 */
import { existsSync } from 'node:fs';
import { NetnsError } from './errors.js';
import {
  broadcastOf, cidrContains, cidrsOverlap, cidrWithin, formatCidr, formatIPv4, hostAt, mask, parseCidr, parseIPv4,
  tryParseIPv4, type Cidr, DEFAULT_NODE_SUBNET, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, POD_BRIDGE,
} from '@kubemu/api';
import { allowBridgeForwarding, removeBridgeForwarding } from './host-firewall.js';
import { KubeIpvs0 } from './kube-ipvs0.js';
import {
  NS_ETH, bridgeName, clusterOf, hostVethName, isOurs, isPodNetns, resolveNetns,
  shortNameOf, validateClusterName,
} from './names.js';
import { deleteNetns, ensureNetns, killNetnsProcesses, listNetns, nameOwnNamespace, netnsIsLive } from './netns.js';
import { CommandError, inNetns, ip, ipBatch, parseIpJson, sysctlIn } from './run.js';

export interface ClusterNetworkOptions {
  /** ^[a-z][a-z0-9]{0,7}$ */
  cluster: string;
  /** The machines' segment; prefix /24 … /29. Default 172.30.0.0/24 (bridge .1, control plane .2, LB .3, nodes .11+). */
  nodeSubnet?: string;
  /** Default 10.244.0.0/16; each node gets a /24 of it. */
  podCIDR?: string;
  /** Default 10.96.0.0/12. */
  serviceCIDR?: string;
}

/** Nodes forward pod traffic and the LB forwards to node ports (ip_forward=1); the control plane does not. */
export type NamespaceRole = 'node' | 'control-plane' | 'load-balancer';

export interface AddNamespaceOptions {
  /** Default: 'control-plane' / 'load-balancer' for those short names (and 'lb'), else 'node'. */
  role?: NamespaceRole;
}

export interface AdoptOptions extends AddNamespaceOptions {
  /** Nodes whose pod CIDRs this machine routes to, via their addresses on eth0 (itself is skipped). */
  peers?: { ip: string; podCIDR: string }[];
}

export interface NamespaceInfo {
  /** Short name, e.g. `node-1`. */
  name: string;
  /** Full netns name, e.g. `km-demo-node-1`. */
  netns: string;
  role: NamespaceRole;
  ip: string;
  /** Host end of its veth, on the cluster bridge. */
  hostVeth: string;
}

export interface NodePodNetwork {
  netns: string;
  podCIDR: string;
  /** cbr0's address: the pods' default gateway. */
  gateway: string;
  prefixLen: number;
}

export interface TeardownResult {
  namespaces: string[];
  links: string[];
  killedPids: number[];
}

/**
 * Priority of the policy rule older versions used to keep pod traffic away
 * from the host (it also caught the replies of the host's own connections);
 * addNamespace removes it.
 */
const OLD_HOST_GUARD_RULE_PRIORITY = 90;
/** The policy-routing rule for replies of connections the load balancer forwarded (see podnetScript). */
const LB_RETURN_RULE_PRIORITY = 100;
/** The node's pod-network NAT table (ip-masq). */
export const PODNET_TABLE = 'kubemu-podnet';
/** The load balancer's place on the node subnet (.3). */
export const LB_HOST_OFFSET = 3;
/** Marks a node's connections that came through the load balancer (ct mark) and their replies (meta mark). */
export const LB_RETURN_MARK = '0x200000';
/** The routing table replies of such connections take: back through the load balancer. */
export const LB_RETURN_TABLE = 200;

/** The load balancer's MAC: fixed (02:6b:6d = locally administered "km" + its address) so nodes can tell its frames apart. */
export function loadBalancerMac(ip: string): string {
  const o = ip.split('.').map(Number);
  return ['02', '6b', '6d', ...o.slice(1).map((n) => n.toString(16).padStart(2, '0'))].join(':');
}
/** The kernel has br_netfilter (built in or loaded); without it same-node Service traffic is masqueraded (nft-rules.ts). */
const BR_NETFILTER = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');
/** Alias of a host veth end: names the namespace holding its peer. */
const ALIAS_PREFIX = 'kubemu:';

const ROLE_BY_NAME: Record<string, NamespaceRole> = {
  'control-plane': 'control-plane',
  'load-balancer': 'load-balancer',
  lb: 'load-balancer',
};

interface IpAddrInfo { family: string; local: string; prefixlen: number }
interface IpAddrLink { ifname: string; addr_info?: IpAddrInfo[] }
interface IpLink { ifname: string; ifalias?: string }
interface IpRoute { dst: string; dev?: string; type?: string; table?: string }
interface IpRule { priority?: number; src?: string; srclen?: number; dst?: string; dstlen?: number; action?: string }

/** What a machine namespace looks like right now, read from the kernel. */
interface NsFacts {
  netns: string;
  /** eth0's IPv4 address. */
  ip?: string;
  /** The CIDR on cbr0 (nodes with a pod network). */
  podCIDR?: Cidr;
  links: IpAddrLink[];
}

function v4(link: IpAddrLink | undefined): IpAddrInfo[] {
  return (link?.addr_info ?? []).filter((a) => a.family === 'inet');
}

export class ClusterNetwork {
  readonly cluster: string;
  readonly nodeSubnet: string;
  readonly podCIDR: string;
  readonly serviceCIDR: string;
  /** Host bridge name, `km-<cluster>`. */
  readonly bridge: string;
  /** The host's address on the bridge: the subnet's .1. */
  readonly bridgeIP: string;
  /** The load balancer's address (.3 of the node subnet). */
  readonly loadBalancerIP: string;
  readonly #subnet: Cidr;
  readonly #pods: Cidr;
  readonly #services: Cidr;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ClusterNetworkOptions) {
    this.cluster = validateClusterName(opts.cluster);
    this.#subnet = parseCidr(opts.nodeSubnet ?? DEFAULT_NODE_SUBNET);
    this.#pods = parseCidr(opts.podCIDR ?? DEFAULT_POD_CIDR);
    this.#services = parseCidr(opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR);
    if (this.#subnet.prefix < 24 || this.#subnet.prefix > 29) {
      throw new NetnsError('ERR_INVALID_CONFIG', `node subnet ${formatCidr(this.#subnet)}: prefix must be /24 … /29`);
    }
    if (this.#pods.prefix > 24 || this.#services.prefix > 30) {
      throw new NetnsError('ERR_INVALID_CONFIG', 'pod CIDR must be /24 or larger, service CIDR /30 or larger');
    }
    const named: [string, Cidr][] = [['node subnet', this.#subnet], ['pod CIDR', this.#pods], ['service CIDR', this.#services]];
    for (let i = 0; i < named.length; i++) {
      for (let j = i + 1; j < named.length; j++) {
        const [an, a] = named[i]!;
        const [bn, b] = named[j]!;
        if (cidrsOverlap(a, b)) {
          throw new NetnsError('ERR_INVALID_CONFIG', `${an} ${formatCidr(a)} overlaps ${bn} ${formatCidr(b)}`);
        }
      }
    }
    this.nodeSubnet = formatCidr(this.#subnet);
    this.podCIDR = formatCidr(this.#pods);
    this.serviceCIDR = formatCidr(this.#services);
    this.bridge = bridgeName(this.cluster);
    this.bridgeIP = formatIPv4(hostAt(this.#subnet, 1));
    this.loadBalancerIP = formatIPv4(hostAt(this.#subnet, LB_HOST_OFFSET));
  }

  /**
   * The node's ip-masq table (replaced whole): pod traffic leaving the node
   * for an address with no route back to pods — the host's bridge address,
   * anything outside the cluster's networks — takes the node's address.
   * Traffic between pods, and from pods to the cluster's machines, keeps the
   * pod's address. Only new connections are NATed; replies of connections
   * others opened to pods are left to conntrack.
   */
  podnetScript(): string {
    const t = `ip ${PODNET_TABLE}`;
    return [
      `table ${t} {}`,
      `delete table ${t}`,
      `table ${t} {`,
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat + 10; policy accept;',
      `    oifname "${NS_ETH}" ip saddr ${this.podCIDR} ip daddr ${this.bridgeIP} masquerade`,
      `    oifname "${NS_ETH}" ip saddr ${this.podCIDR} ip daddr != { ${this.podCIDR}, ${this.nodeSubnet} } masquerade`,
      '  }',
      // Connections the load balancer forwards keep the client's address (Local policy), so their
      // replies must go back through it (it undoes its DNAT), not straight to the client: mark the
      // connection when its first frame comes from the LB's MAC; route its replies by that mark.
      '  chain lb-return-in {',
      '    type filter hook prerouting priority mangle; policy accept;',
      `    iifname "${NS_ETH}" ether saddr ${loadBalancerMac(this.loadBalancerIP)} ct state new ct mark set ct mark | ${LB_RETURN_MARK}`,
      `    ct direction reply ct mark & ${LB_RETURN_MARK} != 0 meta mark set meta mark | ${LB_RETURN_MARK}`,
      '  }',
      '  chain lb-return-out {',
      '    type route hook output priority mangle; policy accept;',
      `    ct direction reply ct mark & ${LB_RETURN_MARK} != 0 meta mark set meta mark | ${LB_RETURN_MARK}`,
      '  }',
      '}',
      '',
    ].join('\n');
  }

  /** Full netns name for a short name (`node-1`) or a full name of this cluster. */
  netnsName(nameOrNs: string): string {
    return resolveNetns(this.cluster, nameOrNs);
  }

  /**
   * Creates the host bridge `km-<cluster>` with the subnet's .1 and brings it
   * up. Refuses (ERR_SUBNET_CONFLICT) when the host already routes any part
   * of the node subnet through something else. Touches nothing else on the
   * host: no NAT, no forwarding, no sysctl.
   */
  setupHost(): Promise<void> {
    return this.#serial(() => this.#setupHost());
  }

  /**
   * A machine namespace with address `ip` in the node subnet: veth to the
   * bridge (`eth0` inside), lo up, no default route, unreachable routes for
   * the pod and service CIDRs, routes to the pod CIDRs of nodes that already
   * have one, ip_forward=1 for nodes (0 otherwise), ping_group_range open.
   * Repairs a half-made namespace; moves it to a new address if asked.
   */
  addNamespace(name: string, ipAddr: string, opts: AddNamespaceOptions = {}): Promise<NamespaceInfo> {
    return this.#serial(() => this.#addNamespace(name, ipAddr, opts));
  }

  /**
   * The docker runtime's counterpart of addNamespace: the calling process's
   * own network namespace (a container's, whose eth0 the engine made with
   * `ip` on the cluster network) becomes machine `name`. It is named as
   * addNamespace would name it (so agents find it by name), configured the
   * same way but for the wiring, and loses the default route the engine gave
   * it. `peers` are the nodes whose pod CIDRs it routes to.
   */
  adoptCurrentNamespace(name: string, ipAddr: string, opts: AdoptOptions = {}): Promise<NamespaceInfo> {
    return this.#serial(() => this.#adoptCurrentNamespace(name, ipAddr, opts));
  }

  /** The pod bridge `cbr0` inside a node namespace, with the CIDR's .1 (the pods' gateway). */
  addNodePodNetwork(nodeNs: string, podCIDR: string): Promise<NodePodNetwork> {
    return this.#serial(() => this.#addNodePodNetwork(nodeNs, podCIDR));
  }

  /**
   * Routes `podCIDR` via `viaNodeIP` in every other machine namespace of the
   * cluster, so any pod reaches any pod. Namespaces still being set up are
   * skipped (addNamespace installs the routes it finds).
   */
  routePodCIDR(fromNs: string, podCIDR: string, viaNodeIP: string): Promise<void> {
    return this.#serial(() => this.#routePodCIDR(fromNs, podCIDR, viaNodeIP));
  }

  /** Recomputes every pod CIDR route in every machine namespace from the kernel's state (after a restart). */
  syncPodRoutes(): Promise<void> {
    return this.#serial(async () => {
      const facts = await this.#machineFacts();
      await Promise.all(
        facts.filter((f) => f.ip !== undefined).map((f) => ipBatch(f.netns, this.#routeLines(f.netns, facts))),
      );
    });
  }

  /**
   * Binds `ip`/32 on the dummy `kube-ipvs0` in `ns` (created on first use;
   * a port-less bridge when the kernel has no dummy driver), so programs
   * there can listen on it. The address must be in the service
   * CIDR or the node subnet (LB external IPs).
   */
  async bindServiceIP(ns: string, ipAddr: string): Promise<void> {
    const netns = this.netnsName(ns);
    if (!(await netnsIsLive(netns))) throw new NetnsError('ERR_NETNS_NOT_FOUND', `namespace ${netns} does not exist`);
    const why = this.#refuseServiceIP(ipAddr);
    const machine = why === undefined ? this.#machineIndex(ipAddr) : null;
    const taken = machine !== null && (await ip(null, ['link', 'show', 'dev', hostVethName(this.cluster, machine)], { allowFail: true })).code === 0;
    await new KubeIpvs0({ netns, refuse: () => (taken ? `it is a machine's own address in ${this.nodeSubnet}` : why) }).bind(ipAddr);
  }

  /** Removes `ip`/32 from `kube-ipvs0`; returns false when it was not bound (or the namespace is gone). */
  unbindServiceIP(ns: string, ipAddr: string): Promise<boolean> {
    parseIPv4(ipAddr);
    return new KubeIpvs0({ netns: this.netnsName(ns) }).unbind(ipAddr);
  }

  /** The addresses bound on `kube-ipvs0` in `ns`. */
  serviceIPs(ns: string): Promise<string[]> {
    return new KubeIpvs0({ netns: this.netnsName(ns) }).current();
  }

  /** Full names of the cluster's machine namespaces (not pods) that exist now. */
  async machineNamespaces(): Promise<string[]> {
    const all = await listNetns();
    const mine = all.filter((n) => isOurs(n, this.cluster) && !isPodNetns(n, this.cluster));
    const live = await Promise.all(mine.map(netnsIsLive));
    return mine.filter((_, i) => live[i]);
  }

  /**
   * Removes everything the cluster created, found by name: SIGKILLs every
   * process inside its namespaces (pods included), deletes the namespaces
   * (their veths, routes and bridges go with them), then the host veths and
   * the bridge. Works after a crash and on half-made state; a second call
   * finds nothing and succeeds.
   */
  teardown(): Promise<TeardownResult> {
    return this.#serial(() => ClusterNetwork.teardownCluster(this.cluster));
  }

  /** teardown() without an instance (e.g. `kubemu down` for a cluster whose options are lost). */
  static async teardownCluster(cluster: string): Promise<TeardownResult> {
    validateClusterName(cluster);
    const namespaces = (await listNetns()).filter((n) => isOurs(n, cluster));
    const killedPids = await killNetnsProcesses(namespaces);
    await Promise.all(namespaces.filter((n) => isPodNetns(n, cluster)).map(deleteNetns));
    await Promise.all(namespaces.filter((n) => !isPodNetns(n, cluster)).map(deleteNetns));
    const links = new Set<string>();
    // The kernel frees a namespace (and the peer of its veth) asynchronously: delete and look again.
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20));
      const left = (await hostLinkNames()).filter((l) => isOurs(l, cluster));
      const leftNs = (await listNetns()).filter((n) => isOurs(n, cluster));
      if (left.length === 0 && leftNs.length === 0) break;
      if (attempt >= 50) {
        throw new NetnsError('ERR_TEARDOWN_INCOMPLETE', `teardown of ${cluster}: still present after retries: ${[...leftNs, ...left].join(', ')}`);
      }
      left.forEach((l) => links.add(l));
      // veths first, the bridge last (deleting a veth end deletes its peer too)
      const bridge = bridgeName(cluster);
      await Promise.all(left.filter((l) => l !== bridge).map((l) => ip(null, ['link', 'del', l], { allowFail: true })));
      if (left.includes(bridge)) await ip(null, ['link', 'del', bridge], { allowFail: true });
      await Promise.all(leftNs.map(deleteNetns));
    }
    await removeBridgeForwarding(bridgeName(cluster));
    return { namespaces, links: [...links], killedPids };
  }

  /** Names of the clusters that have anything (namespace, bridge, veth) on this machine. */
  static async listClusters(): Promise<string[]> {
    const names = [...(await listNetns()), ...(await hostLinkNames())];
    const clusters = new Set<string>();
    for (const n of names) {
      const c = clusterOf(n);
      if (c !== null) clusters.add(c);
    }
    return [...clusters].sort();
  }

  // ── internals ──────────────────────────────────────────────────────────

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #setupHost(): Promise<void> {
    await this.#checkHostRoutes();
    const res = await ip(null, ['-j', '-4', 'addr', 'show', 'dev', this.bridge], { allowFail: true });
    const current = res.code === 0 ? v4(parseIpJson<IpAddrLink>(res.stdout)[0]) : null;
    const lines: string[] = [];
    if (current === null) lines.push(`link add ${this.bridge} type bridge`);
    const want = `${this.bridgeIP}/${this.#subnet.prefix}`;
    for (const a of current ?? []) if (`${a.local}/${a.prefixlen}` !== want) lines.push(`addr del ${a.local}/${a.prefixlen} dev ${this.bridge}`);
    if (!(current ?? []).some((a) => `${a.local}/${a.prefixlen}` === want)) lines.push(`addr add ${want} dev ${this.bridge}`);
    lines.push(`link set ${this.bridge} up`);
    await ipBatch(null, lines);
    await allowBridgeForwarding(this.bridge);
  }

  /** The host must not already route any part of the node subnet elsewhere (another cluster, a VPN, …). */
  async #checkHostRoutes(): Promise<void> {
    const routes = parseIpJson<IpRoute>((await ip(null, ['-j', '-4', 'route', 'show', 'table', 'all'])).stdout);
    for (const r of routes) {
      if (r.dst === 'default' || r.dev === this.bridge) continue;
      let dst: Cidr;
      try {
        dst = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
      } catch {
        continue;
      }
      if (cidrsOverlap(dst, this.#subnet)) {
        const where = r.dev ? ` dev ${r.dev}` : r.type ? ` (${r.type})` : '';
        const owner = r.dev ? clusterOf(r.dev) : null;
        throw new NetnsError(
          'ERR_SUBNET_CONFLICT',
          `node subnet ${this.nodeSubnet} overlaps the host route ${r.dst}${where}` +
            (owner ? ` of kubemu cluster "${owner}"` : '') + '; choose another node subnet',
        );
      }
    }
  }

  /** Validates a machine address; returns its offset in the node subnet. */
  #machineAddress(ipAddr: string): number {
    const n = parseIPv4(ipAddr);
    if (!cidrContains(this.#subnet, n) || n === this.#subnet.network || n === broadcastOf(this.#subnet) || n === hostAt(this.#subnet, 1)) {
      throw new NetnsError('ERR_INVALID_ADDRESS', `${ipAddr} is not a usable machine address in ${this.nodeSubnet} (.1 is the host bridge)`);
    }
    return n - this.#subnet.network;
  }

  /** Why `ipAddr` cannot be a service address: only the service CIDR and the node subnet's spare addresses (LB IPs) can. */
  #refuseServiceIP(ipAddr: string): string | undefined {
    const n = tryParseIPv4(ipAddr);
    if (n === undefined) return 'not an IPv4 address';
    if (cidrContains(this.#services, n)) return undefined;
    if (cidrContains(this.#subnet, n) && n !== hostAt(this.#subnet, 1) && n !== this.#subnet.network && n !== broadcastOf(this.#subnet)) return undefined;
    return `it is in neither the service CIDR ${this.serviceCIDR} nor the node subnet ${this.nodeSubnet}`;
  }

  /** The offset of a node-subnet address (which names the veth of the machine that would own it); null outside it. */
  #machineIndex(ipAddr: string): number | null {
    const n = parseIPv4(ipAddr);
    return cidrContains(this.#subnet, n) ? n - this.#subnet.network : null;
  }

  async #addNamespace(name: string, ipAddr: string, opts: AddNamespaceOptions): Promise<NamespaceInfo> {
    const netns = this.netnsName(name);
    const short = shortNameOf(this.cluster, netns);
    if (isPodNetns(netns, this.cluster)) throw new NetnsError('ERR_INVALID_NAME', `${netns} is a pod namespace name`);
    const role = opts.role ?? ROLE_BY_NAME[short] ?? 'node';
    const hostVeth = hostVethName(this.cluster, this.#machineAddress(ipAddr));
    if ((await ip(null, ['link', 'show', 'dev', this.bridge], { allowFail: true })).code !== 0) await this.#setupHost();
    const host = await this.#hostVeth(netns, hostVeth, ipAddr); // checks the address is free before creating anything
    await ensureNetns(netns);
    await this.#wireVeth(netns, hostVeth, host);

    const others = (await this.#machineFacts()).filter((f) => f.netns !== netns);
    await this.#configureMachine(netns, ipAddr, role, others);
    return { name: short, netns, role, ip: ipAddr, hostVeth };
  }

  /**
   * Addresses, routes, NAT table and sysctls of a machine namespace whose
   * eth0 exists; `others` are the machines whose pod CIDRs it routes to.
   */
  async #configureMachine(netns: string, ipAddr: string, role: NamespaceRole, others: NsFacts[], extraLines: string[] = []): Promise<void> {
    const [addrs, rules] = await Promise.all([
      this.#addrs(netns),
      ip(netns, ['-j', '-4', 'rule', 'show']).then((r) => parseIpJson<IpRule>(r.stdout)),
    ]);
    const want = `${ipAddr}/${this.#subnet.prefix}`;
    const current = v4(addrs.find((l) => l.ifname === NS_ETH)).map((a) => `${a.local}/${a.prefixlen}`);
    const lines = ['link set lo up'];
    for (const a of current) if (a !== want) lines.push(`addr del ${a} dev ${NS_ETH}`);
    if (!current.includes(want)) lines.push(`addr add ${want} dev ${NS_ETH}`);
    if (role === 'load-balancer') lines.push(`link set ${NS_ETH} address ${loadBalancerMac(ipAddr)}`);
    lines.push(
      `link set ${NS_ETH} up`,
      `route replace unreachable ${this.podCIDR}`,
      `route replace unreachable ${this.serviceCIDR}`,
    );
    if (role === 'node') {
      lines.push(`route replace default via ${this.loadBalancerIP} dev ${NS_ETH} table ${LB_RETURN_TABLE}`);
      if (!rules.some((r) => r.priority === LB_RETURN_RULE_PRIORITY)) lines.push(`rule add priority ${LB_RETURN_RULE_PRIORITY} fwmark ${LB_RETURN_MARK}/${LB_RETURN_MARK} lookup ${LB_RETURN_TABLE}`);
    }
    for (const r of rules) if (r.priority === OLD_HOST_GUARD_RULE_PRIORITY && r.action === 'unreachable') lines.push(`rule del priority ${OLD_HOST_GUARD_RULE_PRIORITY}`);
    const self: NsFacts = { netns, ip: ipAddr, links: addrs };
    lines.push(...this.#routeLines(netns, [...others.filter((f) => f.netns !== netns), self]), ...extraLines);
    await ipBatch(netns, lines);
    if (role === 'node') await inNetns(netns, 'nft', ['-f', '-'], { input: this.podnetScript() });
    await sysctlIn(netns, {
      'net.ipv4.ip_forward': role === 'control-plane' ? '0' : '1',
      // The load balancer forwards out of the interface it received on (client and nodes share the
      // bridge): no ICMP redirects telling either side to skip it.
      // Addresses bound on kube-ipvs0 (a userspace proxy's load balancer addresses) are not answered
      // for on the wire: the load balancer owns them there (what kube-proxy's IPVS mode requires).
      ...(role === 'node' ? { 'net.ipv4.conf.all.arp_ignore': '1', 'net.ipv4.conf.all.arp_announce': '2' } : {}),
      ...(role === 'load-balancer' ? { 'net.ipv4.conf.all.send_redirects': '0', [`net.ipv4.conf.${NS_ETH}.send_redirects`]: '0' } : {}),
      'net.ipv4.ping_group_range': '0 2147483647',
      // A pod's mistake (no such pod/service IP, an outside address) is reported by its node
      // with ICMP unreachable. The per-destination ICMP limit (1/s) stacks with the kernel's
      // global route-error limit and would let only ~2 such errors through per pod before
      // connects hang in SYN retries; without it a pod gets a burst of 5, then 1/s.
      'net.ipv4.icmp_ratelimit': role === 'node' ? '0' : '1000',
      // Bridged pod frames pass conntrack and NAT (kube-proxy's requirement): a pod's reply to a
      // Service client on the same node gets its reverse NAT without being masqueraded on the way in.
      ...(role === 'node' && BR_NETFILTER ? { 'net.bridge.bridge-nf-call-iptables': '1' } : {}),
    });
  }

  async #adoptCurrentNamespace(name: string, ipAddr: string, opts: AdoptOptions): Promise<NamespaceInfo> {
    const netns = this.netnsName(name);
    const short = shortNameOf(this.cluster, netns);
    const role = opts.role ?? ROLE_BY_NAME[short] ?? 'node';
    this.#machineAddress(ipAddr);
    await nameOwnNamespace(netns);
    const eth = v4((await this.#addrs(netns)).find((l) => l.ifname === NS_ETH));
    if (!eth.some((a) => a.local === ipAddr)) {
      throw new NetnsError('ERR_INVALID_ADDRESS', `${NS_ETH} here has ${eth.map((a) => a.local).join(', ') || 'no IPv4 address'}, not ${ipAddr}: give the container that fixed address on the cluster network`);
    }
    const peers: NsFacts[] = (opts.peers ?? []).filter((p) => p.ip !== ipAddr).map((p, i) => ({ netns: `peer-${i}`, ip: p.ip, podCIDR: parseCidr(p.podCIDR), links: [] }));
    const routes = parseIpJson<IpRoute>((await ip(netns, ['-j', '-4', 'route', 'show', 'default'])).stdout);
    // No way out of the machine (Docker gives every container a default route via its gateway).
    await this.#configureMachine(netns, ipAddr, role, peers, routes.length > 0 ? ['route del default'] : []);
    return { name: short, netns, role, ip: ipAddr, hostVeth: NS_ETH };
  }

  /**
   * The host end named after `ipAddr`, if it exists; throws ERR_INVALID_ADDRESS
   * when it belongs to another live namespace (the address is taken).
   */
  async #hostVeth(netns: string, hostVeth: string, ipAddr: string): Promise<IpLink | undefined> {
    const res = await ip(null, ['-j', 'link', 'show', 'dev', hostVeth], { allowFail: true });
    const host = res.code === 0 ? parseIpJson<IpLink>(res.stdout)[0] : undefined;
    const owner = host?.ifalias?.startsWith(ALIAS_PREFIX) ? host.ifalias.slice(ALIAS_PREFIX.length) : undefined;
    if (owner !== undefined && owner !== netns && (await netnsIsLive(owner))) {
      throw new NetnsError('ERR_INVALID_ADDRESS', `${ipAddr} is already used by namespace ${owner}`);
    }
    return host;
  }

  /**
   * Makes sure `hostVeth` (on the bridge, alias `kubemu:<netns>`) and `eth0`
   * inside `netns` exist as a pair; rebuilds the pair when either half is
   * missing or was left behind by a namespace that is gone.
   */
  async #wireVeth(netns: string, hostVeth: string, host: IpLink | undefined): Promise<void> {
    const alias = ALIAS_PREFIX + netns;
    const nsEth = (await this.#addrs(netns)).some((l) => l.ifname === NS_ETH);
    if (host?.ifalias === alias && nsEth) {
      await ip(null, ['link', 'set', 'dev', hostVeth, 'master', this.bridge, 'up']);
      return;
    }
    if (host) await ip(null, ['link', 'del', hostVeth], { allowFail: true });
    if (nsEth) await ip(netns, ['link', 'del', NS_ETH], { allowFail: true });
    await ipBatch(null, [
      `link add ${hostVeth} type veth peer name ${NS_ETH} netns ${netns}`,
      `link set dev ${hostVeth} alias ${alias} master ${this.bridge} up`,
    ]);
  }

  async #addNodePodNetwork(nodeNs: string, podCIDR: string): Promise<NodePodNetwork> {
    const netns = this.netnsName(nodeNs);
    const cidr = parseCidr(podCIDR);
    if (!cidrWithin(cidr, this.#pods) || cidr.prefix > 30) {
      throw new NetnsError('ERR_INVALID_ADDRESS', `node pod CIDR ${podCIDR} must be a /30 or larger inside ${this.podCIDR}`);
    }
    if (!(await netnsIsLive(netns))) throw new NetnsError('ERR_NETNS_NOT_FOUND', `namespace ${netns} does not exist`);
    const facts = await this.#machineFacts();
    const clash = facts.find((f) => f.netns !== netns && f.podCIDR && cidrsOverlap(f.podCIDR, cidr));
    if (clash) throw new NetnsError('ERR_INVALID_ADDRESS', `pod CIDR ${podCIDR} overlaps ${formatCidr(clash.podCIDR!)} of ${clash.netns}`);
    const mine = facts.find((f) => f.netns === netns);
    const bridge = mine?.links.find((l) => l.ifname === POD_BRIDGE);
    const gateway = formatIPv4(hostAt(cidr, 1));
    const want = `${gateway}/${cidr.prefix}`;
    const lines: string[] = [];
    if (!bridge) lines.push(`link add ${POD_BRIDGE} type bridge`);
    const current = v4(bridge).map((a) => `${a.local}/${a.prefixlen}`);
    for (const a of current) if (a !== want) lines.push(`addr del ${a} dev ${POD_BRIDGE}`);
    if (!current.includes(want)) lines.push(`addr add ${want} dev ${POD_BRIDGE}`);
    lines.push(`link set ${POD_BRIDGE} up`);
    await ipBatch(netns, lines);
    return { netns, podCIDR: formatCidr(cidr), gateway, prefixLen: cidr.prefix };
  }

  async #routePodCIDR(fromNs: string, podCIDR: string, viaNodeIP: string): Promise<void> {
    const from = this.netnsName(fromNs);
    const cidr = parseCidr(podCIDR);
    if (!cidrWithin(cidr, this.#pods)) throw new NetnsError('ERR_INVALID_ADDRESS', `${podCIDR} is not inside ${this.podCIDR}`);
    this.#machineAddress(viaNodeIP);
    const targets = (await this.machineNamespaces()).filter((n) => n !== from);
    const failures: CommandError[] = [];
    await Promise.all(
      targets.map(async (n) => {
        const args = ['route', 'replace', formatCidr(cidr), 'via', viaNodeIP, 'dev', NS_ETH];
        const res = await ip(n, args, { allowFail: true });
        if (res.code === 0) return;
        // A namespace without a configured eth0 is still being set up: it gets its routes then.
        const eth = v4((await this.#addrs(n)).find((l) => l.ifname === NS_ETH));
        if (eth.length > 0) {
          failures.push(new CommandError({ commandLine: `ip -n ${n} ${args.join(' ')}`, exitCode: res.code, signal: null, stdout: res.stdout, stderr: res.stderr }));
        }
      }),
    );
    if (failures[0]) throw failures[0];
  }

  /** `route replace` lines for `netns`: every other machine's pod CIDR via its address. */
  #routeLines(netns: string, facts: NsFacts[]): string[] {
    return facts
      .filter((f) => f.netns !== netns && f.ip !== undefined && f.podCIDR !== undefined)
      .map((f) => `route replace ${formatCidr(f.podCIDR!)} via ${f.ip} dev ${NS_ETH}`);
  }

  async #addrs(netns: string): Promise<IpAddrLink[]> {
    const res = await ip(netns, ['-j', 'addr', 'show'], { allowFail: true });
    return res.code === 0 ? parseIpJson<IpAddrLink>(res.stdout) : [];
  }

  async #machineFacts(): Promise<NsFacts[]> {
    const names = await this.machineNamespaces();
    return Promise.all(
      names.map(async (netns): Promise<NsFacts> => {
        const links = await this.#addrs(netns);
        const eth = v4(links.find((l) => l.ifname === NS_ETH)).find((a) => cidrContains(this.#subnet, parseIPv4(a.local)));
        const br = v4(links.find((l) => l.ifname === POD_BRIDGE))[0];
        const facts: NsFacts = { netns, links };
        if (eth) facts.ip = eth.local;
        if (br) facts.podCIDR = { network: (parseIPv4(br.local) & mask(br.prefixlen)) >>> 0, prefix: br.prefixlen };
        return facts;
      }),
    );
  }
}

/** Interface names in the caller's network namespace (the host, for `kubemu up`). */
async function hostLinkNames(): Promise<string[]> {
  return parseIpJson<IpLink>((await ip(null, ['-j', 'link', 'show'])).stdout).map((l) => l.ifname);
}
