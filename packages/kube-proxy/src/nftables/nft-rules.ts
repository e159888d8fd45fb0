/**
 * nftables proxy mode, the pure part: one service port → its NAT chains,
 * affinity sets and map entries; two such models → the nft commands that
 * turn one into the other (pure; no I/O).
 *
 * The table (`ip kubemu-nat`, in the node namespace) follows kube-proxy's
 * nftables mode:
 *
 *   prerouting/output ─▶ services ─┬─ daddr . proto . port ─vmap @svc-ips─────▶ p7-int ─┬─▶ p7-clu: dnat to numgen random mod N offset B map @eps
 *                                  └─ local daddr: proto . port ─vmap @nodeports ─▶ p7-ext ┘   p7-loc (Local policies)
 *   postrouting: masquerade what carries the 0x4000 mark
 *
 * - `-int` (cluster IP): sources that are not this node's pods (the node
 *   itself) are masqueraded, then ITP picks the cluster or local set.
 * - `-ext` (node port, external IP): Cluster policy masquerades (the pod
 *   sees the node); Local keeps the client address, except that this node's
 *   pods and the node itself are treated as Cluster, as kube-proxy does.
 * - Hairpin: a pod whose connection is DNATed back to itself is
 *   masqueraded (set `hairpin`: `ip . ip` for every local endpoint), or it
 *   would get a packet from its own address and drop it. Where bridged
 *   frames pass netfilter (br_netfilter) such a packet never takes the
 *   routing path, so the set is what catches it; without br_netfilter every
 *   pod-to-pod DNAT on this node is routed back out of the pod bridge and
 *   masqueraded (else the reply would cross the bridge and miss the reverse
 *   NAT).
 * - Endpoint choice: every selection (a port's cluster-wide or local
 *   endpoints) owns a block of slots B…B+cap-1 in one table-wide map,
 *   `@eps-tcp` or `@eps-udp` (slot → ip . port; one map per protocol, since
 *   nft ties a `typeof … tcp dport` map to TCP and then refuses to load a
 *   table whose UDP rule uses it: "conflicting protocols specified"); its
 *   rule draws `numgen random mod N offset B`. One shared map instead of an anonymous map per rule keeps the table
 *   small: nft fetches every set before each transaction, and a thousand
 *   anonymous maps made an update cost 3× as much. An endpoint change
 *   rewrites slots (elements); only a change of N rewrites the rule.
 * - ClientIP affinity: one dynamic set per endpoint with the Service's
 *   timeout; a hit goes straight to that endpoint, each new connection
 *   refreshes it (as kube-proxy's `update @affinity`); the draw goes
 *   through `@ep-chains` (slot → goto the endpoint's chain).
 * - A port with no endpoints anywhere has no map entry: the packet reaches
 *   the node's own stack where nothing listens (TCP reset, ICMP port
 *   unreachable). An empty selection chain falls through the same way, into
 *   the filter table's Local-policy DROPs (drop-rules.ts).
 */

export const NAT_TABLE = 'kubemu-nat';
/** kube-proxy's masquerade mark. */
export const MASQ_MARK = '0x00004000';

export interface NftEndpoint {
  ip: string;
  port: number;
}

export interface NftPortInput {
  protocol: 'tcp' | 'udp';
  clusterIP?: string;
  port: number;
  nodePort?: number;
  /** External IPs this node serves. */
  externalIPs: string[];
  internalLocal: boolean;
  externalLocal: boolean;
  /** Usable endpoints (ready, else serving+terminating), all nodes. */
  cluster: NftEndpoint[];
  /** Usable endpoints on this node. */
  local: NftEndpoint[];
  /** Some endpoint exists anywhere (else nothing is mapped: refused). */
  anyEndpoints: boolean;
  /** ClientIP affinity timeout; 0 = none. */
  affinitySeconds: number;
}

export interface NftContext {
  /** The bridge this node's pods hang off. */
  podBridge: string;
}

/** A port's two endpoint selections. */
export type Selection = 'clu' | 'loc';
/** The first slot of the block `selection` may fill with `n` endpoints (the caller allocates). */
export type SlotBase = (selection: Selection, n: number) => number;

/** What one service port owns in the table. Chain rules are kept as text so models diff by string compare. */
export interface PortModel {
  chains: Map<string, string[]>;
  /** Affinity sets: name → timeout seconds. */
  sets: Map<string, number>;
  /** `ip . proto . port` → verdict, in @svc-ips. */
  svcIps: Map<string, string>;
  /** `proto . port` → verdict, in @nodeports. */
  nodePorts: Map<string, string>;
  /** `<map> <slot>` → `ip . port`, in @eps-tcp / @eps-udp (epsMap). */
  eps: Map<string, string>;
  /** slot → `goto <endpoint chain>`, in @ep-chains (affinity). */
  epChains: Map<string, string>;
}

/** The endpoint map a port's draws use: one per protocol. */
export function epsMap(protocol: 'tcp' | 'udp'): string {
  return `eps-${protocol}`;
}

export const emptyModel = (): PortModel => ({ chains: new Map(), sets: new Map(), svcIps: new Map(), nodePorts: new Map(), eps: new Map(), epChains: new Map() });

const dashed = (e: NftEndpoint) => `${e.ip.replaceAll('.', '-')}-${e.port}`;
const MARK_MASQ = `meta mark set meta mark | ${MASQ_MARK}`;

/** The chains, sets and map entries of one service port, named under `id` (e.g. `p7`), its draws in the slots `slot` gives. */
export function portModel(id: string, p: NftPortInput, ctx: NftContext, slot: SlotBase): PortModel {
  const m = emptyModel();
  if (!p.anyEndpoints) return m;
  const bridge = JSON.stringify(ctx.podBridge);
  const aff = p.affinitySeconds > 0;
  const epChain = (e: NftEndpoint) => `${id}-e-${dashed(e)}`;
  const affSet = (e: NftEndpoint) => `${id}-a${p.affinitySeconds}-${dashed(e)}`;

  // Without affinity a selection is one rule (a random draw of a slot in @eps): no chain per endpoint, which
  // keeps the table small, and nft's per-transaction cache fetch with it. Affinity needs a set and a chain
  // per endpoint (the chain records the client in the set).
  const dnat = (e: NftEndpoint) => `meta l4proto ${p.protocol} dnat to ${e.ip}:${e.port}`;
  if (aff) {
    for (const e of new Map([...p.cluster, ...p.local].map((e) => [dashed(e), e])).values()) {
      m.sets.set(affSet(e), p.affinitySeconds);
      m.chains.set(epChain(e), [`update @${affSet(e)} { ip saddr }`, dnat(e)]);
    }
  }
  const select = (sel: Selection, eps: NftEndpoint[]): string[] => {
    if (!eps.length) return [];
    const b = slot(sel, eps.length);
    const draw = `numgen random mod ${eps.length} offset ${b}`;
    if (!aff) {
      const map = epsMap(p.protocol);
      eps.forEach((e, i) => m.eps.set(`${map} ${b + i}`, `${e.ip} . ${e.port}`));
      return [`meta l4proto ${p.protocol} dnat to ${draw} map @${map}`];
    }
    eps.forEach((e, i) => m.epChains.set(String(b + i), `goto ${epChain(e)}`));
    return [...eps.map((e) => `ip saddr @${affSet(e)} goto ${epChain(e)}`), `${draw} vmap @ep-chains`];
  };
  const clu = `${id}-clu`;
  const loc = `${id}-loc`;
  m.chains.set(clu, select('clu', p.cluster));
  if (p.internalLocal || p.externalLocal) m.chains.set(loc, select('loc', p.local));

  if (p.clusterIP) {
    m.chains.set(`${id}-int`, [`iifname != ${bridge} ${MARK_MASQ}`, `goto ${p.internalLocal ? loc : clu}`]);
    m.svcIps.set(`${p.clusterIP} . ${p.protocol} . ${p.port}`, `goto ${id}-int`);
  }
  if (p.nodePort || p.externalIPs.length) {
    m.chains.set(
      `${id}-ext`,
      p.externalLocal
        ? [`iifname ${bridge} goto ${clu}`, `fib saddr type local ${MARK_MASQ}`, `fib saddr type local goto ${clu}`, `goto ${loc}`]
        : [MARK_MASQ, `goto ${clu}`],
    );
    if (p.nodePort) m.nodePorts.set(`${p.protocol} . ${p.nodePort}`, `goto ${id}-ext`);
    for (const ip of p.externalIPs) m.svcIps.set(`${ip} . ${p.protocol} . ${p.port}`, `goto ${id}-ext`);
  }
  return m;
}

/** The table with its base chains and empty maps; replaces any table of that name. */
export function baseScript(ctx: NftContext): string {
  const bridge = JSON.stringify(ctx.podBridge);
  const t = NAT_TABLE;
  return [
    `table ip ${t} {}`,
    `delete table ip ${t}`,
    `table ip ${t} {`,
    '  map svc-ips { type ipv4_addr . inet_proto . inet_service : verdict; }',
    '  map nodeports { type inet_proto . inet_service : verdict; }',
    // kube-ipvs0's addresses (cluster IPs, bound external IPs) are local but are no node's address: no node ports there
    '  set svc-addrs { type ipv4_addr; }',
    // endpoint slots, drawn by numgen (see the header)
    '  map eps-tcp { typeof numgen random mod 1 : ip daddr . tcp dport; }',
    '  map eps-udp { typeof numgen random mod 1 : ip daddr . udp dport; }',
    '  map ep-chains { typeof numgen random mod 1 : verdict; }',
    // `ip . ip` for each endpoint on this node: its own connections DNATed back to it (see the header)
    '  set hairpin { type ipv4_addr . ipv4_addr; }',
    '  chain services {',
    '    ip daddr . meta l4proto . th dport vmap @svc-ips',
    '    ip daddr != @svc-addrs ip daddr != 127.0.0.0/8 fib daddr type local meta l4proto . th dport vmap @nodeports',
    '  }',
    '  chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }',
    '  chain output { type nat hook output priority -100; policy accept; jump services; }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    // Not fully-random: a random source port can land on a 4-tuple the server still holds in TIME_WAIT, whose
    // SYN is then answered with a challenge ACK and the client waits a second (seen: new conn/s 0.95 → 0.60).
    `    meta mark & ${MASQ_MARK} != 0 masquerade`,
    // hairpin: a pod sent to itself (the frame may have been bridged: no input interface here)
    '    ct status dnat ip saddr . ip daddr @hairpin masquerade',
    // routed back out of the pod bridge (no br_netfilter): the reply must come back through here
    `    iifname ${bridge} oifname ${bridge} ct status dnat masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * The commands that turn the table from `before` to `after` for one port,
 * in phases so every reference exists when it is made and is gone before
 * what it names is deleted. Returns one list per phase; callers concatenate
 * the phases of all ports (phase by phase) into one atomic `nft -f`.
 */
export function diffModel(before: PortModel, after: PortModel): string[][] {
  const t = `ip ${NAT_TABLE}`;
  const addSets: string[] = [];
  const addChains: string[] = [];
  const delElements: string[] = [];
  const flush: string[] = [];
  const addRules: string[] = [];
  const addElements: string[] = [];
  const delChains: string[] = [];
  const delSets: string[] = [];

  for (const [name, secs] of after.sets) {
    if (!before.sets.has(name)) addSets.push(`add set ${t} ${name} { type ipv4_addr; flags dynamic,timeout; timeout ${secs}s; }`);
  }
  for (const name of before.sets.keys()) if (!after.sets.has(name)) delSets.push(`delete set ${t} ${name}`);

  for (const [name, rules] of after.chains) {
    const old = before.chains.get(name);
    if (old && old.join('\n') === rules.join('\n')) continue;
    if (!old) addChains.push(`add chain ${t} ${name}`);
    else flush.push(`flush chain ${t} ${name}`);
    for (const r of rules) addRules.push(`add rule ${t} ${name} ${r}`);
  }
  for (const name of before.chains.keys()) {
    if (after.chains.has(name)) continue;
    flush.push(`flush chain ${t} ${name}`);
    delChains.push(`delete chain ${t} ${name}`);
  }

  const maps: [string | null, Map<string, string>, Map<string, string>][] = [
    ['svc-ips', before.svcIps, after.svcIps],
    ['nodeports', before.nodePorts, after.nodePorts],
    [null, before.eps, after.eps], // keys name their map
    ['ep-chains', before.epChains, after.epChains],
  ];
  for (const [map, b, a] of maps) {
    const at = (k: string) => (map === null ? k.split(' ') : [map, k]);
    for (const [k, v] of b) if (a.get(k) !== v) delElements.push(`delete element ${t} ${at(k)[0]} { ${at(k)[1]} }`);
    for (const [k, v] of a) if (b.get(k) !== v) addElements.push(`add element ${t} ${at(k)[0]} { ${at(k)[1]} : ${v} }`);
  }
  return [addSets, addChains, delElements, flush, addRules, addElements, delChains, delSets];
}

export function modelsEqual(a: PortModel, b: PortModel): boolean {
  return diffModel(a, b).every((phase) => phase.length === 0);
}
