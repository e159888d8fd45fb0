/**
 * Running `ip` and `nft` (never a shell; arguments are arguments), with a
 * timeout, plus the guard that kube-proxy only programs a node namespace,
 * never the host's own network.
 */
import { execFile } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const PATHS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin'];

const found = new Map<string, string>();

function toolPath(name: string): string {
  let p = found.get(name);
  if (!p) {
    p = PATHS.map((d) => `${d}/${name}`).find((x) => existsSync(x)) ?? name;
    if (p !== name) found.set(name, p);
  }
  return p;
}

export function run(tool: string, args: string[], input?: string, timeoutMs = 10_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(toolPath(tool), args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === -1 ? err.message : '') });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** True when this process runs in the machine's initial network namespace (the host). */
export function inHostNetns(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') === readlinkSync('/proc/1/ns/net');
  } catch {
    return false;
  }
}
