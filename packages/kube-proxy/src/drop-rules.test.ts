import { describe, expect, it } from 'vitest';
import { dropRuleScript } from './drop-rules.js';

describe('dropRuleScript', () => {
  it('replaces the table atomically and fills the sets', () => {
    const s = dropRuleScript({
      serviceIPs: ['10.96.0.6', '10.96.0.5', '10.96.0.5'],
      servicePorts: [{ ip: '10.96.0.5', proto: 'tcp', port: 80 }, { ip: '10.96.0.6', proto: 'udp', port: 53 }],
      dropAddrPorts: [{ ip: '10.96.0.6', proto: 'udp', port: 53 }],
      dropExternalPorts: [{ ip: '172.30.0.11', proto: 'tcp', port: 80 }],
      dropNodePorts: [{ proto: 'tcp', port: 30080 }],
      podBridge: 'cbr0',
    });
    // ETP drops spare this node's pods (cbr0) and the node itself (lo)
    // … and note each connection they drop in @dropped (the connection stream reads it)
    expect(s).toContain('    iifname != { "lo", "cbr0" } meta l4proto { tcp, udp } meta l4proto . th dport @drop_node_ports add @dropped { ip saddr . meta l4proto . th sport . ip daddr . th dport } drop');
    expect(s).toContain('set dropped { type ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service; flags dynamic, timeout; timeout 30s; size 4096; }');
    expect(s).toContain('set drop_ext_ports { type ipv4_addr . inet_proto . inet_service; elements = { 172.30.0.11 . tcp . 80 } }');
    const lines = s.split('\n');
    expect(lines.slice(0, 3)).toEqual(['table ip kubemu-proxy {}', 'delete table ip kubemu-proxy', 'table ip kubemu-proxy {']);
    expect(s).toContain('set svc_ips { type ipv4_addr; elements = { 10.96.0.5, 10.96.0.6 } }');
    expect(s).toContain('elements = { 10.96.0.5 . tcp . 80, 10.96.0.6 . udp . 53 }');
    expect(s).toContain('set drop_node_ports { type inet_proto . inet_service; elements = { tcp . 30080 } }');
    // order matters: established first, drops before the service-port accept, refusals last
    const idx = (x: string) => lines.findIndex((l) => l.includes(x));
    expect(idx('ct state established')).toBeLessThan(idx('@drop_node_ports'));
    expect(idx('@drop_addr_ports')).toBeLessThan(idx('@svc_ports accept'));
    expect(idx('@svc_ports accept')).toBeLessThan(idx('reject with tcp reset'));
    expect(lines.at(-4)).toBe('    ip daddr @svc_ips drop');
  });

  it('leaves empty sets without elements', () => {
    const s = dropRuleScript({ serviceIPs: [], servicePorts: [], dropAddrPorts: [], dropExternalPorts: [], dropNodePorts: [], podBridge: 'cbr0' });
    expect(s).toContain('set svc_ips { type ipv4_addr; }');
  });
});
