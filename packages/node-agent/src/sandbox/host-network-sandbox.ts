/**
 * The sandbox of a `hostNetwork: true` pod: its programs share the node's
 * network namespace (they bind the node's addresses and see its interfaces),
 * with a private mount namespace (/tmp and /var per pod) and the node's name
 * as hostname — what a hostNetwork pod gets in Kubernetes.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PATH, NetnsError, netnsPath, shellQuote, tool } from '@kubemu/netns';
import { joinScript, type ExecOptions, type SpawnOptions } from './pod-sandbox.js';
import { launchScript, type PodMounts } from './launch-script.js';

export class HostNetworkSandbox {
  readonly #pids = new Set<number>();
  #mounts: PodMounts;

  constructor(
    readonly nodeNs: string,
    hostname: string,
    readonly stateDir: string,
  ) {
    this.#mounts = { hostname };
    mkdirSync(join(stateDir, 'tmp'), { recursive: true });
    mkdirSync(join(stateDir, 'var'), { recursive: true });
    // Programs a previous agent started for this pod (pid files) are replaced, not duplicated.
    const pidDir = join(stateDir, 'pids');
    if (existsSync(pidDir)) {
      for (const f of readdirSync(pidDir)) {
        const pid = Number(readFileSync(join(pidDir, f), 'utf8'));
        try {
          // Only a process in this node's network and in a mount namespace of its own is ours.
          const inNode = statSync(`/proc/${pid}/ns/net`).ino === statSync(netnsPath(nodeNs)).ino;
          const ownMounts = statSync(`/proc/${pid}/ns/mnt`).ino !== statSync('/proc/self/ns/mnt').ino;
          if (pid > 1 && inNode && ownMounts) process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }

  get hostname(): string {
    return this.#mounts.hostname;
  }

  /** The hostname, /etc/hosts, /etc/resolv.conf and service account directory of programs started from now on. */
  setMounts(m: PodMounts): void {
    this.#mounts = { ...m };
  }

  spawn(opts: SpawnOptions): ChildProcess {
    if (opts.command.length === 0) throw new NetnsError('ERR_INVALID_CONFIG', 'spawn: empty command');
    if (opts.target !== undefined && !this.#pids.has(opts.target)) throw new NetnsError('ERR_NOT_IN_SANDBOX', `pid ${opts.target} is not a program of this pod`);
    const args = opts.target !== undefined
      ? ['--target', String(opts.target), '--net', '--mount', '--uts', '--', tool('sh'), '-c', joinScript(opts.cwd ?? '/'), 'kubemu-pod', ...opts.command]
      : [`--net=${netnsPath(this.nodeNs)}`, '--', tool('unshare'), '--mount', '--uts', '--propagation', 'private', '--', tool('sh'), '-c', launchScript(this.stateDir, opts.cwd ?? '/', this.#mounts), 'kubemu-pod', ...opts.command];
    const child = spawnChild(tool('nsenter'), args, {
      env: { PATH: DEFAULT_PATH, HOSTNAME: this.hostname, ...opts.env },
      stdio: [opts.stdin ?? 'ignore', opts.stdout, opts.stderr],
      detached: true,
      cwd: '/',
    });
    if (child.pid) {
      const pid = child.pid;
      if (opts.name) {
        mkdirSync(join(this.stateDir, 'pids'), { recursive: true });
        writeFileSync(join(this.stateDir, 'pids', `${opts.name}.pid`), `${pid}\n`);
      }
      this.#pids.add(pid);
      child.once('exit', () => this.#pids.delete(pid));
    }
    return child;
  }

  exec(pid: number, command: string[], opts: ExecOptions = {}): ChildProcess {
    if (!this.#pids.has(pid)) throw new NetnsError('ERR_NOT_IN_SANDBOX', `pid ${pid} is not a program of this pod`);
    let env: Record<string, string> = { PATH: DEFAULT_PATH };
    try {
      for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
        const i = kv.indexOf('=');
        if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
      }
    } catch {
      // gone: defaults only
    }
    env = { ...env, ...opts.env };
    const argv = opts.tty ? [tool('script'), '-qefc', command.map(shellQuote).join(' '), '/dev/null'] : command;
    return spawnChild(tool('nsenter'), ['--target', String(pid), '--net', '--mount', '--uts', '--wd', '--', ...argv], { env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  }

  async pids(): Promise<number[]> {
    return [...this.#pids];
  }

  async destroy(): Promise<void> {
    for (const pid of this.#pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.#pids.clear();
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
