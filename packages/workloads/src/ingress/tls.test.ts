import { connect as http2Connect } from 'node:http2';
import { Agent, request } from 'node:https';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { DEFAULT_CERT_CN } from './certs.js';
import { ingress, service, slice, tlsSecret } from './testing/fixtures.js';
import { eventually, get, podSlices, startController, startPod, stopPod, type Pod, type Started } from './testing/harness.js';

async function certFor(cn: string, ...names: string[]): Promise<{ cert: string; key: string }> {
  return certOfType('ec', cn, ...names);
}

async function certOfType(keyType: 'ec' | 'rsa', cn: string, ...names: string[]): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [cn, ...names].map((n) => ({ type: 2 as const, value: n })) }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** The certificate the controller presents for `servername` on a fresh connection. */
function servedCert(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve(cert);
    });
    s.on('error', reject);
  });
}

function httpsGet(port: number, host: string, path: string, agent: Agent): Promise<{ status: number; body: string; cert: PeerCertificate; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: host, headers: { host }, agent, rejectUnauthorized: false }, (res) => {
      let body = '';
      const socket = res.socket as import('node:tls').TLSSocket;
      const cert = socket.getPeerCertificate();
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cert, socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS, SNI, HTTP/2 and redirects', () => {
  let pods: Pod[];
  let ws: Pod;
  let c: Started;
  let a1: { cert: string; key: string };

  beforeAll(async () => {
    pods = await Promise.all(['tls-1', 'tls-2'].map((n) => startPod(n)));
    ws = await startPod('wss', (_p, _q, res) => res.end());
    const wss = new WebSocketServer({ noServer: true });
    ws.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (conn) => conn.on('message', (m) => conn.send(`secure:${m.toString()}`))));
    a1 = await certFor('a.example');
    const b = await certFor('b.example');
    const wild = await certFor('*.wild.example');
    // `openssl req -newkey rsa:2048`, as most how-tos make it
    const rsa = await certOfType('rsa', 'rsa.example');
    c = await startController({
      ingresses: [
        ingress('a', [{ host: 'a.example', paths: [{ path: '/', service: 'app' }] }], { tls: [{ hosts: ['a.example'], secretName: 'a-tls' }] }),
        ingress('b', [{ host: 'b.example', paths: [{ path: '/', service: 'app' }] }], { tls: [{ hosts: ['b.example'], secretName: 'b-tls' }], annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' } }),
        ingress('wild', [{ host: '*.wild.example', paths: [{ path: '/', service: 'app' }] }], { tls: [{ hosts: ['*.wild.example'], secretName: 'wild-tls' }] }),
        ingress('missing', [{ host: 'c.example', paths: [{ path: '/', service: 'app' }] }], { tls: [{ hosts: ['c.example'], secretName: 'no-such-secret' }] }),
        ingress('bad', [{ host: 'd.example', paths: [{ path: '/', service: 'app' }] }], { tls: [{ hosts: ['d.example'], secretName: 'garbage' }] }),
        ingress('rsa', [{ host: 'rsa.example', paths: [{ path: '/', service: 'app' }] }], { tls: [{ hosts: ['rsa.example'], secretName: 'rsa-tls' }] }),
        ingress('wss', [{ host: 'ws.example', paths: [{ path: '/', service: 'wss' }] }], { tls: [{ hosts: ['ws.example'], secretName: 'a-tls' }] }),
      ],
      services: [service('app', [{ name: 'http', port: 80 }]), service('wss', [{ port: 80 }])],
      slices: [...podSlices('app', 'http', pods), slice('wss', [{ port: ws.port }], [{ ip: '127.0.0.1', pod: 'wss' }])],
      secrets: [tlsSecret('a-tls', a1.cert, a1.key), tlsSecret('b-tls', b.cert, b.key), tlsSecret('wild-tls', wild.cert, wild.key), tlsSecret('garbage', 'not a cert', 'not a key'), tlsSecret('rsa-tls', rsa.cert, rsa.key)],
    });
  });
  afterAll(async () => {
    await c.stop();
    await Promise.all([...pods, ws].map(stopPod));
  });

  it('SNI chooses the certificate of the matching spec.tls entry', async () => {
    expect((await servedCert(c.httpsPort, 'a.example')).subject.CN).toBe('a.example');
    expect((await servedCert(c.httpsPort, 'b.example')).subject.CN).toBe('b.example');
    expect((await servedCert(c.httpsPort, 'x.wild.example')).subject.CN).toBe('*.wild.example');
    expect((await servedCert(c.httpsPort, 'y.x.wild.example')).subject.CN).toBe(DEFAULT_CERT_CN);
  });

  it('serves RSA and EC certificates alike', async () => {
    expect((await servedCert(c.httpsPort, 'rsa.example')).subject.CN).toBe('rsa.example');
    expect((await servedCert(c.httpsPort, 'a.example')).subject.CN).toBe('a.example');
  });

  it('a missing or unusable Secret gets the default certificate and an event naming the problem', async () => {
    expect((await servedCert(c.httpsPort, 'c.example')).subject.CN).toBe(DEFAULT_CERT_CN);
    expect((await servedCert(c.httpsPort, 'd.example')).subject.CN).toBe(DEFAULT_CERT_CN);
    const missing = c.events.find((e) => e.ingress.name === 'missing');
    expect(missing).toMatchObject({ type: 'Warning', reason: 'InvalidTLSSecret' });
    expect(missing!.message).toContain('default/no-such-secret not found');
    const bad = c.events.find((e) => e.ingress.name === 'bad');
    expect(bad!.message).toContain('default/garbage');
    expect(bad!.message).toMatch(/PEM|certificate/);
  });

  it('proxies HTTPS requests (HTTP/1.1) with X-Forwarded-Proto https', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const r = await httpsGet(c.httpsPort, 'a.example', '/secure', agent);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).headers['x-forwarded-proto']).toBe('https');
    expect(JSON.parse(r.body).headers['x-forwarded-port']).toBe(String(c.httpsPort));
    agent.destroy();
  });

  it('speaks HTTP/2 when the client offers it through ALPN', async () => {
    const session = http2Connect(`https://127.0.0.1:${c.httpsPort}`, { servername: 'a.example', rejectUnauthorized: false });
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const s = session.request({ ':path': '/h2?x=1', ':authority': 'a.example' });
        let status = 0;
        let body = '';
        s.on('response', (h) => (status = Number(h[':status'])));
        s.on('data', (d) => (body += d));
        s.on('end', () => resolve({ status, body }));
        s.on('error', reject);
        s.end();
      });
      expect((session.socket as import('node:tls').TLSSocket).alpnProtocol).toBe('h2');
      expect(status).toBe(200);
      const seen = JSON.parse(body);
      expect(seen.url).toBe('/h2?x=1');
      expect(seen.headers.host).toBe('a.example');
      expect(seen.headers['x-forwarded-proto']).toBe('https');
      // A POST body over HTTP/2 is streamed to the HTTP/1.1 pod.
      const posted = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ':path': '/post', ':method': 'POST', ':authority': 'a.example' });
        let b = '';
        s.on('data', (d) => (b += d));
        s.on('end', () => resolve(b));
        s.on('error', reject);
        s.end('h2 body');
      });
      expect(JSON.parse(posted).body).toBe('h2 body');
    } finally {
      session.close();
    }
  });

  it('HTTP requests for a TLS host get a 308 to HTTPS, unless ssl-redirect is "false"', async () => {
    const r = await get(c.httpPort, '/path?q=1', { host: 'a.example' });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://a.example:${c.httpsPort}/path?q=1`);
    const b = await get(c.httpPort, '/path', { host: 'b.example' });
    expect(b.status).toBe(200);
  });

  it('a rotated Secret is served to new connections within 2 s; an open connection keeps working', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await httpsGet(c.httpsPort, 'a.example', '/', agent);
    expect(before.cert.fingerprint256).toBe((await servedCert(c.httpsPort, 'a.example')).fingerprint256);
    const a2 = await certFor('a.example', 'rotated.a.example');
    c.cluster.secrets.set(tlsSecret('a-tls', a2.cert, a2.key, 'default', '2'));
    const t0 = Date.now();
    await eventually(async () => (await servedCert(c.httpsPort, 'a.example')).fingerprint256 !== before.cert.fingerprint256, 2000);
    expect(Date.now() - t0).toBeLessThan(2000);
    const after = await servedCert(c.httpsPort, 'a.example');
    expect(after.subjectaltname).toContain('rotated.a.example');
    const again = await httpsGet(c.httpsPort, 'a.example', '/', agent);
    expect(again.status).toBe(200);
    expect(again.socket).toBe(before.socket);
    expect(again.cert.fingerprint256).toBe(before.cert.fingerprint256);
    agent.destroy();
  });

  it('passes WebSocket upgrades over TLS (wss)', async () => {
    const client = new WebSocket(`wss://127.0.0.1:${c.httpsPort}/`, { headers: { host: 'ws.example' }, servername: 'ws.example', rejectUnauthorized: false });
    const msg = await new Promise<string>((resolve, reject) => {
      client.on('open', () => client.send('hi'));
      client.on('message', (m) => resolve(m.toString()));
      client.on('error', reject);
    });
    expect(msg).toBe('secure:hi');
    client.close();
  });
});
