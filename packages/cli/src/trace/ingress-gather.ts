/**
 * `kubemu trace` through an Ingress: when the traced Service's pods are
 * ingress controllers, read their logs through the API (GET
 * …/pods/NAME/log?sinceSeconds=N) until the traced request's access line
 * shows up: the controller buffers its access log up to 1 s, so this polls
 * for a few seconds.
 */
import type { RestClient } from '../rest-client.js';
import { entryServicePort, type TraceFacts, type TracePod } from './facts.js';
import { findAccessLine } from './ingress-log.js';

const POLL_MS = 200;
const POLL_FOR_MS = 4000;

/** A Service selector (a map) selects these labels. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const keys = Object.keys(selector ?? {});
  return keys.length > 0 && keys.every((k) => labels?.[k] === selector![k]);
}

/** The ingress controller pods behind the Service the trace entered by. */
export function controllerPodsOf(f: TraceFacts): TracePod[] {
  const e = entryServicePort(f);
  if (!e) return [];
  return f.pods.filter((p) => p.ingressController && p.namespace === e.svc.namespace && selects(e.svc.selector, p.labels));
}

export async function gatherIngressHop(api: RestClient, f: TraceFacts, sentAt: number, pollForMs = POLL_FOR_MS): Promise<void> {
  const pods = controllerPodsOf(f);
  const id = f.request?.requestId;
  if (!pods.length || !id) return;
  const searched = pods.map((p) => `${p.namespace}/${p.name}`);
  const e = encodeURIComponent;
  let error: string | undefined;
  const until = Date.now() + pollForMs;
  for (;;) {
    const since = Math.max(1, Math.ceil((Date.now() - sentAt) / 1000) + 2);
    const reads = await Promise.all(
      pods.map((p) =>
        api.text(`/api/v1/namespaces/${e(p.namespace)}/pods/${e(p.name)}/log?sinceSeconds=${since}`).then(
          (text) => ({ p, text }),
          (err: Error) => ({ p, err }),
        ),
      ),
    );
    for (const r of reads) {
      if ('err' in r) {
        error = `${r.p.name}: ${r.err.message.split('\n')[0]}`;
        continue;
      }
      const line = findAccessLine(r.text, id);
      if (line) {
        f.ingress = { searched, pod: r.p.name, line };
        return;
      }
    }
    if (Date.now() >= until) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  f.ingress = { searched, ...(error ? { error } : {}) };
}
