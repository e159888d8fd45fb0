/**
 * Why a selector matches nothing: labels on the namespace's pods that
 * almost match (the same key with another value, or a key a small typo
 * away), as hints for the user.
 */
import type { Pod } from '@kubemu/api';

/** Edit distance with adjacent transpositions (optimal string alignment): `kubai` is 1 from `kubia`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** A pod label that nearly satisfies one selector requirement `key=value`. */
export interface NearMiss {
  /** The selector's requirement. */
  key: string;
  value: string;
  /** What the pods carry instead. */
  podKey: string;
  podValue: string;
  /** `value`: same key, another value; `key`: a key a typo away. */
  kind: 'value' | 'key';
  /** The pods that carry it. */
  pods: string[];
}

const closeEnough = (a: string, b: string) => a !== b && editDistance(a, b) <= Math.max(1, Math.min(2, Math.floor(Math.max(a.length, b.length) / 3)));

/**
 * For each selector requirement a pod fails: its label with the same key
 * (another value), or a label whose key is a small edit away. Values that are
 * close to the wanted one come first; pods with the same near miss are grouped.
 */
export function nearMisses(selector: Record<string, string>, pods: Pod[]): NearMiss[] {
  const byHint = new Map<string, NearMiss>();
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    for (const [key, value] of Object.entries(selector)) {
      if (labels[key] === value) continue;
      const hits: Omit<NearMiss, 'pods'>[] = [];
      if (labels[key] !== undefined) hits.push({ key, value, podKey: key, podValue: labels[key]!, kind: 'value' });
      else for (const [k, v] of Object.entries(labels)) if (closeEnough(k, key)) hits.push({ key, value, podKey: k, podValue: v, kind: 'key' });
      for (const h of hits) {
        const id = `${h.key}=${h.value} ${h.podKey}=${h.podValue}`;
        const m = byHint.get(id) ?? { ...h, pods: [] };
        m.pods.push(pod.metadata.name ?? '');
        byHint.set(id, m);
      }
    }
  }
  const score = (m: NearMiss) => (m.kind === 'key' ? editDistance(m.key, m.podKey) + (m.value === m.podValue ? 0 : 10) : editDistance(m.value, m.podValue));
  const all = [...byHint.values()].sort((a, b) => score(a) - score(b) || b.pods.length - a.pods.length);
  // Typos first: when some value or key is a small edit away, the far-off values are noise.
  const typos = all.filter((m) => (m.kind === 'key' ? m.value === m.podValue || closeEnough(m.value, m.podValue) : closeEnough(m.value, m.podValue)));
  return typos.length ? typos : all;
}
