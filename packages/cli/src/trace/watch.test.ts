import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChaosRuntime } from '../chaos/runtime.js';
import type { RestClient } from '../rest-client.js';
import { RestError } from '../rest-client.js';
import { ServiceWatch } from './watch.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

/** A kube-proxy stand-in: /connections?watch=1 held open; `send` writes a line to every watcher; `drop` cuts them. */
async function fakeProxy() {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.flushHeaders();
    open.add(res);
    req.once('close', () => open.delete(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    watchers: () => open.size,
    send: (o: object) => {
      for (const r of open) r.write(JSON.stringify(o) + '\n');
    },
    drop: () => {
      for (const r of open) r.destroy();
      open.clear();
    },
  };
}

const ev = (x: object) => ({ type: 'open', start: 1, durationMs: 0, protocol: 'TCP', service: 'default/kubia:/TCP', via: 'node-port', client: '172.30.0.1:20000', node: 'node-1', endpoint: '10.244.2.3:8080', bytesIn: 0, bytesOut: 0, result: 'open', attempts: 1, ...x });

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function rig(port: number, nodes: { name: string; ip: string }[], opts: { missing?: boolean } = {}) {
  const api = {
    call: async (_m: string, path: string) => {
      if (path.includes('/services/')) {
        if (opts.missing) throw new RestError(404, undefined, 'services "kubia" not found');
        return { metadata: { name: 'kubia', namespace: 'default' }, spec: { ports: [{ port: 80, nodePort: 31000 }] } };
      }
      if (path === '/api/v1/nodes') return { items: nodes.map((n) => ({ metadata: { name: n.name }, status: { addresses: [{ type: 'InternalIP', address: n.ip }] } })) };
      return { items: [{ metadata: { name: 'kubia-n2', namespace: 'default' }, spec: { containers: [] }, status: { podIP: '10.244.2.3' } }] };
    },
  } as unknown as RestClient;
  const rt = { machines: () => [] } as unknown as ChaosRuntime;
  const out: string[] = [];
  const err: string[] = [];
  const w = new ServiceWatch({ rt, api, namespace: 'default', name: 'kubia', output: 'json', out: (l) => out.push(l), err: (l) => err.push(l), refreshMs: 30, reconnectMs: 20, proxyPort: port });
  cleanup.push(() => w.stop());
  return { w, out, err };
}

describe('ServiceWatch', () => {
  it("prints the Service's events only, with the pod's name; a stream that breaks is opened again", async () => {
    const p = await fakeProxy();
    const { w, out, err } = rig(p.port, [{ name: 'node-1', ip: '127.0.0.1' }]);
    await w.start();
    expect(await w.ready()).toEqual(['node-1']);
    p.send(ev({ service: 'default/other:/TCP' }));
    p.send(ev({}));
    await until('a line', () => out.length === 1);
    expect(JSON.parse(out[0]!)).toMatchObject({ event: 'open', node: 'node-1', service: 'default/kubia', port: 80, pod: 'default/kubia-n2', verdict: 'FORWARDED' });
    p.drop();
    await until('told once, then back', () => err.some((l) => l.includes('back')));
    expect(err.filter((l) => l.includes('lost'))).toHaveLength(1);
    expect(err[0]).toMatch(/^node-1: connection stream lost \(.*\); reconnecting$/);
    await until('subscribed again', () => p.watchers() === 1);
    p.send(ev({ type: 'close', result: 'no-endpoints', endpoint: '' }));
    await until('a second line', () => out.length === 2);
    expect(JSON.parse(out[1]!)).toMatchObject({ event: 'close', verdict: 'REFUSED' });
    p.send({ type: 'error', message: 'conntrack -E exited (code 1); starting it again in 200 ms' });
    await until('the error told', () => err.some((l) => l.startsWith('node-1: conntrack -E exited')));
    w.stop();
    await until('unsubscribed', () => p.watchers() === 0);
  });

  it('follows nodes that come and go', async () => {
    const p = await fakeProxy();
    const nodes = [{ name: 'node-1', ip: '127.0.0.1' }];
    const { w } = rig(p.port, nodes);
    await w.start();
    await until('node-1', () => p.watchers() === 1);
    nodes.push({ name: 'node-2', ip: '127.0.0.1' }); // (the same stand-in)
    await until('node-2 too', () => p.watchers() === 2 && w.connected.length === 2);
    nodes.shift();
    await until('node-1 dropped', () => p.watchers() === 1 && w.connected.join() === 'node-2');
  });

  it('an unknown Service: a TraceError at start', async () => {
    const p = await fakeProxy();
    const { w } = rig(p.port, [], { missing: true });
    await expect(w.start()).rejects.toThrow('service "kubia" not found in namespace "default"');
  });
});
