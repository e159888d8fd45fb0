import { describe, expect, it } from 'vitest';
import { coreEvent, ingressStatusPath } from './api-sinks.js';
import { parsePublishService } from './workload.js';

describe('what the controller writes to the API', () => {
  it('an ingress problem becomes a core/v1 Event on the Ingress', () => {
    const ev = coreEvent({ ingress: { namespace: 'shop', name: 'web', uid: 'u1' }, type: 'Warning', reason: 'Conflict', message: 'path taken' }, new Date('2024-03-01T10:00:00.123Z'), 'ctl-pod');
    expect(ev).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace: 'shop' },
      involvedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web', uid: 'u1' },
      type: 'Warning',
      reason: 'Conflict',
      message: 'path taken',
      source: { component: 'kubemu-ingress-controller', host: 'ctl-pod' },
      firstTimestamp: '2024-03-01T10:00:00Z',
      count: 1,
    });
    expect(ev.metadata.name).toMatch(/^web\.[0-9a-f]+$/);
  });
  it('status goes to the status subresource', () => {
    expect(ingressStatusPath({ namespace: 'a', name: 'b' })).toBe('/apis/networking.k8s.io/v1/namespaces/a/ingresses/b/status');
  });
  it('--publish-service is <namespace>/<name>', () => {
    expect(parsePublishService('ingress-kubemu/ingress-kubemu-controller')).toEqual({ namespace: 'ingress-kubemu', name: 'ingress-kubemu-controller' });
    expect(parsePublishService(undefined)).toBeUndefined();
    expect(() => parsePublishService('justname')).toThrow(/namespace/);
  });
});
