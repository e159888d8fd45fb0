import { describe, expect, it } from 'vitest';
import { findFlow, natOf, traceOf, type TraceFacts } from './facts.js';
import { renderTraceText } from './render.js';

// Real `conntrack -L -p tcp --orig-port-src P -o extended` lines from a 2-node netns cluster (node-1 .11, node-2 .12, LB .3).
const NODE1_DIRECT = 'ipv4     2 tcp      6 119 TIME_WAIT src=172.30.241.1 dst=172.30.241.11 sport=23456 dport=31215 packets=6 bytes=403 src=10.244.2.2 dst=172.30.241.11 sport=8080 dport=23456 packets=4 bytes=378 [ASSURED] mark=0 delta-time=1 use=1';
const LB_FLOW = 'ipv4     2 tcp      6 119 TIME_WAIT src=172.30.241.1 dst=172.30.241.200 sport=23457 dport=80 packets=6 bytes=398 src=172.30.241.11 dst=172.30.241.3 sport=31215 dport=23457 packets=4 bytes=378 [ASSURED] mark=0 delta-time=0 use=1';
const NODE1_FROM_LB = 'ipv4     2 tcp      6 119 TIME_WAIT src=172.30.241.3 dst=172.30.241.11 sport=23457 dport=31215 packets=6 bytes=398 src=10.244.2.2 dst=172.30.241.11 sport=8080 dport=23457 packets=4 bytes=378 [ASSURED] mark=2097152 delta-time=0 use=1';
// Local policy (written by hand after the ones above): the client kept, only DNAT.
const NODE2_LOCAL = 'ipv4     2 tcp      6 119 TIME_WAIT src=172.30.241.1 dst=172.30.241.12 sport=23458 dport=31215 packets=6 bytes=398 src=10.244.2.2 dst=172.30.241.1 sport=8080 dport=23458 packets=4 bytes=378 [ASSURED] mark=0 delta-time=0 use=1';

const base = (): TraceFacts => ({
  cluster: 'lab',
  url: 'http://172.30.241.11:31215/',
  host: '172.30.241.11',
  port: 31215,
  client: { ip: '172.30.241.1', port: 23456 },
  entry: { kind: 'node', node: 'node-1' },
  nodes: [
    { name: 'node-1', ip: '172.30.241.11' },
    { name: 'node-2', ip: '172.30.241.12' },
  ],
  services: [{ namespace: 'default', name: 'kubia', type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', sessionAffinity: 'None', ports: [{ port: 80, nodePort: 31215, targetPort: 8080, protocol: 'TCP' }], lbIPs: ['172.30.241.200'] }],
  pods: [{ namespace: 'default', name: 'kubia-n2', node: 'node-2', ip: '10.244.2.2', containers: [{ name: 'kubia', ports: [8080] }] }],
  response: { status: 200, bytes: 20, ms: 12, body: "You've hit kubia-n2" },
  node: { name: 'node-1', ip: '172.30.241.11', mode: 'nftables', conntrack: [NODE1_DIRECT], log: [] },
});

describe('natOf / findFlow', () => {
  it('a node port with Cluster policy: DNAT to the pod, SNAT to the node', () => {
    const f = findFlow([LB_FLOW, NODE1_DIRECT], '172.30.241.1', 23456)!;
    expect(natOf(f)).toEqual({ dnat: { from: '172.30.241.11:31215', to: '10.244.2.2:8080' }, snat: { from: '172.30.241.1:23456', to: '172.30.241.11:23456' } });
  });
  it('the LB: DNAT to a node port, SNAT to the LB, the client port kept', () => {
    expect(natOf(findFlow([LB_FLOW], '172.30.241.1', 23457)!)).toEqual({ dnat: { from: '172.30.241.200:80', to: '172.30.241.11:31215' }, snat: { from: '172.30.241.1:23457', to: '172.30.241.3:23457' } });
  });
  it('Local policy: DNAT only', () => {
    expect(natOf(findFlow([NODE2_LOCAL], '172.30.241.1', 23458)!)).toEqual({ dnat: { from: '172.30.241.12:31215', to: '10.244.2.2:8080' } });
  });
  it('another port or client: no flow', () => {
    expect(findFlow([NODE1_DIRECT], '172.30.241.1', 23457)).toBeUndefined();
    expect(findFlow([NODE1_DIRECT, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.'], '172.30.241.9', 23456)).toBeUndefined();
  });
});

describe('traceOf', () => {
  it('through a node port: entry node, Service port, DNAT, SNAT, the pod and its node, the response', () => {
    const t = traceOf(base());
    expect(t.service).toBe('default/kubia');
    expect(t.node).toMatchObject({ name: 'node-1', endpoint: '10.244.2.2:8080', clientSeen: '172.30.241.1:23456', via: 'node-port' });
    expect(t.pod).toMatchObject({ name: 'kubia-n2', node: 'node-2', container: 'kubia', clientSeen: '172.30.241.11:23456' });
    expect(t.problems).toEqual([]);
    const text = renderTraceText(t);
    expect(text).toContain('→ node node-1 172.30.241.11:31215 (kube-proxy nftables), from 172.30.241.1:23456');
    expect(text).toContain('DNAT 172.30.241.11:31215 → 10.244.2.2:8080 (the endpoint chosen)');
    expect(text).toContain('SNAT 172.30.241.1:23456 → 172.30.241.11:23456 (Cluster policy: the pod sees node-1');
    expect(text).toContain('→ pod default/kubia-n2 10.244.2.2:8080, container kubia');
    expect(text).toContain('on node-2: node-1 routed it there');
    expect(text).toContain('→ response 200, 20 bytes, 12 ms total');
  });

  it('through the LB: the chosen node from its conntrack, the healthy nodes, and the node hop keyed by what the LB sent', () => {
    const f = base();
    f.url = 'http://172.30.241.200:80/';
    f.host = '172.30.241.200';
    f.port = 80;
    f.client.port = 23457;
    f.entry = { kind: 'load-balancer' };
    f.lb = { mode: 'nftables', conntrack: [LB_FLOW], log: [], frontend: { backends: [{ node: 'node-1', ip: '172.30.241.11', port: 31215 }], affinitySeconds: 10800, local: false }, checks: [] };
    f.node!.conntrack = [NODE1_DIRECT, NODE1_FROM_LB];
    const t = traceOf(f);
    expect(t.lb).toMatchObject({ chosenNode: 'node-1', healthyNodes: ['node-1'], affinitySeconds: 10800 });
    expect(t.node).toMatchObject({ clientSeen: '172.30.241.3:23457', endpoint: '10.244.2.2:8080' });
    const text = renderTraceText(t);
    expect(text).toContain('→ load balancer 172.30.241.200:80 (nftables) chose node-1');
    expect(text).toContain('healthy nodes: node-1 (not: node-2)');
    expect(text).toContain('sessionAffinity ClientIP: this client stays on one node for 10800 s');
    expect(text).toContain('SNAT 172.30.241.1:23457 → 172.30.241.3:23457 (the node sees the LB)');
  });

  it('userspace mode: the relay logs (the LB names its backend node, kube-proxy its endpoint)', () => {
    const f = base();
    f.node = { name: 'node-1', ip: '172.30.241.11', mode: 'userspace', conntrack: [], log: [{ client: '172.30.241.1:23456', endpoint: '10.244.2.2:8080', service: 'default/kubia:/TCP', bytesIn: 80, bytesOut: 150, result: 'ok' }] };
    const t = traceOf(f);
    expect(t.node?.endpoint).toBe('10.244.2.2:8080');
    expect(t.pod?.name).toBe('kubia-n2');
    expect(renderTraceText(t)).toContain('relayed by kube-proxy to 10.244.2.2:8080');
  });

  it('nothing recorded: a problem line, not a guess', () => {
    const f = base();
    f.node!.conntrack = [];
    f.response = { error: 'connect ECONNREFUSED 172.30.241.11:31215', ms: 1 };
    const t = traceOf(f);
    expect(t.pod).toBeUndefined();
    expect(t.problems).toEqual(['node-1 has no record of 172.30.241.1:23456']);
    expect(renderTraceText(t)).toContain('→ no response: connect ECONNREFUSED');
  });
});

describe('parseTraceURL', async () => {
  const { parseTraceURL, TraceError } = await import('./gather.js');
  it('http with an IP host; the port defaults to 80', () => {
    expect(parseTraceURL('http://172.30.0.200/x?y=1')).toEqual({ scheme: 'http', host: '172.30.0.200', port: 80, path: '/x?y=1' });
    expect(parseTraceURL('172.30.0.11:31000')).toEqual({ scheme: 'http', host: '172.30.0.11', port: 31000, path: '/' });
  });
  it('https (to an ingress address) from the host, port 443 by default', () => {
    expect(parseTraceURL('https://172.30.0.250/a')).toEqual({ scheme: 'https', host: '172.30.0.250', port: 443, path: '/a' });
  });
  it('https from a pod, another scheme, or a name: one-line errors', () => {
    expect(() => parseTraceURL('https://172.30.0.200/', { names: true })).toThrow(TraceError);
    expect(() => parseTraceURL('ftp://172.30.0.200/')).toThrow(/only http:\/\/ and https:\/\//);
    expect(() => parseTraceURL('http://kubia.local/')).toThrow(/IP address/);
  });
});

describe('userspace LB and kube-proxy (relays)', () => {
  it("the LB's log names the node; that node's log entry from the LB closest in time is the relay's", () => {
    const f = base();
    f.url = 'http://172.30.243.200:80/';
    f.host = '172.30.243.200';
    f.port = 80;
    f.client = { ip: '172.30.241.1', port: 24936 };
    f.entry = { kind: 'load-balancer' };
    // the LB's namespace holds the client's connection to its own listener: no DNAT, so not a forward
    const local = 'ipv4     2 tcp      6 119 TIME_WAIT src=172.30.241.1 dst=172.30.243.200 sport=24936 dport=80 packets=6 bytes=398 src=172.30.243.200 dst=172.30.241.1 sport=80 dport=24936 packets=4 bytes=378 [ASSURED] mark=0 delta-time=0 use=1';
    f.lb = { machineIP: '172.30.241.3', mode: 'userspace', conntrack: [local], log: [{ start: 1796182962856, client: '172.30.241.1:24936', endpoint: '172.30.241.12:31215', service: 'default/kubia:/TCP', backendNode: 'node-2', result: 'ok' }], frontend: { backends: [], affinitySeconds: 0, local: false }, checks: [] };
    f.node = {
      name: 'node-2',
      ip: '172.30.241.12',
      mode: 'userspace',
      conntrack: [],
      log: [
        { start: 1796182950000, client: '172.30.241.3:40000', endpoint: '10.244.2.9:8080', service: 'default/kubia:/TCP', result: 'ok' },
        { start: 1796182962857, client: '172.30.241.3:46444', endpoint: '10.244.2.2:8080', service: 'default/kubia:/TCP', result: 'ok' },
      ],
    };
    const t = traceOf(f);
    expect(t.lb?.chosenNode).toBe('node-2');
    expect(t.node).toMatchObject({ clientSeen: '172.30.241.3:46444', endpoint: '10.244.2.2:8080' });
    expect(t.pod?.name).toBe('kubia-n2');
    expect(renderTraceText(t)).toContain('→ load balancer 172.30.243.200:80 (userspace) chose node-2');
  });
});

describe('from a pod (--from pod/NAME)', () => {
  // the pod 10.244.1.3 on node-1 dialled the cluster IP; node-1's kube-proxy DNATed it to the pod on node-2, no SNAT (a pod client)
  const FROM_POD = 'ipv4     2 tcp      6 119 TIME_WAIT src=10.244.1.3 dst=10.102.216.44 sport=24654 dport=80 packets=6 bytes=390 src=10.244.2.2 dst=10.244.1.3 sport=8080 dport=24654 packets=4 bytes=378 [ASSURED] mark=0 delta-time=0 use=1';
  const fromPod = (): TraceFacts => {
    const f = base();
    f.services[0]!.clusterIP = '10.102.216.44';
    f.url = 'http://kubia.default.svc.cluster.local/';
    f.host = '10.102.216.44';
    f.port = 80;
    f.client = { ip: '10.244.1.3', port: 24654 };
    f.entry = { kind: 'pod', namespace: 'default', name: 'client', node: 'node-1', hostname: 'kubia.default.svc.cluster.local' };
    f.node = { name: 'node-1', ip: '172.30.241.11', mode: 'nftables', conntrack: [FROM_POD], log: [] };
    return f;
  };

  it("the cluster IP's Service port, the pod's own node, its DNAT, the pod that answered; the name the pod's DNS resolved", () => {
    const t = traceOf(fromPod());
    expect(t.service).toBe('default/kubia');
    expect(t.node).toMatchObject({ name: 'node-1', via: 'cluster-ip', endpoint: '10.244.2.2:8080', clientSeen: '10.244.1.3:24654' });
    expect(t.pod).toMatchObject({ name: 'kubia-n2', node: 'node-2' });
    expect(t.problems).toEqual([]);
    const text = renderTraceText(t);
    expect(text).toContain('  client pod default/client 10.244.1.3:24654 → 10.102.216.44:80');
    expect(text).toContain("kubia.default.svc.cluster.local resolved to 10.102.216.44 by the pod's DNS");
    expect(text).toContain("→ node node-1 (kube-proxy nftables, the pod's own node): cluster IP 10.102.216.44:80, from 10.244.1.3:24654");
    expect(text).toContain('DNAT 10.102.216.44:80 → 10.244.2.2:8080 (the endpoint chosen)');
    expect(text).toContain('no SNAT: the pod sees 10.244.1.3');
  });

  it('an address that is no cluster IP: a problem line', () => {
    const f = fromPod();
    f.host = '10.244.2.2';
    f.port = 8080;
    f.node!.conntrack = [];
    expect(traceOf(f).problems[0]).toMatch(/^10\.244\.2\.2:8080 is no Service's cluster IP and port/);
  });

  it('names are accepted only from a pod', async () => {
    const { parseTraceURL } = await import('./gather.js');
    expect(parseTraceURL('http://kubia.default.svc.cluster.local/', { names: true })).toEqual({ scheme: 'http', host: 'kubia.default.svc.cluster.local', port: 80, path: '/' });
    expect(() => parseTraceURL('http://kubia.default.svc.cluster.local/')).toThrow(/--from pod\/NAME/);
  });
});
