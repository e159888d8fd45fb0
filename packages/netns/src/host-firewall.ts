/**
 * The host firewall's view of a cluster bridge.
 *
 * Traffic between two machines of a netns cluster (node ↔ node, node ↔
 * control plane, LB → node) is *bridged* on the host's `km-<cluster>`. Where
 * the kernel has br_netfilter and `bridge-nf-call-iptables` is on, bridged
 * IPv4 also walks the host's iptables FORWARD chain — and Docker sets that
 * chain's policy to DROP when it starts. On a machine with Docker, a cluster
 * would come up with nodes that never reach the control plane. So the host
 * gets one rule per cluster bridge, first in FORWARD: traffic that enters and
 * leaves the same cluster bridge is accepted. Nothing else is opened: the
 * bridge has no route out, and traffic to or from the host itself is INPUT /
 * OUTPUT, not FORWARD.
 *
 * Without an `iptables` command there is no iptables FORWARD chain to drop in
 * (Docker brings one), and nothing is done.
 */
import { run, tool } from './run.js';

function ruleArgs(bridge: string): string[] {
  return ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
}

function haveIptables(): boolean {
  return tool('iptables').includes('/');
}

/** Accepts bridged traffic within `bridge` in the host's FORWARD chain (idempotent). */
export async function allowBridgeForwarding(bridge: string): Promise<void> {
  if (!haveIptables()) return;
  const present = await run('iptables', ['-w', '5', '-C', ...ruleArgs(bridge)], { allowFail: true });
  if (present.code === 0) return;
  // An iptables that cannot work here (no kernel support) has no chain to drop in either.
  await run('iptables', ['-w', '5', '-I', ...ruleArgs(bridge)], { allowFail: true });
}

/** Removes what allowBridgeForwarding added (every copy; absent is fine). */
export async function removeBridgeForwarding(bridge: string): Promise<void> {
  if (!haveIptables()) return;
  for (let i = 0; i < 16; i++) {
    const res = await run('iptables', ['-w', '5', '-D', ...ruleArgs(bridge)], { allowFail: true });
    if (res.code !== 0) return;
  }
}
