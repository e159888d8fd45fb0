/**
 * A docker compose cluster for e2e tests: docker-compose.yml under its own
 * project name, network prefix, bridge name, published ports and kubeconfig
 * folder, so it never touches a user's `kubemu` project or a netns cluster.
 * Driven with the compose tool a user has (docker-compose 1.29 or
 * `docker compose` v2) and inspected with dockerode (DockerCluster).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerCluster } from '../../packages/cli/src/docker/docker-cluster.js';
import { freePort, ROOT } from './control-plane-process.js';

/** `docker-compose` (1.29) or `docker compose` (v2), whichever this machine has; null when neither. */
export function composeCommand(): string[] | null {
  for (const cmd of [['docker-compose'], ['docker', 'compose']]) {
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (r.status === 0) return cmd;
  }
  return null;
}

/** Why docker tests cannot run here (no engine, no compose, not root), or null when they can. */
export async function dockerUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not root';
  if (!composeCommand()) return 'no docker-compose or docker compose';
  try {
    await new Docker().ping();
  } catch (e) {
    return `no Docker engine (${(e as Error).message})`;
  }
  return null;
}

export class ComposeProject {
  readonly project = `kmt${Math.random().toString(36).slice(2, 7)}`;
  /** First three octets of the cluster network: clear of 172.30.x (netns clusters) and of each other. */
  readonly net = `172.31.${10 + Math.floor(Math.random() * 240)}`;
  readonly out = mkdtempSync(join(tmpdir(), 'kubemu-compose-'));
  readonly kubeconfig = join(this.out, 'kubeconfig');
  readonly cluster: DockerCluster;
  env: Record<string, string> = {};
  readonly #cmd: string[];
  #files = ['docker-compose.yml'];

  constructor(readonly extraEnv: Record<string, string> = {}) {
    const cmd = composeCommand();
    if (!cmd) throw new Error('no compose tool');
    this.#cmd = cmd;
    this.cluster = new DockerCluster({ project: this.project });
  }

  async init(): Promise<void> {
    const nodePortsHost = 40000 + Math.floor(Math.random() * 2000) * 10;
    this.env = {
      KUBEMU_NET: this.net,
      KUBEMU_BRIDGE: `km${this.project}`,
      KUBEMU_OUT: this.out,
      KUBEMU_API_PORT: String(await freePort()),
      KUBEMU_HTTP_PORT: String(await freePort()),
      KUBEMU_HTTPS_PORT: String(await freePort()),
      KUBEMU_NODEPORTS_HOST: `${nodePortsHost}-${nodePortsHost + 9}`,
      ...this.extraEnv,
    };
  }

  ip(host: number): string {
    return `${this.net}.${host}`;
  }

  /** Also read an override file (e.g. from scripts/compose-nodes). */
  withFile(path: string): void {
    this.#files.push(path);
  }

  compose(args: string[], timeoutMs = 600_000): string {
    const files = this.#files.flatMap((f) => ['-f', f]);
    const r = spawnSync(this.#cmd[0]!, [...this.#cmd.slice(1), '-p', this.project, ...files, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, ...this.env },
    });
    if (r.status !== 0) throw new Error(`compose ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').slice(-2000)}`);
    return r.stdout;
  }

  kubectl(args: string[], input?: string): string {
    return execFileSync('kubectl', ['--kubeconfig', this.kubeconfig, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  }

  json<T>(args: string[]): T {
    return JSON.parse(this.kubectl([...args, '-o', 'json'])) as T;
  }

  /** compose down -v, then a dockerode sweep for anything of the project that is left; removes the kubeconfig folder. */
  async down(): Promise<void> {
    try {
      this.compose(['down', '-v', '--remove-orphans', '-t', '5'], 180_000);
    } catch {
      // swept below
    }
    const docker = this.cluster.docker;
    const label = `com.docker.compose.project=${this.project}`;
    for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
    for (const n of await docker.listNetworks({ filters: { label: [label] } })) await docker.getNetwork(n.Id).remove().catch(() => {});
    for (const v of (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
    rmSync(this.out, { recursive: true, force: true });
    // kubemu chaos's record of active faults for this project
    rmSync(join(homedir(), '.kubemu', 'docker', this.project), { recursive: true, force: true });
  }

  /** What of the project is still in the engine: containers, networks, volumes. */
  async leftovers(): Promise<string[]> {
    const docker = this.cluster.docker;
    const label = `com.docker.compose.project=${this.project}`;
    return [
      ...(await docker.listContainers({ all: true, filters: { label: [label] } })).map((c) => `container ${c.Names[0]}`),
      ...(await docker.listNetworks({ filters: { label: [label] } })).map((n) => `network ${n.Name}`),
      ...((await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []).map((v) => `volume ${v.Name}`),
    ];
  }
}
