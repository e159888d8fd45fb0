import { describe, expect, it } from 'vitest';
import { explainService, type Check } from './checks.js';
import { renderText } from './render.js';
import { NOW, endpoints, healthy, iso, pod, service, slice, unhealthy } from './testing/fixtures.js';

const check = (e: ReturnType<typeof explainService>, id: string): Check => {
  const c = e.checks.find((k) => k.id === id);
  if (!c) throw new Error(`no check ${id}: ${e.checks.map((k) => k.id).join(', ')}`);
  return c;
};

describe('explain service: the checks', () => {
  it('a healthy Service passes every check and is reachable', () => {
    const e = explainService(healthy());
    expect(e.reachable).toBe(true);
    expect(e.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(check(e, 'selector').text).toBe('selector app=kubia matches 2 pods: kubia-a, kubia-b');
    expect(check(e, 'endpoints').status).toBe('ok');
    expect(check(e, 'port:80').text).toContain('listening on the pod IP in kubia-a, kubia-b');
    expect(check(e, 'kube-proxy').text).toContain('applied version 102');
    expect(check(e, 'dns')).toMatchObject({ status: 'skip', text: 'DNS: the dns addon is not running' });
    expect(e.reminders.join('\n')).toMatch(/never to ping/);
    expect(e.reminders.join('\n')).toMatch(/kubia\.default\.svc\.cluster\.local/);
    expect(e.reminders.join('\n')).toMatch(/from inside the cluster/);
    expect(e.reminders.join('\n')).toMatch(/not the targetPort \(8080\)/);
  });

  it('no matching pods: the near-miss label, a typo of the selector, with the fix', () => {
    const f = healthy();
    f.service = service({ selector: { app: 'kubai' } });
    f.pods.push(pod('other', { labels: { app: 'frontend' }, ip: '10.244.1.9' }));
    f.endpoints = endpoints([]);
    f.slices = [slice([])];
    const e = explainService(f);
    const sel = check(e, 'selector');
    expect(sel.status).toBe('fail');
    expect(sel.text).toBe('selector app=kubai matches no pods in namespace default (3 pods there)');
    expect(sel.details).toEqual(['near miss: 2 pods (kubia-a, kubia-b) have app=kubia, the selector wants app=kubai']);
    expect(sel.fix).toMatch(/change the Service's selector app=kubai to app=kubia/);
    expect(check(e, 'ready').status).toBe('skip');
    expect(check(e, 'endpoints').status).toBe('fail');
    expect(e.reachable).toBe(false);
  });

  it('a label key typo is a near miss too', () => {
    const f = healthy();
    f.service = service({ selector: { appp: 'kubia' } });
    const sel = check(explainService(f), 'selector');
    expect(sel.details?.[0]).toMatch(/have the label key app=kubia, the selector wants appp=kubia/);
  });

  it('an empty namespace says so', () => {
    const f = healthy();
    f.pods = [];
    expect(check(explainService(f), 'selector').text).toMatch(/namespace default has no pods at all/);
  });

  it('an unready pod: its failing readiness probe (type, target), the last Unhealthy message and since when', () => {
    const f = healthy();
    const probe = { httpGet: { path: '/healthz', port: 9999 }, periodSeconds: 1 };
    f.pods = [pod('kubia-a', { ready: false, containers: [{ name: 'kubia', image: 'luksa/kubia', readinessProbe: probe }] })];
    f.events = [unhealthy('kubia-a', 'Readiness probe failed: connection refused', 42), unhealthy('someone-else', 'Readiness probe failed: other')];
    f.endpoints = endpoints([], ['10.244.1.3']);
    f.slices = [slice([], ['10.244.1.3'])];
    const e = explainService(f);
    const r = check(e, 'ready');
    expect(r.status).toBe('fail');
    expect(r.details).toEqual([`kubia-a: readiness probe HTTP GET :9999/healthz of container kubia failing since ${iso(90_000).slice(11, 19)} (90 s ago); last: "Readiness probe failed: connection refused" (×42)`]);
    expect(r.fix).toMatch(/make the readiness probe HTTP GET :9999\/healthz succeed in kubia-a/);
    expect(check(e, 'endpoints')).toMatchObject({ status: 'fail' });
    expect(e.reachable).toBe(false);
  });

  it('one unready pod out of two: still reachable, the unready one explained', () => {
    const f = healthy();
    f.pods[1] = pod('kubia-b', { ip: '10.244.2.3', node: 'node-2', ready: false, containers: [{ name: 'kubia', readinessProbe: { exec: { command: ['ls', '/var/ready'] } } }] });
    f.endpoints = endpoints(['10.244.1.3'], ['10.244.2.3']);
    f.slices = [slice(['10.244.1.3'], ['10.244.2.3'])];
    const e = explainService(f);
    expect(check(e, 'ready')).toMatchObject({ status: 'ok', text: '1 of 2 pods ready: traffic goes to kubia-a only' });
    expect(check(e, 'ready').details?.[0]).toMatch(/^kubia-b: readiness probe exec \[ls \/var\/ready\]/);
    expect(e.reachable).toBe(true);
  });

  it('endpoints that do not hold exactly the ready pods: extra and missing listed', () => {
    const f = healthy();
    f.endpoints = endpoints(['10.244.1.3', '10.244.9.9']);
    f.slices = [slice(['10.244.2.3'])];
    const ep = check(explainService(f), 'endpoints');
    expect(ep.status).toBe('fail');
    expect(ep.details).toEqual([
      'Endpoints lack 10.244.2.3 (kubia-b)',
      'Endpoints also hold 10.244.9.9, which is not a ready pod of the selector',
      'EndpointSlices lack 10.244.1.3 (kubia-a)',
    ]);
  });

  it('a selector-less Service shows its hand-written Endpoints, or says they are missing', () => {
    const f = healthy();
    f.service = service({ selector: undefined, ports: [{ port: 80, targetPort: 8089 }] });
    f.endpoints = { ...endpoints(['172.30.0.1'], [], 8089) };
    f.slices = [];
    const e = explainService(f);
    expect(check(e, 'selector').status).toBe('skip');
    expect(check(e, 'endpoints')).toMatchObject({ status: 'ok', text: 'hand-written Endpoints kubia: 172.30.0.1 (port 8089)' });
    f.endpoints = undefined;
    expect(check(explainService(f), 'endpoints')).toMatchObject({ status: 'fail', text: 'no selector and no Endpoints object named kubia: the Service has no backends' });
  });

  it('a named targetPort is resolved per pod', () => {
    const f = healthy();
    f.service = service({ ports: [{ name: 'web', port: 80, targetPort: 'http' }] });
    f.pods[1] = pod('kubia-b', { ip: '10.244.2.3', node: 'node-2', containers: [{ name: 'kubia', ports: [{ name: 'http', containerPort: 9090 }] }] });
    f.listeners['kubia-b'] = [{ proto: 'TCP', address: '::', port: 9090 }];
    const p = check(explainService(f), 'port:web');
    expect(p).toMatchObject({ status: 'ok', text: 'port 80/TCP (web) → targetPort "http" (= 8080/9090): listening on the pod IP in kubia-a (:8080), kubia-b (:9090)' });
  });

  it('a named targetPort no container has fails with the pod named', () => {
    const f = healthy();
    f.service = service({ ports: [{ port: 80, targetPort: 'htp' }] });
    const p = check(explainService(f), 'port:80');
    expect(p.status).toBe('fail');
    expect(p.details).toContain('kubia-a has no TCP container port named "htp": Kubernetes leaves it out of this port\'s endpoints');
  });

  it('targetPort where nothing listens: the port the app does listen on is the fix', () => {
    const f = healthy();
    f.service = service({ ports: [{ port: 80, targetPort: 8081 }] });
    const p = check(explainService(f), 'port:80');
    expect(p.status).toBe('fail');
    expect(p.details).toEqual(['kubia-a: nothing listens on TCP 8081 (it listens on 8080)', 'kubia-b: nothing listens on TCP 8081 (it listens on 8080)']);
    expect(p.fix).toBe('set targetPort of port 80 to 8080 (the port the app listens on), not 8081.');
  });

  it('an app bound to 127.0.0.1 only', () => {
    const f = healthy();
    f.listeners['kubia-b'] = [{ proto: 'TCP', address: '127.0.0.1', port: 8080 }];
    const p = check(explainService(f), 'port:80');
    expect(p.status).toBe('fail');
    expect(p.details).toEqual(['listening in kubia-a', 'kubia-b: the app listens on 127.0.0.1:8080 only, which the pod IP 10.244.2.3 does not reach']);
    expect(p.fix).toMatch(/listen on 0\.0\.0\.0 \(all addresses\) instead of localhost/);
  });

  it('a UDP port is checked against UDP sockets', () => {
    const f = healthy();
    f.service = service({ ports: [{ port: 53, targetPort: 5353, protocol: 'UDP' }] });
    f.listeners['kubia-a'] = [{ proto: 'TCP', address: '0.0.0.0', port: 5353 }];
    f.listeners['kubia-b'] = [{ proto: 'UDP', address: '0.0.0.0', port: 5353 }];
    const p = check(explainService(f), 'port:53');
    expect(p.status).toBe('fail');
    expect(p.details).toEqual(['listening in kubia-b', 'kubia-a: nothing listens on UDP 5353 (no listening sockets)']);
  });

  it('sockets that could not be read make the port check a skip, not a failure', () => {
    const f = healthy();
    f.listeners = { 'kubia-a': { error: 'nsenter: cannot open' }, 'kubia-b': { error: 'nsenter: cannot open' } };
    expect(check(explainService(f), 'port:80').status).toBe('skip');
  });

  it('kube-proxy lag: a node behind the current version, and one that does not answer', () => {
    const f = healthy();
    f.proxies['node-2'] = { behind: true, rv: 90, at: NOW - 300_000 };
    let k = check(explainService(f), 'kube-proxy');
    expect(k.status).toBe('fail');
    expect(k.text).toBe('kube-proxy has not applied version 102 of default/kubia on 1 node');
    expect(k.details).toEqual(['node-2: behind, has applied version 90 (5 min ago), not 102, the change is 60 s old', 'applied on node-1 (60 s ago, 0.2 s after the endpoints changed)']);
    expect(k.fix).toMatch(/^check node-2's kube-proxy/);
    f.proxies['node-2'] = { error: 'Connection refused' };
    k = check(explainService(f), 'kube-proxy');
    expect(k.details?.[0]).toBe('node-2: kube-proxy does not answer on 172.30.0.12:10256 (Connection refused)');
  });

  it('the lag of each proxy after the endpoints changed', () => {
    expect(check(explainService(healthy()), 'kube-proxy').text).toBe("every node's kube-proxy has applied version 102: node-1 (60 s ago, 0.2 s after the endpoints changed), node-2 (60 s ago, 0.3 s after the endpoints changed)");
  });

  it('NodePort with Local policy: the nodes without a local endpoint drop traffic', () => {
    const f = healthy();
    f.service = service({ type: 'NodePort', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] });
    f.pods = [f.pods[0]!];
    f.endpoints = endpoints(['10.244.1.3']);
    f.slices = [slice(['10.244.1.3'])];
    const np = check(explainService(f), 'node-port');
    expect(np).toMatchObject({ status: 'ok', text: 'node port 30080 (Local policy) served by node-1 (172.30.0.11)' });
    expect(np.details?.[0]).toBe('node-2 has no local endpoint: it drops node-port traffic (externalTrafficPolicy: Local; healthCheckNodePort 32000 answers 503 there)');
    expect(explainService(f).reachable).toBe(true);
    // A NodePort Service has no healthCheckNodePort (only a LoadBalancer gets one): none is named.
    const noHc = structuredClone(f);
    delete noHc.service.spec.healthCheckNodePort;
    expect(check(explainService(noHc), 'node-port').details).toEqual(['node-2 has no local endpoint: it drops node-port traffic (externalTrafficPolicy: Local)']);

    // --node node-2: the node the user connects to has no local endpoint.
    f.via = 'node-2';
    const e = explainService(f);
    expect(check(e, 'node-port')).toMatchObject({
      status: 'fail',
      text: 'node port 30080 on node-2 (172.30.0.12): externalTrafficPolicy Local and node-2 has no ready local endpoint, so it drops the connection; only node-1 (172.30.0.11) serves it',
      fix: "connect to node-1's address (172.30.0.11:30080), run a ready pod on node-2, or set externalTrafficPolicy: Cluster to let every node forward to any pod.",
    });
    expect(e.reachable).toBe(false);
    f.via = 'node-1';
    expect(check(explainService(f), 'node-port')).toMatchObject({ status: 'ok', text: 'node port 30080 (Local policy) served by node-1 (172.30.0.11), node-1 among them' });
  });

  it('--node with Cluster policy: any node whose kube-proxy answers serves it', () => {
    const f = healthy();
    f.service = service({ type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] });
    f.via = 'node-2';
    expect(check(explainService(f), 'node-port').status).toBe('ok');
    f.proxies['node-2'] = { error: 'Connection refused' };
    expect(check(explainService(f), 'node-port')).toMatchObject({ status: 'fail', text: "node port 30080 on node-2 (172.30.0.12): its kube-proxy does not answer, so it serves nothing; node-1 does" });
  });

  it('LoadBalancer: pending with the reason from the load balancer, and its view of the nodes', () => {
    const f = healthy();
    f.service = service({ type: 'LoadBalancer', loadBalancerIP: '172.30.0.9', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] });
    f.lb = {
      assignments: { 'default/kubia': { pending: "172.30.0.9 is not in the load balancer's pool 172.30.0.200-172.30.0.250" } },
      nodes: [
        { key: 'node-1 proxy', ip: '172.30.0.11', port: 10256, healthy: true, checkedAt: NOW },
        { key: 'node-2 proxy', ip: '172.30.0.12', port: 10256, healthy: false, checkedAt: NOW, error: 'HTTP 503' },
      ],
    };
    f.events = [{ ...unhealthy('x', ''), involvedObject: { kind: 'Service', name: 'kubia', namespace: 'default' }, reason: 'AllocationFailed', source: { component: 'load-balancer' }, count: 3, message: `Failed to allocate IP for "default/kubia": 172.30.0.9 is not in the load balancer's pool 172.30.0.200-172.30.0.250` }];
    const e = explainService(f);
    expect(check(e, 'lb-ip')).toMatchObject({ status: 'fail', text: "external IP <pending>: 172.30.0.9 is not in the load balancer's pool 172.30.0.200-172.30.0.250" });
    expect(check(e, 'lb-ip').details).toEqual([`Event AllocationFailed (×3) from load-balancer: Failed to allocate IP for "default/kubia": 172.30.0.9 is not in the load balancer's pool 172.30.0.200-172.30.0.250`]);
    expect(check(e, 'lb-ip').fix).toMatch(/inside the load balancer's pool/);
    expect(check(e, 'lb-nodes')).toMatchObject({ status: 'ok', details: ['not used: node-2: HTTP 503 (172.30.0.12:10256)'] });
  });

  it('DNS: the FQDN must resolve to the cluster IP (the ready pod IPs when headless)', () => {
    const f = healthy();
    f.dns = { running: true, server: '10.96.0.10', fqdn: 'kubia.default.svc.cluster.local', answers: ['10.96.5.5'] };
    expect(check(explainService(f), 'dns')).toMatchObject({ status: 'ok' });
    f.service = service({ clusterIP: 'None' });
    f.dns = { ...f.dns, answers: ['10.244.2.3'] };
    const d = check(explainService(f), 'dns');
    expect(d).toMatchObject({ status: 'fail', text: 'DNS: kubia.default.svc.cluster.local → 10.244.2.3, expected 10.244.1.3, 10.244.2.3 (the ready pod IPs)' });
    expect(check(explainService(f), 'kube-proxy').status).toBe('skip');
  });

  it('renders one line per check with ✔ ✘ – and the fix under a failure', () => {
    const f = healthy();
    f.listeners['kubia-b'] = [{ proto: 'TCP', address: '127.0.0.1', port: 8080 }];
    const text = renderText(explainService(f));
    expect(text).toMatch(/^Service default\/kubia \(ClusterIP 10\.96\.5\.5\) in cluster test$/m);
    expect(text).toMatch(/^✔ selector app=kubia matches 2 pods/m);
    expect(text).toMatch(/^✘ port 80\/TCP → targetPort 8080: 1 pod of 2 cannot take connections on it$/m);
    expect(text).toMatch(/^ {2}→ fix: make the app in kubia-b listen on 0\.0\.0\.0/m);
    expect(text).toMatch(/^– DNS: /m);
    expect(text).toMatch(/1 problem found/);
  });
});
