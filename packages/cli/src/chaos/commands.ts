/**
 * `kubemu chaos …`: the fault commands, wired into commander. Output is
 * plain lines: what was done, and how to undo it. A bad target or input is
 * one line on stderr and exit 1, with nothing changed.
 */
import { Command, Option } from 'commander';
import { loadKubeconfig } from '../kubeconfig.js';
import { RestClient } from '../rest-client.js';
import { restClusterApi } from './cluster-api.js';
import type * as Faults from './faults.js';
import { FaultRegistry } from './registry.js';
import { ChaosError, type ChaosRuntime } from './runtime.js';

// Loaded when a chaos command runs, so other commands do not pay for the node agent's code.
type FaultsModule = typeof Faults;

interface CommonOpts {
  name: string;
  kubeconfig?: string;
}

/** The runtime a cluster lives in. Only netns for now; a docker runtime plugs in here. */
/**
 * The cluster `name`: a netns cluster of that name on this machine, else a
 * docker compose project of that name (`kubemu` by default, as .env sets it).
 */
export async function openRuntime(name: string): Promise<ChaosRuntime> {
  const { readRecord } = await import('../runtime/netns-runtime.js');
  if (readRecord(name)) {
    const { NetnsChaosRuntime } = await import('./netns-chaos-runtime.js');
    return NetnsChaosRuntime.open(name);
  }
  const { DockerChaosRuntime } = await import('./docker-chaos-runtime.js');
  try {
    return await DockerChaosRuntime.open(name);
  } catch (e) {
    throw new ChaosError(`no cluster "${name}" here: neither a netns cluster (\`sudo npx kubemu up${name === 'kubemu' ? '' : ` --name ${name}`}\`) nor a docker compose project (\`docker compose${name === 'kubemu' ? '' : ` -p ${name}`} up -d\`): ${(e as Error).message}`);
  }
}

function context(rt: ChaosRuntime, o: CommonOpts): Faults.ChaosContext {
  let api: Faults.ClusterApi | undefined;
  return {
    rt,
    registry: new FaultRegistry(rt.stateDir),
    api: () => (api ??= restClusterApi(new RestClient(loadKubeconfig(o.kubeconfig ?? rt.kubeconfig)))),
    out: (line) => console.log(line),
  };
}

/** Runs a fault; any failure becomes one line (a tool's stderr can be long). */
function action<A extends unknown[]>(fn: (faults: FaultsModule, ctx: Faults.ChaosContext, ...args: A) => Promise<void>) {
  return async (...args: unknown[]) => {
    // commander passes the arguments, then the options, then the command; handlers get the arguments and the options.
    const o = args[args.length - 2] as CommonOpts;
    try {
      const faults = await import('./faults.js');
      const rt = await openRuntime(o.name);
      await fn(faults, context(rt, o), ...(args.slice(0, -1) as A));
    } catch (e) {
      // A tool's failure (CommandError) carries its whole stderr: its first line is the one that says why.
      const err = e as Error & { code?: string };
      const msg = err.code === 'ERR_COMMAND' ? err.message.split('\n')[0]! : err.message ?? String(e);
      throw new ChaosError(msg.replace(/\s*\n\s*/g, ' ').trim());
    }
  };
}

export function chaosCommands(): Command {
  const chaos = new Command('chaos').description('break a running cluster on purpose, and heal it (a netns cluster, or a docker compose project of that name)');
  const sub = (name: string, description: string) =>
    chaos
      .command(name)
      .description(description)
      .option('--name <name>', 'cluster name (netns) or compose project name (docker)', 'kubemu')
      .addOption(new Option('--kubeconfig <path>', "kubeconfig for the API (default: the cluster's own)"));

  sub('kill-node', "power a node off: SIGKILL its node-agent, kube-proxy and pods' processes, drop everything on its eth0")
    .argument('<node>')
    .action(action((faults, ctx, node: string) => faults.killNode(ctx, node)));
  sub('start-node', 'power a node on again: its node-agent and kube-proxy, started as `up` did; the agent re-adopts its pods')
    .argument('<node>')
    .action(action((faults, ctx, node: string) => faults.startNode(ctx, node)));
  sub('pause-node', "freeze a node: SIGSTOP its node-agent, kube-proxy and pods' processes")
    .argument('<node>')
    .action(action((faults, ctx, node: string) => faults.pauseNode(ctx, node)));
  sub('resume-node', 'thaw a paused node (SIGCONT)')
    .argument('<node>')
    .action(action((faults, ctx, node: string) => faults.resumeNode(ctx, node)));
  sub('partition', 'cut a node off the control plane (default), other nodes (their addresses and pod CIDRs) or both, with nftables in the node')
    .argument('<node>')
    .option('--from <machines...>', 'control-plane, load-balancer, a node name, or nodes (every other node)')
    .action(action((faults, ctx, node: string, o: { from?: string[] }) => faults.partition(ctx, node, o.from ?? [])));
  sub('heal', 'undo every fault still active (or those of one machine): start killed processes, resume, lift partitions, clear netem, restore readiness')
    .argument('[machine]')
    .action(action((faults, ctx, machine: string | undefined) => faults.heal(ctx, machine)));
  sub('list', 'show the faults still active and how to undo each').action(action(async (faults, ctx) => faults.listFaults(ctx)));
  sub('netem', "delay, jitter, lose or rate-limit what a node sends (tc netem on its eth0); `netem NODE clear` removes it")
    .argument('<node>')
    .argument('[clear]', 'clear: remove the netem qdisc')
    .option('--delay <time>', 'e.g. 100ms')
    .option('--jitter <time>', 'e.g. 20ms (needs --delay)')
    .option('--loss <percent>', 'e.g. 5%')
    .option('--rate <rate>', 'e.g. 10mbit')
    .action(
      action(async (faults, ctx, node: string, clear: string | undefined, o: { delay?: string; jitter?: string; loss?: string; rate?: string }) => {
        const given = [o.delay, o.jitter, o.loss, o.rate].some((v) => v !== undefined);
        if (clear !== undefined) {
          if (clear !== 'clear') throw new ChaosError(`netem ${node} ${clear}: the only word netem takes after the node is "clear"`);
          if (given) throw new ChaosError('netem NODE clear takes no --delay, --jitter, --loss or --rate');
          return faults.clearNetem(ctx, node);
        }
        return faults.netem(ctx, node, { delay: o.delay, jitter: o.jitter, loss: o.loss, rate: o.rate });
      }),
    );
  sub('kill-pod', "SIGKILL a pod's container processes (not an API delete: the node agent restarts them per restartPolicy)")
    .argument('<pod>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action(action((faults, ctx, pod: string, o: { namespace: string }) => faults.killPod(ctx, o.namespace, pod)));
  sub('fail-readiness', "make a pod's readiness fail (whatever its probe, or none) without restarting it")
    .argument('<pod>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action(action((faults, ctx, pod: string, o: { namespace: string }) => faults.failReadiness(ctx, o.namespace, pod)));
  sub('restore-readiness', "give a pod's readiness back to its probe")
    .argument('<pod>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action(action((faults, ctx, pod: string, o: { namespace: string }) => faults.restoreReadiness(ctx, o.namespace, pod)));
  sub('kill', 'SIGKILL one component: control-plane, load-balancer, or node-agent / kube-proxy of a node')
    .argument('<component>')
    .argument('[node]')
    .action(action((faults, ctx, component: string, node: string | undefined) => faults.killComponent(ctx, component, node)));
  sub('start', 'start a killed component again with the arguments `up` gave it')
    .argument('<component>')
    .argument('[node]')
    .action(action((faults, ctx, component: string, node: string | undefined) => faults.startComponent(ctx, component, node)));
  sub('restart', 'SIGTERM a component, wait for it to exit, start it again (e.g. restart control-plane: the store is durable)')
    .argument('<component>')
    .argument('[node]')
    .action(action((faults, ctx, component: string, node: string | undefined) => faults.restartComponent(ctx, component, node)));
  return chaos;
}
