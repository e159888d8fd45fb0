import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CAN_PROGRAM_NETNS, inScratchNetns } from '../testing/scratch-netns.js';
import { baseScript, diffModel, emptyModel, NAT_TABLE, portModel as model, type NftPortInput } from './nft-rules.js';

const ctx = { podBridge: 'cbr0' };
const ep = (ip: string) => ({ ip, port: 8080 });
// cluster-wide endpoints draw from slots 0…, local ones from 8…
const portModel = (id: string, p: NftPortInput, c: typeof ctx) => model(id, p, c, (sel) => (sel === 'clu' ? 0 : 8));
const base: NftPortInput = {
  protocol: 'tcp',
  clusterIP: '10.96.0.10',
  port: 80,
  externalIPs: [],
  internalLocal: false,
  externalLocal: false,
  cluster: [ep('10.244.1.5'), ep('10.244.2.5'), ep('10.244.3.5')],
  local: [ep('10.244.1.5')],
  anyEndpoints: true,
  affinitySeconds: 0,
};

describe('portModel', () => {
  it('spreads a cluster IP over every usable endpoint with one random draw of a slot in the endpoint map', () => {
    const m = portModel('p1', base, ctx);
    expect(m.svcIps.get('10.96.0.10 . tcp . 80')).toBe('goto p1-int');
    expect(m.chains.get('p1-clu')).toEqual(['meta l4proto tcp dnat to numgen random mod 3 offset 0 map @eps-tcp']);
    expect([...m.eps]).toEqual([['eps-tcp 0', '10.244.1.5 . 8080'], ['eps-tcp 1', '10.244.2.5 . 8080'], ['eps-tcp 2', '10.244.3.5 . 8080']]);
    // no chain per endpoint without affinity
    expect([...m.chains.keys()].sort()).toEqual(['p1-clu', 'p1-int']);
    // the node itself (not a pod: not from the pod bridge) is masqueraded
    expect(m.chains.get('p1-int')).toEqual(['iifname != "cbr0" meta mark set meta mark | 0x00004000', 'goto p1-clu']);
    expect(m.nodePorts.size).toBe(0);
  });

  it('maps nothing when no endpoint exists anywhere (the kernel refuses)', () => {
    const m = portModel('p1', { ...base, nodePort: 30080, cluster: [], local: [], anyEndpoints: false }, ctx);
    expect(m.chains.size + m.svcIps.size + m.nodePorts.size).toBe(0);
  });

  it('keeps the client address for externalTrafficPolicy Local, except for this node and its pods', () => {
    const m = portModel('p1', { ...base, nodePort: 30080, externalLocal: true, externalIPs: ['172.30.0.11'] }, ctx);
    expect(m.nodePorts.get('tcp . 30080')).toBe('goto p1-ext');
    expect(m.svcIps.get('172.30.0.11 . tcp . 80')).toBe('goto p1-ext');
    expect(m.chains.get('p1-ext')).toEqual([
      'iifname "cbr0" goto p1-clu',
      'fib saddr type local meta mark set meta mark | 0x00004000',
      'fib saddr type local goto p1-clu',
      'goto p1-loc',
    ]);
    expect(m.chains.get('p1-loc')).toEqual(['meta l4proto tcp dnat to numgen random mod 1 offset 8 map @eps-tcp']);
    expect(m.eps.get('eps-tcp 8')).toBe('10.244.1.5 . 8080');
  });

  it('leaves the Local chain empty without local endpoints (the filter table drops)', () => {
    const m = portModel('p1', { ...base, internalLocal: true, local: [] }, ctx);
    expect(m.chains.get('p1-loc')).toEqual([]);
    expect(m.chains.get('p1-int')!.at(-1)).toBe('goto p1-loc');
  });

  it('masquerades Cluster-policy node ports (the pod sees the node)', () => {
    const m = portModel('p1', { ...base, nodePort: 30080 }, ctx);
    expect(m.chains.get('p1-ext')).toEqual(['meta mark set meta mark | 0x00004000', 'goto p1-clu']);
  });

  it('sticks a client to its endpoint with ClientIP affinity, one timed set per endpoint', () => {
    const m = portModel('p1', { ...base, affinitySeconds: 10800 }, ctx);
    expect(m.sets.get('p1-a10800-10-244-2-5-8080')).toBe(10800);
    expect(m.chains.get('p1-clu')!.slice(0, 3)).toEqual([
      'ip saddr @p1-a10800-10-244-1-5-8080 goto p1-e-10-244-1-5-8080',
      'ip saddr @p1-a10800-10-244-2-5-8080 goto p1-e-10-244-2-5-8080',
      'ip saddr @p1-a10800-10-244-3-5-8080 goto p1-e-10-244-3-5-8080',
    ]);
    expect(m.chains.get('p1-clu')!.at(-1)).toBe('numgen random mod 3 offset 0 vmap @ep-chains');
    expect(m.epChains.get('1')).toBe('goto p1-e-10-244-2-5-8080');
    expect(m.chains.get('p1-e-10-244-2-5-8080')).toContain('update @p1-a10800-10-244-2-5-8080 { ip saddr }');
  });
});

describe('diffModel', () => {
  it('touches only what changed', () => {
    const a = portModel('p1', base, ctx);
    const b = portModel('p1', { ...base, cluster: base.cluster.slice(1) }, ctx);
    expect(diffModel(a, b).flat()).toEqual([
      `delete element ip ${NAT_TABLE} eps-tcp { 0 }`,
      `delete element ip ${NAT_TABLE} eps-tcp { 1 }`,
      `delete element ip ${NAT_TABLE} eps-tcp { 2 }`,
      `flush chain ip ${NAT_TABLE} p1-clu`,
      `add rule ip ${NAT_TABLE} p1-clu meta l4proto tcp dnat to numgen random mod 2 offset 0 map @eps-tcp`,
      `add element ip ${NAT_TABLE} eps-tcp { 0 : 10.244.2.5 . 8080 }`,
      `add element ip ${NAT_TABLE} eps-tcp { 1 : 10.244.3.5 . 8080 }`,
    ]);
    expect(diffModel(b, b).flat()).toEqual([]);
  });

  it('changes only endpoint slots when the number of endpoints stays', () => {
    const a = portModel('p1', base, ctx);
    const b = portModel('p1', { ...base, cluster: [ep('10.244.1.5'), ep('10.244.2.9'), ep('10.244.3.5')] }, ctx);
    expect(diffModel(a, b).flat()).toEqual([`delete element ip ${NAT_TABLE} eps-tcp { 1 }`, `add element ip ${NAT_TABLE} eps-tcp { 1 : 10.244.2.9 . 8080 }`]);
  });

  it('removes an affinity endpoint: references first, then its chain and its set', () => {
    const a = portModel('p1', { ...base, affinitySeconds: 60 }, ctx);
    const b = portModel('p1', { ...base, affinitySeconds: 60, cluster: base.cluster.slice(1), local: [] }, ctx);
    const flat = diffModel(a, b).flat();
    expect(flat.indexOf(`flush chain ip ${NAT_TABLE} p1-clu`)).toBeLessThan(flat.indexOf(`delete chain ip ${NAT_TABLE} p1-e-10-244-1-5-8080`));
    expect(flat.at(-1)).toBe(`delete set ip ${NAT_TABLE} p1-a60-10-244-1-5-8080`);
  });

  it('removes a whole port: map entries first, chains and sets last', () => {
    const a = portModel('p1', { ...base, affinitySeconds: 60 }, ctx);
    const phases = diffModel(a, emptyModel());
    const flat = phases.flat();
    expect(flat.indexOf(`delete element ip ${NAT_TABLE} svc-ips { 10.96.0.10 . tcp . 80 }`)).toBeLessThan(flat.findIndex((c) => c.startsWith('delete chain')));
    expect(flat.at(-1)).toMatch(/^delete set /);
  });
});

// nft parses and the kernel accepts the script, in a throwaway network namespace (root only).
describe.skipIf(!CAN_PROGRAM_NETNS)('nft accepts the scripts', () => {
  it('installs, updates and removes a port in a scratch namespace', () => {
    inScratchNetns((ns) => {
      const nft = (script: string) => spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
      const a = portModel('p1', { ...base, nodePort: 30080, externalLocal: true, affinitySeconds: 30 }, ctx);
      const b = portModel('p1', { ...base, nodePort: 30080, cluster: base.cluster.slice(1), local: [] }, ctx);
      const script = (x: ReturnType<typeof emptyModel>, y: ReturnType<typeof emptyModel>) => diffModel(x, y).flat().join('\n') + '\n';
      let r = nft(baseScript(ctx) + script(emptyModel(), a));
      expect(r.stderr).toBe('');
      r = nft(script(a, b));
      expect(r.stderr).toBe('');
      const listed = spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', NAT_TABLE], { encoding: 'utf8' }).stdout;
      expect(listed).toContain('numgen random mod 2 map @eps-tcp'); // nft leaves out offset 0
      expect(listed).not.toContain('p1-a30-');
      r = nft(script(b, emptyModel()));
      expect(r.stderr).toBe('');
      expect(spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', NAT_TABLE], { encoding: 'utf8' }).stdout).not.toContain('chain p1-');
    });
  });
});
