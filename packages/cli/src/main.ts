/**
 * kubemu: the command line.
 *   up / down / status / kubeconfig     a netns cluster on this machine (runtime/netns-runtime.ts)
 *   control-plane / node-agent / kube-proxy
 *                                       the processes `up` starts, each in the foreground
 *   apply / get / delete                the basics, for people without kubectl
 *   chaos …                             faults on a running cluster (chaos/)
 *   chaos run SCENARIO.yaml             traffic + faults + a report (chaos/scenario/)
 *   explain service|pod|ingress NAME    why can't I reach it: the checklist, live (explain/)
 *   trace URL / --watch svc/NAME        one request (from the host or --from pod/NAME) hop by hop: LB → node → pod; or a Service's connections live (trace/)
 *   dashboard                           a live map of the cluster in the browser (dashboard/)
 *   container ROLE                      a docker-runtime container's entrypoint (docker/)
 */
import type { ProxyMode } from '@kubemu/kube-proxy';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import pino from 'pino';
import {
  API_SERVER_PORT, DEFAULT_LB_POOL, DEFAULT_NODE_PORT_RANGE, DEFAULT_NODE_SUBNET, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, KUBE_PROXY_HEALTH_TIMEOUT_MS, KUBE_PROXY_HEALTHZ_PORT, resolveResourceName,
  clusterDNSIP, isIPv4, resourceForKind, type KubeObject,
} from '@kubemu/api';
import { loadKubeconfig } from './kubeconfig.js';
import { RestClient, RestError } from './rest-client.js';
import { readManifests } from './manifests.js';
import { formatTable, type Table } from './table-printer.js';
import { chaosCommands } from './chaos/commands.js';
import { registerChaosRun } from './chaos/scenario/command.js';
import { explainCommand } from './explain/command.js';
import { traceCommand } from './trace/command.js';
import { dashboardCommand } from './dashboard/command.js';

class CliError extends Error {}

function client(opts: { kubeconfig?: string }): RestClient {
  return new RestClient(loadKubeconfig(opts.kubeconfig));
}

function resourceOrFail(name: string) {
  const r = resolveResourceName(name);
  if (!r) throw new CliError(`the server doesn't have a resource type "${name}"`);
  return r;
}

function parseListen(s: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new CliError(`--listen wants ADDR:PORT, got "${s}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new CliError(`--listen port ${port} is out of range`);
  return { host: m[1].replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

const program = new Command('kubemu').description('A Kubernetes Services lab that runs for real on one machine').showHelpAfterError();
const kubeconfigOpt = () => new Option('--kubeconfig <path>', 'kubeconfig to use (default $KUBECONFIG or ~/.kube/config)');

/** `--cluster-dns 10.96.0.10[,…]`: IPv4 addresses, at most 3 (a pod's resolver takes no more). */
function clusterDNS(value: string | undefined): string[] {
  const ips = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = ips.find((ip) => !isIPv4(ip));
  if (bad !== undefined) throw new CliError(`--cluster-dns wants IPv4 addresses, got "${bad}"`);
  return ips;
}

/** `--proxy-mode`, checked against the modes kube-proxy has. */
async function proxyMode(value: string): Promise<ProxyMode> {
  const { PROXY_MODES } = await import('@kubemu/kube-proxy');
  const mode = PROXY_MODES.find((m) => m === value);
  if (!mode) throw new CliError(`--proxy-mode wants one of ${PROXY_MODES.join(', ')}, got "${value}"`);
  return mode;
}

program
  .command('control-plane')
  .description('run the control plane (api-server, store, controllers) in the foreground')
  .requiredOption('--data-dir <dir>', 'where the store, PKI and kubeconfig live')
  .option('--listen <addr:port>', 'address to serve HTTPS on', `127.0.0.1:${API_SERVER_PORT}`)
  .option('--advertise-address <ip>', 'address written into the kubeconfig and the kubernetes Endpoints')
  .option('--service-cidr <cidr>', 'service cluster IP range', DEFAULT_SERVICE_CIDR)
  .option('--node-port-range <range>', 'node port range', DEFAULT_NODE_PORT_RANGE)
  .option('--node-monitor-grace-period <seconds>', 'seconds without a heartbeat before a node is NotReady', '40')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (o) => {
    const { host, port } = parseListen(o.listen);
    const log = pino({ name: 'kubemu', level: o.logLevel });
    const { ControlPlane } = await import('@kubemu/api-server');
    const cp = new ControlPlane({ dataDir: o.dataDir, host, port, advertiseAddress: o.advertiseAddress, serviceCIDR: o.serviceCidr, nodePortRange: o.nodePortRange, nodeGracePeriodSeconds: Number(o.nodeMonitorGracePeriod), log });
    await cp.start();
    const stop = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      cp.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

program
  .command('node-agent')
  .description('run a node agent (normally started by `kubemu up` inside a node namespace)')
  .requiredOption('--cluster <name>')
  .requiredOption('--node <name>')
  .requiredOption('--node-ip <ip>')
  .requiredOption('--pod-cidr <cidr>')
  .requiredOption('--server <url>')
  .requiredOption('--pki-dir <dir>', 'holds ca.crt and agent.token')
  .requiredOption('--state-dir <dir>')
  .requiredOption('--workloads <path>', 'the built-in workloads entry (packages/workloads/dist/main.js)')
  .option('--heartbeat-seconds <s>', 'how often the Node status is posted (kubelet: 10)', '10')
  .option('--cluster-dns <ips>', "comma-separated nameservers of ClusterFirst pods (cluster DNS's Service IP); none: ClusterFirst pods use the node's resolver")
  .option('--cluster-domain <domain>', 'the cluster DNS domain in pods\' search paths', 'cluster.local')
  .option('--resolv-conf <path>', "the node's resolver file, for dnsPolicy Default pods", '/etc/resolv.conf')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (o) => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { NodeAgent } = await import('@kubemu/node-agent');
    const log = pino({ name: 'kubemu', level: o.logLevel }).child({ node: o.node, component: 'node-agent' });
    const agent = new NodeAgent({
      cluster: o.cluster,
      nodeName: o.node,
      nodeNs: `km-${o.cluster}-${o.node}`,
      nodeIP: o.nodeIp,
      podCIDR: o.podCidr,
      server: o.server,
      token: readFileSync(join(o.pkiDir, 'agent.token'), 'utf8').trim(),
      ca: readFileSync(join(o.pkiDir, 'ca.crt'), 'utf8'),
      stateRoot: o.stateDir,
      workloadsEntry: o.workloads,
      heartbeatMs: Number(o.heartbeatSeconds) * 1000,
      clusterDNS: clusterDNS(o.clusterDns),
      clusterDomain: o.clusterDomain,
      resolvConf: o.resolvConf,
      log,
    });
    await agent.start();
    const stop = () => void agent.stop(false).then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program
  .command('kube-proxy')
  .description('run kube-proxy for a node (normally started by `kubemu up` inside a node namespace)')
  .requiredOption('--node <name>')
  .requiredOption('--server <url>')
  .requiredOption('--pki-dir <dir>', 'holds ca.crt and agent.token')
  .option('--healthz-bind-address <addr:port>', 'where /healthz is served', `0.0.0.0:${KUBE_PROXY_HEALTHZ_PORT}`)
  .option('--udp-timeout <ms>', 'userspace mode: idle time after which a UDP flow is closed', '30000')
  .option('--health-timeout <ms>', '/healthz answers 503 when an update waits longer than this to be applied', String(KUBE_PROXY_HEALTH_TIMEOUT_MS))
  .option('--proxy-mode <mode>', 'nftables (the kernel forwards) or userspace (this process relays every connection)', 'nftables')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (o) => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { KubeProxy } = await import('@kubemu/kube-proxy');
    const mode = await proxyMode(o.proxyMode);
    const log = pino({ name: 'kubemu', level: o.logLevel }).child({ node: o.node, component: 'kube-proxy' });
    const proxy = new KubeProxy({
      nodeName: o.node,
      server: o.server,
      token: readFileSync(join(o.pkiDir, 'agent.token'), 'utf8').trim(),
      ca: readFileSync(join(o.pkiDir, 'ca.crt'), 'utf8'),
      healthzBind: o.healthzBindAddress,
      udpIdleMs: Number(o.udpTimeout),
      healthTimeoutMs: Number(o.healthTimeout),
      mode,
      log,
    });
    await proxy.start();
    const stop = () => void proxy.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program
  .command('load-balancer')
  .description("run the cluster's load balancer (normally started by `kubemu up` in its own namespace)")
  .requiredOption('--server <url>')
  .requiredOption('--pki-dir <dir>', 'holds ca.crt and agent.token')
  .option('--pool <range>', 'addresses for LoadBalancer Services: a range, a CIDR, or a comma list', DEFAULT_LB_POOL)
  .option('--mode <mode>', 'nftables (the kernel DNATs to node ports) or userspace (this process relays every connection)', 'nftables')
  .option('--check-period <ms>', 'how often each node is health-checked', '2000')
  .option('--healthz-bind-address <addr:port>', 'where /healthz and /connections are served', '0.0.0.0:10257')
  .option('--load-balancer-class <class>', 'also serve Services with this spec.loadBalancerClass')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (o) => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { LoadBalancer, LB_MODES, PoolError } = await import('@kubemu/load-balancer');
    if (!(LB_MODES as readonly string[]).includes(o.mode)) throw new CliError(`--mode wants one of ${LB_MODES.join(', ')}, got "${o.mode}"`);
    const period = Number(o.checkPeriod);
    if (!Number.isFinite(period) || period < 100) throw new CliError(`--check-period wants milliseconds ≥ 100, got "${o.checkPeriod}"`);
    const log = pino({ name: 'kubemu', level: o.logLevel }).child({ component: 'load-balancer' });
    let lb;
    try {
      lb = new LoadBalancer({
        server: o.server,
        token: readFileSync(join(o.pkiDir, 'agent.token'), 'utf8').trim(),
        ca: readFileSync(join(o.pkiDir, 'ca.crt'), 'utf8'),
        pool: o.pool,
        mode: o.mode,
        checkPeriodMs: period,
        healthzBind: o.healthzBindAddress,
        loadBalancerClass: o.loadBalancerClass,
        log,
      });
    } catch (e) {
      if (e instanceof PoolError) throw new CliError(`--pool: ${e.message}`);
      throw e;
    }
    await lb.start();
    const stop = () => void lb.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program
  .command('container')
  .description("a docker-runtime container's entrypoint: ROLE is control-plane, node or load-balancer (settings from KUBEMU_* variables; see docker-compose.yml)")
  .argument('<role>')
  .action(async (role: string) => {
    const { CONTAINER_ROLES, runContainerRole, settingsFromEnv, ContainerConfigError } = await import('./docker/container-role.js');
    const r = CONTAINER_ROLES.find((x) => x === role);
    if (!r) throw new CliError(`container: ROLE wants one of ${CONTAINER_ROLES.join(', ')}, got "${role}"`);
    let settings;
    try {
      settings = settingsFromEnv(r);
    } catch (e) {
      if (e instanceof ContainerConfigError) throw new CliError(e.message);
      throw e;
    }
    await runContainerRole(r, settings);
    process.exit(0);
  });

program
  .command('up')
  .description('start a cluster on this machine: a bridge, a network namespace per node, the control plane and node agents (root)')
  .option('--nodes <n>', 'number of nodes', '3')
  .option('--name <name>', 'cluster name (lowercase, up to 8 characters)', 'kubemu')
  .option('--subnet <cidr>', `node network (default ${DEFAULT_NODE_SUBNET}, or the next free 172.30.N.0/24)`)
  .option('--pod-cidr <cidr>', 'pod addresses; each node gets a /24 of it', DEFAULT_POD_CIDR)
  .option('--service-cidr <cidr>', 'cluster IPs (the kubernetes Service takes the first)', DEFAULT_SERVICE_CIDR)
  .option('--node-monitor-grace-period <seconds>', 'seconds without a heartbeat before a node is NotReady', '40')
  .option('--proxy-mode <mode>', "kube-proxy's data plane: nftables (kernel DNAT, client IPs kept for Local policies) or userspace (a relay per connection, like Kubernetes' old userspace proxy)", 'nftables')
  .option('--lb-pool <range>', `external addresses for LoadBalancer Services (default .200-.250 of the node subnet, ${DEFAULT_LB_POOL} for the first cluster)`)
  .option('--lb-mode <mode>', "the load balancer's data plane: nftables (kernel DNAT to node ports) or userspace (a relay per connection)", 'nftables')
  .option('--addons <list>', 'addons to deploy: dns, ingress (comma-separated), or none', 'dns,ingress')
  .action(async (o) => {
    const n = Number(o.nodes);
    const addons = String(o.addons).split(',').map((x) => x.trim()).filter((x) => x && x !== 'none');
    const unknownAddon = addons.find((a) => a !== 'dns' && a !== 'ingress');
    if (unknownAddon) throw new CliError(`--addons: unknown addon "${unknownAddon}" (have: dns, ingress, none)`);
    if (!Number.isInteger(n) || n < 1 || n > 50) throw new CliError(`--nodes wants a number from 1 to 50, got "${o.nodes}"`);
    const mode = await proxyMode(o.proxyMode);
    const rt = await import('./runtime/netns-runtime.js');
    const t0 = Date.now();
    const rec = await rt.up({ name: o.name, nodes: n, subnet: o.subnet, podCIDR: o.podCidr, serviceCIDR: o.serviceCidr, nodeGraceSeconds: Number(o.nodeMonitorGracePeriod), proxyMode: mode, lbPool: o.lbPool, lbMode: o.lbMode, progress: (m) => console.log(`• ${m}`) });
    const c = new RestClient(loadKubeconfig(rt.kubeconfigPath(o.name)));
    console.log(`• waiting for ${n} node(s) to be Ready…`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const list = await c.call<{ items: KubeObject[] }>('GET', '/api/v1/nodes').catch(() => ({ items: [] }));
      const ready = list.items.filter((x) => x.status?.conditions?.some((k: { type: string; status: string }) => k.type === 'Ready' && k.status === 'True')).length;
      if (ready >= n) break;
      if (Date.now() > deadline) throw new CliError(`only ${ready}/${n} nodes Ready after 60 s; see ${rt.clusterDir(o.name)}/logs`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (addons.length) {
      const { dnsAddon, ingressAddon, installAddons, lastPoolAddress } = await import('./runtime/addons.js');
      console.log(`• addons: ${addons.join(', ')}`);
      await installAddons(c, [...(addons.includes('dns') ? dnsAddon(rec.serviceCIDR, rec.podCIDR) : []), ...(addons.includes('ingress') ? ingressAddon(rec.loadBalancer ? lastPoolAddress(rec.loadBalancer.pool) : undefined) : [])]);
    }
    console.log(`\ncluster "${rec.name}" is up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`  api server:  https://${rec.controlPlane.ip}:${rec.controlPlane.port}`);
    console.log(`  kubeconfig:  ${rt.kubeconfigPath(o.name)}`);
    for (const node of rec.nodes) console.log(`  ${node.name}:      ${node.ip}  (pods ${node.podCIDR})`);
    if (rec.loadBalancer) console.log(`  load-balancer: ${rec.loadBalancer.ip}  (pool ${rec.loadBalancer.pool}, ${rec.loadBalancer.mode})`);
    console.log(`\n  kubectl --kubeconfig "$(npx kubemu kubeconfig${o.name === 'kubemu' ? '' : ` --name ${o.name}`})" get nodes`);
  });

program
  .command('down')
  .description('stop a cluster and remove everything it created (also after a crash)')
  .option('--name <name>', 'cluster name', 'kubemu')
  .action(async (o) => {
    const rt = await import('./runtime/netns-runtime.js');
    await rt.down(o.name, (m) => console.log(`• ${m}`));
    console.log(`cluster "${o.name}" is down`);
  });

program
  .command('ssh')
  .description("a shell (or a command after --) on a node, like `minikube ssh`: its network namespace on this machine (root), or its container in the compose project of that name")
  .argument('<node>', 'node name, e.g. node-1')
  .argument('[command...]', 'command to run instead of a shell (after --)')
  .option('--name <name>', 'cluster name', 'kubemu')
  .action(async (node: string, command: string[], o) => {
    const rt = await import('./runtime/netns-runtime.js');
    const rec = rt.readRecord(o.name);
    if (!rec) {
      // No netns cluster of that name: the docker compose project of that name, if there is one.
      const { dockerShell } = await import('./docker/docker-shell.js');
      let code: number;
      try {
        code = await dockerShell(o.name, node, command);
      } catch (e) {
        throw new CliError(`no cluster "${o.name}" here (neither a netns cluster nor a compose project's node): ${(e as Error).message}`);
      }
      process.exit(code);
    }
    const n = rec.nodes.find((x) => x.name === node);
    if (!n) throw new CliError(`no node "${node}" in cluster "${o.name}" (nodes: ${rec.nodes.map((x) => x.name).join(', ')})`);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new CliError('kubemu ssh enters a node\'s network namespace: run it with sudo');
    const { spawn } = await import('node:child_process');
    const shell = process.env.SHELL && !process.env.SHELL.endsWith('nologin') ? process.env.SHELL : '/bin/sh';
    const argv = command.length ? command : [shell, '-i'];
    const child = spawn('nsenter', [`--net=/run/netns/${n.netns}`, '--', ...argv], {
      stdio: 'inherit',
      env: { ...process.env, KUBEMU_NODE: n.name, PS1: `${n.name}:\\w# ` },
    });
    child.on('error', (e) => {
      console.error(`error: cannot enter ${n.name}: ${e.message}`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
  });

program
  .command('dns')
  .description("look a name up in the cluster's DNS, as a pod would (from node-1's namespace, through the kube-dns Service) (root)")
  .argument('<name>', 'e.g. kubia, kubia.default, kubia.default.svc.cluster.local, _http._tcp.kubia.default.svc.cluster.local')
  .option('--name <name>', 'cluster name', 'kubemu')
  .option('-n, --namespace <ns>', 'namespace whose search path completes a short name', 'default')
  .option('-t, --type <type>', 'record type: A, SRV, PTR, CNAME, TXT, ANY', 'A')
  .action(async (name: string, o) => {
    const rt = await import('./runtime/netns-runtime.js');
    const rec = rt.readRecord(o.name);
    if (!rec) throw new CliError(`no cluster "${o.name}" here; start one with \`sudo npx kubemu up\``);
    const type = String(o.type).toUpperCase();
    if (!['A', 'SRV', 'PTR', 'CNAME', 'TXT', 'ANY'].includes(type)) throw new CliError(`--type wants A, SRV, PTR, CNAME, TXT or ANY, got "${o.type}"`);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new CliError('kubemu dns asks from inside a node\'s network namespace: run it with sudo');
    const server = clusterDNSIP(rec.serviceCIDR);
    // A pod's search path (ndots:5): names with fewer than 5 dots are tried with each suffix first.
    const suffixes = [`${o.namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];
    const dots = name.replace(/\.$/, '').split('.').length - 1;
    const candidates = name.endsWith('.') ? [name.slice(0, -1)] : dots >= 5 ? [name] : [...suffixes.map((x) => `${name}.${x}`), name];
    const program = `
      const { Resolver } = require('node:dns').promises;
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers([process.argv[1]]);
      const type = process.argv[2];
      (async () => {
        for (const n of JSON.parse(process.argv[3])) {
          try {
            const a = type === 'PTR' ? await r.reverse(n) : await r.resolve(n, type);
            console.log(JSON.stringify({ name: n, answers: a }));
            return;
          } catch (e) {
            // not found, no such record, or (for a name outside cluster.local) refused: try the next
            if (!['ENOTFOUND', 'ENODATA', 'EREFUSED'].includes(e.code)) { console.log(JSON.stringify({ name: n, error: e.code })); process.exit(2); }
          }
        }
        console.log(JSON.stringify({ error: 'NXDOMAIN' }));
        process.exit(3);
      })();`;
    const { spawnSync } = await import('node:child_process');
    const node1 = rec.nodes[0]!;
    const r = spawnSync('nsenter', [`--net=/run/netns/${node1.netns}`, '--', process.execPath, '-e', program, server, type, JSON.stringify(type === 'PTR' ? [name] : candidates)], { encoding: 'utf8', timeout: 15_000 });
    const out = (() => {
      try {
        return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { name?: string; answers?: unknown[]; error?: string };
      } catch {
        return { error: r.stderr.trim() || 'no answer' };
      }
    })();
    if (out.error === 'NXDOMAIN') throw new CliError(`${name}: not found in the cluster's DNS (${server}; tried ${(type === 'PTR' ? [name] : candidates).join(', ')})`);
    if (out.error) throw new CliError(`${name}: ${out.error} from ${server}${out.error === 'ECONNREFUSED' || out.error === 'ETIMEOUT' ? ' (is the dns addon running? kubectl get pods -n kube-system -l k8s-app=kube-dns)' : ''}`);
    for (const a of out.answers ?? []) {
      const srv = a as { priority?: number; weight?: number; port?: number; name?: string };
      const text = typeof a === 'string' ? a : Array.isArray(a) ? a.join('') : srv.port !== undefined ? `${srv.priority} ${srv.weight} ${srv.port} ${srv.name}` : JSON.stringify(a);
      console.log(`${out.name}\t${type}\t${text}`);
    }
  });

program
  .command('kubeconfig')
  .description("print the path of a cluster's kubeconfig")
  .option('--name <name>', 'cluster name', 'kubemu')
  .action(async (o) => {
    const rt = await import('./runtime/netns-runtime.js');
    const { existsSync } = await import('node:fs');
    const p = rt.kubeconfigPath(o.name);
    if (!existsSync(p)) throw new CliError(`cluster "${o.name}" has no kubeconfig at ${p}; start it with \`sudo npx kubemu up --name ${o.name}\``);
    console.log(p);
  });

program
  .command('status')
  .description("show a cluster's nodes, their health and processes (a netns cluster, or the compose project of that name)")
  .option('--name <name>', 'cluster name', 'kubemu')
  .action(async (o) => {
    const rt = await import('./runtime/netns-runtime.js');
    const rec = rt.readRecord(o.name);
    if (!rec) {
      // The docker compose project of that name, if there is one.
      const { DockerChaosRuntime } = await import('./chaos/docker-chaos-runtime.js');
      const { DockerCluster } = await import('./docker/docker-cluster.js');
      const dc = new DockerCluster({ project: o.name });
      let containers: Awaited<ReturnType<typeof dc.containers>>;
      try {
        containers = await dc.containers();
      } catch {
        containers = [];
      }
      if (!containers.length) throw new CliError(`no cluster "${o.name}" here; start one with \`sudo npx kubemu up\` or \`docker compose up -d\``);
      const drt = await DockerChaosRuntime.open(o.name, dc);
      console.log(`compose project ${o.name} (docker runtime)  subnet ${drt.nodeSubnet}  kubeconfig ${drt.kubeconfig}`);
      for (const m of containers) console.log(`  ${m.machine.padEnd(16)} ${m.ip.padEnd(15)} ${m.state}${m.health !== 'none' ? ` (${m.health})` : ''}  ${drt.components(m.machine).map((c) => `${c} ${drt.running({ machine: m.machine, component: c }) ? 'running' : 'NOT RUNNING'}`).join(', ')}`);
      try {
        const c = new RestClient(loadKubeconfig(drt.kubeconfig));
        const table = await c.call<Table>('GET', '/api/v1/nodes', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
        console.log(`\n${formatTable(table)}`);
      } catch (e) {
        console.log(`\n  api-server not answering: ${(e as Error).message}`);
      }
      return;
    }
    console.log(`cluster ${rec.name}  subnet ${rec.subnet}  pods ${rec.podCIDR ?? DEFAULT_POD_CIDR}  services ${rec.serviceCIDR ?? DEFAULT_SERVICE_CIDR}  api https://${rec.controlPlane.ip}:${rec.controlPlane.port}`);
    if (rec.loadBalancer) console.log(`load balancer ${rec.loadBalancer.ip}  pool ${rec.loadBalancer.pool}  mode ${rec.loadBalancer.mode}  http://${rec.loadBalancer.ip}:10257/healthz`);
    for (const [what, pid] of Object.entries(rec.pids)) console.log(`  ${what.padEnd(22)} pid ${String(pid).padEnd(8)} ${rt.alive(pid) ? 'running' : 'NOT RUNNING'}`);
    try {
      const c = new RestClient(loadKubeconfig(rt.kubeconfigPath(o.name)));
      const table = await c.call<Table>('GET', '/api/v1/nodes', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
      console.log(`\n${formatTable(table)}`);
    } catch (e) {
      console.log(`\n  api-server not answering: ${(e as Error).message}`);
    }
  });

program
  .command('apply')
  .description('create or update objects from manifests')
  .requiredOption('-f, --filename <path...>', 'files, directories or - for stdin')
  .option('-n, --namespace <ns>', 'namespace for objects that name none')
  .addOption(kubeconfigOpt())
  .action(async (o) => {
    const c = client(o);
    for (const obj of readManifests(o.filename)) {
      const r = resourceForKind(obj.apiVersion, obj.kind);
      if (!r) throw new CliError(`no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
      const ns = r.namespaced ? obj.metadata?.namespace ?? o.namespace ?? c.access.namespace : undefined;
      const name = obj.metadata?.name;
      if (!name) throw new CliError(`a ${obj.kind} in the manifest has no metadata.name`);
      const label = `${r.singular}${r.group ? `.${r.group}` : ''}/${name}`;
      try {
        await c.get(r, ns, name);
        await c.call('PATCH', c.path(r, ns, name), obj, { 'Content-Type': 'application/merge-patch+json' });
        console.log(`${label} configured`);
      } catch (e) {
        if (!(e instanceof RestError) || e.code !== 404) throw e;
        await c.call('POST', c.path(r, ns), obj);
        console.log(`${label} created`);
      }
    }
  });

program
  .command('get')
  .description('list objects (kubectl-style table, or -o yaml|json)')
  .argument('<resource>', 'e.g. pods, svc, endpoints')
  .argument('[name]')
  .option('-n, --namespace <ns>')
  .option('-A, --all-namespaces', 'every namespace')
  .option('-l, --selector <selector>', 'label selector')
  .option('-o, --output <format>', 'wide|yaml|json')
  .addOption(kubeconfigOpt())
  .action(async (resource: string, name: string | undefined, o) => {
    const c = client(o);
    const r = resourceOrFail(resource);
    const ns = o.allNamespaces ? undefined : o.namespace ?? c.access.namespace;
    const q = o.selector ? `?labelSelector=${encodeURIComponent(o.selector)}` : '';
    if (o.output === 'yaml' || o.output === 'json') {
      const out = await c.call<KubeObject>('GET', c.path(r, ns, name, q));
      console.log(o.output === 'json' ? JSON.stringify(out, null, 4) : stringify(out).trimEnd());
      return;
    }
    if (o.output && o.output !== 'wide') throw new CliError(`unable to match a printer suitable for the output format "${o.output}", allowed formats are: json,wide,yaml`);
    const table = await c.call<Table>('GET', c.path(r, ns, name, q), undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    if (!table.rows.length) {
      console.error(ns && r.namespaced ? `No resources found in ${ns} namespace.` : 'No resources found');
      return;
    }
    console.log(formatTable(table, { wide: o.output === 'wide' }));
  });

program
  .command('delete')
  .description('delete objects by name or from manifests')
  .argument('[resource]')
  .argument('[names...]')
  .option('-f, --filename <path...>')
  .option('-n, --namespace <ns>')
  .addOption(kubeconfigOpt())
  .action(async (resource: string | undefined, names: string[], o) => {
    const c = client(o);
    const targets: { r: ReturnType<typeof resourceOrFail>; ns?: string; name: string }[] = [];
    if (o.filename) {
      for (const obj of readManifests(o.filename)) {
        const r = resourceForKind(obj.apiVersion, obj.kind);
        if (!r) throw new CliError(`no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
        targets.push({ r, ns: r.namespaced ? obj.metadata?.namespace ?? o.namespace ?? c.access.namespace : undefined, name: obj.metadata?.name ?? '' });
      }
    } else {
      if (!resource || !names.length) throw new CliError('give a resource and name(s), or -f FILE');
      const r = resourceOrFail(resource);
      for (const name of names) targets.push({ r, ns: o.namespace ?? c.access.namespace, name });
    }
    for (const t of targets) {
      await c.call('DELETE', c.path(t.r, t.ns, t.name));
      console.log(`${t.r.singular}${t.r.group ? `.${t.r.group}` : ''} "${t.name}" deleted`);
    }
  });

// kubemu chaos <fault> and kubemu chaos run (the scenario runner; its faults are the group's commands).
const chaos = chaosCommands();
registerChaosRun(chaos);
program.addCommand(chaos);

// kubemu explain service|pod|ingress NAME: the troubleshooting checklist against the live cluster (explain/).
program.addCommand(explainCommand());

// kubemu trace URL: one request (from the host or a pod), followed hop by hop; --watch: a Service's connections live (trace/).
program.addCommand(traceCommand());
program.addCommand(dashboardCommand());

program.parseAsync(process.argv).catch((e: unknown) => {
  const msg = e instanceof RestError ? `Error from server${e.status?.reason ? ` (${e.status.reason})` : ''}: ${e.message}` : `error: ${(e as Error).message ?? String(e)}`;
  console.error(msg);
  process.exit(1);
});
