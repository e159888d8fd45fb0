import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { KubeClient } from '../kube/index.js';
import { coreEvent, eventPoster, ingressStatusPath, statusWriter } from './api-sinks.js';
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

  it('sends a merge patch to the status subresource and POSTs events, with the pod token', async () => {
    const pems = await generate([{ name: 'commonName', value: 'kubernetes.default.svc' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'kubernetes.default.svc' }] }],
    });
    const seen: { method: string; url: string; type: string; auth: string; body: unknown }[] = [];
    const api = createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
      let b = '';
      req.on('data', (d) => (b += d));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'] ?? '', auth: req.headers.authorization ?? '', body: JSON.parse(b) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const client = new KubeClient({ server: `https://127.0.0.1:${(api.address() as AddressInfo).port}`, ca: pems.cert, token: () => 'tok', namespace: 'ingress-kubemu' });
    try {
      await statusWriter(client)({ namespace: 'shop', name: 'web' }, [{ ip: '172.30.0.200' }]);
      eventPoster(client, () => {})({ ingress: { namespace: 'shop', name: 'web' }, type: 'Warning', reason: 'Conflict', message: 'm' });
      await new Promise<void>((r) => {
        const t = setInterval(() => seen.length === 2 && (clearInterval(t), r()), 5);
      });
      expect(seen[0]).toEqual({ method: 'PATCH', url: '/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web/status', type: 'application/merge-patch+json', auth: 'Bearer tok', body: { status: { loadBalancer: { ingress: [{ ip: '172.30.0.200' }] } } } });
      expect(seen[1]).toMatchObject({ method: 'POST', url: '/api/v1/namespaces/shop/events', body: { kind: 'Event', reason: 'Conflict', involvedObject: { kind: 'Ingress', name: 'web' } } });
    } finally {
      client.close();
      api.close();
    }
  });
});
