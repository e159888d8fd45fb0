/**
 * Run by nft-proxier.test.ts inside a scratch network namespace (never the
 * host's): drives NftablesProxier through libnftables and prints what the
 * kernel holds after each step, as JSON on stdout.
 */
import { pino } from 'pino';
import { nftRunner } from '../nft.js';
import { NftablesProxier } from '../nftables/nftables-proxier.js';
import type { NftPortInput } from '../nftables/nft-rules.js';

const port = (clusterIP: string, ...ips: string[]): NftPortInput => ({
  protocol: clusterIP === DNS ? 'udp' : 'tcp',
  clusterIP,
  port: 80,
  externalIPs: [],
  internalLocal: false,
  externalLocal: false,
  cluster: ips.map((ip) => ({ ip, port: 8080 })),
  // this node's pods are 10.244.1.0/24
  local: ips.filter((ip) => ip.startsWith('10.244.1.')).map((ip) => ({ ip, port: 8080 })),
  anyEndpoints: ips.length > 0,
  affinitySeconds: 0,
});

/** The UDP port's cluster IP (cluster DNS, say). */
const DNS = '10.96.0.53';
const runner = await nftRunner();
const ctx = { node: 'node-1', podBridge: 'cbr0', nodeAddresses: () => [], isInternalClient: () => false, servesExternalIP: () => false, onPortError: () => {} };
const p = new NftablesProxier(ctx, { log: pino({ level: 'silent' }) });
const steps: Record<string, string> = {};
p.setPortInput('a', port('10.96.0.10', '10.244.1.5', '10.244.2.5'));
p.setPortInput('b', port('10.96.0.11', '10.244.3.5'));
await p.sync();
steps.installed = await p.listTable();
// a leaves and c arrives in the same transaction: c may draw from a's freed slots
p.setPortInput('a', undefined);
p.setPortInput('c', port('10.96.0.12', '10.244.1.7', '10.244.2.7', '10.244.3.7'));
await p.sync();
steps.swapped = await p.listTable();
// A UDP port loses one of two endpoints (its node died): the rule changes, so nft loads the
// table's rules into its cache, TCP and UDP draws side by side.
p.setPortInput('d', port(DNS, '10.244.1.9', '10.244.2.9'));
await p.sync();
p.setPortInput('d', port(DNS, '10.244.1.9'));
let udpError = '';
await p.sync().catch((e: Error) => (udpError = e.message));
steps.udpShrunk = udpError || (await p.listTable());
p.setPortInput('d', undefined);
await p.sync();
const bad = await runner.run('add rule ip kubemu-nat services nonsense\n');
steps.afterBad = await p.listTable();
await p.teardown();
steps.tornDown = await p.listTable();
console.log(JSON.stringify({ kind: runner.kind, bad: { code: bad.code, stderr: bad.stderr }, steps }));
