import { describe, expect, it } from 'vitest';
import * as dnsPacket from 'dns-packet';
import pino from 'pino';
import { clusterDnsOptions, serveClusterDns } from './cluster-dns.js';
import { clusterIP, sampleCluster } from './testing/fixtures.js';
import { query, udpExchange } from './testing/client.js';

describe('cluster-dns workload', () => {
  it('parses its flags with CoreDNS-like defaults and rejects bad ones', () => {
    const o = clusterDnsOptions([]);
    expect(o).toMatchObject({ zone: 'cluster.local', port: 53, healthPort: 8080, readyPort: 8181, ttl: 5, host: '0.0.0.0', reverseCidrs: ['10.96.0.0/12', '10.244.0.0/16'] });
    expect(clusterDnsOptions(['--zone', 'kubemu.test', '--port=1053', '--ready-port', '0']).zone).toBe('kubemu.test');
    expect(() => clusterDnsOptions(['--port', '70000'])).toThrow(/--port/);
    expect(() => clusterDnsOptions(['--zone', 'bad zone'])).toThrow(/--zone/);
  });

  it('serves DNS over live caches, ready only once they have synced, following changes', async () => {
    const { services, slices } = sampleCluster();
    let synced!: () => void;
    const dns = await serveClusterDns(
      { services, slices },
      new Promise<void>((r) => (synced = r)),
      { zone: 'cluster.local', port: 0, host: '127.0.0.1', healthPort: 0, readyPort: 0, reverseCidrs: ['10.96.0.0/12'], minRebuildMs: 10 },
      pino({ level: 'silent' }),
    );
    try {
      const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status);
      expect(await get(dns.healthPort, '/health')).toBe(200);
      expect(await get(dns.readyPort, '/ready')).toBe(503);
      const early = dnsPacket.decode((await udpExchange(dns.port, query({ name: 'nope.default.svc.cluster.local' })))!);
      expect((early.flags ?? 0) & 0xf).toBe(2); // SERVFAIL before sync
      synced();
      await new Promise((r) => setTimeout(r, 20));
      expect(await get(dns.readyPort, '/ready')).toBe(200);
      services.set(clusterIP('default', 'late', '10.96.9.9'));
      await new Promise((r) => setTimeout(r, 30));
      const late = dnsPacket.decode((await udpExchange(dns.port, query({ name: 'late.default.svc.cluster.local' })))!);
      expect(late.answers).toMatchObject([{ data: '10.96.9.9' }]);
    } finally {
      await dns.close();
    }
  });
});
