/**
 * Sends traffic from where users stand: the host, a pod (kubectl exec), a
 * node's namespace. One batch of probes per origin runs as one `node -e`
 * program there (no file: pods have a private /tmp where a checkout may
 * live), so a whole origin costs one exec, and origins run side by side.
 *
 * A probe is a TCP connection with one HTTP GET or a UDP datagram; its
 * result says what the client saw: the reply, or how it failed
 * (`timeout`, `ECONNREFUSED`, `EHOSTUNREACH`, …) and how long it took.
 */
import { spawn } from 'node:child_process';

export interface Probe {
  id: string;
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  /** HTTP path (tcp); default `/`. */
  path?: string;
  /** UDP payload (default `hostname`); with `raw`, what is written on the TCP connection. */
  send?: string;
  /** tcp only: no HTTP; write `send` (if any) and read until the server closes. */
  raw?: boolean;
  /** Default 1500 ms. */
  timeoutMs?: number;
}

export interface ProbeResult {
  id: string;
  /** The reply body, when there was one. */
  body?: string;
  /** The HTTP status code (tcp, not raw). */
  status?: number;
  /** How it failed: `timeout` or an errno code. */
  err?: string;
  ms: number;
}

/** The program that runs a batch (argv[1]: JSON Probe[]; prints JSON ProbeResult[]). */
const PROGRAM = `
const http = require('http'), dgram = require('dgram'), net = require('net');
const probes = JSON.parse(process.argv[1]);
function one(p) {
  const t0 = Date.now(), limit = p.timeoutMs || 1500;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => { if (!done) { done = true; resolve({ id: p.id, ms: Date.now() - t0, ...r }); } };
    if (p.proto === 'udp') {
      const s = dgram.createSocket('udp4');
      const t = setTimeout(() => { s.close(); finish({ err: 'timeout' }); }, limit);
      s.on('message', (m) => { clearTimeout(t); s.close(); finish({ body: m.toString() }); });
      s.on('error', (e) => { clearTimeout(t); s.close(); finish({ err: e.code || e.message }); });
      s.connect(p.port, p.host, () => { s.send(p.send || 'hostname'); setTimeout(() => { try { s.send(p.send || 'hostname'); } catch {} }, 400); });
      return;
    }
    if (p.raw) {
      let b = '';
      const sock = net.connect(p.port, p.host, () => { if (p.send) sock.write(p.send); });
      const t = setTimeout(() => { finish({ err: 'timeout' }); sock.destroy(); }, limit);
      sock.on('data', (d) => (b += d));
      sock.on('end', () => { clearTimeout(t); finish({ body: b }); sock.destroy(); });
      sock.on('error', (e) => { clearTimeout(t); finish({ err: e.code || e.message }); });
      return;
    }
    const req = http.get({ host: p.host, port: p.port, path: p.path || '/', agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => finish({ body: b, status: res.statusCode }));
      res.on('error', (e) => finish({ err: e.code || e.message }));
    });
    // a timer of our own: the socket's timeout starts only once it is connected
    const t = setTimeout(() => { finish({ err: 'timeout' }); req.destroy(); }, limit);
    req.on('close', () => clearTimeout(t));
    req.on('error', (e) => finish({ err: e.code || e.message }));
  });
}
(async () => {
  const out = [];
  for (let i = 0; i < probes.length; i += 8) out.push(...(await Promise.all(probes.slice(i, i + 8).map(one))));
  process.stdout.write(JSON.stringify(out));
})();
`;

/** Where a batch runs: the command prefix that enters the origin. */
export type Origin =
  | { kind: 'host' }
  | { kind: 'pod'; kubeconfig: string; pod: string; namespace?: string }
  | { kind: 'netns'; netns: string };

function prefix(o: Origin): string[] {
  switch (o.kind) {
    case 'host':
      return [];
    case 'pod':
      return ['kubectl', '--kubeconfig', o.kubeconfig, 'exec', '-n', o.namespace ?? 'default', o.pod, '--'];
    case 'netns':
      return ['nsenter', `--net=/run/netns/${o.netns}`, '--'];
  }
}

/** Runs `probes` from `origin`; rejects when the batch itself could not run. */
export function runProbes(origin: Origin, probes: Probe[]): Promise<ProbeResult[]> {
  const argv = [...prefix(origin), process.execPath, '-e', PROGRAM, JSON.stringify(probes)];
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000 + probes.length * 2_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(out) as ProbeResult[]);
      } catch {
        reject(new Error(`probes from ${JSON.stringify(origin)} exited ${code}: ${err.trim() || out.trim()}`));
      }
    });
  });
}
