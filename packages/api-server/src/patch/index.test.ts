import type { KubeObject } from '@kubemu/api';
import { describe, expect, it } from 'vitest';
import { applyPatch, patchMediaType } from './index.js';
import { thrownApiError } from '../testing/api-error.js';

const deployment = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }, { name: 'sidecar', image: 'busybox' }] } },
  },
});

describe('applyPatch', () => {
  const containerPatch = { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.26' }] } } } };

  it('dispatches on the media type: strategic merges the containers list, merge patch replaces it', () => {
    const smp = applyPatch('application/strategic-merge-patch+json', deployment(), containerPatch, 'Deployment');
    expect(smp.spec.template.spec.containers).toEqual([{ name: 'app', image: 'nginx:1.26' }, { name: 'sidecar', image: 'busybox' }]);
    const merge = applyPatch('application/merge-patch+json', deployment(), containerPatch, 'Deployment');
    expect(merge.spec.template.spec.containers).toEqual([{ name: 'app', image: 'nginx:1.26' }]);
    const json = applyPatch('application/json-patch+json', deployment(), [{ op: 'replace', path: '/spec/replicas', value: 5 }], 'Deployment');
    expect(json.spec.replicas).toBe(5);
  });

  it('ignores media type parameters and case, and accepts raw JSON text or bytes', () => {
    expect(patchMediaType('Application/Merge-Patch+JSON; charset=utf-8')).toBe('application/merge-patch+json');
    const fromText = applyPatch('application/merge-patch+json; charset=utf-8', deployment(), '{"spec":{"replicas":3}}', 'Deployment');
    expect(fromText.spec.replicas).toBe(3);
    const fromBytes = applyPatch('application/strategic-merge-patch+json', deployment(), new TextEncoder().encode('{"metadata":{"labels":{"x":"y"}}}'), 'Deployment');
    expect(fromBytes.metadata.labels).toEqual({ app: 'web', x: 'y' });
  });

  it('answers server-side apply outside the resource handler (scale, agents) with 415 and a clear message', () => {
    const err = thrownApiError(() => applyPatch('application/apply-patch+yaml', deployment(), 'spec: {}', 'Deployment'));
    expect(err.code).toBe(415);
    expect(err.reason).toBe('UnsupportedMediaType');
    expect(err.message).toContain('server-side apply');
    expect(err.message).toContain('--server-side');
    expect(err.message).toContain('not supported on this endpoint');
  });

  it('answers an unknown patch media type with 415 listing the accepted ones', () => {
    const err = thrownApiError(() => applyPatch('application/json', deployment(), {}, 'Deployment'));
    expect(err.code).toBe(415);
    expect(err.message).toBe(
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
    );
  });

  it('rejects malformed bodies with 400', () => {
    expect(thrownApiError(() => applyPatch('application/merge-patch+json', deployment(), '{"spec":', 'Deployment')).code).toBe(400);
    const notObject = thrownApiError(() => applyPatch('application/merge-patch+json', deployment(), [1], 'Deployment'));
    expect(notObject.code).toBe(400);
    expect(notObject.message).toBe('json: cannot unmarshal array into Go value of type map[string]interface {}');
    const rootReplaced = thrownApiError(() => applyPatch('application/json-patch+json', deployment(), [{ op: 'replace', path: '', value: 7 }], 'Deployment'));
    expect(rootReplaced.code).toBe(400);
  });

  it('keeps apiVersion and kind when a patch drops them, as typed decoding does', () => {
    const replaced = applyPatch('application/strategic-merge-patch+json', deployment(), { $patch: 'replace', metadata: { name: 'web' }, spec: { replicas: 1 } }, 'Deployment');
    expect(replaced).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1 } });
    const nulled = applyPatch('application/merge-patch+json', deployment(), { kind: null }, 'Deployment');
    expect(nulled.kind).toBe('Deployment');
  });

  it('never mutates the target', () => {
    const target = deployment();
    for (const [type, body] of [
      ['application/strategic-merge-patch+json', containerPatch],
      ['application/merge-patch+json', containerPatch],
      ['application/json-patch+json', [{ op: 'remove', path: '/spec/template/spec/containers/1' }]],
    ] as const) {
      const out = applyPatch(type, target, body, 'Deployment');
      expect(out).not.toBe(target);
      expect(target).toEqual(deployment());
    }
  });
});
