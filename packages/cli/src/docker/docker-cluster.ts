/**
 * The docker runtime from the host: the containers of one compose project
 * (docker-compose.yml), found by their labels and driven with dockerode —
 * for `kubemu status`, chaos and tests. Machines are named as on the netns
 * runtime: `control-plane`, `load-balancer`, `node-N`.
 */
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';

export class DockerRuntimeError extends Error {
  readonly code = 'ERR_DOCKER_RUNTIME';
}

export interface ClusterContainer {
  id: string;
  /** Machine name: control-plane, load-balancer, node-N. */
  machine: string;
  role: string;
  /** running, paused, exited, … */
  state: string;
  /** healthy, unhealthy, starting, or none. */
  health: string;
  /** Address on the cluster network. */
  ip: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const PROJECT_LABEL = 'com.docker.compose.project';

export class DockerCluster {
  readonly project: string;
  readonly docker: Docker;

  constructor(opts: { project: string; docker?: Docker }) {
    this.project = opts.project;
    this.docker = opts.docker ?? new Docker();
  }

  /** Throws DockerRuntimeError when no engine answers. */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (e) {
      throw new DockerRuntimeError(`no Docker engine answers (${(e as Error).message}); start it, or use the netns runtime (sudo npx kubemu up)`);
    }
  }

  /** Every kubemu container of the project, sorted by machine name. */
  async containers(): Promise<ClusterContainer[]> {
    await this.ping();
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${this.project}`, 'io.kubemu.role'] } });
    return list
      .map((c) => {
        const role = c.Labels['io.kubemu.role'] ?? '';
        const machine = role === 'node' ? c.Labels['io.kubemu.node'] ?? c.Labels['com.docker.compose.service'] ?? '' : role;
        const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1]?.replace('health: ', '') ?? 'none';
        const ip = Object.values(c.NetworkSettings?.Networks ?? {})[0]?.IPAddress ?? '';
        return { id: c.Id, machine, role, state: c.State, health, ip };
      })
      .sort((a, b) => a.machine.localeCompare(b.machine, 'en', { numeric: true }));
  }

  /** The container of `machine`; a one-line error naming the machines there are when it is not one. */
  async container(machine: string): Promise<{ info: ClusterContainer; handle: Docker.Container }> {
    const all = await this.containers();
    const info = all.find((c) => c.machine === machine);
    if (!info) {
      const have = all.map((c) => c.machine).join(', ');
      throw new DockerRuntimeError(all.length === 0 ? `compose project "${this.project}" has no kubemu containers; start it with \`docker compose up -d\`` : `no machine "${machine}" in compose project "${this.project}" (have: ${have})`);
    }
    return { info, handle: this.docker.getContainer(info.id) };
  }

  /** Runs argv in `machine`'s container (its network namespace is the machine's) and collects the output. */
  async exec(machine: string, argv: string[], opts: { timeoutMs?: number; input?: string | Buffer } = {}): Promise<ExecResult> {
    const { handle } = await this.container(machine);
    const withInput = opts.input !== undefined;
    const exec = await handle.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, AttachStdin: withInput });
    const stream = await exec.start({ hijack: true, stdin: withInput });
    if (withInput) {
      // Half-close after the input, so the command sees end of file (e.g. `nft -f -`).
      stream.write(opts.input);
      (stream as unknown as { end(): void }).end();
    }
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: { out: Buffer[]; err: Buffer[] } = { out: [], err: [] };
    out.on('data', (b: Buffer) => chunks.out.push(b));
    err.on('data', (b: Buffer) => chunks.err.push(b));
    this.docker.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new DockerRuntimeError(`${argv.join(' ')} in ${machine} did not finish in ${(opts.timeoutMs ?? 30_000) / 1000} s`));
      }, opts.timeoutMs ?? 30_000);
      stream.once('end', () => (clearTimeout(timer), resolve()));
      stream.once('close', () => (clearTimeout(timer), resolve()));
      stream.once('error', (e: Error) => (clearTimeout(timer), reject(e)));
    });
    const { ExitCode } = await exec.inspect();
    return { code: ExitCode ?? -1, stdout: Buffer.concat(chunks.out).toString('utf8'), stderr: Buffer.concat(chunks.err).toString('utf8') };
  }

  /** Waits until every container is running and healthy (or has no health check); `progress` gets a line per change. */
  async waitHealthy(opts: { timeoutMs: number; expect?: number; progress?: (line: string) => void }): Promise<ClusterContainer[]> {
    const deadline = Date.now() + opts.timeoutMs;
    let last = '';
    for (;;) {
      const all = await this.containers();
      const line = all.map((c) => `${c.machine}:${c.state === 'running' ? c.health : c.state}`).join(' ');
      if (line !== last) opts.progress?.(line), (last = line);
      const ok = all.length > 0 && (opts.expect === undefined || all.length >= opts.expect) && all.every((c) => c.state === 'running' && (c.health === 'healthy' || c.health === 'none'));
      if (ok) return all;
      if (Date.now() > deadline) throw new DockerRuntimeError(`compose project "${this.project}" not healthy after ${opts.timeoutMs / 1000} s: ${line || 'no containers'}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
