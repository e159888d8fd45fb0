/**
 * ChaosRuntime for the docker runtime: machines are the compose project's
 * containers (DockerCluster, dockerode). A node's power is its container
 * (kill / start), pause is the engine's cgroup freezer, tools run with
 * `docker exec` in the container, whose network namespace is the machine's,
 * so partitions (nft) and netem (tc) are the same commands as on the netns
 * runtime. Components run under the container's supervisor
 * (docker/supervisor.ts): stopping one holds it down (a file in
 * /run/kubemu-hold) so the supervisor does not bring it back; starting it
 * removes the hold and the supervisor starts it within a second.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { podNetnsName, type RunOptions, type RunResult } from '@kubemu/netns';
import { HOLD_DIR, nodePlan, settingsFromEnv, type ContainerSettings } from '../docker/container-role.js';
import { DockerCluster, type ClusterContainer } from '../docker/docker-cluster.js';
import { RUN_ROOT } from '../runtime/netns-runtime.js';
import { ChaosError, componentLabel, type ChaosRuntime, type ComponentName, type ComponentRef, type Machine } from './runtime.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pattern that finds a component's process in its container (not the container's own `kubemu.js container …`). */
function pattern(c: ComponentName): string {
  return `kubemu.js ${c} `;
}

function parsePids(text: string): number[] {
  return text.split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
}

export class DockerChaosRuntime implements ChaosRuntime {
  readonly kind = 'docker';
  readonly cluster: string;
  readonly stateDir: string;
  readonly kubeconfig: string;
  readonly nodeSubnet: string;
  readonly #dc: DockerCluster;
  readonly #settings: ContainerSettings;
  #containers: ClusterContainer[];
  /** Components seen running when the runtime was opened, kept current by this runtime's own actions. */
  readonly #running = new Set<string>();

  private constructor(dc: DockerCluster, containers: ClusterContainer[], settings: ContainerSettings, kubeconfig: string) {
    this.#dc = dc;
    this.#containers = containers;
    this.#settings = settings;
    this.cluster = dc.project;
    this.stateDir = join(homedir(), '.kubemu', 'docker', dc.project);
    this.kubeconfig = kubeconfig;
    this.nodeSubnet = settings.subnet;
  }

  /** The compose project `project`; a ChaosError when no engine answers or it has no kubemu containers. */
  static async open(project: string, dc = new DockerCluster({ project })): Promise<DockerChaosRuntime> {
    let containers: ClusterContainer[];
    try {
      containers = await dc.containers();
    } catch (e) {
      throw new ChaosError((e as Error).message);
    }
    const cp = containers.find((c) => c.role === 'control-plane');
    if (!cp) throw new ChaosError(`no compose project "${project}" with a kubemu control plane; start one with \`docker compose up -d\``);
    const info = await dc.docker.getContainer(cp.id).inspect();
    const env = Object.fromEntries((info.Config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const out = info.Mounts.find((m) => m.Destination === '/kubemu-out')?.Source;
    const rt = new DockerChaosRuntime(dc, containers, settingsFromEnv('control-plane', env), out ? join(out, 'kubeconfig') : join(process.cwd(), '.kubemu', 'kubeconfig'));
    await rt.#refreshRunning();
    return rt;
  }

  async #refreshRunning(): Promise<void> {
    this.#containers = await this.#dc.containers();
    this.#running.clear();
    await Promise.all(
      this.#containers.filter((c) => c.state === 'running').map(async (c) => {
        for (const comp of this.components(c.machine)) if ((await this.#pids({ machine: c.machine, component: comp })).length) this.#running.add(componentLabel({ machine: c.machine, component: comp }));
      }),
    );
  }

  machines(): Machine[] {
    return this.#containers.map((c): Machine => {
      const role = c.role === 'node' ? 'node' : c.role === 'load-balancer' ? 'load-balancer' : 'control-plane';
      const index = /^node-(\d+)$/.exec(c.machine)?.[1];
      return { name: c.machine, role, ip: c.ip || (index ? nodePlan(this.#settings, Number(index)).ip : ''), ...(index ? { podCIDR: nodePlan(this.#settings, Number(index)).podCIDR } : {}) };
    });
  }

  components(machine: string): ComponentName[] {
    const m = this.#containers.find((c) => c.machine === machine);
    if (!m) throw new ChaosError(`no machine "${machine}" in compose project "${this.cluster}"`);
    return m.role === 'node' ? ['node-agent', 'kube-proxy'] : [m.role as ComponentName];
  }

  running(ref: ComponentRef): boolean {
    return this.#running.has(componentLabel(ref));
  }

  async #pids(ref: ComponentRef): Promise<number[]> {
    const r = await this.#dc.exec(ref.machine, ['pgrep', '-f', pattern(ref.component)]).catch(() => ({ code: 1, stdout: '', stderr: '' }));
    return r.code === 0 ? parsePids(r.stdout) : [];
  }

  async signalComponent(ref: ComponentRef, sig: NodeJS.Signals): Promise<number[]> {
    // A process stopped on purpose stays down until startComponent (the supervisor would restart it).
    if (sig === 'SIGKILL' || sig === 'SIGTERM' || sig === 'SIGINT') await this.#sh(ref.machine, `mkdir -p ${HOLD_DIR} && touch ${HOLD_DIR}/${ref.component}`);
    const pids = await this.#pids(ref);
    if (!pids.length) return [];
    await this.#dc.exec(ref.machine, ['kill', '-s', sig.replace(/^SIG/, ''), ...pids.map(String)]);
    if (sig === 'SIGKILL' || sig === 'SIGTERM' || sig === 'SIGINT') this.#running.delete(componentLabel(ref));
    return pids;
  }

  async waitGone(ref: ComponentRef, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.#pids(ref)).length) {
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  }

  async startComponent(ref: ComponentRef): Promise<number> {
    const c = this.#containers.find((x) => x.machine === ref.machine);
    if (!c || c.state !== 'running') throw new ChaosError(`${ref.machine}'s container is not running; \`kubemu chaos start-node ${ref.machine}\` or \`docker compose start\` first`);
    await this.#sh(ref.machine, `rm -f ${HOLD_DIR}/${ref.component}`);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const pids = await this.#pids(ref);
      if (pids.length) {
        this.#running.add(componentLabel(ref));
        return pids[0]!;
      }
      if (Date.now() > deadline) throw new ChaosError(`${componentLabel(ref)} did not start in 15 s; see \`docker logs\` of ${ref.machine}'s container`);
      await sleep(200);
    }
  }

  async exec(machine: string, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.#dc.exec(machine, [cmd, ...args], { timeoutMs: opts.timeoutMs, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    if (r.code !== 0 && !opts.allowFail) throw new ChaosError(`${cmd} ${args.join(' ')} in ${machine} failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    return r;
  }

  async #sh(machine: string, script: string): Promise<void> {
    const r = await this.#dc.exec(machine, ['sh', '-c', script]);
    if (r.code !== 0) throw new ChaosError(`${script} in ${machine} failed: ${r.stderr.trim()}`);
  }

  async #top(machine: string): Promise<number[]> {
    const { handle } = await this.#dc.container(machine);
    const top = await handle.top({ ps_args: '-eo pid' }).catch(() => ({ Processes: [] as string[][] }));
    return ((top.Processes ?? []) as string[][]).map((p: string[]) => Number(p[0])).filter((n: number) => Number.isInteger(n));
  }

  async pauseMachine(machine: string): Promise<number[]> {
    const pids = await this.#top(machine);
    const { handle } = await this.#dc.container(machine);
    await handle.pause();
    return pids;
  }

  async resumeMachine(machine: string): Promise<number[]> {
    const { handle, info } = await this.#dc.container(machine);
    if (info.state === 'paused') await handle.unpause();
    return this.#top(machine);
  }

  async powerOff(machine: string): Promise<number[]> {
    const pids = await this.#top(machine);
    const { handle } = await this.#dc.container(machine);
    await handle.kill();
    for (const c of this.components(machine)) this.#running.delete(componentLabel({ machine, component: c }));
    await this.#refreshRunning();
    return pids;
  }

  async poweredOff(machine: string): Promise<boolean> {
    const { info } = await this.#dc.container(machine);
    return info.state === 'exited' || info.state === 'dead' || info.state === 'created';
  }

  async powerOn(machine: string): Promise<number[]> {
    const { handle } = await this.#dc.container(machine);
    await handle.start();
    await this.#refreshRunning();
    const pids: number[] = [];
    for (const c of this.components(machine)) pids.push(await this.startComponent({ machine, component: c }));
    return pids;
  }

  async signalPod(machine: string, podUid: string, sig: NodeJS.Signals): Promise<number[]> {
    // The pod's sandbox namespace, and (hostNetwork pods) its recorded container pids.
    const ns = podNetnsName(this.#settings.cluster, podUid);
    const pidDir = join(RUN_ROOT, this.#settings.cluster, machine, 'pods', podUid, 'pids');
    const r = await this.#dc.exec(machine, ['sh', '-c', `{ ip netns pids ${ns} 2>/dev/null; cat ${pidDir}/*.pid 2>/dev/null; } | sort -u`]);
    const pids = parsePids(r.stdout);
    if (pids.length) await this.#dc.exec(machine, ['kill', '-s', sig.replace(/^SIG/, ''), ...pids.map(String)]);
    return pids;
  }
}
