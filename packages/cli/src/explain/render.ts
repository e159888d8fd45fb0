/** Text (the checklist) and JSON output of an Explanation. */
import type { Check, CheckStatus, Explanation } from './checks.js';
import type { IngressExplanation } from './ingress-checks.js';
import type { PodExplanation } from './pod-checks.js';

export const MARK: Record<CheckStatus, string> = { ok: '✔', fail: '✘', skip: '–' };

export function renderText(e: Explanation): string {
  const lines = [`Service ${e.namespace}/${e.service} (${e.type}${e.clusterIP && e.clusterIP !== 'None' ? ` ${e.clusterIP}` : e.clusterIP === 'None' ? ', headless' : ''}) in cluster ${e.cluster}`];
  lines.push(...checkLines(e.checks));
  if (e.reminders.length) {
    lines.push('', 'Remember:');
    for (const r of e.reminders) lines.push(`  · ${r}`);
  }
  const fails = e.checks.filter((c) => c.status === 'fail').length;
  lines.push('', e.reachable ? 'No problem found: the Service should be reachable.' : `${fails} problem${fails === 1 ? '' : 's'} found (✘ above).`);
  return lines.join('\n');
}

export function renderJson(e: Explanation | IngressExplanation): string {
  return JSON.stringify(e, null, 2);
}

function checkLines(checks: Check[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${MARK[c.status]} ${c.text}`);
    for (const d of c.details ?? []) lines.push(`    ${d}`);
    if (c.fix) lines.push(`  → fix: ${c.fix}`);
  }
  return lines;
}

export function renderPodText(e: PodExplanation): string {
  const fails = e.checks.filter((c) => c.status === 'fail').length;
  return [
    `Pod ${e.namespace}/${e.pod}${e.node ? ` on ${e.node}` : ''}${e.podIP ? ` (${e.podIP})` : ''} in cluster ${e.cluster}`,
    ...checkLines(e.checks),
    '',
    e.healthy ? 'No problem found.' : `${fails} problem${fails === 1 ? '' : 's'} found (✘ above).`,
  ].join('\n');
}

export function renderIngressText(e: IngressExplanation): string {
  const lines = [`Ingress ${e.namespace}/${e.ingress} (${e.ingressClass ? `class ${e.ingressClass}` : 'no class'}, ${e.address ? `address ${e.address}` : 'no address'}) in cluster ${e.cluster}`];
  lines.push(...checkLines(e.checks));
  if (e.reminders.length) {
    lines.push('', 'Remember:');
    for (const r of e.reminders) lines.push(`  · ${r}`);
  }
  const fails = e.checks.filter((c) => c.status === 'fail').length;
  const found = `${fails} problem${fails === 1 ? '' : 's'} found (✘ above)`;
  const req = e.request ? `Host ${e.request.host || '(none)'}, path ${e.request.path}` : '';
  if (!e.request) lines.push('', e.reachable ? 'No problem found: the Ingress should route every rule to a ready pod.' : `${found}.`);
  else lines.push('', e.reachable ? `A request for ${req} reaches a ready pod${fails ? `; ${fails} problem${fails === 1 ? '' : 's'} found elsewhere (✘ above)` : ''}.` : `A request for ${req} reaches no pod of this Ingress: ${found}.`);
  return lines.join('\n');
}
