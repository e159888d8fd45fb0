/**
 * The nftables rulesets of network faults, applied inside a machine's network
 * namespace with `nft -f -` (through ChaosRuntime.exec, so any runtime that
 * can run nft in a machine gets them). Each fault has its own table, so
 * undoing one is deleting its table; rules sit at priority -300 (before
 * conntrack and every NAT), drop both directions and ignore connection
 * state, so established connections stop too.
 */

/** A partition: traffic to and from these addresses (and CIDRs) is dropped. */
export const PARTITION_TABLE = 'kubemu-chaos';
/** A node powered off by kill-node: nothing in or out of its eth0. */
export const POWER_OFF_TABLE = 'kubemu-chaos-off';

/** Replaces table `inet <name>` atomically (creating it first so the delete never fails). */
function replaceTable(name: string, body: string[]): string {
  return [`table inet ${name}`, `delete table inet ${name}`, `table inet ${name} {`, ...body.map((l) => `  ${l}`), '}', ''].join('\n');
}

/** The ruleset that cuts the machine off `cut` (IPv4 addresses and CIDRs). */
export function partitionRuleset(cut: readonly string[]): string {
  if (cut.length === 0) throw new Error('a partition needs at least one address');
  for (const a of cut) if (!/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(a)) throw new Error(`not an IPv4 address or CIDR: ${a}`);
  return replaceTable(PARTITION_TABLE, [
    'set cut {',
    '  type ipv4_addr; flags interval;',
    `  elements = { ${[...new Set(cut)].join(', ')} }`,
    '}',
    'chain in {',
    '  type filter hook prerouting priority -300; policy accept;',
    '  ip saddr @cut drop',
    '}',
    'chain out {',
    '  type filter hook postrouting priority -300; policy accept;',
    '  ip daddr @cut drop',
    '}',
  ]);
}

/** The ruleset of a powered-off machine: everything through `dev` is dropped. */
export function powerOffRuleset(dev: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(dev)) throw new Error(`not an interface name: ${dev}`);
  return replaceTable(POWER_OFF_TABLE, [
    'chain in {',
    '  type filter hook prerouting priority -300; policy accept;',
    `  iifname "${dev}" drop`,
    '}',
    'chain out {',
    '  type filter hook postrouting priority -300; policy accept;',
    `  oifname "${dev}" drop`,
    '}',
  ]);
}

/** Deletes table `inet <name>` whether or not it exists. */
export function deleteTableScript(name: string): string {
  return `table inet ${name}\ndelete table inet ${name}\n`;
}
