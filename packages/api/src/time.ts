/**
 * Timestamps as Kubernetes writes them: metav1.Time is RFC 3339 in UTC at
 * second precision (`2026-12-01T20:54:36Z`); MicroTime and Go's RFC3339Nano
 * keep the fraction without trailing zeros.
 */

/** metav1.Time for `at` (default now): seconds precision, the fraction dropped. */
export function metaTime(at: Date | number = Date.now()): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's time.RFC3339Nano for `ms`: the fraction kept, trailing zeros trimmed. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_, f: string) => (f ? `.${f}Z` : 'Z'));
}
