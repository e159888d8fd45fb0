import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Frontend } from '../frontend.js';
import { UserspaceLb } from './userspace-lb.js';

// The firewall part goes to nft; here a runner that accepts everything (no kernel state is touched).
const runner = async () => ({ kind: 'nft' as const, run: async () => ({ code: 0, stdout: '', stderr: '' }) });
const log = pino({ level: 'silent' });

function frontend(port: number, backends: Frontend['backends'], key = `default/web:${port}/TCP`): Frontend {
  return { key, service: 'default/web', ip: '127.0.0.1', protocol: 'TCP', port, local: false, affinitySeconds: 0, sourceRanges: [], backends };
}

/** A free TCP port on 127.0.0.1 (listened on, then closed). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function dial(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('data', (d) => {
      resolve(`data ${d.toString()}`);
      c.destroy();
    });
    c.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
  });
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe('UserspaceLb', () => {
  it('relays to a backend, has no listener for a frontend without backends (clients are refused), and serves the rest when one cannot listen', async () => {
    const backend = net.createServer((s) => s.end('hello from a node port'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    cleanup.push(() => backend.close());
    const nodePort = (backend.address() as net.AddressInfo).port;
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanup.push(() => taken.close());
    const takenPort = (taken.address() as net.AddressInfo).port;

    const errors: string[] = [];
    const lb = new UserspaceLb({ log, runner, onFrontendError: (f, m) => errors.push(`${f.port}: ${m}`) });
    cleanup.push(() => lb.stop());
    const [served, empty] = [await freePort(), await freePort()];
    const be = [{ node: 'node-1', ip: '127.0.0.1', port: nodePort }];
    await lb.sync([frontend(served, be), frontend(empty, []), frontend(takenPort, be)]);

    expect(await dial(served)).toBe('data hello from a node port');
    expect(await dial(empty)).toBe('ECONNREFUSED');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^${takenPort}: cannot listen on 127.0.0.1:${takenPort}/TCP: .*EADDRINUSE`));

    // Losing its last backend closes the listener; getting one back opens it again.
    await lb.sync([frontend(served, [])]);
    expect(await dial(served)).toBe('ECONNREFUSED');
    await lb.sync([frontend(served, be)]);
    expect(await dial(served)).toBe('data hello from a node port');
    const conns = await lb.connections(10);
    expect(conns.items.map((c) => c.endpoint)).toContain(`127.0.0.1:${nodePort}`);
  });
});
