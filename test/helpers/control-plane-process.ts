/**
 * Starts a real control-plane process (the built `kubemu control-plane`) on a
 * free loopback port with its own data dir, and cleans up after itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const KUBEMU = join(ROOT, 'packages', 'cli', 'bin', 'kubemu.js');

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export class ControlPlaneProcess {
  proc?: ChildProcess;
  readonly dataDir: string;
  port = 0;
  logs = '';

  constructor(dataDir?: string) {
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), 'kubemu-e2e-'));
  }

  get kubeconfig(): string {
    return join(this.dataDir, 'kubeconfig');
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get token(): string {
    return readFileSync(join(this.dataDir, 'pki', 'admin.token'), 'utf8').trim();
  }

  get agentToken(): string {
    return readFileSync(join(this.dataDir, 'pki', 'agent.token'), 'utf8').trim();
  }

  get ca(): string {
    return readFileSync(join(this.dataDir, 'pki', 'ca.crt'), 'utf8');
  }

  async start(port?: number, extraArgs: string[] = []): Promise<void> {
    this.port = port ?? this.port ?? 0;
    if (!this.port) this.port = await freePort();
    rmSync(this.kubeconfig, { force: true });
    this.proc = spawn(process.execPath, [KUBEMU, 'control-plane', '--data-dir', this.dataDir, '--listen', `127.0.0.1:${this.port}`, '--log-level', 'warn', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout?.on('data', (d: Buffer) => (this.logs += d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => (this.logs += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!existsSync(this.kubeconfig)) {
      if (this.proc.exitCode !== null) throw new Error(`control plane exited with ${this.proc.exitCode}: ${this.logs}`);
      if (Date.now() > deadline) throw new Error(`control plane did not start in 20 s: ${this.logs}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the process with `signal` and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    return exited;
  }

  async cleanup(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Runs the machine's kubectl against this control plane. */
  kubectl(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('kubectl', ['--kubeconfig', this.kubeconfig, ...args], { input, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Raw REST call with the admin token. */
  async api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const { request } = await import('node:https');
    return new Promise((res, rej) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        `${this.url}${path}`,
        { method, ca: this.ca, headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json', ...headers } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON */
            }
            res({ status: r.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', rej);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}
