/**
 * registry.k8s.io/e2e-test-images/agnhost: the subcommands Kubernetes' own
 * Service tests use, so their manifests run unchanged.
 *   serve-hostname [--port 9376] [--http=true] [--tcp] [--udp]
 *   netexec [--http-port 8080] [--udp-port 8081|-1] [--delay-shutdown S]
 *   connect [--timeout 3s] host:port      (prints REFUSED|TIMEOUT|DNS|OTHER on failure)
 *   pause
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect as tcpConnect, createServer as createTcpServer } from 'node:net';
import { hostname } from 'node:os';
import { boolFlag, clientIP, listen, onTerminate, parseFlags } from './http-util.js';

export async function agnhost(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { flags, rest: positional } = parseFlags(rest);
  switch (sub) {
    case 'serve-hostname':
      return serveHostname(Number(flags.get('port') ?? 9376), boolFlag(flags, 'http', true), boolFlag(flags, 'tcp', false), boolFlag(flags, 'udp', false));
    case 'netexec':
      return netexec(Number(flags.get('http-port') ?? 8080), Number(flags.get('udp-port') ?? 8081), Number(flags.get('delay-shutdown') ?? 0));
    case 'connect':
      return connectCmd(positional[0] ?? '', parseDuration(flags.get('timeout') ?? '0s'));
    case 'pause':
      return pause();
    default:
      console.error(`agnhost: unknown subcommand "${sub ?? ''}"; kubemu supports serve-hostname, netexec, connect, pause`);
      process.exit(1);
  }
}

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

async function serveHostname(port: number, http: boolean, tcp: boolean, udp: boolean): Promise<void> {
  const name = hostname();
  const closers: (() => void)[] = [];
  if (tcp) {
    const s = createTcpServer((sock) => sock.end(name));
    await listen(s, port);
    closers.push(() => s.close());
  } else if (http) {
    const s = createHttpServer((_req, res) => res.end(name));
    await listen(s, port);
    closers.push(() => s.close());
  }
  if (udp) {
    const u = createSocket('udp4');
    u.on('message', (_m, r) => u.send(name, r.port, r.address));
    await new Promise<void>((r) => u.bind(port, '0.0.0.0', r));
    closers.push(() => u.close());
  }
  console.log(`Serving ${name} on port ${port}`);
  onTerminate(() => closers.forEach((c) => c()));
}

function dialHTTP(host: string, port: number, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path: `/${path.replace(/^\//, '')}`, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function dialUDP(host: string, port: number, msg: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m.toString());
    });
    s.on('error', (e) => {
      clearTimeout(t);
      s.close();
      reject(e);
    });
    s.send(msg, port, host);
  });
}

async function netexec(httpPort: number, udpPort: number, delayShutdownS: number): Promise<void> {
  const name = hostname();
  let terminating = false;
  const server = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const send = (code: number, body: string, type = 'text/plain') => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    switch (url.pathname) {
      case '/':
        return send(200, `NOW: ${new Date().toISOString()}`);
      case '/hostname':
      case '/hostName':
        return send(200, name);
      case '/clientip':
        return send(200, `${clientIP(req.socket)}:${req.socket.remotePort}`);
      case '/echo':
        return send(Number(q.get('code') ?? 200) || 200, q.get('msg') ?? '');
      case '/header':
        return send(200, String(req.headers[(q.get('key') ?? '').toLowerCase()] ?? ''));
      case '/healthz':
        return send(200, 'ok');
      case '/readyz':
        return terminating ? send(503, 'terminating') : send(200, 'ok');
      case '/redirect':
        res.writeHead(302, { Location: q.get('location') ?? '/' });
        return res.end();
      case '/dial': {
        const host = q.get('host') ?? '';
        const port = Number(q.get('port') ?? 0);
        const request = q.get('request') ?? '';
        const tries = Math.max(1, Number(q.get('tries') ?? 1));
        const proto = q.get('protocol') ?? 'http';
        const responses: string[] = [];
        const errors: string[] = [];
        for (let i = 0; i < tries; i++) {
          try {
            responses.push(proto === 'udp' ? await dialUDP(host, port, request, 1000) : await dialHTTP(host, port, request, 5000));
          } catch (e) {
            errors.push(`${(e as Error).message}`);
          }
        }
        return send(200, JSON.stringify({ responses, errors }), 'application/json');
      }
      case '/shell':
        execFile('sh', ['-c', q.get('shellCommand') ?? q.get('cmd') ?? ''], (err, stdout, stderr) => send(200, JSON.stringify({ output: stdout + stderr, error: err ? err.message : '' }), 'application/json'));
        return;
      case '/exit': {
        const code = Number(q.get('code') ?? 0);
        send(200, '');
        setTimeout(() => process.exit(code), Number(q.get('wait') ?? 0) * 1000);
        return;
      }
      case '/shutdown':
        send(200, '');
        server.close();
        setTimeout(() => process.exit(0), 10);
        return;
      default:
        return send(404, '404 page not found');
    }
  });
  await listen(server, httpPort);
  if (udpPort > 0) {
    const u = createSocket('udp4');
    u.on('message', (m, r) => {
      const text = m.toString().trim();
      const reply = text === 'hostname' ? name : text.startsWith('echo ') ? text.slice(5) : text === 'clientip' ? `${r.address}:${r.port}` : '';
      u.send(reply, r.port, r.address);
    });
    await new Promise<void>((r) => u.bind(udpPort, '0.0.0.0', r));
  }
  console.log(`Started HTTP server on port ${httpPort}${udpPort > 0 ? `, UDP server on port ${udpPort}` : ''}`);
  onTerminate(() => {
    terminating = true;
  }, delayShutdownS * 1000);
}

async function connectCmd(target: string, timeoutMs: number): Promise<void> {
  const m = /^(.*):(\d+)$/.exec(target);
  if (!m) {
    console.error('usage: agnhost connect [--timeout=3s] host:port');
    process.exit(2);
  }
  const code = await new Promise<string>((resolve) => {
    const sock = tcpConnect({ host: m[1], port: Number(m[2]) });
    const t = timeoutMs > 0 ? setTimeout(() => (sock.destroy(), resolve('TIMEOUT')), timeoutMs) : undefined;
    sock.on('connect', () => {
      if (t) clearTimeout(t);
      sock.destroy();
      resolve('');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (t) clearTimeout(t);
      resolve(e.code === 'ECONNREFUSED' ? 'REFUSED' : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'DNS' : e.code === 'ETIMEDOUT' ? 'TIMEOUT' : 'OTHER');
    });
  });
  if (code) {
    console.error(code);
    process.exit(1);
  }
  process.exit(0);
}

async function pause(): Promise<void> {
  onTerminate();
  setInterval(() => {}, 1 << 30);
}
