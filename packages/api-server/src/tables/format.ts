/**
 * Cell formatting shared by the printers, after the helpers kube-apiserver's
 * printers use: labels.FormatLabels, metav1.FormatLabelSelector /
 * LabelSelectorAsSelector(...).String(), net.JoinHostPort, the "+ N more..."
 * lists, and the comma-joined container names/images of `-o wide`.
 */
import type { LabelSelector, LabelSelectorRequirement } from '@kubemu/api';

/** labels.Set.String(): `a=b,c=d`, keys sorted; "" when empty. */
export function labelsString(labels: Record<string, string> | undefined | null): string {
  if (!labels) return '';
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** labels.FormatLabels: like labelsString, `<none>` when empty. */
export function formatLabels(labels: Record<string, string> | undefined | null): string {
  return labelsString(labels) || '<none>';
}

function requirementString(r: LabelSelectorRequirement): string {
  const values = [...(r.values ?? [])].sort();
  switch (r.operator) {
    case 'In':
      return `${r.key} in (${values.join(',')})`;
    case 'NotIn':
      return `${r.key} notin (${values.join(',')})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    default:
      return `${r.key} ${String(r.operator)} (${values.join(',')})`;
  }
}

/**
 * metav1.LabelSelectorAsSelector(sel).String(): requirements sorted by key,
 * matchLabels as `k=v`; "" for a nil or empty selector.
 */
export function selectorString(selector: LabelSelector | undefined | null): string {
  if (!selector) return '';
  const reqs: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) reqs.push({ key, text: `${key}=${value}` });
  for (const r of selector.matchExpressions ?? []) reqs.push({ key: r.key, text: requirementString(r) });
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** metav1.FormatLabelSelector: like selectorString, `<none>` when empty. */
export function formatLabelSelector(selector: LabelSelector | undefined | null): string {
  return selectorString(selector) || '<none>';
}

/** net.JoinHostPort: IPv6 addresses in brackets. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `a,b,c + 2 more...` (listWithMoreString); `<unset>` when empty. */
export function listWithMore(list: string[], total: number, max: number): string {
  const shown = list.slice(0, max).join(',');
  if (total > max) return `${shown} + ${total - max} more...`;
  return shown === '' ? '<unset>' : shown;
}

/** The CONTAINERS and IMAGES cells of -o wide: names and images joined with ",". */
export function containerCells(containers: { name?: string; image?: string }[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name ?? '').join(','), list.map((c) => c.image ?? '').join(',')];
}

/** A sorted, de-duplicated, comma-joined list (sets.String.List()). */
export function sortedSet(values: Iterable<string>): string {
  return [...new Set(values)].sort().join(',');
}
