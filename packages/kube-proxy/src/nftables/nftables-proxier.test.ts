import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CAN_PROGRAM_NETNS, inScratchNetns } from '../testing/scratch-netns.js';

// The proxier programs the namespace it runs in, so it runs in a child process inside a throwaway one (root only).
describe.skipIf(!CAN_PROGRAM_NETNS)('NftablesProxier in a scratch namespace', () => {
  it('installs ports through libnftables, reuses freed endpoint slots, leaves the table alone on a bad script', () => {
    inScratchNetns((ns) => {
      const child = fileURLToPath(new URL('../testing/nft-child.ts', import.meta.url));
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', child], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout) as { kind: string; bad: { code: number; stderr: string }; steps: Record<string, string> };
      expect(out.kind).toBe('libnftables');
      const { installed, swapped, afterBad, tornDown } = out.steps;
      // a: 2 endpoints in slots 0-1 (block of 4), b: slot 4
      expect(installed).toMatch(/dnat ip to numgen random mod 2 map @eps-tcp/);
      expect(installed).toMatch(/dnat ip to numgen random mod 1 offset 4 map @eps-tcp/);
      expect(installed).toMatch(/0 : 10\.244\.1\.5 \. 8080, 1 : 10\.244\.2\.5 \. 8080/);
      // this node's endpoint is in the hairpin set (its own connections DNATed back to it are masqueraded)
      expect(installed).toMatch(/set hairpin \{[^}]*elements = \{ 10\.244\.1\.5 \. 10\.244\.1\.5 \}/);
      // c took a's block; a's endpoints and cluster IP are gone
      expect(swapped).toMatch(/dnat ip to numgen random mod 3 map @eps-tcp/);
      expect(swapped).toMatch(/0 : 10\.244\.1\.7 \. 8080, 1 : 10\.244\.2\.7 \. 8080, 2 : 10\.244\.3\.7 \. 8080/);
      expect(swapped).not.toContain('10.244.1.5');
      expect(swapped).toMatch(/set hairpin \{[^}]*elements = \{ 10\.244\.1\.7 \. 10\.244\.1\.7 \}/);
      expect(swapped).not.toContain('10.96.0.10');
      expect(swapped).toContain('10.96.0.12 . tcp . 80');
      // a UDP draw beside TCP ones survives a rule change (failed with 'conflicting protocols specified: udp vs. tcp')
      expect(out.steps.udpShrunk).toMatch(/meta l4proto udp dnat ip to numgen random mod 1 offset \d+ map @eps-udp/);
      expect(out.bad.code).not.toBe(0);
      expect(out.bad.stderr).toMatch(/syntax error/);
      expect(afterBad).toBe(swapped);
      expect(tornDown).toBe('');
    });
  });
});

describe('tcpEndpointsGone', () => {
  const input = (protocol: 'tcp' | 'udp', eps: [string, number][]) => ({ protocol, port: 80, externalIPs: [], internalLocal: false, externalLocal: false, cluster: eps.map(([ip, port]) => ({ ip, port })), local: [], anyEndpoints: eps.length > 0, affinitySeconds: 0 });
  it('names the TCP endpoints that left (all of them when the port goes), none for UDP', async () => {
    const { tcpEndpointsGone } = await import('./nftables-proxier.js');
    const before = input('tcp', [['10.244.1.5', 8080], ['10.244.2.5', 8080], ['10.244.3.5', 8080]]);
    expect(tcpEndpointsGone(before, input('tcp', [['10.244.1.5', 8080], ['10.244.3.5', 8080]]))).toEqual(['10.244.2.5:8080']);
    expect(tcpEndpointsGone(before, input('tcp', [['10.244.1.5', 8080], ['10.244.2.5', 9090], ['10.244.3.5', 8080]]))).toEqual(['10.244.2.5:8080']);
    expect(tcpEndpointsGone(before, undefined)).toEqual(['10.244.1.5:8080', '10.244.2.5:8080', '10.244.3.5:8080']);
    expect(tcpEndpointsGone(undefined, before)).toEqual([]);
    expect(tcpEndpointsGone(input('udp', [['10.244.1.5', 53]]), undefined)).toEqual([]);
  });
});
