import { describe, expect, it } from 'vitest';
import type { Pod } from '@kubemu/api';
import { managedHostsFile, nodeHostsFile, podHostnameAndDomain } from './pod-hosts.js';

const pod = (name: string, spec: Partial<Pod['spec']> = {}): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop' }, spec: { containers: [], ...spec } });
const HEADER = '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';

describe('pod hostname and /etc/hosts', () => {
  it('the hostname is spec.hostname, else the pod name cut to 63 characters; subdomain gives the FQDN', () => {
    expect(podHostnameAndDomain(pod('web-1'), 'cluster.local')).toEqual({ hostname: 'web-1', domain: '' });
    expect(podHostnameAndDomain(pod('web-1', { hostname: 'db', subdomain: 'backend' }), 'cluster.local')).toEqual({ hostname: 'db', domain: 'backend.shop.svc.cluster.local' });
    expect(podHostnameAndDomain(pod(`${'a'.repeat(62)}-b`), 'cluster.local').hostname).toBe('a'.repeat(62));
    expect(() => podHostnameAndDomain(pod('x', { hostname: 'Bad_Name' }), 'cluster.local')).toThrow(/^pod Hostname "Bad_Name" is not a valid DNS label/);
  });

  it('writes the localhost lines, the pod IP with its names, then hostAliases', () => {
    expect(managedHostsFile(['10.244.1.5'], { hostname: 'web-1', domain: '' })).toBe(`${HEADER}10.244.1.5\tweb-1\n`);
    const aliases = [{ ip: '127.0.0.1', hostnames: ['foo.local', 'bar.local'] }, { ip: '10.1.2.3', hostnames: ['foo.remote'] }];
    expect(managedHostsFile(['10.244.1.5'], { hostname: 'db', domain: 'backend.shop.svc.cluster.local' }, aliases)).toBe(
      `${HEADER}10.244.1.5\tdb.backend.shop.svc.cluster.local\tdb\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\n`,
    );
  });

  it("a hostNetwork pod gets the node's hosts file plus its hostAliases", () => {
    expect(nodeHostsFile('127.0.0.1 localhost\n')).toBe('127.0.0.1 localhost\n');
    expect(nodeHostsFile('127.0.0.1 localhost\n', [{ ip: '10.9.9.9', hostnames: ['x'] }])).toBe('127.0.0.1 localhost\n\n# Entries added by HostAliases.\n10.9.9.9\tx\n');
  });
});
