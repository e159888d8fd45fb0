import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnLog } from './conn-log.js';
import type { PickFn } from './relay.js';
import { TcpProxy } from './tcp-proxy.js';

const log = pino({ level: 'silent' });
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function server(handler: (s: net.Socket) => void, opts: net.ServerOpts = {}): Promise<number> {
  const s = net.createServer(opts, handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanup.push(() => s.close());
  return (s.address() as net.AddressInfo).port;
}

async function proxy(pick: PickFn, connLog?: ConnLog, dialTimeoutsMs?: number[]): Promise<TcpProxy> {
  const p = new TcpProxy({ host: '127.0.0.1', port: 0, pick, service: 'default/x:/TCP', via: 'cluster-ip', node: 'node-1', log, connLog, dialTimeoutsMs });
  await p.listen();
  cleanup.push(() => p.close());
  return p;
}

/** Sends `data`, half-closes, and collects everything until the other side ends. */
function exchange(port: number, data: string): Promise<{ body: string; err?: string }> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let body = '';
    c.on('data', (d) => (body += d));
    c.on('end', () => {
      c.end();
      resolve({ body });
    });
    c.on('error', (e: NodeJS.ErrnoException) => resolve({ body, err: e.code }));
    c.on('connect', () => c.end(data));
  });
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('TcpProxy', () => {
  it('splices both ways and passes a half-close through', async () => {
    // The server answers only after the client has finished sending (needs half-close).
    const port = await server((s) => {
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('end', () => s.end(`echo:${got}`));
    }, { allowHalfOpen: true });
    const log = new ConnLog(8);
    const p = await proxy(() => `127.0.0.1:${port}`, log);
    expect(await exchange(p.boundPort, 'hello')).toEqual({ body: 'echo:hello' });
    await new Promise((r) => setTimeout(r, 50));
    const [rec] = log.recent();
    expect(rec).toMatchObject({ endpoint: `127.0.0.1:${port}`, bytesIn: 5, bytesOut: 10, result: 'ok', attempts: 1, node: 'node-1' });
  });

  it('carries a large transfer intact', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const port = await server((s) => s.end(big));
    const p = await proxy(() => `127.0.0.1:${port}`);
    const got = await new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      net.connect(p.boundPort, '127.0.0.1').on('data', (d) => parts.push(d)).on('end', () => resolve(Buffer.concat(parts)));
    });
    expect(got.equals(big)).toBe(true);
  });

  it('tries another endpoint when a dial fails', async () => {
    const good = await server((s) => s.end('good'));
    const bad = await closedPort();
    const tried: number[] = [];
    const p = await proxy((_ip, attempt) => {
      tried.push(attempt);
      return attempt === 0 ? `127.0.0.1:${bad}` : `127.0.0.1:${good}`;
    });
    expect((await exchange(p.boundPort, '')).body).toBe('good');
    expect(tried).toEqual([0, 1]);
  });

  it('resets the client when no endpoint can be reached', async () => {
    const bad = await closedPort();
    const log = new ConnLog(8);
    const p = await proxy(() => `127.0.0.1:${bad}`, log, [100, 100]);
    const r = await exchange(p.boundPort, 'x');
    expect(r.err).toBe('ECONNRESET');
    await new Promise((r) => setTimeout(r, 20));
    expect(log.recent()[0]).toMatchObject({ result: 'connect-failed', attempts: 2 });
    const none = await proxy(() => undefined, log);
    expect((await exchange(none.boundPort, 'x')).err).toBe('ECONNRESET');
  });

  it('resets the endpoint side when the client resets, and accounts the connection as reset', async () => {
    let serverSide!: Promise<string>;
    const port = await server((s) => {
      serverSide = new Promise((r) => {
        s.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
        s.on('end', () => r('end'));
      });
      s.write('hello');
    });
    const connLog = new ConnLog(8);
    const p = await proxy(() => `127.0.0.1:${port}`, connLog);
    const c = net.connect(p.boundPort, '127.0.0.1');
    await new Promise((r) => c.once('data', r));
    c.resetAndDestroy();
    expect(await serverSide).toBe('ECONNRESET');
    await new Promise((r) => setTimeout(r, 20));
    expect(connLog.recent()[0]).toMatchObject({ result: 'reset', endpoint: `127.0.0.1:${port}` });
  });

  it('keeps open connections when the listener closes', async () => {
    const port = await server((s) => s.on('data', (d) => s.write(d)));
    const p = await proxy(() => `127.0.0.1:${port}`);
    const c = net.connect(p.boundPort, '127.0.0.1');
    await new Promise((r) => c.on('connect', r));
    p.close();
    c.write('ping');
    const got = await new Promise<string>((r) => c.once('data', (d) => r(String(d))));
    expect(got).toBe('ping');
    c.destroy();
  });
});
