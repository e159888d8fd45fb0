/**
 * Ages as kubectl shows them: k8s.io/apimachinery/pkg/util/duration
 * HumanDuration (~2-3 significant figures: `45s`, `5m2s`, `12m`, `3h`,
 * `5h30m`, `2d3h`, `12d`, `2y45d`) and the printers' translateTimestampSince
 * (`<unknown>` for a missing timestamp).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Go-style integer division of a duration (truncates toward zero). */
const whole = (ms: number, unit: number) => Math.trunc(ms / unit);

/** duration.HumanDuration for a duration in milliseconds. */
export function humanDuration(ms: number): string {
  const seconds = whole(ms, SECOND);
  // Up to 2s in the future is clock skew: "0s".
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;

  const minutes = whole(ms, MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;

  const hours = whole(ms, HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${whole(hours, 24)}d` : `${whole(hours, 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${whole(hours, 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = whole(hours, 24) % 365;
    return days === 0 ? `${whole(hours, 24 * 365)}y` : `${whole(hours, 24 * 365)}y${days}d`;
  }
  return `${whole(hours, 24 * 365)}y`;
}

/** Milliseconds of an RFC 3339 timestamp, or undefined for a missing/zero/unparsable one. */
export function timestampMillis(ts: unknown): number | undefined {
  if (typeof ts !== 'string' || ts === '') return undefined;
  // Go's zero time (0001-01-01T00:00:00Z) means "unset".
  if (ts.startsWith('0001-01-01T00:00:00')) return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The printers' translateTimestampSince: the age of `ts` at `now`. */
export function since(ts: unknown, now: Date): string {
  const ms = timestampMillis(ts);
  return ms === undefined ? '<unknown>' : humanDuration(now.getTime() - ms);
}
