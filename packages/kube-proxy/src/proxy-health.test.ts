import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Node } from '@kubemu/api';
import { ProxyHealthServer, ServiceHealthServer } from './health-server.js';
import { ProxyHealth, TO_BE_DELETED_TAINT } from './proxy-health.js';

const node = (extra: Partial<Node> = {}): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, ...extra });

function get(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(b) }));
    }).on('error', reject);
  });
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

describe('ProxyHealth', () => {
  it('turns unhealthy when a queued update waits longer than the timeout, healthy again once applied', () => {
    let now = 1_000;
    const h = new ProxyHealth({ timeoutMs: 10_000, now: () => now });
    expect(h.state()).toMatchObject({ healthy: true, nodeEligible: true });
    h.queued();
    now += 9_999;
    expect(h.state().healthy).toBe(true);
    h.queued(); // a later event does not reset the oldest one
    now += 1;
    expect(h.state()).toMatchObject({ healthy: false, lastUpdated: 1_000, reason: 'an update has waited 10000 ms (limit 10000 ms)' });
    h.updated();
    expect(h.state()).toMatchObject({ healthy: true, lastUpdated: now });
  });

  it('is unhealthy from a failed sync until one succeeds', () => {
    const h = new ProxyHealth({ timeoutMs: 10_000 });
    h.failed('nft: syntax error');
    expect(h.state()).toMatchObject({ healthy: false, reason: 'the last data-plane sync failed: nft: syntax error' });
    h.updated();
    expect(h.state().healthy).toBe(true);
  });

  it('takes the node out while it is deleted or tainted ToBeDeletedByClusterAutoscaler', () => {
    const h = new ProxyHealth({ timeoutMs: 10_000 });
    h.syncNode(node({ spec: { taints: [{ key: TO_BE_DELETED_TAINT, effect: 'NoSchedule' }] } }));
    expect(h.state().nodeEligible).toBe(false);
    h.syncNode(node());
    expect(h.state().nodeEligible).toBe(true);
    h.syncNode(node({ metadata: { name: 'node-1', deletionTimestamp: '2026-12-01T00:00:00Z' } }));
    expect(h.state().nodeEligible).toBe(false);
    h.syncNode(undefined);
    expect(h.state().nodeEligible).toBe(false);
  });

  it('answers /healthz 503 for an unhealthy proxy or an ineligible node, /livez only for the proxy, and fails Services’ health checks when unhealthy', async () => {
    let now = 0;
    const h = new ProxyHealth({ timeoutMs: 100, now: () => now });
    const s = new ProxyHealthServer({ health: () => h.state(), mode: 'nftables', connections: () => ({}), applied: () => ({}), waitApplied: async () => ({}) });
    await s.listen('127.0.0.1', 0);
    cleanup.push(() => s.close());
    const svc = new ServiceHealthServer(0, 'default', 'web', () => h.state().healthy);
    svc.localEndpoints = 1;
    await svc.listen('127.0.0.1');
    cleanup.push(() => svc.close());
    expect(await get(s.boundPort, '/healthz')).toMatchObject({ status: 200, body: { nodeEligible: true } });
    expect((await get(svc.boundPort, '/')).status).toBe(200);
    h.syncNode(node({ spec: { taints: [{ key: TO_BE_DELETED_TAINT, effect: 'NoSchedule' }] } }));
    expect(await get(s.boundPort, '/healthz')).toMatchObject({ status: 503, body: { nodeEligible: false } });
    expect((await get(s.boundPort, '/livez')).status).toBe(200);
    h.syncNode(node());
    h.queued();
    now = 100;
    expect(await get(s.boundPort, '/healthz')).toMatchObject({ status: 503, body: { nodeEligible: true, reason: 'an update has waited 100 ms (limit 100 ms)' } });
    expect((await get(s.boundPort, '/livez')).status).toBe(503);
    expect(await get(svc.boundPort, '/')).toMatchObject({ status: 503, body: { serviceProxyHealthy: false } });
  });
});
