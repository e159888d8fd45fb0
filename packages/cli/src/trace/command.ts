/**
 * `kubemu trace URL [--from host] [-o json]`: sends one HTTP request from the
 * host to a node port or a load balancer address and prints its path hop by
 * hop (LB → node → pod), read from conntrack / the connection logs. Exit 0
 * when a response came back, 1 otherwise; a URL that is not the cluster's is
 * one line on stderr and exit 1.
 */
import { Command, Option } from 'commander';
import { loadKubeconfig } from '../kubeconfig.js';
import { RestClient } from '../rest-client.js';

export function traceCommand(): Command {
  return new Command('trace')
    .description('send one HTTP request from the host to a node port or LoadBalancer address and show its path: LB → node (kube-proxy DNAT/SNAT) → pod → response (root for a netns cluster)')
    .argument('<url>', 'http://<node IP>:<node port>/path or http://<LB IP>[:port]/path')
    .option('--name <cluster>', 'cluster name (netns) or compose project name (docker)', 'kubemu')
    .addOption(new Option('--from <where>', 'where the request starts').choices(['host']).default('host'))
    .addOption(new Option('--source-port <port>', 'the client source port (default: a free one in 20000-29999)').argParser((v) => Number(v)))
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .addOption(new Option('--kubeconfig <path>', "kubeconfig for the API (default: the cluster's own)"))
    .action(async (url: string, o: { name: string; output: 'text' | 'json'; kubeconfig?: string; sourcePort?: number }) => {
      const { parseTraceURL, gatherTrace } = await import('./gather.js');
      parseTraceURL(url); // a bad URL fails before anything is opened
      const { openRuntime } = await import('../chaos/commands.js');
      const { traceOf } = await import('./facts.js');
      const { renderTraceJson, renderTraceText } = await import('./render.js');
      const rt = await openRuntime(o.name);
      const api = new RestClient(loadKubeconfig(o.kubeconfig ?? rt.kubeconfig));
      const t = traceOf(await gatherTrace({ rt, api, url, sourcePort: o.sourcePort }));
      console.log(o.output === 'json' ? renderTraceJson(t) : renderTraceText(t));
      process.exitCode = 'error' in t.response ? 1 : 0;
    });
}
