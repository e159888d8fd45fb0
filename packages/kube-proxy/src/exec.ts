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

function toolPath(name: string): string {
  for (const d of PATHS) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  return name;
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
