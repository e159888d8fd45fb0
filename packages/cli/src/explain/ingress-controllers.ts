/**
 * Finds the ingress controllers of a cluster from its Deployments and pods:
 * whatever runs the kubemu/ingress-controller image, with the class and the
 * publish Service its arguments give (the flags the controller itself
 * parses). Pure, so the unit tests hand it objects.
 */
import { builtinImage, selectorFromLabelSelector, type Container, type Deployment, type Pod } from '@kubemu/api';
import { parseFlags, parsePublishService } from '@kubemu/workloads';
import type { IngressControllerFact } from './facts.js';

const DEFAULT_CLASS = 'kubemu';

function controllerContainer(containers: readonly Container[] | undefined): Container | undefined {
  return (containers ?? []).find((c) => builtinImage(c.image)?.workload === 'ingress-controller');
}

/** The class and publish Service a controller container's arguments give. */
export function controllerFlags(c: Container): Pick<IngressControllerFact, 'ingressClass' | 'publishService'> {
  const { flags } = parseFlags([...(c.command ?? []), ...(c.args ?? [])]);
  let publishService: IngressControllerFact['publishService'];
  try {
    publishService = parsePublishService(flags.get('publish-service'));
  } catch {
    publishService = undefined;
  }
  return { ingressClass: flags.get('ingress-class') || DEFAULT_CLASS, publishService };
}

/** One fact per controller Deployment (with its pods), and one per controller pod no such Deployment owns. */
export function findControllers(deployments: readonly Deployment[], pods: readonly Pod[]): Omit<IngressControllerFact, 'service'>[] {
  const live = pods.filter((p) => controllerContainer(p.spec.containers) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const claimed = new Set<Pod>();
  const out: Omit<IngressControllerFact, 'service'>[] = [];
  for (const d of deployments) {
    const c = controllerContainer(d.spec.template.spec.containers);
    if (!c) continue;
    const ns = d.metadata.namespace ?? 'default';
    const m = selectorFromLabelSelector(d.spec.selector);
    const mine = live.filter((p) => (p.metadata.namespace ?? 'default') === ns && m.matches(p.metadata.labels));
    for (const p of mine) claimed.add(p);
    out.push({ namespace: ns, name: d.metadata.name ?? '', ...controllerFlags(c), pods: mine });
  }
  for (const p of live) {
    if (claimed.has(p)) continue;
    out.push({ namespace: p.metadata.namespace ?? 'default', name: p.metadata.name ?? '', ...controllerFlags(controllerContainer(p.spec.containers)!), pods: [p] });
  }
  return out;
}
