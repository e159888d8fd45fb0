/**
 * `kubemu dashboard [--name CLUSTER] [--port N]`: the live map of a cluster
 * (netns or compose) in a browser, served on 127.0.0.1 until Ctrl-C. Prints
 * the URL to open; it carries the cluster's token after `#`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { loadKubeconfig } from '../kubeconfig.js';
import { RestClient } from '../rest-client.js';

interface DashboardOpts {
  name: string;
  port: number;
  address: string;
  kubeconfig?: string;
  logLevel: string;
}

export function dashboardCommand(): Command {
  return new Command('dashboard')
    .description('a live map of the cluster in your browser: nodes, pods, Services and their endpoints, LB and node health, traffic, Events (root for a netns cluster)')
    .option('--name <cluster>', 'cluster name (netns) or compose project name (docker)', 'kubemu')
    .addOption(new Option('--port <port>', 'port to serve on (0: any free port)').default(0).argParser(portArg))
    .option('--address <ip>', 'address to serve on (keep it on loopback: the page shows the whole cluster)', '127.0.0.1')
    .addOption(new Option('--kubeconfig <path>', "kubeconfig for the API (default: the cluster's own)"))
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (o: DashboardOpts) => {
      const { openRuntime } = await import('../chaos/commands.js');
      const { DashboardServer } = await import('./server.js');
      const rt = await openRuntime(o.name);
      const access = loadKubeconfig(o.kubeconfig ?? rt.kubeconfig);
      const api = new RestClient(access);
      const log = pino({ name: 'kubemu', level: o.logLevel }, pino.destination(2)).child({ component: 'dashboard', cluster: rt.cluster });
      const server = new DashboardServer({
        cluster: rt.cluster,
        access,
        lbIP: rt.machines().find((m) => m.role === 'load-balancer')?.ip,
        host: o.address,
        port: o.port,
        log,
        explainService: async (namespace, name) => {
          const { gatherServiceFacts } = await import('../explain/gather.js');
          const { explainService } = await import('../explain/checks.js');
          return explainService(await gatherServiceFacts({ rt, api, namespace, name }));
        },
      });
      const url = await server.start();
      console.log(`kubemu dashboard for cluster ${rt.cluster}: ${url}#token=${encodeURIComponent(access.token ?? '')}`);
      console.log('(Ctrl-C to stop)');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.stop();
    });
}

function portArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be 0-65535, not ${v}`);
  return n;
}
