import { describe, expect, it } from 'vitest';
import { traceOf, type TraceFacts } from './facts.js';
import type { IngressAccessLine } from './ingress-log.js';
import { renderTraceJson, renderTraceText } from './render.js';

// node-1's conntrack for a request to the controller's node port 31277 (reply from the controller pod 10.244.1.5:80).
const NODE1_TO_CONTROLLER = 'ipv4     2 tcp      6 119 TIME_WAIT src=172.30.238.1 dst=172.30.238.11 sport=24000 dport=31277 packets=6 bytes=403 src=10.244.1.5 dst=172.30.238.11 sport=80 dport=24000 packets=4 bytes=378 [ASSURED] mark=0 delta-time=1 use=1';
const ID = 'kubemu-trace-00000000000000aa';

const line = (over: Partial<IngressAccessLine> = {}): IngressAccessLine => ({
  host: 'kubia.example.com', path: '/', method: 'GET', status: 200, upstream: 'kubia-b', upstreamAddr: '10.244.2.7:8080', upstreamMs: 4, bytes: 27, requestId: ID, client: '172.30.238.11', proto: 'http',
  ingress: 'default/kubia', rule: { host: 'kubia.example.com', path: '/', pathType: 'Prefix' }, service: 'default/kubia:80', pod: 'ingress-kubemu-controller-x1', node: 'node-1',
  ...over,
});

const facts = (l: IngressAccessLine | undefined, request: Partial<NonNullable<TraceFacts['request']>> = {}): TraceFacts => ({
  cluster: 'lab',
  url: 'http://172.30.238.11:31277/',
  host: '172.30.238.11',
  port: 31277,
  client: { ip: '172.30.238.1', port: 24000 },
  entry: { kind: 'node', node: 'node-1' },
  nodes: [{ name: 'node-1', ip: '172.30.238.11' }, { name: 'node-2', ip: '172.30.238.12' }],
  services: [
    { namespace: 'ingress-kubemu', name: 'ingress-kubemu-controller', type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', sessionAffinity: 'None', ports: [{ name: 'http', port: 80, nodePort: 31277, targetPort: 80, protocol: 'TCP' }], lbIPs: ['172.30.238.250'], selector: { app: 'ctl' } },
  ],
  pods: [
    { namespace: 'ingress-kubemu', name: 'ingress-kubemu-controller-x1', node: 'node-1', ip: '10.244.1.5', containers: [{ name: 'controller', ports: [80, 443] }], labels: { app: 'ctl' }, ingressController: true },
    { namespace: 'default', name: 'kubia-b', node: 'node-2', ip: '10.244.2.7', containers: [{ name: 'kubia', ports: [8080] }] },
  ],
  response: { status: 200, bytes: 27, ms: 9, body: "You've hit kubia-b\n" },
  request: { requestId: ID, hostHeader: 'kubia.example.com', setCookies: [], ...request },
  node: { name: 'node-1', ip: '172.30.238.11', mode: 'nftables', conntrack: [NODE1_TO_CONTROLLER], log: [] },
  ingress: { searched: ['ingress-kubemu/ingress-kubemu-controller-x1'], ...(l ? { pod: l.pod, line: l } : {}) },
});

describe('the ingress controller hop', () => {
  it('node → controller pod → rule, Service, upstream pod and its time → the upstream pod on its node', () => {
    const t = traceOf(facts(line()));
    const text = renderTraceText(t);
    expect(text).toContain('X-Request-ID: kubemu-trace-00000000000000aa, Host: kubia.example.com');
    expect(text).toContain('DNAT 172.30.238.11:31277 → 10.244.1.5:80 (the endpoint chosen)');
    expect(text).toContain('→ ingress controller ingress-kubemu/ingress-kubemu-controller-x1 on node-1: rule default/kubia: kubia.example.com/ (Prefix) → Service default/kubia:80 → upstream pod kubia-b 10.244.2.7:8080, 4 ms');
    expect(text).toContain('on node-1, the node that took the connection\n    sees the client as 172.30.238.11:24000\n    its access log');
    expect(text).toContain('→ pod default/kubia-b 10.244.2.7:8080, container kubia\n    on node-2: the controller on node-1 sent it there over the node network\n    sees the client as 10.244.1.5');
    expect(text).not.toContain('cookie affinity');
    expect(t.pod).toMatchObject({ name: 'kubia-b', node: 'node-2' });
    expect(t.ingress).toMatchObject({ controllerPod: 'ingress-kubemu/ingress-kubemu-controller-x1', node: 'node-1', ingress: 'default/kubia', service: 'default/kubia:80', upstream: { pod: 'kubia-b', addr: '10.244.2.7:8080' }, upstreamMs: 4, status: 200 });
    expect(t.problems).toEqual([]);
    const j = JSON.parse(renderTraceJson(t));
    expect(j.ingress.rule).toEqual({ host: 'kubia.example.com', path: '/', pathType: 'Prefix' });
    expect(j.request).toEqual({ requestId: ID, host: 'kubia.example.com' });
  });

  it('a new cookie: the Set-Cookie decoded to the pod it pins, and how to send it again', () => {
    const set = 'INGRESSCOOKIE=k9.tok; Path=/; HttpOnly';
    const t = traceOf(facts(line({ affinity: { cookie: 'INGRESSCOOKIE', mode: 'balanced', state: 'new', value: 'k9.tok', pod: 'kubia-b', addr: '10.244.2.7:8080' } }), { setCookies: [set] }));
    const text = renderTraceText(t);
    expect(text).toContain('cookie affinity (INGRESSCOOKIE, balanced): the client sent no INGRESSCOOKIE cookie (new): the controller set INGRESSCOOKIE=k9.tok, which pins pod kubia-b 10.244.2.7:8080');
    expect(text).toContain(`Set-Cookie: ${set}`);
    expect(text).toContain('send it again with --cookie INGRESSCOOKIE=k9.tok to land on kubia-b');
    expect(t.ingress?.affinity).toMatchObject({ state: 'new', pod: 'kubia-b', setCookie: set });
  });

  it('a cookie honoured, and one reissued because its pod left', () => {
    const honoured = traceOf(facts(line({ affinity: { cookie: 'route', mode: 'persistent', state: 'honoured', value: 'tok', pod: 'kubia-b', addr: '10.244.2.7:8080' } }), { cookie: 'route=tok' }));
    expect(renderTraceText(honoured)).toContain('cookie affinity (route, persistent): the client sent route=tok: honoured, it pins pod kubia-b 10.244.2.7:8080');
    expect(honoured.ingress?.affinity).toMatchObject({ state: 'honoured', sent: 'route=tok' });
    const moved = traceOf(facts(line({ affinity: { cookie: 'route', mode: 'persistent', state: 'reissued', value: 'tok2', pod: 'kubia-b', addr: '10.244.2.7:8080' } }), { cookie: 'route=gone' }));
    expect(renderTraceText(moved)).toContain('the client sent route=gone, which pins no ready pod (reissued): the controller set route=tok2, which pins pod kubia-b 10.244.2.7:8080');
  });

  it('no rule for the host: the 404 named, no upstream hop', () => {
    const t = traceOf(facts(line({ ingress: undefined, rule: undefined, service: undefined, upstream: undefined, upstreamAddr: undefined, upstreamMs: undefined, status: 404, host: 'wrong.example.com' })));
    const text = renderTraceText(t);
    expect(text).toContain('→ ingress controller ingress-kubemu/ingress-kubemu-controller-x1 on node-1: no rule matches wrong.example.com/ → 404');
    expect(t.pod).toBeUndefined();
  });

  it('no access line: the controller pod hop says so, and what was searched is a problem', () => {
    const t = traceOf(facts(undefined));
    const text = renderTraceText(t);
    expect(text).toContain('→ ingress controller ingress-kubemu/ingress-kubemu-controller-x1 on node-1: its access log has no record of this request');
    expect(t.problems).toEqual([`no line with X-Request-ID ${ID} in the access log of ingress-kubemu/ingress-kubemu-controller-x1`]);
  });
});
