/**
 * `kubemu trace URL [--from host|pod/NAME] [-o json]`: sends one HTTP
 * request — from the host to a node port or a load balancer address, or from
 * inside a pod to a cluster IP or a Service's DNS name — and prints its path
 * hop by hop (LB → node → pod), read from conntrack / the connection logs;
 * through an ingress controller (`--host`, `--cookie`, https:// with SNI)
 * also the controller's hop (rule, Service, upstream pod, cookie affinity),
 * read from its access log by the request's own X-Request-ID.
 * Exit 0 when a response came back, 1 otherwise; a URL that is not the
 * cluster's is one line on stderr and exit 1.
 *
 * `kubemu trace --watch service/NAME [-n NS] [-o json]`: every connection to
 * that Service as it opens and closes, from every node's kube-proxy and the
 * load balancer, until Ctrl-C (exit 0).
 */
import { Command, Option } from 'commander';
import { loadKubeconfig } from '../kubeconfig.js';
import { RestClient } from '../rest-client.js';

interface TraceCliOptions {
  name: string;
  output: 'text' | 'json';
  kubeconfig?: string;
  sourcePort?: number;
  from: string;
  watch?: string;
  namespace: string;
  host?: string;
  cookie?: string;
}

/** `service/NAME`, `svc/NAME`, `services/NAME` → NAME. */
function serviceRef(s: string): string | undefined {
  const m = /^(?:service|services|svc)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(s);
  return m?.[1];
}

/** `host` or `pod/NAME`. */
function fromRef(s: string): { kind: 'host' } | { kind: 'pod'; name: string } | undefined {
  if (s === 'host') return { kind: 'host' };
  const m = /^(?:pod|pods|po)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(s);
  return m ? { kind: 'pod', name: m[1]! } : undefined;
}

export function traceCommand(): Command {
  return new Command('trace')
    .description('send one HTTP request (from the host to a node port or LoadBalancer address, or --from a pod to a cluster IP or Service name) and show its path: LB → node (kube-proxy DNAT/SNAT) → pod → response; or --watch a Service\'s connections live (root for a netns cluster)')
    .argument('[url]', 'http://<node IP>:<node port>/path or http://<LB IP>[:port]/path (an ingress address also https://, with --host); from a pod also http://<cluster IP>[:port]/ or http://<service>.<ns>.svc.cluster.local/')
    .option('--name <cluster>', 'cluster name (netns) or compose project name (docker)', 'kubemu')
    .option('--from <where>', 'where the request starts: host, or pod/NAME (in -n NS)', 'host')
    .option('--watch <service>', 'stream every connection to service/NAME (in -n NS) as it opens and closes, until Ctrl-C')
    .option('-n, --namespace <ns>', 'namespace of --watch service/NAME and --from pod/NAME', 'default')
    .option('--host <name>', 'the Host header to send (an Ingress rule\'s host); with https:// also the SNI (the certificate is not verified, as curl -k)')
    .option('--cookie <NAME=VALUE>', 'send this cookie (an ingress affinity cookie, say from an earlier trace)')
    .addOption(new Option('--source-port <port>', 'the client source port (default: a free one in 20000-29999)').argParser((v) => Number(v)))
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .addOption(new Option('--kubeconfig <path>', "kubeconfig for the API (default: the cluster's own)"))
    .action(async (url: string | undefined, o: TraceCliOptions) => {
      const { TraceError } = await import('./gather.js');
      if (o.watch !== undefined) {
        if (url) throw new TraceError('give a URL or --watch service/NAME, not both');
        const name = serviceRef(o.watch);
        if (!name) throw new TraceError(`--watch wants service/NAME, got "${o.watch}"`);
        return watch(o, name);
      }
      if (!url) throw new TraceError('give a URL to trace, or --watch service/NAME');
      const from = fromRef(o.from);
      if (!from) throw new TraceError(`--from wants host or pod/NAME, got "${o.from}"`);
      const { parseTraceURL, gatherTrace } = await import('./gather.js');
      parseTraceURL(url, { names: from.kind === 'pod' }); // a bad URL fails before anything is opened
      if (o.host !== undefined && !/^[A-Za-z0-9*]([-A-Za-z0-9.*]*[A-Za-z0-9])?(:\d{1,5})?$/.test(o.host)) throw new TraceError(`--host wants a host name, got "${o.host}"`);
      const { parseCookieOption } = await import('./ingress-log.js');
      if (o.cookie !== undefined && !parseCookieOption(o.cookie)) throw new TraceError(`--cookie wants NAME=VALUE (one cookie), got "${o.cookie}"`);
      const { openRuntime } = await import('../chaos/commands.js');
      const { traceOf } = await import('./facts.js');
      const { renderTraceJson, renderTraceText } = await import('./render.js');
      const rt = await openRuntime(o.name);
      const api = new RestClient(loadKubeconfig(o.kubeconfig ?? rt.kubeconfig));
      const fromPod = from.kind === 'pod' ? { namespace: o.namespace, name: from.name } : undefined;
      const t = traceOf(await gatherTrace({ rt, api, url, sourcePort: o.sourcePort, fromPod, hostHeader: o.host, cookie: o.cookie }));
      console.log(o.output === 'json' ? renderTraceJson(t) : renderTraceText(t));
      process.exitCode = 'error' in t.response ? 1 : 0;
    });
}

async function watch(o: TraceCliOptions, name: string): Promise<void> {
  const { openRuntime } = await import('../chaos/commands.js');
  const { ServiceWatch } = await import('./watch.js');
  const rt = await openRuntime(o.name);
  const api = new RestClient(loadKubeconfig(o.kubeconfig ?? rt.kubeconfig));
  const w = new ServiceWatch({ rt, api, namespace: o.namespace, name, output: o.output });
  await w.start();
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = () => {
      w.stop();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const on = await w.ready();
  process.stderr.write(`watching connections to service ${o.namespace}/${name} on ${on.join(', ') || 'no node yet'} (Ctrl-C to stop)\n`);
  await stopped;
  process.exitCode = 0;
}
