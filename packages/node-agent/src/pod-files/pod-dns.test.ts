import { describe, expect, it } from 'vitest';
import type { Pod } from '@kubemu/api';
import { formatResolvConf, parseResolvConf, podDNSConfig, type DNSSettings } from './pod-dns.js';

const host = parseResolvConf('# generated\nnameserver 10.255.255.53\nnameserver 10.255.255.54\nsearch corp.example. lab.example .\noptions edns0 ndots:2\n');
const settings: DNSSettings = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host };
const pod = (spec: Partial<Pod['spec']> = {}, ns = 'shop'): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: ns, uid: 'u1' }, spec: { containers: [], dnsPolicy: 'ClusterFirst', ...spec } });
const conf = (p: Pod, s = settings) => formatResolvConf(podDNSConfig(p, s).config);

describe('pod resolv.conf', () => {
  it("parses the node's resolver: nameservers, the search line without dots, options", () => {
    expect(host).toEqual({ servers: ['10.255.255.53', '10.255.255.54'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'ndots:2'] });
  });

  it('ClusterFirst: cluster DNS, the namespace search path then the node\'s searches, ndots:5', () => {
    expect(conf(pod())).toBe('search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n');
    expect(conf(pod({}, 'default'), { ...settings, host: { servers: [], searches: [], options: [] } })).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });

  it("hostNetwork: ClusterFirst means the node's resolver, ClusterFirstWithHostNet the cluster's", () => {
    expect(conf(pod({ hostNetwork: true }))).toBe('search corp.example lab.example\nnameserver 10.255.255.53\nnameserver 10.255.255.54\noptions edns0 ndots:2\n');
    expect(conf(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }))).toMatch(/^search shop\.svc\.cluster\.local .*\nnameserver 10\.96\.0\.10\noptions ndots:5\n$/);
    expect(conf(pod({ dnsPolicy: 'Default' }))).toBe(conf(pod({ hostNetwork: true })));
  });

  it('None + dnsConfig: only the pod\'s; dnsConfig appends without duplicates and its options win', () => {
    expect(conf(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['ns1.svc.cluster-domain.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }))).toBe(
      'search ns1.svc.cluster-domain.example\nnameserver 1.2.3.4\noptions ndots:2 edns0\n',
    );
    const merged = podDNSConfig(pod({ dnsConfig: { nameservers: ['10.96.0.10', '8.8.8.8'], searches: ['svc.cluster.local', 'extra.example'], options: [{ name: 'ndots', value: '1' }, { name: 'timeout', value: '3' }] } }), settings).config;
    expect(merged).toEqual({
      servers: ['10.96.0.10', '8.8.8.8'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example', 'extra.example'],
      options: ['ndots:1', 'timeout:3'],
    });
  });

  it('cuts to 3 nameservers and 32 search paths of at most 2048 characters, with a DNSConfigForming warning', () => {
    const many = podDNSConfig(pod({ dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'], searches: Array.from({ length: 40 }, (_, i) => `d${i}.example`) } }), settings);
    expect(many.config.servers).toEqual(['10.96.0.10', '1.1.1.1', '2.2.2.2']);
    expect(many.config.searches).toHaveLength(32);
    expect(many.warnings.map((w) => w.reason)).toEqual(['DNSConfigForming', 'DNSConfigForming']);
    expect(many.warnings[0]!.message).toBe('Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2');
    const long = podDNSConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['x'.repeat(254), ...Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(120, 'y'))] } }), settings);
    expect(long.config.searches.join(' ').length).toBeLessThanOrEqual(2048);
    expect(long.config.searches[0]).toBe('0'.padEnd(120, 'y'));
    expect(long.warnings[0]!.message).toMatch(/^Search Line limits were exceeded, some search paths have been omitted, the applied search line is: 0y+ /);
  });

  it('without a cluster DNS address ClusterFirst falls back to Default, with a MissingClusterDNS warning', () => {
    const r = podDNSConfig(pod(), { ...settings, clusterDNS: [] });
    expect(r.config.servers).toEqual(host.servers);
    expect(r.warnings[0]).toMatchObject({ reason: 'MissingClusterDNS', message: expect.stringContaining('Falling back to "Default" policy.') });
  });
});
