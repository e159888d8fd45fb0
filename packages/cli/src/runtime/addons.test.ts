import { describe, expect, it } from 'vitest';
import { dnsAddon, ingressAddon, lastPoolAddress } from './addons.js';

describe('addons kubemu up deploys', () => {
  it('puts cluster DNS on the tenth address of the service CIDR, with the cluster CIDRs as reverse zones', () => {
    const [deploy, svc] = dnsAddon('10.100.0.0/16', '10.250.0.0/16');
    expect(svc!.spec.clusterIP).toBe('10.100.0.10');
    expect(svc!.spec.ports.map((p: { name: string; protocol: string; port: number }) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(['dns 53/UDP', 'dns-tcp 53/TCP']);
    const c = deploy!.spec.template.spec.containers[0];
    expect(c.image).toBe('kubemu/cluster-dns');
    expect(c.args.join(' ')).toContain('--reverse-cidrs 10.100.0.0/16,10.250.0.0/16');
    expect(deploy!.spec.replicas).toBe(2);
  });

  it('asks for the given address for the ingress controller and marks its IngressClass default', () => {
    const objs = ingressAddon('172.30.0.250');
    const svc = objs.find((o) => o.kind === 'Service')!;
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.metadata.annotations?.['metallb.universe.tf/loadBalancerIPs']).toBe('172.30.0.250');
    const cls = objs.find((o) => o.kind === 'IngressClass')!;
    expect(cls.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class']).toBe('true');
    expect(ingressAddon().find((o) => o.kind === 'Service')!.metadata.annotations).toBeUndefined();
  });

  it('names the last address of a pool', () => {
    expect(lastPoolAddress('172.30.0.200-172.30.0.250')).toBe('172.30.0.250');
    expect(lastPoolAddress('172.30.5.192/28')).toBe('172.30.5.206');
    expect(lastPoolAddress('not a pool')).toBeUndefined();
  });
});
