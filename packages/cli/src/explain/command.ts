/**
 * `kubemu explain service|pod|ingress NAME [-n NS] [-o json]`: the seed's Service
 * troubleshooting list walked against the live cluster (a netns cluster, or
 * the compose project of that name). Exit 0 when nothing failed, 1 otherwise;
 * an unknown cluster, namespace or Service is one line on stderr and exit 1.
 */
import { Command, Option } from 'commander';
import { loadKubeconfig } from '../kubeconfig.js';
import { RestClient } from '../rest-client.js';

interface ExplainOpts {
  namespace: string;
  host?: string;
  path?: string;
  node?: string;
  name: string;
  output: 'text' | 'json';
  kubeconfig?: string;
}

/** A subcommand with the options both share: namespace, cluster, output, kubeconfig. */
function subcommand(parent: Command, name: string, alias: string, description: string): Command {
  return parent
    .command(name)
    .alias(alias)
    .description(description)
    .argument('<name>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--name <cluster>', 'cluster name (netns) or compose project name (docker)', 'kubemu')
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .addOption(new Option('--kubeconfig <path>', "kubeconfig for the API (default: the cluster's own)"));
}

/** The cluster (either runtime) and its API, as the options name them. */
async function open(o: ExplainOpts) {
  const { openRuntime } = await import('../chaos/commands.js');
  const rt = await openRuntime(o.name);
  return { rt, api: new RestClient(loadKubeconfig(o.kubeconfig ?? rt.kubeconfig)), namespace: o.namespace };
}

export function explainCommand(): Command {
  const explain = new Command('explain').description("why can't I reach it? walk the troubleshooting checklist against the live cluster");
  subcommand(explain, 'service', 'svc', "check a Service end to end: selector, readiness, endpoints, ports inside the pods, kube-proxies, node ports, load balancer, DNS (root for a netns cluster)")
    .option('--node <node>', "the node (name or IP) whose node port you connect to: with externalTrafficPolicy Local, whether that node serves it")
    .action(async (name: string, o: ExplainOpts) => {
      const { gatherServiceFacts } = await import('./gather.js');
      const { explainService } = await import('./checks.js');
      const { renderJson, renderText } = await import('./render.js');
      const e = explainService(await gatherServiceFacts({ ...(await open(o)), name, node: o.node }));
      console.log(o.output === 'json' ? renderJson(e) : renderText(e));
      process.exitCode = e.reachable ? 0 : 1;
    });
  subcommand(explain, 'pod', 'po', "check a pod: running, ready (the failing probe), what it listens on, and whether each Service that selects it holds it in its endpoints")
    .action(async (name: string, o: ExplainOpts) => {
      const { gatherPodFacts } = await import('./gather.js');
      const { explainPod } = await import('./pod-checks.js');
      const { renderPodText } = await import('./render.js');
      const e = explainPod(await gatherPodFacts({ ...(await open(o)), name }));
      console.log(o.output === 'json' ? JSON.stringify(e, null, 2) : renderPodText(e));
      process.exitCode = e.healthy ? 0 : 1;
    });
  subcommand(explain, 'ingress', 'ing', 'check an Ingress: its class and controller, its address, each rule\'s backend Service and ready pods, the TLS Secrets; with --host/--path, which rule a request meets, as the controller matches it')
    .option('--host <host>', 'judge a request with this Host header')
    .option('--path <path>', 'judge a request for this path (default /; without --host, sent with the Ingress address as Host)')
    .action(async (name: string, o: ExplainOpts) => {
      const { gatherIngressFacts } = await import('./ingress-gather.js');
      const { explainIngress } = await import('./ingress-checks.js');
      const { renderJson, renderIngressText } = await import('./render.js');
      const request = o.host !== undefined || o.path !== undefined ? { host: o.host, path: o.path } : undefined;
      if (o.path !== undefined && !o.path.startsWith('/')) throw new Error(`--path "${o.path}" must begin with "/"`);
      const e = explainIngress(await gatherIngressFacts({ ...(await open(o)), name, request }));
      console.log(o.output === 'json' ? renderJson(e) : renderIngressText(e));
      process.exitCode = e.reachable ? 0 : 1;
    });
  return explain;
}
