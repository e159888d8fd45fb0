/**
 * The real FaultExecutor: fault steps run `kubemu chaos <args…> --name
 * <cluster>` (this CLI, as a child process: the chaos command group owns the
 * faults), kubectl steps run the machine's kubectl with the cluster's
 * kubeconfig. A command over its timeout is stopped (SIGTERM, then SIGKILL).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandOutcome, FaultExecutor } from './runner.js';

/** packages/cli/bin/kubemu.js */
export const KUBEMU_BIN = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'bin', 'kubemu.js');

export function runCommand(file: string, args: string[], timeoutMs: number): Promise<CommandOutcome> {
  return new Promise((done) => {
    let output = '';
    let timedOut = false;
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const add = (d: Buffer) => {
      if (output.length < 16_384) output += d.toString('utf8');
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 2000).unref();
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      done({ ok: false, exitCode: null, output: `cannot run ${file}: ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = output.trim();
      if (timedOut) done({ ok: false, exitCode: code, output: `${text ? `${text}\n` : ''}stopped after ${timeoutMs / 1000}s (the step's timeout)` });
      else done({ ok: code === 0, exitCode: code, output: text });
    });
  });
}

export class CliFaultExecutor implements FaultExecutor {
  constructor(
    readonly cluster: string,
    readonly kubeconfig: string,
    readonly kubectlBin = 'kubectl',
  ) {}

  fault(args: string[], timeoutMs: number): Promise<CommandOutcome> {
    return runCommand(process.execPath, [KUBEMU_BIN, 'chaos', ...args, '--name', this.cluster], timeoutMs);
  }

  kubectl(args: string[], timeoutMs: number): Promise<CommandOutcome> {
    return runCommand(this.kubectlBin, ['--kubeconfig', this.kubeconfig, ...args], timeoutMs);
  }

  /** Whether this kubemu has the fault command `kubemu chaos <name>` (`kubemu chaos help <name>` fails when not). */
  async hasFault(name: string): Promise<boolean> {
    return (await runCommand(process.execPath, [KUBEMU_BIN, 'chaos', 'help', name], 15_000)).ok;
  }

  describe(kind: 'fault' | 'kubectl', args: string[]): string {
    return kind === 'fault' ? `kubemu chaos ${args.join(' ')} --name ${this.cluster}` : `kubectl ${args.join(' ')}`;
  }
}
