import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '@kubemu/api';
import { statusChanges } from './status.js';
import { ingress, service } from './testing/fixtures.js';
import { eventually, startController, tick, type Started } from './testing/harness.js';

const LB = [{ ip: '172.30.0.200', ipMode: 'VIP' }];

function lbService(ingressList = LB): Service {
  const s = service('ingress-kubemu-controller', [{ name: 'http', port: 80 }], 'ingress-kubemu');
  s.spec.type = 'LoadBalancer';
  s.status = { loadBalancer: { ingress: ingressList } };
  return s;
}

describe('Ingress status', () => {
  it('served Ingresses get the address, unserved ones showing it get cleared, others are left alone', () => {
    const served = ingress('served', []);
    const current = ingress('current', []);
    current.status = { loadBalancer: { ingress: [{ ip: '172.30.0.200' }] } };
    const dropped = ingress('dropped', [], { className: 'other' });
    dropped.status = { loadBalancer: { ingress: [{ ip: '172.30.0.200' }] } };
    const foreign = ingress('foreign', [], { className: 'other' });
    foreign.status = { loadBalancer: { ingress: [{ ip: '10.1.1.1' }] } };
    const changes = statusChanges([served, current, dropped, foreign], new Set(['default/served', 'default/current']), [{ ip: '172.30.0.200' }]);
    expect(changes).toEqual([
      { ref: { namespace: 'default', name: 'served', uid: 'uid-served' }, addresses: [{ ip: '172.30.0.200' }] },
      { ref: { namespace: 'default', name: 'dropped', uid: 'uid-dropped' }, addresses: [] },
    ]);
  });

  describe('published by the controller', () => {
    let c: Started | undefined;
    afterEach(async () => {
      await c?.stop();
      c = undefined;
    });

    it('writes the publish Service address into served Ingresses and clears it when one leaves the class', async () => {
      c = await startController(
        { ingresses: [ingress('web', [{ paths: [{ path: '/', service: 's' }] }])], services: [lbService()] },
        { publishService: { namespace: 'ingress-kubemu', name: 'ingress-kubemu-controller' } },
      );
      await eventually(() => c!.statusWrites.length === 1);
      expect(c.statusWrites[0]).toEqual({ ref: { namespace: 'default', name: 'web', uid: 'uid-web' }, addresses: [{ ip: '172.30.0.200' }] });
      // The API now shows it; then the Ingress moves to another class.
      const moved = ingress('web', [{ paths: [{ path: '/', service: 's' }] }], { className: 'other' });
      moved.status = { loadBalancer: { ingress: [{ ip: '172.30.0.200' }] } };
      c.cluster.ingresses.set(moved);
      await tick();
      await c.ctl.statusSettled();
      expect(c.statusWrites.at(-1)).toEqual({ ref: { namespace: 'default', name: 'web', uid: 'uid-web' }, addresses: [] });
    });
  });
});
