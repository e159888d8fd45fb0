/**
 * A real netns cluster for e2e tests: `kubemu up --name <random> --nodes N`
 * before, `kubemu down` after (also when a test fails). Needs root.
 */
import { spawnSync } from 'node:child_process';
import { KUBEMU } from './control-plane-process.js';

/** The parts of a Pod the e2e tests read. */
export interface PodJ {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName: string };
  status: {
    phase: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount: number; ready: boolean; state: { waiting?: { reason: string }; running?: object }; lastState?: { terminated?: { exitCode: number } } }[];
  };
}

export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

export class NetnsCluster {
  readonly name = `e${Math.random().toString(36).slice(2, 8)}`;
  kubeconfig = '';

  constructor(
    readonly nodes = 3,
    readonly extraArgs: string[] = [],
  ) {}

  up(): void {
    // Addons (cluster DNS, the ingress controller) only where a suite asks for them: they cost CPU and take an LB address.
    const addons = this.extraArgs.includes('--addons') ? [] : ['--addons', 'none'];
    const r = spawnSync(process.execPath, [KUBEMU, 'up', '--name', this.name, '--nodes', String(this.nodes), ...addons, ...this.extraArgs], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`kubemu up failed: ${r.stdout}\n${r.stderr}`);
    this.kubeconfig = spawnSync(process.execPath, [KUBEMU, 'kubeconfig', '--name', this.name], { encoding: 'utf8' }).stdout.trim();
  }

  down(): void {
    spawnSync(process.execPath, [KUBEMU, 'down', '--name', this.name], { encoding: 'utf8', timeout: 60_000 });
  }

  kubectl(args: string[], input?: string, timeoutMs = 60_000): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('kubectl', ['--kubeconfig', this.kubeconfig, ...args], { input, encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Parsed `kubectl get -o json`. */
  json<T = any>(args: string[]): T {
    const r = this.kubectl([...args, '-o', 'json']);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** `kubectl apply -f -` of `yaml`; throws with kubectl's message on failure. */
  apply(yaml: string): void {
    const r = this.kubectl(['apply', '-f', '-'], yaml);
    if (r.status !== 0) throw new Error(r.stderr);
  }

  /** The pods matching a label selector. */
  pods(selector: string): PodJ[] {
    return this.json<{ items: PodJ[] }>(['get', 'pods', '-l', selector]).items;
  }

  /** The InternalIP of node `node-N`. */
  nodeIP(n: number): string {
    const node = this.json<{ status: { addresses: { type: string; address: string }[] } }>(['get', 'node', `node-${n}`]);
    return node.status.addresses.find((a) => a.type === 'InternalIP')!.address;
  }

  /** The host's address on the cluster bridge (the node subnet's .1). */
  hostIP(): string {
    return this.nodeIP(1).replace(/\.\d+$/, '.1');
  }

  /**
   * Waits until every node's kube-proxy has applied the current version of
   * Service `ns/name` and its EndpointSlices (asks each proxy's /applied).
   */
  async waitApplied(name: string, ns = 'default', timeoutMs = 15_000): Promise<void> {
    const svc = this.json<{ metadata: { resourceVersion: string } }>(['get', 'svc', '-n', ns, name]);
    const slices = this.json<{ items: { metadata: { resourceVersion: string } }[] }>(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name}`]);
    const rv = Math.max(Number(svc.metadata.resourceVersion), ...slices.items.map((s) => Number(s.metadata.resourceVersion)));
    for (let n = 1; n <= this.nodes; n++) {
      const url = `http://${this.nodeIP(n)}:10256/applied?service=${ns}/${name}&rv=${rv}&timeoutMs=${timeoutMs}`;
      const r = spawnSync('curl', ['-s', '--max-time', String(timeoutMs / 1000 + 2), url], { encoding: 'utf8' });
      const body = JSON.parse(r.stdout || '{}') as { timeout?: boolean; rv?: number };
      if (!body.rv || body.timeout) throw new Error(`node-${n}'s kube-proxy has not applied ${ns}/${name}@${rv}: ${r.stdout}${r.stderr}`);
    }
  }

  /** The ready addresses of a Service's Endpoints. */
  readyIPs(svc: string): string[] {
    const ep = this.json<{ subsets?: { addresses?: { ip: string }[] }[] }>(['get', 'endpoints', svc]);
    return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
  }
}

export { until } from '@kubemu/api/testing';
