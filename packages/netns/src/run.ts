/**
 * Running the Linux tools (iproute2, util-linux, procps) that do the plumbing.
 *
 * Model: every operation is one short-lived process started with execFile —
 * never a shell, so names and addresses are arguments, not code. A non-zero
 * exit becomes a CommandError (code 'ERR_COMMAND') carrying the command line
 * and its stderr, unless the caller says the failure is expected
 * (`allowFail`, used for "delete if present" steps that make operations
 * idempotent). Every run has a timeout, so a stuck tool cannot hang the agent.
 *
 * Entering a namespace: `ip -n <ns>` for iproute2 itself, and
 * `nsenter --net=/run/netns/<ns>` for anything else. Deliberately not
 * `ip netns exec`: that also unshares a private mount namespace and remounts
 * /sys, so an `ip netns add` done by a process started that way (e.g. a node
 * agent creating pod namespaces) would be invisible on the host. nsenter
 * --net switches the network namespace only and keeps the host's mounts.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CommandError, NetnsError } from './errors.js';

export { CommandError } from './errors.js';

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kill (SIGKILL) and fail after this long. Default 15 000 ms. */
  timeoutMs?: number;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFail?: boolean;
}

export interface RunResult {
  /** Exit code; -1 when the command could not run at all or was killed (only seen with allowFail). */
  code: number;
  stdout: string;
  stderr: string;
  /** With allowFail, why a command that never finished failed (not installed, timed out, killed). */
  error?: CommandError;
}

export const DEFAULT_TIMEOUT_MS = 15_000;

/** Where the tools are looked for besides $PATH (ip lives in /usr/sbin, often missing from a service's PATH). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const toolCache = new Map<string, string>();

/**
 * Absolute path of a host tool ($PATH, then DEFAULT_PATH), so neither the
 * caller's nor a pod's PATH changes what runs; the bare name if not found
 * (the error then says ENOENT).
 */
export function tool(name: string): string {
  if (name.includes('/')) return name;
  let found = toolCache.get(name);
  if (found === undefined) {
    found = name;
    for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...DEFAULT_PATH.split(':')]) {
      if (!dir.startsWith('/')) continue;
      try {
        accessSync(join(dir, name), constants.X_OK);
        found = join(dir, name);
        break;
      } catch {
        // keep looking
      }
    }
    if (found !== name) toolCache.set(name, found);
  }
  return found;
}

/** Where iproute2 keeps named network namespaces. */
export const NETNS_DIR = '/run/netns';

export function netnsPath(ns: string): string {
  return `${NETNS_DIR}/${ns}`;
}

/** Quotes one argument for display (and for the rare script we do build, see pod-sandbox.ts). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(shellQuote).join(' ');
}

interface ExecError extends Error {
  code?: number | string;
  killed?: boolean;
  signal?: NodeJS.Signals | null;
}

/** One finished command, for logging and tracing (see observeCommands). */
export interface CommandEvent {
  commandLine: string;
  /** -1 when it could not run or was killed. */
  code: number;
  durationMs: number;
}

let observer: ((e: CommandEvent) => void) | null = null;

/** Reports every command run by this module to `fn` (null stops it), e.g. to log at debug level. */
export function observeCommands(fn: ((e: CommandEvent) => void) | null): void {
  observer = fn;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool(cmd),
      args,
      { encoding: 'utf8', timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        if (observer) {
          const e = error as ExecError | null;
          const code = e === null ? 0 : typeof e.code === 'number' ? e.code : -1;
          observer({ commandLine: commandLine(cmd, args), code, durationMs: performance.now() - started });
        }
        if (!error) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const e = error as ExecError;
        const exitCode = typeof e.code === 'number' ? e.code : null;
        if (opts.allowFail && exitCode !== null) {
          resolve({ code: exitCode, stdout, stderr });
          return;
        }
        const failure = new CommandError({
          commandLine: commandLine(cmd, args),
          exitCode,
          signal: e.signal ?? null,
          stdout,
          stderr,
          timedOut: e.killed === true && e.signal === 'SIGKILL',
          notInstalled: e.code === 'ENOENT',
          reason: e.code === 'ENOENT' ? `${cmd} is not installed (ENOENT)` : typeof e.code === 'string' ? e.code : undefined,
          cause: error,
        });
        if (opts.allowFail) resolve({ code: -1, stdout, stderr: stderr || failure.message, error: failure });
        else reject(failure);
      },
    );
    // A tool that exits before reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs `cmd` inside the named network namespace (host mount namespace kept). */
export function inNetns(ns: string, cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
  return run('nsenter', [`--net=${netnsPath(ns)}`, '--', tool(cmd), ...args], opts);
}

/** `ip -n <ns> …`, or plain `ip …` in the caller's namespace when ns is null. */
export function ip(ns: string | null, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
  return run('ip', ns === null ? [...args] : ['-n', ns, ...args], opts);
}

/**
 * Several iproute2 commands in one process (`ip -batch -`), one per line, in
 * order; stops at the first failure (the error names the line). Cheaper than
 * one process per command when wiring a namespace.
 */
export function ipBatch(ns: string | null, lines: readonly string[], opts?: Omit<RunOptions, 'input'>): Promise<RunResult> {
  if (lines.length === 0) return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  const args = ns === null ? ['-batch', '-'] : ['-n', ns, '-batch', '-'];
  return run('ip', args, { ...opts, input: lines.join('\n') + '\n' });
}

/** Parses the output of an `ip -j …` command; empty output is an empty list. */
export function parseIpJson<T>(stdout: string): T[] {
  const text = stdout.trim();
  if (text === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new NetnsError('ERR_COMMAND', `unreadable JSON from ip: ${text.slice(0, 200)}`, { cause: err });
  }
  return Array.isArray(parsed) ? (parsed as T[]) : [];
}

/** Sets sysctls inside a network namespace; /proc/sys/net is per namespace, so this never touches the host's values. */
export async function sysctlIn(ns: string, settings: Record<string, string>): Promise<void> {
  const args = ['-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)];
  await inNetns(ns, 'sysctl', args);
}

/**
 * True when this process runs in the machine's initial network namespace (the
 * host's), where nothing may be programmed. A container's namespace is also
 * its PID 1's, so a namespace that carries a kubemu machine name in
 * /run/netns (the docker runtime names its container's, see
 * nameOwnNamespace) is a machine's, not the host's.
 */
export function inHostNetns(): boolean {
  try {
    const self = readlinkSync('/proc/self/ns/net');
    if (self !== readlinkSync('/proc/1/ns/net')) return false;
    const ino = statSync('/proc/self/ns/net').ino;
    for (const name of existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : []) {
      if (!name.startsWith('km-')) continue;
      try {
        if (statSync(join(NETNS_DIR, name)).ino === ino) return false;
      } catch {
        // a stale name
      }
    }
    return true;
  } catch {
    return false;
  }
}
