import { describe, expect, it } from 'vitest';
import { PARTITION_TABLE, POWER_OFF_TABLE, deleteTableScript, partitionRuleset, powerOffRuleset } from './nft.js';

describe('partitionRuleset', () => {
  const r = partitionRuleset(['172.30.0.2', '172.30.0.12', '10.244.2.0/24', '172.30.0.2']);
  it('replaces its own table atomically (create, delete, define in one nft -f)', () => {
    expect(r.startsWith(`table inet ${PARTITION_TABLE}\ndelete table inet ${PARTITION_TABLE}\ntable inet ${PARTITION_TABLE} {`)).toBe(true);
  });
  it('drops both directions before conntrack and NAT, whatever the connection state', () => {
    expect(r).toContain('elements = { 172.30.0.2, 172.30.0.12, 10.244.2.0/24 }');
    expect(r).toMatch(/hook prerouting priority -300;[^}]*ip saddr @cut drop/);
    expect(r).toMatch(/hook postrouting priority -300;[^}]*ip daddr @cut drop/);
    expect(r).not.toContain('ct state');
  });
  it('refuses what is not an address', () => {
    expect(() => partitionRuleset([])).toThrow(/at least one/);
    expect(() => partitionRuleset(['1.2.3.4; flush ruleset'])).toThrow(/not an IPv4/);
  });
});

describe('powerOffRuleset', () => {
  it('drops everything through the interface, both ways', () => {
    const r = powerOffRuleset('eth0');
    expect(r).toContain(`table inet ${POWER_OFF_TABLE} {`);
    expect(r).toMatch(/prerouting priority -300;[^}]*iifname "eth0" drop/);
    expect(r).toMatch(/postrouting priority -300;[^}]*oifname "eth0" drop/);
    expect(() => powerOffRuleset('eth0" accept')).toThrow();
  });
});

it('deletes a table whether or not it exists', () => {
  expect(deleteTableScript(PARTITION_TABLE)).toBe(`table inet ${PARTITION_TABLE}\ndelete table inet ${PARTITION_TABLE}\n`);
});
