import { describe, expect, it } from 'vitest';
import type { PodFacts } from './facts.js';
import { explainPod } from './pod-checks.js';
import { renderPodText } from './render.js';
import { NOW, endpoints, pod, service, unhealthy } from './testing/fixtures.js';

function facts(): PodFacts {
  return {
    now: NOW,
    cluster: 'test',
    pod: pod('kubia-a', { ip: '10.244.1.3' }),
    services: [service()],
    endpoints: [endpoints(['10.244.1.3'])],
    events: [],
    listeners: [{ proto: 'TCP', address: '0.0.0.0', port: 8080 }],
  };
}

const byId = (f: PodFacts, id: string) => explainPod(f).checks.find((c) => c.id === id)!;

describe('explain pod', () => {
  it('a ready pod in its Service\'s endpoints passes', () => {
    const e = explainPod(facts());
    expect(e.healthy).toBe(true);
    expect(e.checks.map((c) => `${c.status} ${c.text}`)).toEqual([
      'ok Running on node-1 with IP 10.244.1.3',
      'ok ready (no readiness probe: ready once its containers run)',
      'ok listening on the pod IP: 8080/TCP',
      'ok Service kubia selects it and its Endpoints hold 10.244.1.3 as ready',
    ]);
    expect(renderPodText(e)).toMatch(/^Pod default\/kubia-a on node-1 \(10\.244\.1\.3\) in cluster test$/m);
  });

  it('not ready: the failing probe, and why it is not in the Service\'s endpoints', () => {
    const f = facts();
    f.pod = pod('kubia-a', { ready: false, containers: [{ name: 'kubia', readinessProbe: { tcpSocket: { port: 8080 } } }] });
    f.events = [unhealthy('kubia-a', 'Readiness probe failed: dial tcp 10.244.1.3:8080: connect: connection refused', 3)];
    f.endpoints = [endpoints([], ['10.244.1.3'])];
    const e = explainPod(f);
    expect(e.healthy).toBe(false);
    expect(byId(f, 'ready').details?.[0]).toMatch(/^kubia-a: readiness probe TCP :8080 of container kubia failing since .*connection refused" \(×3\)$/);
    expect(byId(f, 'service:kubia')).toMatchObject({ status: 'fail', text: 'Service kubia selects it, but its Endpoints do not hold 10.244.1.3 as ready: the pod is not ready (see above)' });
  });

  it('selected but the app is on localhost only: in the endpoints yet unable to take traffic', () => {
    const f = facts();
    f.listeners = [{ proto: 'TCP', address: '127.0.0.1', port: 8080 }];
    const s = byId(f, 'service:kubia');
    expect(s).toMatchObject({ status: 'fail', details: ['port 80 → 8080: the app listens on localhost only'] });
    expect(byId(f, 'listening').details).toContain('on localhost only (the pod IP does not reach these): 127.0.0.1:8080/TCP');
  });

  it('no Service selects it: the Service whose selector nearly matches is named', () => {
    const f = facts();
    f.services = [service({ selector: { app: 'kubai' } })];
    expect(byId(f, 'services')).toMatchObject({ status: 'skip', text: 'no Service selects this pod (its labels: app=kubia)', details: ['near miss: Service kubia wants app=kubai, the pod has app=kubia'] });
  });

  it('pending: the waiting reason', () => {
    const f = facts();
    f.pod = pod('kubia-a', { phase: 'Pending', ready: false });
    f.pod.status!.containerStatuses = [{ name: 'kubia', ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason: 'ErrImagePull', message: 'image "x" not found' } } }];
    f.listeners = undefined;
    expect(byId(f, 'phase')).toMatchObject({ status: 'fail', text: 'Pending: kubia: ErrImagePull (image "x" not found)' });
  });
});
