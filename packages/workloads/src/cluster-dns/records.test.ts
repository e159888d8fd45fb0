import { describe, expect, it } from 'vitest';
import type { Answer } from 'dns-packet';
import { ClusterRecords, resolve } from './records.js';
import { buildZoneIndex } from './zone-index.js';
import { clusterIP, sampleCluster, slice } from './testing/fixtures.js';

function records(opts: { zone?: string; synced?: boolean } = {}) {
  const { services, slices } = sampleCluster();
  const r = new ClusterRecords(services, slices, { zone: opts.zone, reverseCidrs: ['10.96.0.0/12', '10.244.0.0/16'], selfIPs: ['10.244.1.2'] });
  r.rebuild(1_700_000_000_000);
  r.synced = opts.synced ?? true;
  return { r, services, slices };
}

const data = (as: Answer[]) => as.map((a) => ('data' in a ? a.data : undefined));
const { r } = records();
const q = (name: string, type = 'A') => r.resolve(name, type);

describe('cluster DNS records', () => {
  it('answers a Service name with its cluster IP, TTL 5, authoritatively, echoing the question case', () => {
    const res = q('KUBIA.Default.svc.Cluster.Local');
    expect(res.rcode).toBe('NOERROR');
    expect(res.authoritative).toBe(true);
    expect(res.answers).toEqual([{ name: 'KUBIA.Default.svc.Cluster.Local', type: 'A', class: 'IN', ttl: 5, data: '10.96.0.20' }]);
    expect(q('kubernetes.default.svc.cluster.local.').answers[0]).toMatchObject({ name: 'kubernetes.default.svc.cluster.local', data: '10.96.0.1' });
  });

  it('answers NODATA with the SOA for a type the name does not have (AAAA of an IPv4 Service)', () => {
    const res = q('kubia.default.svc.CLUSTER.local', 'AAAA');
    expect(res.rcode).toBe('NOERROR');
    expect(res.answers).toEqual([]);
    expect(res.authorities).toHaveLength(1);
    expect(res.authorities[0]).toMatchObject({ name: 'CLUSTER.local', type: 'SOA', ttl: 5 });
    expect(res.authorities[0].type === 'SOA' && res.authorities[0].data).toMatchObject({
      mname: 'ns.dns.cluster.local',
      rname: 'hostmaster.cluster.local',
      serial: 1_700_000_000,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: 5,
    });
    for (const t of ['MX', 'TXT', 'UNKNOWN_65', 'ANY']) expect(q('kubia.default.svc.cluster.local', t)).toMatchObject({ rcode: 'NOERROR', answers: [] });
  });

  it('answers NXDOMAIN with the SOA for unknown names in the zone', () => {
    for (const name of ['nope.default.svc.cluster.local', 'foo.cluster.local', 'nons.svc.cluster.local', 'a.b.c.d.e.svc.cluster.local', '*.default.svc.cluster.local']) {
      const res = q(name);
      expect(res.rcode, name).toBe('NXDOMAIN');
      expect(res.authoritative).toBe(true);
      expect(res.authorities[0]).toMatchObject({ name: 'cluster.local', type: 'SOA' });
    }
    expect(q('nope.default.svc.cluster.local', 'MX').rcode).toBe('NXDOMAIN');
  });

  it('answers SERVFAIL instead of NXDOMAIN until the caches have synced', () => {
    const { r: unsynced } = records({ synced: false });
    expect(unsynced.resolve('nope.default.svc.cluster.local', 'A').rcode).toBe('SERVFAIL');
    expect(unsynced.resolve('kubia.default.svc.cluster.local', 'A').rcode).toBe('NOERROR');
  });

  it('refuses names outside the zone and outside the reverse zones of the cluster networks', () => {
    for (const name of ['example.com', 'xcluster.local', 'cluster.local.example.com', '.', 'local', '1.0.0.127.in-addr.arpa', '1.0.0.11.in-addr.arpa']) {
      const res = q(name);
      expect(res.rcode, name).toBe('REFUSED');
      expect(res.authoritative).toBe(false);
      expect(res.answers).toEqual([]);
    }
    expect(q('kubia.default.svc.cluster.local', 'AXFR').rcode).toBe('REFUSED');
  });

  it('treats existing names without records as NODATA: apex, svc, pod, a namespace with Services', () => {
    for (const name of ['cluster.local', 'svc.cluster.local', 'pod.cluster.local', 'default.svc.cluster.local', 'kube-system.svc.cluster.local', 'default.pod.cluster.local']) {
      expect(q(name), name).toMatchObject({ rcode: 'NOERROR', answers: [] });
    }
  });

  it('answers a headless Service with its ready endpoints only, NXDOMAIN when none', () => {
    expect(data(q('kubia-headless.default.svc.cluster.local').answers).sort()).toEqual(['10.244.1.7', '10.244.2.8']);
    expect(q('empty.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });

  it('answers every endpoint of a Service that publishes not-ready addresses', () => {
    expect(data(q('pnra.default.svc.cluster.local').answers)).toEqual(['10.244.1.10']);
  });

  it('answers endpoint names: the hostname, else the dashed address', () => {
    expect(data(q('web-0.kubia-headless.default.svc.cluster.local').answers)).toEqual(['10.244.1.7']);
    expect(data(q('10-244-2-8.kubia-headless.default.svc.cluster.local').answers)).toEqual(['10.244.2.8']);
    expect(q('10-244-3-9.kubia-headless.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
    // CoreDNS answers endpoint names of ClusterIP Services too.
    expect(data(q('10-244-1-5.kubia.default.svc.cluster.local').answers)).toEqual(['10.244.1.5']);
  });

  it('answers SRV per named port of a ClusterIP Service, targeting the Service, with its A in additional', () => {
    const res = q('_http._tcp.kubia.default.svc.cluster.local', 'SRV');
    expect(res.answers).toEqual([
      { name: '_http._tcp.kubia.default.svc.cluster.local', type: 'SRV', class: 'IN', ttl: 5, data: { priority: 0, weight: 100, port: 80, target: 'kubia.default.svc.cluster.local' } },
    ]);
    expect(res.additionals).toEqual([{ name: 'kubia.default.svc.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.96.0.20' }]);
    expect(q('_dns._udp.kubia.default.svc.cluster.local', 'SRV').answers[0]).toMatchObject({ data: { port: 53 } });
    expect(q('_DNS._UDP.kubia.default.svc.cluster.local', 'SRV').answers).toHaveLength(1);
    expect(q('_dns._tcp.kubia.default.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    expect(q('_nope._tcp.kubia.default.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    // The port's name is the SRV record's: an A question there is NODATA.
    expect(q('_http._tcp.kubia.default.svc.cluster.local', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
  });

  it('answers SRV for every port, named or not, at the Service name (weights share 100)', () => {
    const res = q('kubia.default.svc.cluster.local', 'SRV');
    expect(res.answers.map((a) => a.type === 'SRV' && a.data.port).sort()).toEqual([53, 80, 8443].sort());
    expect(res.answers.every((a) => a.type === 'SRV' && a.data.weight === 33)).toBe(true);
  });

  it('answers SRV per ready endpoint of a headless Service, targeting endpoint names, with their A records', () => {
    const res = q('_http._tcp.kubia-headless.default.svc.cluster.local', 'SRV');
    const srv = res.answers.map((a) => a.type === 'SRV' && a.data);
    expect(srv).toEqual([
      { priority: 0, weight: 50, port: 8080, target: 'web-0.kubia-headless.default.svc.cluster.local' },
      { priority: 0, weight: 50, port: 8080, target: '10-244-2-8.kubia-headless.default.svc.cluster.local' },
    ]);
    expect(res.additionals.map((a) => [a.name, 'data' in a && a.data])).toEqual([
      ['web-0.kubia-headless.default.svc.cluster.local', '10.244.1.7'],
      ['10-244-2-8.kubia-headless.default.svc.cluster.local', '10.244.2.8'],
    ]);
    expect(q('web-0.kubia-headless.default.svc.cluster.local', 'SRV').answers[0]).toMatchObject({ data: { port: 8080, target: 'web-0.kubia-headless.default.svc.cluster.local' } });
  });

  it('answers pods by dashed address in any namespace (pods insecure)', () => {
    expect(q('10-244-1-5.default.pod.cluster.local').answers).toEqual([{ name: '10-244-1-5.default.pod.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.244.1.5' }]);
    expect(data(q('1-2-3-4.other.pod.cluster.local').answers)).toEqual(['1.2.3.4']);
    expect(q('1-2-3-4.other.pod.cluster.local', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    for (const bad of ['web.default.pod.cluster.local', '1-2-3.default.pod.cluster.local', '1-2-3-400.default.pod.cluster.local', 'x.1-2-3-4.default.pod.cluster.local']) {
      expect(q(bad).rcode, bad).toBe('NXDOMAIN');
    }
  });

  it('answers PTR for cluster IPs and for ready endpoint addresses', () => {
    expect(q('20.0.96.10.in-addr.arpa', 'PTR').answers).toEqual([{ name: '20.0.96.10.in-addr.arpa', type: 'PTR', class: 'IN', ttl: 5, data: 'kubia.default.svc.cluster.local' }]);
    expect(data(q('7.1.244.10.IN-ADDR.ARPA', 'PTR').answers)).toEqual(['web-0.kubia-headless.default.svc.cluster.local']);
    expect(data(q('5.1.244.10.in-addr.arpa', 'PTR').answers)).toEqual(['10-244-1-5.kubia.default.svc.cluster.local']);
    const miss = q('99.99.244.10.in-addr.arpa', 'PTR');
    expect(miss.rcode).toBe('NXDOMAIN');
    expect(miss.authorities[0]).toMatchObject({ name: '244.10.in-addr.arpa', type: 'SOA' });
    // 10.100.0.1 lies in 10.96.0.0/12, whose reverse zones are split on octets (96…111.10.in-addr.arpa).
    expect(q('1.0.100.10.in-addr.arpa', 'PTR').authorities[0]).toMatchObject({ name: '100.10.in-addr.arpa' });
    expect(q('1.0.112.10.in-addr.arpa', 'PTR').rcode).toBe('REFUSED');
    expect(q('0.96.10.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(q('96.10.in-addr.arpa', 'SOA').answers[0]).toMatchObject({ type: 'SOA', name: '96.10.in-addr.arpa' });
  });

  it('answers an ExternalName Service with a CNAME, following it when the target is in the zone', () => {
    expect(q('ext.default.svc.cluster.local').answers).toEqual([{ name: 'ext.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 5, data: 'www.example.com' }]);
    expect(q('ext.default.svc.cluster.local').rcode).toBe('NOERROR');
    expect(q('Ext.default.svc.cluster.local', 'CNAME').answers).toEqual([{ name: 'Ext.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 5, data: 'www.example.com' }]);
    expect(q('ext.default.svc.cluster.local', 'SRV')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(q('alias.default.svc.cluster.local').answers).toEqual([
      { name: 'alias.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 5, data: 'kubia.default.svc.cluster.local' },
      { name: 'kubia.default.svc.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.96.0.20' },
    ]);
    expect(q('alias2.default.svc.cluster.local').answers.map((a) => a.type)).toEqual(['CNAME', 'CNAME', 'A']);
    const dangling = q('dangling.default.svc.cluster.local');
    expect(dangling.rcode).toBe('NXDOMAIN');
    expect(dangling.answers.map((a) => a.type)).toEqual(['CNAME']);
    const loop = q('loop-a.default.svc.cluster.local');
    expect(loop.rcode).toBe('NOERROR');
    expect(loop.answers.map((a) => a.type)).toEqual(['CNAME', 'CNAME']);
  });

  it('answers dns-version TXT with the schema version', () => {
    expect(q('dns-version.cluster.local', 'TXT').answers).toEqual([{ name: 'dns-version.cluster.local', type: 'TXT', class: 'IN', ttl: 28800, data: '1.1.0' }]);
  });

  it('answers the apex SOA and NS, the name servers being the Service that selects this server', () => {
    expect(q('cluster.local', 'SOA').answers[0]).toMatchObject({ name: 'cluster.local', type: 'SOA' });
    const ns = q('cluster.local', 'NS');
    expect(ns.answers).toEqual([{ name: 'cluster.local', type: 'NS', class: 'IN', ttl: 5, data: 'kube-dns.kube-system.svc.cluster.local' }]);
    expect(ns.additionals).toEqual([{ name: 'kube-dns.kube-system.svc.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.96.0.10' }]);
    expect(data(q('ns.dns.cluster.local').answers)).toEqual(['10.96.0.10']);
  });

  it('serves a configured zone and refuses the default one', () => {
    const { r: other } = records({ zone: 'kubemu.test' });
    expect(data(other.resolve('kubia.default.svc.kubemu.test', 'A').answers)).toEqual(['10.96.0.20']);
    expect(other.resolve('kubia.default.svc.cluster.local', 'A').rcode).toBe('REFUSED');
    expect(other.resolve('dns-version.kubemu.test', 'TXT').answers).toHaveLength(1);
  });

  it('follows the caches on rebuild', () => {
    const { r: live, services, slices } = records();
    expect(live.resolve('new.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    const gen = live.generation;
    services.set(clusterIP('default', 'new', '10.96.5.5'));
    slices.set(slice('default', 'kubia-headless', [{ ip: '10.244.1.7', hostname: 'web-0' }]));
    live.rebuild();
    expect(live.generation).toBe(gen + 1);
    expect(data(live.resolve('new.default.svc.cluster.local', 'A').answers)).toEqual(['10.96.5.5']);
    expect(data(live.resolve('kubia-headless.default.svc.cluster.local', 'A').answers)).toEqual(['10.244.1.7']);
  });

  it('takes the first Service for a shared cluster IP PTR and ignores FQDN slices and bad addresses', () => {
    const idx = buildZoneIndex(
      [clusterIP('a', 'one', '10.96.0.50'), clusterIP('b', 'two', '10.96.0.50')],
      [{ ...slice('a', 'one', [{ ip: 'not-an-ip' }]), addressType: 'FQDN' }, slice('a', 'one', [{ ip: 'not-an-ip' }])],
      { reverseCidrs: ['10.96.0.0/12'] },
    );
    expect(data(resolve(idx, '50.0.96.10.in-addr.arpa', 'PTR').answers)).toEqual(['one.a.svc.cluster.local']);
    expect(resolve(idx, 'not-an-ip.one.a.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });
});
