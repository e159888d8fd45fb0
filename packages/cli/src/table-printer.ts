/**
 * Prints a meta.k8s.io Table as kubectl does: upper-case headers, columns
 * padded with three spaces, wide-only (priority > 0) columns on request.
 */
export interface Table {
  columnDefinitions: { name: string; priority?: number }[];
  rows: { cells: unknown[] }[];
}

export function formatTable(t: Table, opts: { wide?: boolean; namespace?: string } = {}): string {
  const keep = t.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || !c.priority);
  const head = [...(opts.namespace ? ['NAMESPACE'] : []), ...keep.map(({ c }) => c.name.toUpperCase())];
  const rows = t.rows.map((r) => keep.map(({ i }) => cellText(r.cells[i])));
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join('').trimEnd()).join('\n');
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '<none>';
  return String(v);
}
