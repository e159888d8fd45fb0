import { describe, expect, it } from 'vitest';
import type { Frontend } from '../frontend.js';
import { goneFlowFilters } from './nftables-lb.js';

const fe = (protocol: 'TCP' | 'UDP', nodes: string[]): Frontend => ({
  key: `default/kubia:http/${protocol}`,
  service: 'default/kubia',
  ip: '172.30.0.200',
  protocol,
  port: 80,
  local: false,
  affinitySeconds: 0,
  sourceRanges: [],
  backends: nodes.map((n) => ({ node: `node-${n.slice(-1)}`, ip: n, port: 30000 })),
});

describe('goneFlowFilters', () => {
  it('deletes the unanswered TCP attempts (SYN_SENT) and all UDP flows of nodes that left a frontend', () => {
    const before = [fe('TCP', ['172.30.0.11', '172.30.0.12', '172.30.0.13']), fe('UDP', ['172.30.0.11', '172.30.0.12'])];
    const after = [fe('TCP', ['172.30.0.11', '172.30.0.13']), fe('UDP', ['172.30.0.11'])];
    expect(goneFlowFilters(before, after)).toEqual([
      ['-p', 'tcp', '--state', 'SYN_SENT', '--orig-dst', '172.30.0.200', '--orig-port-dst', '80', '--reply-src', '172.30.0.12'],
      ['-p', 'udp', '--orig-dst', '172.30.0.200', '--orig-port-dst', '80', '--reply-src', '172.30.0.12'],
    ]);
    expect(goneFlowFilters(before, before)).toEqual([]);
    expect(goneFlowFilters([before[0]!], [])).toHaveLength(3); // the frontend went: every node's attempts
  });
});
