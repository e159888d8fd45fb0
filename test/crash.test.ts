/**
 * Durability and watch resume across a SIGKILL of the control plane: every
 * acknowledged write survives with its resourceVersion, and an agent's watch
 * resumes from where it was without missing an event.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AgentClient, type AgentEvent } from '@kubemu/agent-client';
import { until } from './helpers/netns-cluster.js';
import { ControlPlaneProcess } from './helpers/control-plane-process.js';

const cp = new ControlPlaneProcess();
let agent: AgentClient | undefined;

afterAll(async () => {
  agent?.close();
  await cp.cleanup();
});

const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { n: name } });


describe('control plane crash', () => {
  it('keeps acknowledged writes and resumes agent watches after SIGKILL', async () => {
    await cp.start();
    // An agent watching ConfigMaps from the start.
    const seen: AgentEvent[] = [];
    agent = new AgentClient({ server: cp.url, token: cp.agentToken, ca: cp.ca, agentName: 'test-agent', minBackoffMs: 50, maxBackoffMs: 200 });
    agent.start();
    agent.watch('configmaps', { namespace: 'default' }, (ev) => seen.push(ev));
    await agent.waitConnected();

    // Writes in flight when the process dies: whatever was acknowledged must survive.
    const acked = new Map<string, string>();
    let killed = false;
    let attempted = 0;
    let failed = 0;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !killed; i++) {
        attempted++;
        const r = await cp.api('POST', '/api/v1/namespaces/default/configmaps', cm(`cm-${w}-${i}`)).catch(() => undefined);
        if (r && r.status === 201) acked.set(r.body.metadata.name, r.body.metadata.resourceVersion);
        else failed++;
      }
    });
    await until('100 acknowledged writes', () => acked.size >= 100);
    await cp.stop('SIGKILL');
    killed = true;
    await Promise.allSettled(writers);
    // Writes were in flight when the process died.
    expect(failed).toBeGreaterThan(0);
    expect(attempted).toBeGreaterThan(acked.size);
    const ackedBeforeKill = new Map(acked);
    expect(ackedBeforeKill.size).toBeGreaterThanOrEqual(100);

    await cp.start(cp.port);
    for (const [name, rv] of ackedBeforeKill) {
      const r = await cp.api('GET', `/api/v1/namespaces/default/configmaps/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.body.metadata.resourceVersion).toBe(rv);
    }

    // After the restart: new writes and deletes reach the agent, nothing missed.
    await agent.waitConnected();
    for (let i = 0; i < 20; i++) expect((await cp.api('POST', '/api/v1/namespaces/default/configmaps', cm(`after-${i}`))).status).toBe(201);
    const victims = [...ackedBeforeKill.keys()].slice(0, 5);
    for (const name of victims) expect((await cp.api('DELETE', `/api/v1/namespaces/default/configmaps/${name}`)).status).toBe(200);

    const list = await cp.api('GET', '/api/v1/namespaces/default/configmaps');
    const stored = new Set<string>(list.body.items.map((o: { metadata: { name: string } }) => o.metadata.name));
    await until('the agent to converge', () => {
      const live = new Set<string>();
      for (const ev of seen) {
        if (ev.type === 'DELETED') live.delete(ev.object.metadata.name!);
        else live.add(ev.object.metadata.name!);
      }
      return live.size === stored.size && [...stored].every((n) => live.has(n));
    });
    // Every post-restart create was delivered exactly once as ADDED.
    for (let i = 0; i < 20; i++) expect(seen.filter((e) => e.object.metadata.name === `after-${i}` && e.type === 'ADDED').length).toBe(1);
    for (const v of victims) expect(seen.some((e) => e.object.metadata.name === v && e.type === 'DELETED')).toBe(true);
    // resourceVersions the agent saw only go up.
    const rvs = seen.map((e) => Number(e.object.metadata.resourceVersion));
    for (let i = 1; i < rvs.length; i++) expect(rvs[i]).toBeGreaterThan(rvs[i - 1]);
  });
});
