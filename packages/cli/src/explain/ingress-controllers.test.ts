import type { Deployment } from '@kubemu/api';
import { describe, expect, it } from 'vitest';
import { findControllers } from './ingress-controllers.js';
import { pod } from './testing/fixtures.js';

const deployment = (name: string, ns: string, args: string[], image = 'kubemu/ingress-controller'): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'controller', image, args }] } } },
});

describe('findControllers', () => {
  it("reads each controller's class and publish Service from its arguments, with its pods", () => {
    const a = pod('ctl-a', { labels: { app: 'ctl' } });
    a.metadata.namespace = 'ingress-kubemu';
    a.spec.containers = [{ name: 'controller', image: 'kubemu/ingress-controller' }];
    const web = pod('web', { labels: { app: 'ctl' } });
    const lone = pod('lone', { labels: { x: 'y' } });
    lone.spec.containers = [{ name: 'c', image: 'kubemu/ingress-controller', args: ['--ingress-class=internal'] }];
    const ks = findControllers(
      [deployment('ctl', 'ingress-kubemu', ['--http-port', '80', '--ingress-class', 'kubemu', '--publish-service', 'ingress-kubemu/ctl']), deployment('web', 'default', [], 'nginx')],
      [a, web, lone],
    );
    expect(ks.map((k) => ({ ...k, pods: k.pods.map((p) => p.metadata.name) }))).toEqual([
      { namespace: 'ingress-kubemu', name: 'ctl', ingressClass: 'kubemu', publishService: { namespace: 'ingress-kubemu', name: 'ctl' }, pods: ['ctl-a'] },
      { namespace: 'default', name: 'lone', ingressClass: 'internal', publishService: undefined, pods: ['lone'] },
    ]);
  });
});
