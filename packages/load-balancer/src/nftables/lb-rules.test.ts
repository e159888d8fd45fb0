import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CAN_PROGRAM_NETNS, inScratchNetns } from '@kubemu/kube-proxy/testing';
import type { Backend, Frontend } from '../frontend.js';
import { LB_MASQ_MARK, LB_TABLE, lbModel, lbScript, type LbModel } from './lb-rules.js';

const node = (n: number, port = 30080): Backend => ({ node: `node-${n}`, ip: `172.30.0.${10 + n}`, port });
const web: Frontend = {
  key: 'default/web:http/TCP',
  service: 'default/web',
  ip: '172.30.0.200',
  protocol: 'TCP',
  port: 80,
  local: false,
  affinitySeconds: 0,
  sourceRanges: [],
  backends: [node(1), node(2)],
};
const dns: Frontend = { ...web, key: 'kube-system/dns:dns/UDP', service: 'kube-system/dns', ip: '172.30.0.201', protocol: 'UDP', port: 53, local: true, backends: [node(3, 30053)] };

/** The chain a frontend's map entry jumps to. */
function feChain(m: LbModel, f: Frontend): string {
  const entry = m.frontends.find((e) => e.startsWith(`${f.ip} . ${f.protocol.toLowerCase()} . ${f.port} : `));
  if (!entry) throw new Error(`no map entry for ${f.key}`);
  return entry.replace(/^.* : goto /, '');
}

describe('lbModel', () => {
  it('maps each frontend address . protocol . port to its chain, which draws one node at random', () => {
    const m = lbModel([web]);
    const fe = feChain(m, web);
    expect(fe).toMatch(/^fe-[0-9a-f]{10}$/);
    expect(m.frontends).toEqual([`172.30.0.200 . tcp . 80 : goto ${fe}`]);
    expect(m.chains.get(fe)).toEqual([`numgen random mod 2 vmap { 0 : goto ${fe}-node-1, 1 : goto ${fe}-node-2 }`]);
    expect(m.chains.get(`${fe}-node-1`)).toEqual([`meta mark set meta mark | ${LB_MASQ_MARK}`, 'meta l4proto tcp dnat to 172.30.0.11:30080']);
    expect(m.chains.get(`${fe}-node-2`)).toEqual([`meta mark set meta mark | ${LB_MASQ_MARK}`, 'meta l4proto tcp dnat to 172.30.0.12:30080']);
    expect([...m.chains.keys()].sort()).toEqual([fe, `${fe}-node-1`, `${fe}-node-2`]);
    expect(m.firewall).toEqual([]);
    expect(m.sets.size).toBe(0);
  });

  it('goes straight to the only node when there is one', () => {
    const m = lbModel([{ ...web, backends: [node(1)] }]);
    const fe = feChain(m, web);
    expect(m.chains.get(fe)).toEqual([`goto ${fe}-node-1`]);
  });

  it('marks for masquerade only with Cluster policy (Local keeps the client address)', () => {
    const m = lbModel([web, dns]);
    const fe = feChain(m, dns);
    expect(m.frontends).toContain(`172.30.0.201 . udp . 53 : goto ${fe}`);
    expect(m.chains.get(`${fe}-node-3`)).toEqual(['meta l4proto udp dnat to 172.30.0.13:30053']);
    for (const [name, rules] of m.chains) {
      const marks = rules.some((r) => r.startsWith('meta mark set'));
      if (name.startsWith(`${feChain(m, web)}-`)) expect(marks).toBe(true);
      else expect(marks).toBe(false);
    }
  });

  it('has no map entry for a frontend without backends (the LB itself refuses), but still its firewall', () => {
    const m = lbModel([{ ...web, backends: [], sourceRanges: ['10.0.0.0/8', '192.168.0.0/16'] }]);
    expect(m.frontends).toEqual([]);
    expect([...m.chains.keys()].filter((c) => c.startsWith('fe-'))).toEqual([]);
    expect(m.firewall).toHaveLength(1);
  });

  it('drops clients outside loadBalancerSourceRanges through the firewall map', () => {
    const m = lbModel([{ ...web, sourceRanges: ['10.0.0.0/8', '192.168.0.0/16'] }, dns]);
    const fw = `fw-${feChain(m, web).slice(3)}`;
    expect(m.firewall).toEqual([`172.30.0.200 . tcp . 80 : goto ${fw}`]);
    expect(m.chains.get(fw)).toEqual(['ip saddr != { 10.0.0.0/8, 192.168.0.0/16 } drop']);
    // dns has no source ranges: no firewall entry, no firewall chain
    expect([...m.chains.keys()].filter((c) => c.startsWith('fw-'))).toEqual([fw]);
  });

  it('pins a client to its node with ClientIP affinity: one set per node named with its timeout', () => {
    const m = lbModel([{ ...web, affinitySeconds: 10800 }]);
    const fe = feChain(m, web);
    const id = fe.slice(3);
    expect([...m.sets]).toEqual([
      [`aff-${id}-node-1-10800`, 10800],
      [`aff-${id}-node-2-10800`, 10800],
    ]);
    expect(m.chains.get(fe)).toEqual([
      `ip saddr @aff-${id}-node-1-10800 goto ${fe}-node-1`,
      `ip saddr @aff-${id}-node-2-10800 goto ${fe}-node-2`,
      `numgen random mod 2 vmap { 0 : goto ${fe}-node-1, 1 : goto ${fe}-node-2 }`,
    ]);
    expect(m.chains.get(`${fe}-node-2`)).toEqual([`meta mark set meta mark | ${LB_MASQ_MARK}`, `update @aff-${id}-node-2-10800 { ip saddr }`, 'meta l4proto tcp dnat to 172.30.0.12:30080']);
    // another timeout is another set
    expect([...lbModel([{ ...web, affinitySeconds: 60 }]).sets.keys()]).toEqual([`aff-${id}-node-1-60`, `aff-${id}-node-2-60`]);
  });

  it('names chains stably per frontend and address, and makes node names safe for nft', () => {
    const a = feChain(lbModel([web]), web);
    expect(feChain(lbModel([web, dns]), web)).toBe(a);
    expect(feChain(lbModel([{ ...web, ip: '172.30.0.210' }]), { ...web, ip: '172.30.0.210' })).not.toBe(a);
    const m = lbModel([{ ...web, backends: [{ node: 'worker.example.com', ip: '172.30.0.11', port: 30080 }] }]);
    expect(m.chains.has(`${a}-worker_example_com`)).toBe(true);
  });
});

describe('lbScript', () => {
  const t = `ip ${LB_TABLE}`;
  const lines = (s: string) => s.trimEnd().split('\n');

  it('rebuilds the table from nothing when what is installed is unknown', () => {
    const s = lines(lbScript(lbModel([web])));
    expect(s.slice(0, 3)).toEqual([`table ${t} {}`, `delete table ${t}`, `table ${t} {`]);
    expect(lines(lbScript(lbModel([web]), lbModel([]))).filter((l) => l.startsWith('delete table'))).toEqual([]);
  });

  it("replaces the hook chains' rules on every sync instead of adding another copy", () => {
    const s = lines(lbScript(lbModel([web]), lbModel([web])));
    for (const [chain, rule] of [
      ['filter-prerouting', 'ip daddr . meta l4proto . th dport vmap @firewall'],
      ['nat-prerouting', 'ip daddr . meta l4proto . th dport vmap @frontends'],
      ['nat-output', 'ip daddr . meta l4proto . th dport vmap @frontends'],
      ['nat-postrouting', `meta mark & ${LB_MASQ_MARK} != 0 masquerade`],
    ]) {
      expect(s.filter((l) => l.includes(rule) && l.includes(chain))).toEqual([`add rule ${t} ${chain} ${rule}`]);
      expect(s).toContain(`flush chain ${t} ${chain}`);
      expect(s.indexOf(`flush chain ${t} ${chain}`)).toBeLessThan(s.indexOf(`add rule ${t} ${chain} ${rule}`));
    }
  });

  it('replaces every map entry and every chain it keeps in the same transaction', () => {
    const before = lbModel([web]);
    const after = lbModel([{ ...web, backends: [node(2)] }]);
    const s = lines(lbScript(after, before));
    const fe = feChain(after, web);
    expect(s).toContain(`flush map ${t} frontends`);
    expect(s).toContain(`flush map ${t} firewall`);
    expect(s).toContain(`flush chain ${t} ${fe}`);
    expect(s).toContain(`add rule ${t} ${fe} goto ${fe}-node-2`);
    expect(s).toContain(`add element ${t} frontends { 172.30.0.200 . tcp . 80 : goto ${fe} }`);
  });

  it('flushes chains that go away before deleting any of them', () => {
    const before = lbModel([{ ...web, sourceRanges: ['10.0.0.0/8'] }, dns]);
    const after = lbModel([dns]);
    const s = lines(lbScript(after, before));
    const fe = feChain(before, web);
    const gone = [fe, `${fe}-node-1`, `${fe}-node-2`, `fw-${fe.slice(3)}`];
    const lastFlush = Math.max(...gone.map((c) => s.indexOf(`flush chain ${t} ${c}`)));
    const firstDelete = Math.min(...gone.map((c) => s.indexOf(`delete chain ${t} ${c}`)));
    for (const c of gone) {
      expect(s).toContain(`flush chain ${t} ${c}`);
      expect(s).toContain(`delete chain ${t} ${c}`);
    }
    expect(lastFlush).toBeLessThan(firstDelete);
    // the map entries pointing at them are gone in the same transaction
    expect(s.indexOf(`flush map ${t} frontends`)).toBeLessThan(firstDelete);
    expect(s.filter((l) => l.startsWith('delete chain'))).toHaveLength(4);
  });

  it('creates affinity sets once, keeps them across syncs, and deletes those no longer used', () => {
    const a60 = lbModel([{ ...web, affinitySeconds: 60 }]);
    const id = feChain(a60, web).slice(3);
    const first = lines(lbScript(a60, lbModel([])));
    expect(first).toContain(`add set ${t} aff-${id}-node-1-60 { type ipv4_addr; flags dynamic,timeout; timeout 60s; }`);
    // the same sets again: not re-created (their clients stay pinned), not deleted
    const again = lines(lbScript(lbModel([{ ...web, affinitySeconds: 60 }, dns]), a60));
    expect(again.filter((l) => /^(add|delete|flush) set /.test(l))).toEqual([]);
    // node-1 leaves: its set goes, after the rules that used it
    const less = lines(lbScript(lbModel([{ ...web, affinitySeconds: 60, backends: [node(2)] }]), a60));
    expect(less.filter((l) => /^(add|delete|flush) set /.test(l))).toEqual([`delete set ${t} aff-${id}-node-1-60`]);
    expect(less.at(-1)).toBe(`delete set ${t} aff-${id}-node-1-60`);
    // a new timeout: new sets in, old sets out
    const changed = lines(lbScript(lbModel([{ ...web, affinitySeconds: 120 }]), a60));
    expect(changed.filter((l) => l.startsWith('add set')).map((l) => l.split(' ')[4])).toEqual([`aff-${id}-node-1-120`, `aff-${id}-node-2-120`]);
    expect(changed.filter((l) => l.startsWith('delete set'))).toEqual([`delete set ${t} aff-${id}-node-1-60`, `delete set ${t} aff-${id}-node-2-60`]);
    // affinity off
    expect(lines(lbScript(lbModel([web]), a60)).filter((l) => l.startsWith('delete set'))).toHaveLength(2);
  });
});

// ---- nft accepts every transition, and the kernel holds what the model says (root only) ----

interface Listed {
  chains: Record<string, number>;
  sets: Record<string, number>;
  frontends: string[];
  firewall: string[];
  dnat: Record<string, string>;
  marked: string[];
}

type Json = Record<string, unknown>;

/** `nft -j list table` reduced to what the model decides. */
function summarize(json: string): Listed {
  const out: Listed = { chains: {}, sets: {}, frontends: [], firewall: [], dnat: {}, marked: [] };
  for (const item of (JSON.parse(json) as { nftables: Json[] }).nftables) {
    if (item.chain) out.chains[(item.chain as Json).name as string] ??= 0;
    if (item.set) out.sets[(item.set as Json).name as string] = (item.set as Json).timeout as number;
    if (item.map) {
      const m = item.map as { name: string; elem?: [{ concat: unknown[] }, { goto: { target: string } }][] };
      const elems = (m.elem ?? []).map(([k, v]) => `${k.concat.join(' . ')} : goto ${v.goto.target}`);
      if (m.name === 'frontends') out.frontends = elems.sort();
      if (m.name === 'firewall') out.firewall = elems.sort();
    }
    if (item.rule) {
      const r = item.rule as { chain: string; expr: Json[] };
      out.chains[r.chain] = (out.chains[r.chain] ?? 0) + 1;
      for (const e of r.expr) {
        if (e.dnat) out.dnat[r.chain] = `${(e.dnat as Json).addr}:${(e.dnat as Json).port}`;
        if (e.mangle && JSON.stringify((e.mangle as Json).key) === '{"meta":{"key":"mark"}}') out.marked.push(r.chain);
      }
    }
  }
  out.marked.sort();
  return out;
}

/** What the kernel should hold for `m`. */
function expected(m: LbModel): Listed {
  const out: Listed = {
    chains: { 'filter-prerouting': 1, 'nat-prerouting': 1, 'nat-output': 1, 'nat-postrouting': 1 },
    sets: Object.fromEntries(m.sets),
    frontends: [...m.frontends].sort(),
    firewall: [...m.firewall].sort(),
    dnat: {},
    marked: [],
  };
  for (const [name, rules] of m.chains) {
    out.chains[name] = rules.length;
    for (const r of rules) {
      const d = / dnat to (\S+)$/.exec(r);
      if (d) out.dnat[name] = d[1]!;
      if (r.startsWith('meta mark set')) out.marked.push(name);
    }
  }
  out.marked.sort();
  return out;
}

describe.skipIf(!CAN_PROGRAM_NETNS)('the scripts in a scratch namespace', () => {
  it('nft accepts every transition and the table matches the model after each', () => {
    inScratchNetns((ns) => {
      const nft = (args: string[], input?: string) => spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { input, encoding: 'utf8' });
      let installed: LbModel | undefined;
      const step = (label: string, frontends: Frontend[], rebuild = false) => {
        const m = lbModel(frontends);
        const r = nft(['-f', '-'], lbScript(m, rebuild ? undefined : installed));
        expect({ label, code: r.status, stderr: r.stderr }).toEqual({ label, code: 0, stderr: '' });
        installed = m;
        const listed = nft(['-j', 'list', 'table', 'ip', LB_TABLE]);
        expect(listed.status).toBe(0);
        expect({ label, ...summarize(listed.stdout) }).toEqual({ label, ...expected(m) });
        return m;
      };
      const affSet = (m: LbModel, f: Frontend, n: number) => `aff-${feChain(m, f).slice(3)}-node-${n}-${f.affinitySeconds}`;
      const elements = (set: string) => nft(['list', 'set', 'ip', LB_TABLE, set]).stdout;

      step('empty, from nothing', [], true);
      step('one frontend, one node, source ranges', [{ ...web, backends: [node(1)], sourceRanges: ['10.0.0.0/8'] }]);
      step('second node and a Local UDP frontend', [{ ...web, sourceRanges: ['10.0.0.0/8'] }, dns]);
      step('source ranges lifted', [web, dns]);
      const aff = { ...web, affinitySeconds: 60 };
      let m = step('affinity on', [aff, dns]);
      // a client pinned to node-2 stays pinned while other frontends change
      const pinned = affSet(m, aff, 2);
      expect(nft(['add', 'element', 'ip', LB_TABLE, pinned, '{ 10.1.2.3 }']).status).toBe(0);
      step('dns loses its node (no map entry)', [aff, { ...dns, backends: [] }]);
      expect(elements(pinned)).toContain('10.1.2.3');
      step('dns back', [aff, dns]);
      expect(elements(pinned)).toContain('10.1.2.3');
      m = step('node-1 leaves an affinity frontend', [{ ...aff, backends: [node(2)] }, dns]);
      expect(Object.keys(expected(m).sets)).toEqual([pinned]);
      expect(elements(pinned)).toContain('10.1.2.3');
      step('node-1 back', [aff, dns]);
      step('another timeout', [{ ...web, affinitySeconds: 120 }, dns]);
      step('affinity off', [web, dns]);
      step('backends removed', [{ ...web, backends: [] }, { ...dns, backends: [] }]);
      step('a frontend moves to another address', [{ ...web, ip: '172.30.0.210' }, dns]);
      // a restart: the process no longer knows what is installed, so it rebuilds over the old table
      step('rebuilt over an existing table', [{ ...web, affinitySeconds: 60 }], true);
      step('everything removed', []);
      expect(nft(['-f', '-'], `table ip ${LB_TABLE} {}\ndelete table ip ${LB_TABLE}\n`).status).toBe(0);
    });
  });
});
