import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { allowBridgeForwarding, removeBridgeForwarding } from './host-firewall.js';
import { tool } from './run.js';

// A bridge name no machine has: the rule matches nothing while it exists.
const BRIDGE = 'km-fwtest0';
const canRun = process.getuid?.() === 0 && tool('iptables').includes('/') && spawnSync('iptables', ['-w', '5', '-S', 'FORWARD']).status === 0;
const present = () => spawnSync('iptables', ['-w', '5', '-C', 'FORWARD', '-i', BRIDGE, '-o', BRIDGE, '-j', 'ACCEPT']).status === 0;
const count = () => (spawnSync('iptables', ['-w', '5', '-S', 'FORWARD'], { encoding: 'utf8' }).stdout.match(new RegExp(`-i ${BRIDGE} -o ${BRIDGE} -j ACCEPT`, 'g')) ?? []).length;

describe.skipIf(!canRun)("the host's FORWARD rule for a cluster bridge", () => {
  afterAll(() => removeBridgeForwarding(BRIDGE));

  it('is added once, first in the chain (before a DROP policy or Docker’s chains), and removed', async () => {
    await allowBridgeForwarding(BRIDGE);
    await allowBridgeForwarding(BRIDGE);
    expect(count()).toBe(1);
    const first = spawnSync('iptables', ['-w', '5', '-S', 'FORWARD'], { encoding: 'utf8' }).stdout.split('\n').find((l) => l.startsWith('-A FORWARD'));
    expect(first).toBe(`-A FORWARD -i ${BRIDGE} -o ${BRIDGE} -j ACCEPT`);
    await removeBridgeForwarding(BRIDGE);
    expect(present()).toBe(false);
    await removeBridgeForwarding(BRIDGE); // absent is fine
  });
});
