/**
 * The nftables model of the load balancer's namespace (pure): table
 * `ip kubemu-lb`, where the kernel does the forwarding.
 *
 *   prerouting (filter, dstnat-10): daddr . proto . port ─vmap @firewall─▶ fw-<id>: saddr not allowed → drop
 *   prerouting (nat, dstnat):       daddr . proto . port ─vmap @frontends─▶ fe-<id>
 *     fe-<id>: [saddr in @aff-<id>-<node> → goto that node's chain]… ; numgen random mod N → fe-<id>-<node>
 *     fe-<id>-<node>: [mark for masquerade (Cluster policy)] [update @aff… { ip saddr }] dnat to node:nodePort
 *   postrouting (nat, srcnat): marked → masquerade (the LB's own address)
 *
 * A frontend without backends has no map entry: its packets are delivered
 * to the LB's own address, where nothing listens, so a TCP client gets a
 * reset and a UDP client an ICMP port unreachable at once.
 *
 * Affinity sets are named after their timeout and kept across syncs (only
 * sets no longer wanted are deleted), so clients stay pinned while other
 * Services change.
 */
import { createHash } from 'node:crypto';
import type { Frontend } from '../frontend.js';

export const LB_TABLE = 'kubemu-lb';
export const LB_MASQ_MARK = '0x4000';

const BASE_RULES: readonly [string, string][] = [
  ['filter-prerouting', 'ip daddr . meta l4proto . th dport vmap @firewall'],
  ['nat-prerouting', 'ip daddr . meta l4proto . th dport vmap @frontends'],
  ['nat-output', 'ip daddr . meta l4proto . th dport vmap @frontends'],
  ['nat-postrouting', `meta mark & ${LB_MASQ_MARK} != 0 masquerade`],
];

export interface LbModel {
  /** chain name → rules */
  chains: Map<string, string[]>;
  /** set name → timeout seconds */
  sets: Map<string, number>;
  frontends: string[];
  firewall: string[];
}

const idOf = (f: Frontend) => createHash('sha256').update(`${f.key}|${f.ip}`).digest('hex').slice(0, 10);
const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

export function lbModel(frontends: readonly Frontend[]): LbModel {
  const m: LbModel = { chains: new Map(), sets: new Map(), frontends: [], firewall: [] };
  for (const f of frontends) {
    const id = `fe-${idOf(f)}`;
    const proto = f.protocol.toLowerCase();
    const match = `${f.ip} . ${proto} . ${f.port}`;
    if (f.sourceRanges.length) {
      m.chains.set(`fw-${id.slice(3)}`, [`ip saddr != { ${f.sourceRanges.join(', ')} } drop`]);
      m.firewall.push(`${match} : goto fw-${id.slice(3)}`);
    }
    if (!f.backends.length) continue;
    const rules: string[] = [];
    const draws: string[] = [];
    f.backends.forEach((b, i) => {
      const chain = `${id}-${safe(b.node)}`;
      const body: string[] = [];
      if (!f.local) body.push(`meta mark set meta mark | ${LB_MASQ_MARK}`);
      if (f.affinitySeconds > 0) {
        const set = `aff-${id.slice(3)}-${safe(b.node)}-${f.affinitySeconds}`;
        m.sets.set(set, f.affinitySeconds);
        rules.push(`ip saddr @${set} goto ${chain}`);
        body.push(`update @${set} { ip saddr }`);
      }
      body.push(`meta l4proto ${proto} dnat to ${b.ip}:${b.port}`);
      m.chains.set(chain, body);
      draws.push(`${i} : goto ${chain}`);
    });
    rules.push(f.backends.length === 1 ? draws[0]!.replace(/^0 : /, '') : `numgen random mod ${f.backends.length} vmap { ${draws.join(', ')} }`);
    m.chains.set(id, rules);
    m.frontends.push(`${match} : goto ${id}`);
  }
  return m;
}

/**
 * One transaction taking the table from `before` (undefined: unknown, so the
 * table is rebuilt) to `after`.
 */
export function lbScript(after: LbModel, before?: LbModel): string {
  const t = `ip ${LB_TABLE}`;
  const out: string[] = [];
  if (!before) out.push(`table ${t} {}`, `delete table ${t}`);
  out.push(
    `table ${t} {`,
    '  map frontends { type ipv4_addr . inet_proto . inet_service : verdict; }',
    '  map firewall { type ipv4_addr . inet_proto . inet_service : verdict; }',
    '  chain filter-prerouting { type filter hook prerouting priority -110; policy accept; }',
    '  chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; }',
    '  chain nat-output { type nat hook output priority -100; policy accept; }',
    '  chain nat-postrouting { type nat hook postrouting priority srcnat; policy accept; }',
    '}',
  );
  // The hook chains' rules are replaced, not declared in the block above: a rule in a chain
  // block is added again on every run, so each sync would append another copy.
  for (const [chain, rule] of BASE_RULES) out.push(`flush chain ${t} ${chain}`, `add rule ${t} ${chain} ${rule}`);
  out.push(`flush map ${t} frontends`, `flush map ${t} firewall`);
  for (const [name, secs] of after.sets) {
    if (!before?.sets.has(name)) out.push(`add set ${t} ${name} { type ipv4_addr; flags dynamic,timeout; timeout ${secs}s; }`);
  }
  for (const name of after.chains.keys()) {
    out.push(`add chain ${t} ${name}`, `flush chain ${t} ${name}`);
  }
  for (const [name, rules] of after.chains) for (const r of rules) out.push(`add rule ${t} ${name} ${r}`);
  if (after.frontends.length) out.push(`add element ${t} frontends { ${after.frontends.join(', ')} }`);
  if (after.firewall.length) out.push(`add element ${t} firewall { ${after.firewall.join(', ')} }`);
  // Chains that go away: jump targets first (fe-x references fe-x-node), then the rest.
  const gone = before ? [...before.chains.keys()].filter((c) => !after.chains.has(c)) : [];
  for (const c of gone) out.push(`flush chain ${t} ${c}`);
  for (const c of gone.sort((a, b) => b.length - a.length)) out.push(`delete chain ${t} ${c}`);
  if (before) for (const s of before.sets.keys()) if (!after.sets.has(s)) out.push(`delete set ${t} ${s}`);
  return out.join('\n') + '\n';
}
