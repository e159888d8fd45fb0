/**
 * `kubemu explain service|pod NAME [-n NS] [-o json]`: the seed's Service
 * troubleshooting list walked against the live cluster (a netns cluster, or
 * the compose project of that name). Exit 0 when nothing failed, 1 otherwise;
 * an unknown cluster, namespace or Service is one line on stderr and exit 1.
 */
import { Command, Option } from 'commander';
import { loadKubeconfig } from '../kubeconfig.js';
import { RestClient } from '../rest-client.js';

export function explainCommand(): Command {
  const explain = new Command('explain').description("why can't I reach it? walk the troubleshooting checklist against the live cluster");
  explain
    .command('service')
    .alias('svc')
    .description("check a Service end to end: selector, readiness, endpoints, ports inside the pods, kube-proxies, node ports, load balancer, DNS (root for a netns cluster)")
    .argument('<name>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--name <cluster>', 'cluster name (netns) or compose project name (docker)', 'kubemu')
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .addOption(new Option('--kubeconfig <path>', "kubeconfig for the API (default: the cluster's own)"))
    .action(async (name: string, o: { namespace: string; name: string; output: 'text' | 'json'; kubeconfig?: string }) => {
      const { openRuntime } = await import('../chaos/commands.js');
      const { gatherServiceFacts } = await import('./gather.js');
      const { explainService } = await import('./checks.js');
      const { renderJson, renderText } = await import('./render.js');
      const rt = await openRuntime(o.name);
      const api = new RestClient(loadKubeconfig(o.kubeconfig ?? rt.kubeconfig));
      const facts = await gatherServiceFacts({ rt, api, namespace: o.namespace, name });
      const e = explainService(facts);
      console.log(o.output === 'json' ? renderJson(e) : renderText(e));
      process.exitCode = e.reachable ? 0 : 1;
    });
  explain
    .command('pod')
    .alias('po')
    .description("check a pod: running, ready (the failing probe), what it listens on, and whether each Service that selects it holds it in its endpoints")
    .argument('<name>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--name <cluster>', 'cluster name (netns) or compose project name (docker)', 'kubemu')
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .addOption(new Option('--kubeconfig <path>', "kubeconfig for the API (default: the cluster's own)"))
    .action(async (name: string, o: { namespace: string; name: string; output: 'text' | 'json'; kubeconfig?: string }) => {
      const { openRuntime } = await import('../chaos/commands.js');
      const { gatherPodFacts } = await import('./gather.js');
      const { explainPod } = await import('./pod-checks.js');
      const { renderPodText } = await import('./render.js');
      const rt = await openRuntime(o.name);
      const api = new RestClient(loadKubeconfig(o.kubeconfig ?? rt.kubeconfig));
      const e = explainPod(await gatherPodFacts({ rt, api, namespace: o.namespace, name }));
      console.log(o.output === 'json' ? JSON.stringify(e, null, 2) : renderPodText(e));
      process.exitCode = e.healthy ? 0 : 1;
    });
  return explain;
}
