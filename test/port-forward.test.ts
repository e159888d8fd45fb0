/**
 * `kubectl port-forward` with the machine's kubectl against a real netns
 * cluster: to a pod and to a Service, with the newest kubectl (SPDY tunnelled
 * in a WebSocket) and kubectl 1.30 (a plain SPDY upgrade): 100 concurrent
 * HTTP requests and a 100 MB download arrive intact; a port nothing listens
 * on is reported as kubectl reports it for a real cluster; the forward ends
 * when the pod is deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';

const c = new NetnsCluster(2);
const KUBECTL_130 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.30';
const BIG = 100 * 1024 * 1024;
const forwards: ChildProcess[] = [];

// A server inside the pod: /n/<i> answers "reply <i>", /big streams 100 MB of a repeating pattern.
const SERVER = `
const http = require('http');
const block = Buffer.alloc(1 << 20);
for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 255;
http.createServer((req, res) => {
  if (req.url === '/big') {
    res.writeHead(200, { 'content-length': ${BIG} });
    let sent = 0;
    const more = () => { while (sent < ${BIG}) { sent += block.length; if (!res.write(block)) return res.once('drain', more); } res.end(); };
    return more();
  }
  res.end('reply ' + req.url.slice(3));
}).listen(8080);
`;

function expectedDigest(): string {
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 255;
  const h = createHash('sha256');
  for (let i = 0; i < BIG / block.length; i++) h.update(block);
  return h.digest('hex');
}

/** Starts `kubectl port-forward target :remote`; resolves with the local port kubectl picked. */
function forward(target: string, remote: number, kubectl = 'kubectl'): Promise<{ port: number; proc: ChildProcess; output: () => string }> {
  const proc = spawn(kubectl, ['--kubeconfig', c.kubeconfig, 'port-forward', '--address', '127.0.0.1', target, `:${remote}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  forwards.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return until(`kubectl port-forward ${target}`, () => {
    const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
    return m ? { port: Number(m[1]), proc, output: () => out } : undefined;
  }, 20_000, 50);
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function download(port: number): Promise<{ bytes: number; digest: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/big', agent: false }, (res) => {
      const h = createHash('sha256');
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        h.update(d);
      });
      res.on('end', () => resolve({ bytes, digest: h.digest('hex') }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe.skipIf(!IS_ROOT)('kubectl port-forward (e2e, root)', () => {
  beforeAll(async () => {
    c.up();
    c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: big, labels: {app: big}}
spec:
  containers: [{name: s, image: busybox, command: [node, -e, ${JSON.stringify(SERVER)}], ports: [{containerPort: 8080}], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}]
---
apiVersion: v1
kind: Service
metadata: {name: big}
spec: {selector: {app: big}, ports: [{port: 80, targetPort: 8080}]}
`);
    await until('the pod ready', () => c.readyIPs('big').length === 1, 60_000);
  }, 180_000);
  afterAll(() => {
    for (const p of forwards) p.kill();
    c.down();
  }, 60_000);

  it('carries 100 concurrent requests and a 100 MB download intact to a pod', async () => {
    const f = await forward('pod/big', 8080);
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => get(f.port, `/n/${i}`)));
    expect(replies.map((r) => r.body)).toEqual(Array.from({ length: 100 }, (_, i) => `reply ${i}`));
    const d = await download(f.port);
    expect(d.bytes).toBe(BIG);
    expect(d.digest).toBe(expectedDigest());
    f.proc.kill();
  }, 120_000);

  it('forwards to a Service (kubectl picks a pod and the target port)', async () => {
    const f = await forward('svc/big', 80);
    expect((await get(f.port, '/n/svc')).body).toBe('reply svc');
    f.proc.kill();
  });

  it.skipIf(!existsSync(KUBECTL_130))('works with kubectl 1.30, which upgrades to SPDY directly', async () => {
    const f = await forward('pod/big', 8080, KUBECTL_130);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => get(f.port, `/n/${i}`)));
    expect(replies.map((r) => r.body)).toEqual(Array.from({ length: 20 }, (_, i) => `reply ${i}`));
    f.proc.kill();
  });

  it('reports a port nothing listens on as kubectl shows it for a real cluster', async () => {
    const f = await forward('pod/big', 9999);
    await expect(get(f.port, '/')).rejects.toThrow();
    await until('kubectl to report the refusal', () => /error forwarding port 9999 to pod big, uid [0-9a-f-]+: .*ECONNREFUSED/.test(f.output()), 5000, 50);
    f.proc.kill();
  });

  it('ends when the pod is deleted', async () => {
    const f = await forward('pod/big', 8080);
    expect((await get(f.port, '/n/1')).body).toBe('reply 1');
    const exited = new Promise<number | null>((r) => f.proc.once('exit', (code) => r(code)));
    c.kubectl(['delete', 'pod', 'big', '--wait=false']);
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(code).not.toBe('still running');
    expect(f.output()).toMatch(/lost connection to pod/);
  }, 30_000);
});
