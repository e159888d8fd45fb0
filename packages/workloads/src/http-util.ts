/**
 * Small helpers the built-in workloads share: listening with a clear error,
 * client address without the IPv4-mapped prefix, graceful stop on SIGTERM.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function clientIP(socket: Socket): string {
  return (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

export function listen(server: Server | import('node:net').Server, port: number, host = '0.0.0.0'): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, () => resolve());
  });
}

/** Exits 0 on SIGTERM/SIGINT after `delayMs` (agnhost --delay-shutdown style), calling `onTerm` first. */
export function onTerminate(onTerm: () => void = () => {}, delayMs = 0): void {
  const stop = () => {
    onTerm();
    setTimeout(() => process.exit(0), delayMs).unref();
    if (delayMs === 0) process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Parses `--name=value` / `--name value` / `--flag` arguments. */
export function parseFlags(args: string[]): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq >= 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1].startsWith('--')) flags.set(a.slice(2), args[++i]);
    else flags.set(a.slice(2), 'true');
  }
  return { flags, rest };
}

export function boolFlag(flags: Map<string, string>, name: string, def: boolean): boolean {
  const v = flags.get(name);
  return v === undefined ? def : v !== 'false' && v !== '0';
}
