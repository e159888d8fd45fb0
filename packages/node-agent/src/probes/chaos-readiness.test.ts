import { describe, expect, it } from 'vitest';
import type { Pod } from '@kubemu/api';
import { CHAOS_FAIL_READINESS_ANNOTATION, chaosReadinessFailure } from './chaos-readiness.js';

const pod = (annotations?: Record<string, string>, namespace = 'default'): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace, annotations }, spec: { containers: [] } }) as Pod;

describe('chaosReadinessFailure', () => {
  it('is undefined without the annotation', () => {
    expect(chaosReadinessFailure(pod())).toBeUndefined();
    expect(chaosReadinessFailure(pod({ other: 'x' }))).toBeUndefined();
  });
  it('names kubemu chaos and how to undo it', () => {
    const m = chaosReadinessFailure(pod({ [CHAOS_FAIL_READINESS_ANNOTATION]: 'true' }, 'shop'))!;
    expect(m).toMatch(/^kubemu chaos: readiness failed/);
    expect(m).toContain('`kubemu chaos restore-readiness web-1 -n shop` removes it');
    expect(chaosReadinessFailure(pod({ [CHAOS_FAIL_READINESS_ANNOTATION]: 'true' }), 'lab')).toContain('`kubemu chaos restore-readiness web-1 --name lab` removes it');
  });
  it('quotes a reason given as the value', () => {
    expect(chaosReadinessFailure(pod({ [CHAOS_FAIL_READINESS_ANNOTATION]: 'drill 7' }))).toContain('(drill 7)');
  });
});
