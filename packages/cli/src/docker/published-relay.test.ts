import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishedRelay } from './published-relay.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

async function freePort(): Promise<number> {
  const s = createServer();
  const p = await listen(s);
  await new Promise((r) => s.close(r));
  return p;
}

function talk(port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.end(msg));
    let got = '';
    sock.on('data', (b) => (got += b));
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
}

describe('PublishedRelay', () => {
  it('relays bytes both ways to the target', async () => {
    const upstream = createServer((s) => s.on('data', (b) => s.end(`echo:${b}`)));
    const target = await listen(upstream);
    closers.push(() => upstream.close());
    const relay = new PublishedRelay(() => {});
    closers.push(() => relay.close());
    const port = await freePort();
    await relay.listen({ listenHost: '127.0.0.1', listenPort: port, targetHost: '127.0.0.1', targetPort: target });
    expect(await talk(port, 'hello')).toBe('echo:hello');
  });

  it('resets the client when the target refuses', async () => {
    const relay = new PublishedRelay(() => {});
    closers.push(() => relay.close());
    const [port, dead] = [await freePort(), await freePort()];
    await relay.listen({ listenHost: '127.0.0.1', listenPort: port, targetHost: '127.0.0.1', targetPort: dead });
    await expect(talk(port, 'x')).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});
