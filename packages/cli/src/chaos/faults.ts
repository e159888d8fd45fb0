/**
 * The faults of `kubemu chaos`, written against ChaosRuntime (and a small
 * view of the API), so every runtime gets the same ones. Each checks its
 * target before changing anything, prints what it did and how to undo it,
 * and records what stays in force in the FaultRegistry for `heal`.
 */
import { CHAOS_FAIL_READINESS_ANNOTATION } from '@kubemu/node-agent';
import { deleteTableScript, partitionRuleset, PARTITION_TABLE } from './nft.js';
import { describeNetem, netemArgs, netemClearArgs, validateNetem, type NetemSpec } from './netem.js';
import type { ActiveFault, FaultRegistry } from './registry.js';
import { COMPONENTS, ChaosError, componentLabel, type ChaosRuntime, type ComponentName, type ComponentRef, type Machine } from './runtime.js';

/** The interface every machine reaches the others through. */
export const MACHINE_DEV = 'eth0';

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  nodeName?: string;
  containers: string[];
  restartPolicy: string;
}

/** What the faults need of the API server. */
export interface ClusterApi {
  getPod(namespace: string, name: string): Promise<PodInfo | undefined>;
  /** Sets (value) or removes (null) one annotation of a pod. */
  annotatePod(namespace: string, name: string, key: string, value: string | null): Promise<void>;
  /** True when the API server answers. */
  healthy(): Promise<boolean>;
}

export interface ChaosContext {
  rt: ChaosRuntime;
  registry: FaultRegistry;
  api(): ClusterApi;
  out(line: string): void;
  now?(): Date;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `kubemu chaos <sub>` with `--name` when the cluster is not the default one. */
export function chaosCommand(rt: ChaosRuntime, sub: string): string {
  return `kubemu chaos ${sub}${rt.cluster === 'kubemu' ? '' : ` --name ${rt.cluster}`}`;
}

function since(ctx: ChaosContext): string {
  return (ctx.now?.() ?? new Date()).toISOString();
}

export function nodeOf(rt: ChaosRuntime, name: string): Machine {
  const all = rt.machines();
  const m = all.find((x) => x.name === name && x.role === 'node');
  if (!m) throw new ChaosError(`no node "${name}" in cluster "${rt.cluster}" (nodes: ${all.filter((x) => x.role === 'node').map((x) => x.name).join(', ')})`);
  return m;
}

async function requirePoweredOn(rt: ChaosRuntime, node: string): Promise<void> {
  if (await rt.poweredOff(node)) throw new ChaosError(`${node} is powered off; start it with \`${chaosCommand(rt, `start-node ${node}`)}\``);
}

// ---- nodes: kill/start, pause/resume ---------------------------------------------

export async function killNode(ctx: ChaosContext, node: string): Promise<void> {
  const { rt, registry } = ctx;
  nodeOf(rt, node);
  await requirePoweredOn(rt, node);
  const pids = await rt.powerOff(node);
  const undo = chaosCommand(rt, `start-node ${node}`);
  // Starting the node starts everything: its separate kill entries are covered.
  for (const c of rt.components(node)) registry.remove('kill', componentLabel({ machine: node, component: c }));
  registry.put({ kind: 'kill-node', target: node, machine: node, since: since(ctx), description: `${node} powered off`, undo });
  if (rt.kind === 'docker') {
    ctx.out(`${node} powered off: its container killed (${pids.length} process(es): ${rt.components(node).join(', ')} and its pods' containers); its address answers nothing`);
    ctx.out(`  the node goes NotReady after the control plane's grace period; its pods are made again when it starts`);
  } else {
    ctx.out(`${node} powered off: SIGKILLed ${pids.length} process(es) (${rt.components(node).join(', ')} and its pods' containers); its ${MACHINE_DEV} drops everything`);
    ctx.out(`  pods' sandboxes stay, as after a crash; the node goes NotReady after the control plane's grace period`);
  }
  ctx.out(`  undo: ${undo}`);
}

export async function startNode(ctx: ChaosContext, node: string): Promise<void> {
  const { rt, registry } = ctx;
  nodeOf(rt, node);
  let started: string[];
  if (await rt.poweredOff(node)) {
    await rt.powerOn(node);
    started = rt.components(node);
  } else {
    const down = rt.components(node).filter((c) => !rt.running({ machine: node, component: c }));
    if (!down.length) throw new ChaosError(`${node} is running (${rt.components(node).join(', ')}); nothing to start`);
    for (const c of down) await rt.startComponent({ machine: node, component: c });
    started = down;
  }
  registry.remove('kill-node', node);
  for (const c of rt.components(node)) registry.remove('kill', componentLabel({ machine: node, component: c }));
  ctx.out(
    rt.kind === 'docker'
      ? `${node} started: its container, ${started.join(', ')} running again; the agent makes its pods again`
      : `${node} started: ${started.join(', ')} running again with the arguments \`up\` gave them; the agent re-adopts its pods' sandboxes and starts their containers`,
  );
}

export async function pauseNode(ctx: ChaosContext, node: string): Promise<void> {
  const { rt, registry } = ctx;
  nodeOf(rt, node);
  await requirePoweredOn(rt, node);
  if (registry.find('pause-node', node)) throw new ChaosError(`${node} is paused already; resume it with \`${chaosCommand(rt, `resume-node ${node}`)}\``);
  const pids = await rt.pauseMachine(node);
  const undo = chaosCommand(rt, `resume-node ${node}`);
  registry.put({ kind: 'pause-node', target: node, machine: node, since: since(ctx), description: `${node} paused (${pids.length} processes stopped)`, undo, pids });
  ctx.out(`${node} paused: SIGSTOPped ${pids.length} process(es) (${rt.components(node).join(', ')} and its pods' containers)`);
  ctx.out(`  undo: ${undo}`);
}

export async function resumeNode(ctx: ChaosContext, node: string): Promise<void> {
  const { rt, registry } = ctx;
  nodeOf(rt, node);
  const f = registry.find('pause-node', node);
  const pids = await rt.resumeMachine(node, f?.kind === 'pause-node' ? f.pids : []);
  registry.remove('pause-node', node);
  ctx.out(`${node} resumed: SIGCONT to ${pids.length} process(es)`);
}

// ---- partitions -------------------------------------------------------------------

/**
 * The addresses `--from` names, seen from `node`: `control-plane`,
 * `load-balancer`, another node (its address and pod CIDR), or `nodes` (every
 * other node).
 */
export function partitionTargets(rt: ChaosRuntime, node: string, from: readonly string[]): { from: string[]; cut: string[] } {
  const machines = rt.machines();
  const names: string[] = [];
  for (const f of from.length ? from : ['control-plane']) {
    if (f === 'nodes') names.push(...machines.filter((m) => m.role === 'node' && m.name !== node).map((m) => m.name));
    else if (f === node) throw new ChaosError(`cannot partition ${node} from itself`);
    else if (!machines.some((m) => m.name === f)) throw new ChaosError(`--from: no machine "${f}" in cluster "${rt.cluster}" (have: ${machines.filter((m) => m.name !== node).map((m) => m.name).join(', ')}, nodes)`);
    else names.push(f);
  }
  const uniq = [...new Set(names)];
  if (!uniq.length) throw new ChaosError(`--from nodes: ${node} is the only node`);
  const cut = uniq.flatMap((n) => {
    const m = machines.find((x) => x.name === n)!;
    return m.podCIDR ? [m.ip, m.podCIDR] : [m.ip];
  });
  return { from: uniq, cut };
}

export async function partition(ctx: ChaosContext, node: string, from: readonly string[]): Promise<void> {
  const { rt, registry } = ctx;
  nodeOf(rt, node);
  await requirePoweredOn(rt, node);
  const prev = registry.find('partition', node);
  const t = partitionTargets(rt, node, [...(prev?.kind === 'partition' ? prev.from : []), ...(from.length ? from : ['control-plane'])]);
  await rt.exec(node, 'nft', ['-f', '-'], { input: partitionRuleset(t.cut) });
  const undo = chaosCommand(rt, `heal ${node}`);
  registry.put({ kind: 'partition', target: node, machine: node, since: since(ctx), description: `${node} partitioned from ${t.from.join(', ')}`, undo, from: t.from, cut: t.cut });
  ctx.out(`${node} partitioned from ${t.from.join(', ')}: table inet ${PARTITION_TABLE} in ${node} drops traffic to and from ${t.cut.join(', ')} (both ways, established connections too)`);
  ctx.out(`  undo: ${undo}   (or \`${chaosCommand(rt, 'heal')}\` for every fault)`);
}

async function healPartition(ctx: ChaosContext, node: string): Promise<void> {
  await ctx.rt.exec(node, 'nft', ['-f', '-'], { input: deleteTableScript(PARTITION_TABLE) });
  ctx.registry.remove('partition', node);
}

// ---- netem ------------------------------------------------------------------------

export async function netem(ctx: ChaosContext, node: string, spec: NetemSpec): Promise<void> {
  const { rt, registry } = ctx;
  const s = validateNetem(spec);
  nodeOf(rt, node);
  await requirePoweredOn(rt, node);
  const args = netemArgs(MACHINE_DEV, s);
  const r = await rt.exec(node, 'tc', args, { allowFail: true });
  if (r.code !== 0) {
    if (/qdisc kind is unknown/i.test(r.stderr)) throw new ChaosError(`this kernel has no netem qdisc (sch_netem, CONFIG_NET_SCH_NETEM), so ${node} cannot be given ${describeNetem(s)}; nothing was changed`);
    throw new ChaosError(`tc on ${node}: ${r.stderr.trim().split('\n')[0] || `exit code ${r.code}`}`);
  }
  const undo = chaosCommand(rt, `netem ${node} clear`);
  registry.put({ kind: 'netem', target: node, machine: node, since: since(ctx), description: `${node} ${MACHINE_DEV}: ${describeNetem(s)}`, undo, netem: s });
  ctx.out(`${node} ${MACHINE_DEV}: ${describeNetem(s)} on everything it sends (tc ${args.join(' ')})`);
  ctx.out(`  undo: ${undo}`);
}

export async function clearNetem(ctx: ChaosContext, node: string, quiet = false): Promise<void> {
  const { rt, registry } = ctx;
  nodeOf(rt, node);
  const r = await rt.exec(node, 'tc', netemClearArgs(MACHINE_DEV), { allowFail: true });
  // No qdisc of ours there: nothing to clear, which is fine.
  if (r.code !== 0 && !/No such file|Cannot delete qdisc with handle of zero|Cannot find/i.test(r.stderr)) throw new ChaosError(`tc on ${node}: ${r.stderr.trim().split('\n')[0]}`);
  registry.remove('netem', node);
  if (!quiet) ctx.out(`${node} ${MACHINE_DEV}: netem cleared (default qdisc back)`);
}

// ---- pods -------------------------------------------------------------------------

async function podOrFail(ctx: ChaosContext, namespace: string, name: string): Promise<PodInfo> {
  const p = await ctx.api().getPod(namespace, name);
  if (!p) throw new ChaosError(`pods "${name}" not found in namespace "${namespace}"`);
  return p;
}

export async function killPod(ctx: ChaosContext, namespace: string, name: string): Promise<void> {
  const { rt } = ctx;
  const p = await podOrFail(ctx, namespace, name);
  if (!p.nodeName) throw new ChaosError(`pod ${namespace}/${name} is not scheduled to a node yet`);
  nodeOf(rt, p.nodeName);
  await requirePoweredOn(rt, p.nodeName);
  const pids = await rt.signalPod(p.nodeName, p.uid, 'SIGKILL');
  if (!pids.length) throw new ChaosError(`pod ${namespace}/${name} has no running container process on ${p.nodeName}`);
  ctx.out(`SIGKILLed ${pids.length} process(es) of pod ${namespace}/${name} on ${p.nodeName} (containers: ${p.containers.join(', ')})`);
  ctx.out(`  not an API delete: the node agent restarts them as restartPolicy ${p.restartPolicy} says (watch RESTARTS in \`kubectl get pod ${name}${namespace === 'default' ? '' : ` -n ${namespace}`}\`)`);
}

function podRef(namespace: string, name: string): string {
  return `${name}${namespace === 'default' ? '' : ` -n ${namespace}`}`;
}

export async function failReadiness(ctx: ChaosContext, namespace: string, name: string): Promise<void> {
  await podOrFail(ctx, namespace, name);
  await ctx.api().annotatePod(namespace, name, CHAOS_FAIL_READINESS_ANNOTATION, 'true');
  const undo = chaosCommand(ctx.rt, `restore-readiness ${podRef(namespace, name)}`);
  ctx.registry.put({ kind: 'fail-readiness', target: `${namespace}/${name}`, machine: '', since: since(ctx), description: `pod ${namespace}/${name} fails readiness`, undo, namespace, pod: name });
  ctx.out(`pod ${namespace}/${name} annotated ${CHAOS_FAIL_READINESS_ANNOTATION}: its node agent reports readiness failed (Unhealthy event) and the pod leaves its Services' endpoints; its containers keep running`);
  ctx.out(`  undo: ${undo}`);
}

export async function restoreReadiness(ctx: ChaosContext, namespace: string, name: string, quiet = false): Promise<void> {
  const p = await ctx.api().getPod(namespace, name);
  if (!p && !ctx.registry.find('fail-readiness', `${namespace}/${name}`)) throw new ChaosError(`pods "${name}" not found in namespace "${namespace}"`);
  if (p) await ctx.api().annotatePod(namespace, name, CHAOS_FAIL_READINESS_ANNOTATION, null);
  ctx.registry.remove('fail-readiness', `${namespace}/${name}`);
  if (!quiet) ctx.out(`pod ${namespace}/${name}: annotation removed; readiness is its probe's again (ready with no probe)`);
}

// ---- components --------------------------------------------------------------------

/** `kill kube-proxy node-1`, `start load-balancer`: the component and its machine, checked. */
export function componentRef(rt: ChaosRuntime, component: string, node?: string): ComponentRef {
  if (!(COMPONENTS as readonly string[]).includes(component)) throw new ChaosError(`unknown component "${component}" (have: ${COMPONENTS.join(', ')})`);
  const c = component as ComponentName;
  if (c === 'node-agent' || c === 'kube-proxy') {
    if (!node) throw new ChaosError(`${c} runs on every node: name one, e.g. \`${chaosCommand(rt, `kill ${c} node-1`)}\``);
    nodeOf(rt, node);
    return { component: c, machine: node };
  }
  if (node) throw new ChaosError(`${c} runs on its own machine; give no node`);
  if (!rt.machines().some((m) => m.name === c)) throw new ChaosError(`cluster "${rt.cluster}" has no ${c}`);
  return { component: c, machine: c };
}

function startCommand(rt: ChaosRuntime, ref: ComponentRef): string {
  return chaosCommand(rt, `start ${ref.component}${ref.machine === ref.component ? '' : ` ${ref.machine}`}`);
}

export async function killComponent(ctx: ChaosContext, component: string, node?: string): Promise<void> {
  const { rt, registry } = ctx;
  const ref = componentRef(rt, component, node);
  if (ref.machine !== ref.component) await requirePoweredOn(rt, ref.machine);
  if (!rt.running(ref)) throw new ChaosError(`${componentLabel(ref)} is not running; start it with \`${startCommand(rt, ref)}\``);
  const pids = await rt.signalComponent(ref, 'SIGKILL');
  await rt.waitGone(ref, 5000);
  const undo = startCommand(rt, ref);
  registry.put({ kind: 'kill', target: componentLabel(ref), machine: ref.machine, since: since(ctx), description: `${componentLabel(ref)} killed`, undo, ref });
  ctx.out(`SIGKILLed ${componentLabel(ref)} (pid ${pids.join(', ')})`);
  ctx.out(`  bring it back: ${undo}`);
}

export async function startComponent(ctx: ChaosContext, component: string, node?: string, quiet = false): Promise<void> {
  const { rt, registry } = ctx;
  const ref = componentRef(rt, component, node);
  if (ref.machine !== ref.component) await requirePoweredOn(rt, ref.machine);
  if (rt.running(ref)) throw new ChaosError(`${componentLabel(ref)} is running already`);
  const pid = await rt.startComponent(ref);
  if (ref.component === 'control-plane') await waitApi(ctx);
  registry.remove('kill', componentLabel(ref));
  if (!quiet) ctx.out(`started ${componentLabel(ref)} (pid ${pid}) ${rt.kind === 'docker' ? "under its container's supervisor" : 'with the arguments `up` gave it'}`);
}

async function waitApi(ctx: ChaosContext, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ctx.api().healthy().catch(() => false))) {
    if (Date.now() > deadline) throw new ChaosError(`the control plane did not answer within ${timeoutMs / 1000} s of starting again; see its log`);
    await sleep(100);
  }
}

/** SIGTERM, wait for it to exit (SIGKILL after 15 s), start it again with the same arguments. */
export async function restartComponent(ctx: ChaosContext, component: string, node?: string): Promise<void> {
  const { rt } = ctx;
  const ref = componentRef(rt, component, node);
  if (ref.machine !== ref.component) await requirePoweredOn(rt, ref.machine);
  if (!rt.running(ref)) throw new ChaosError(`${componentLabel(ref)} is not running; start it with \`${startCommand(rt, ref)}\``);
  const t0 = Date.now();
  await rt.signalComponent(ref, 'SIGTERM');
  if (!(await rt.waitGone(ref, 15_000))) {
    await rt.signalComponent(ref, 'SIGKILL');
    await rt.waitGone(ref, 5000);
  }
  const pid = await rt.startComponent(ref);
  if (ref.component === 'control-plane') await waitApi(ctx);
  ctx.out(`restarted ${componentLabel(ref)}: SIGTERM, exited, started again (pid ${pid}) in ${((Date.now() - t0) / 1000).toFixed(1)} s${ref.component === 'control-plane' ? '; its store is durable, agents reconnect and resume their watches' : ''}`);
}

// ---- heal ----------------------------------------------------------------------------

/** Undoes one recorded fault; tolerant of it having been undone some other way. */
async function undoFault(ctx: ChaosContext, f: ActiveFault): Promise<void> {
  const { rt, registry } = ctx;
  switch (f.kind) {
    case 'kill-node':
      if (await rt.poweredOff(f.machine)) await rt.powerOn(f.machine);
      else for (const c of rt.components(f.machine)) if (!rt.running({ machine: f.machine, component: c })) await rt.startComponent({ machine: f.machine, component: c });
      registry.remove('kill-node', f.target);
      return;
    case 'pause-node':
      await rt.resumeMachine(f.machine, f.pids);
      registry.remove('pause-node', f.target);
      return;
    case 'partition':
      return healPartition(ctx, f.machine);
    case 'netem':
      return clearNetem(ctx, f.machine, true);
    case 'fail-readiness':
      return restoreReadiness(ctx, f.namespace, f.pod, true);
    case 'kill':
      if (!(await rt.poweredOff(f.ref.machine).catch(() => false)) && !rt.running(f.ref)) {
        await rt.startComponent(f.ref);
        if (f.ref.component === 'control-plane') await waitApi(ctx);
      }
      registry.remove('kill', f.target);
      return;
  }
}

/**
 * Undoes every active fault (or those of one machine), newest first, so a
 * node killed while partitioned comes back before its partition is lifted.
 * The control plane comes back before anything that needs the API.
 */
export async function heal(ctx: ChaosContext, machine?: string): Promise<void> {
  const { rt, registry } = ctx;
  if (machine !== undefined && !rt.machines().some((m) => m.name === machine)) throw new ChaosError(`no machine "${machine}" in cluster "${rt.cluster}" (have: ${rt.machines().map((m) => m.name).join(', ')})`);
  const faults = registry
    .list()
    .filter((f) => machine === undefined || f.machine === machine)
    .reverse()
    .sort((a, b) => Number(b.kind === 'kill' && b.machine === 'control-plane') - Number(a.kind === 'kill' && a.machine === 'control-plane'));
  if (!faults.length) {
    ctx.out(machine ? `no active faults on ${machine}` : `no active faults in cluster "${rt.cluster}"`);
    return;
  }
  const failed: string[] = [];
  for (const f of faults) {
    try {
      await undoFault(ctx, f);
      ctx.out(`healed: ${f.description} (${f.undo})`);
    } catch (e) {
      failed.push(`${f.description}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (failed.length) throw new ChaosError(`could not heal ${failed.join('; ')}`);
}

/** The active faults, one line each. */
export function listFaults(ctx: ChaosContext): void {
  const faults = ctx.registry.list();
  if (!faults.length) return ctx.out(`no active faults in cluster "${ctx.rt.cluster}"`);
  for (const f of faults) ctx.out(`${f.since}  ${f.description}    undo: ${f.undo}`);
}
