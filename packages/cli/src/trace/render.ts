/** Text (one block per hop) and JSON output of a Trace. */
import type { Trace } from './facts.js';

export function renderTraceText(t: Trace): string {
  const lines = [`trace ${t.url} in cluster ${t.cluster}`];
  t.hops.forEach((h, i) => {
    lines.push(`${i === 0 ? ' ' : '→'} ${h.title}`);
    for (const d of h.details) lines.push(`    ${d}`);
  });
  for (const p of t.problems) lines.push(`! ${p}`);
  return lines.join('\n');
}

export function renderTraceJson(t: Trace): string {
  return JSON.stringify(t, null, 2);
}
