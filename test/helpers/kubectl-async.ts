/**
 * Runs the machine's kubectl without blocking the test process — needed when
 * the test itself serves what kubectl talks to (an in-process node agent
 * answering exec and logs). Also finds the versioned kubectl binaries that
 * sit beside the dispatcher (kubectl.1.27 … kubectl.1.33).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface KubectlResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: number;
}

export interface KubectlOptions {
  input?: string | Buffer;
  /** A kubectl binary other than the dispatcher on PATH. */
  bin?: string;
  timeoutMs?: number;
}

/** Starts kubectl; the caller reads and kills it. */
export function spawnKubectl(kubeconfig: string, args: string[], bin = 'kubectl'): ChildProcess {
  return spawn(bin, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs kubectl to completion (killed after timeoutMs, default 60 s). */
export function kubectlAsync(kubeconfig: string, args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const p = spawnKubectl(kubeconfig, args, opts.bin);
  const out: Buffer[] = [];
  let err = '';
  p.stdout!.on('data', (d: Buffer) => out.push(d));
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  p.stdin!.on('error', () => {});
  if (opts.input !== undefined) p.stdin!.end(opts.input);
  else p.stdin!.end();
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    p.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.once('close', (status, signal) => {
      clearTimeout(timer);
      const buf = Buffer.concat(out);
      resolve({ status, signal, stdout: buf.toString('utf8'), stderr: err, stdoutBytes: buf.length });
    });
  });
}

/** The versioned kubectl beside the dispatcher ("1.29" ⇒ …/kubectl.1.29), or undefined if not installed. */
export function versionedKubectl(version: string): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  if (!which) return undefined;
  const bin = join(dirname(realpathSync(which)), `kubectl.${version}`);
  return existsSync(bin) ? bin : undefined;
}
