/** Text (the checklist) and JSON output of an Explanation. */
import type { CheckStatus, Explanation } from './checks.js';

export const MARK: Record<CheckStatus, string> = { ok: '✔', fail: '✘', skip: '–' };

export function renderText(e: Explanation): string {
  const lines = [`Service ${e.namespace}/${e.service} (${e.type}${e.clusterIP && e.clusterIP !== 'None' ? ` ${e.clusterIP}` : e.clusterIP === 'None' ? ', headless' : ''}) in cluster ${e.cluster}`];
  for (const c of e.checks) {
    lines.push(`${MARK[c.status]} ${c.text}`);
    for (const d of c.details ?? []) lines.push(`    ${d}`);
    if (c.fix) lines.push(`  → fix: ${c.fix}`);
  }
  if (e.reminders.length) {
    lines.push('', 'Remember:');
    for (const r of e.reminders) lines.push(`  · ${r}`);
  }
  const fails = e.checks.filter((c) => c.status === 'fail').length;
  lines.push('', e.reachable ? 'No problem found: the Service should be reachable.' : `${fails} problem${fails === 1 ? '' : 's'} found (✘ above).`);
  return lines.join('\n');
}

export function renderJson(e: Explanation): string {
  return JSON.stringify(e, null, 2);
}
