/**
 * The filter table every proxy mode shares, programmed by KubeProxy with
 * nftables in the node namespace (table `ip kubemu-proxy`, never the host's):
 *
 *  - service IPs answer only their Service ports: other TCP ports get a
 *    reset, other UDP ports ICMP port unreachable, anything else (ping) is
 *    dropped — a cluster IP is virtual;
 *  - DROP (client times out) for a Local traffic policy on a node without a
 *    local endpoint while endpoints exist elsewhere: internalTrafficPolicy
 *    drops every new connection to the cluster IP port; externalTrafficPolicy
 *    drops node ports (`proto . port`, any address) and external IP ports
 *    only for external clients — this node's pods (arriving on the pod
 *    bridge) and the node itself (lo) are treated as Cluster, as kube-proxy
 *    does (k8s PR #123622).
 *
 * Every connection a Local policy drops is also noted in the dynamic set
 * `dropped` (client address and port, protocol, destination; 30 s), which
 * the connection stream reads while someone watches (drop-watch.ts): a
 * dropped first packet never makes a conntrack entry, so conntrack cannot
 * tell it.
 *
 * Established flows are left alone. The whole table is replaced in one
 * atomic `nft -f` transaction.
 */
import { nftRunner, type NftRunner } from './nft.js';

export const NFT_TABLE = 'kubemu-proxy';
/** The set of connections a Local policy dropped lately (read by drop-watch.ts). */
export const DROPPED_SET = 'dropped';
const NOTE_DROP = `add @${DROPPED_SET} { ip saddr . meta l4proto . th sport . ip daddr . th dport }`;

export interface PortRef {
  ip: string;
  proto: 'tcp' | 'udp';
  port: number;
}

export interface DropRuleInput {
  /** Every address on kube-ipvs0 (cluster IPs, external IPs). */
  serviceIPs: string[];
  /** Service ports on those addresses (reachable). */
  servicePorts: PortRef[];
  /** Cluster IP ports to drop every new connection to (ITP Local). */
  dropAddrPorts: PortRef[];
  /** External IP ports to drop new external connections to (ETP Local). */
  dropExternalPorts: PortRef[];
  /** Node ports to drop new external connections to, on every address (ETP Local). */
  dropNodePorts: Omit<PortRef, 'ip'>[];
  /** The node's pod bridge (its pods and the node itself are treated as Cluster). */
  podBridge: string;
}

function set(name: string, type: string, elements: string[]): string {
  const els = elements.length ? ` elements = { ${elements.join(', ')} }` : '';
  return `  set ${name} { type ${type};${els} }`;
}

/** The nft script that replaces the table (pure). */
export function dropRuleScript(i: DropRuleInput): string {
  const uniq = (xs: string[]) => [...new Set(xs)].sort();
  const ap = (p: PortRef) => `${p.ip} . ${p.proto} . ${p.port}`;
  return [
    `table ip ${NFT_TABLE} {}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    set('svc_ips', 'ipv4_addr', uniq(i.serviceIPs)),
    set('svc_ports', 'ipv4_addr . inet_proto . inet_service', uniq(i.servicePorts.map(ap))),
    set('drop_addr_ports', 'ipv4_addr . inet_proto . inet_service', uniq(i.dropAddrPorts.map(ap))),
    set('drop_ext_ports', 'ipv4_addr . inet_proto . inet_service', uniq(i.dropExternalPorts.map(ap))),
    set('drop_node_ports', 'inet_proto . inet_service', uniq(i.dropNodePorts.map((p) => `${p.proto} . ${p.port}`))),
    `  set ${DROPPED_SET} { type ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service; flags dynamic, timeout; timeout 30s; size 4096; }`,
    '  chain input {',
    '    type filter hook input priority -10; policy accept;',
    '    ct state established,related accept',
    `    iifname != { "lo", "${i.podBridge}" } meta l4proto { tcp, udp } meta l4proto . th dport @drop_node_ports ${NOTE_DROP} drop`,
    `    iifname != { "lo", "${i.podBridge}" } meta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @drop_ext_ports ${NOTE_DROP} drop`,
    `    meta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @drop_addr_ports ${NOTE_DROP} drop`,
    '    ip daddr @svc_ips meta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @svc_ports accept',
    '    ip daddr @svc_ips meta l4proto tcp reject with tcp reset',
    '    ip daddr @svc_ips meta l4proto udp reject',
    '    ip daddr @svc_ips drop',
    '  }',
    '}',
    '',
  ].join('\n');
}

export class DropRules {
  #last = '';
  #dropping = false;
  readonly #runner: () => Promise<NftRunner>;

  constructor(runner: () => Promise<NftRunner> = nftRunner) {
    this.#runner = runner;
  }

  /** Applies `input`; a no-op when nothing changed. Throws with nft's message on failure. */
  async sync(input: DropRuleInput): Promise<boolean> {
    const script = dropRuleScript(input);
    if (script === this.#last) return false;
    const r = await (await this.#runner()).run(script);
    if (r.code !== 0) throw new Error(`nft failed: ${r.stderr.trim()}`);
    this.#last = script;
    this.#dropping = input.dropAddrPorts.length + input.dropExternalPorts.length + input.dropNodePorts.length > 0;
    return true;
  }

  /** Whether the table in place drops anything (a Local policy somewhere). */
  get dropping(): boolean {
    return this.#dropping;
  }

  async teardown(): Promise<void> {
    await (await this.#runner()).run(`delete table ip ${NFT_TABLE}`);
    this.#last = '';
    this.#dropping = false;
  }
}
