/**
 * Errors of the Linux plumbing layer, as typed values.
 *
 * Every failure is a `NetnsError` (or a subclass) with a stable `code` string,
 * so callers switch on `err.code` and never match message text. Messages are
 * one line and say what to do where that is known.
 *
 *   ERR_COMMAND            a tool (ip, nsenter, sysctl, …) exited non-zero,
 *                          was killed, timed out or is not installed
 *   ERR_INVALID_NAME       a cluster/node/pod name that cannot become a
 *                          netns or interface name
 *   ERR_INVALID_ADDRESS    a malformed IPv4 address or CIDR, or one outside
 *                          the networks this cluster owns
 *   ERR_INVALID_CONFIG     CIDRs that overlap each other, bad prefix lengths
 *   ERR_SUBNET_CONFLICT    the node subnet overlaps a route the host already has
 *   ERR_NETNS_NOT_FOUND    a namespace that should exist does not
 *   ERR_NO_POD_NETWORK     the node namespace has no `cbr0` bridge yet
 *   ERR_SANDBOX_NOT_FOUND  adopt() found no pod namespace
 *   ERR_SANDBOX_BROKEN     the pod namespace exists but is not wired to its node
 *   ERR_NOT_IN_SANDBOX     a pid that is not (or no longer) inside the pod
 *   ERR_TEARDOWN_INCOMPLETE  names of the cluster still present after teardown's retries
 */

export type NetnsErrorCode =
  | 'ERR_COMMAND'
  | 'ERR_INVALID_NAME'
  | 'ERR_INVALID_ADDRESS'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_SUBNET_CONFLICT'
  | 'ERR_NETNS_NOT_FOUND'
  | 'ERR_NO_POD_NETWORK'
  | 'ERR_SANDBOX_NOT_FOUND'
  | 'ERR_SANDBOX_BROKEN'
  | 'ERR_NOT_IN_SANDBOX'
  | 'ERR_TEARDOWN_INCOMPLETE';

export class NetnsError extends Error {
  readonly code: NetnsErrorCode;
  constructor(code: NetnsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetnsError';
    this.code = code;
  }
}

/** A command that failed. `exitCode` is null when it never ran, was killed or timed out. */
export class CommandError extends NetnsError {
  override readonly code = 'ERR_COMMAND' as const;
  /** The command line, arguments shell-quoted for reading (it was never run through a shell). */
  readonly commandLine: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** The tool is not installed (ENOENT): installing its package is the fix. */
  readonly notInstalled: boolean;

  constructor(init: {
    commandLine: string;
    exitCode: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    timedOut?: boolean;
    notInstalled?: boolean;
    reason?: string;
    cause?: unknown;
  }) {
    const why =
      init.reason ??
      (init.timedOut
        ? 'timed out'
        : init.signal
          ? `killed by ${init.signal}`
          : `exited with code ${init.exitCode}`);
    const detail = init.stderr.trim().split('\n').filter(Boolean).join(' | ');
    super('ERR_COMMAND', `${init.commandLine}: ${why}${detail ? `: ${detail}` : ''}`, { cause: init.cause });
    this.name = 'CommandError';
    this.commandLine = init.commandLine;
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.stdout = init.stdout;
    this.notInstalled = init.notInstalled === true;
    this.stderr = init.stderr;
    this.timedOut = init.timedOut ?? false;
  }
}

export function isNetnsError(err: unknown, code?: NetnsErrorCode): err is NetnsError {
  return err instanceof NetnsError && (code === undefined || err.code === code);
}
