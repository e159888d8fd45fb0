/**
 * `kubemu chaos fail-readiness`: a pod annotated `chaos.kubemu.io/fail-readiness`
 * has every container's readiness reported as failed, whatever probe it has
 * (none included), while its containers keep running. The prober honours it
 * at once (no failureThreshold to wait for); removing the annotation gives the
 * real probe's result back (or ready, with no probe).
 */
import type { Pod } from '@kubemu/api';

export const CHAOS_FAIL_READINESS_ANNOTATION = 'chaos.kubemu.io/fail-readiness';

/** The failure message for a pod that carries the annotation, else undefined; `cluster` completes the undo hint. */
export function chaosReadinessFailure(pod: Pod, cluster = 'kubemu'): string | undefined {
  const v = pod.metadata.annotations?.[CHAOS_FAIL_READINESS_ANNOTATION];
  if (v === undefined) return undefined;
  const why = v.trim() && v.trim() !== 'true' ? ` (${v.trim()})` : '';
  const ns = pod.metadata.namespace && pod.metadata.namespace !== 'default' ? ` -n ${pod.metadata.namespace}` : '';
  const name = cluster === 'kubemu' ? '' : ` --name ${cluster}`;
  return `kubemu chaos: readiness failed on purpose by the pod annotation ${CHAOS_FAIL_READINESS_ANNOTATION}${why}; \`kubemu chaos restore-readiness ${pod.metadata.name ?? ''}${ns}${name}\` removes it`;
}
