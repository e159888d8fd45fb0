import { describe, expect, it } from 'vitest';
import { parseRoute } from './route.js';

describe('parseRoute', () => {
  it.each([
    ['/api/v1/namespaces/default/services/kubia/status', 'services', 'default', 'kubia', 'status'],
    ['/api/v1/namespaces/default', 'namespaces', undefined, 'default', undefined],
    ['/api/v1/namespaces/default/status', 'namespaces', undefined, 'default', 'status'],
    ['/api/v1/nodes/node-1', 'nodes', undefined, 'node-1', undefined],
    ['/api/v1/pods', 'pods', undefined, undefined, undefined],
    ['/apis/apps/v1/namespaces/default/deployments', 'deployments', 'default', undefined, undefined],
    ['/apis/apps/v1/namespaces/default/deployments/web/scale', 'deployments', 'default', 'web', 'scale'],
    ['/apis/networking.k8s.io/v1/ingressclasses/nginx', 'ingressclasses', undefined, 'nginx', undefined],
  ])('%s', (path, plural, ns, name, sub) => {
    const r = parseRoute(path);
    expect(r.type).toBe('resource');
    if (r.type !== 'resource') return;
    expect([r.resource.plural, r.namespace, r.name, r.subresource]).toEqual([plural, ns, name, sub]);
  });

  it('knows discovery paths and unknown resources', () => {
    expect(parseRoute('/apis/apps/v1').type).toBe('discovery');
    expect(parseRoute('/apis/example.com/v1/widgets').type).toBe('unknown-resource');
    expect(parseRoute('/api/v1/namespaces/default/nodes/x').type).toBe('not-found');
  });
});
