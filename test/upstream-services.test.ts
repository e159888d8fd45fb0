/**
 * Kubernetes' own Service scenarios (test/e2e/network/service.go, SIGDescribe
 * "Services"), run against kubemu in both proxy modes. Titles are upstream's
 * It() names; steps and assertions follow upstream. What differs:
 *  - pods and Services come from manifests applied with kubectl (the e2e
 *    framework's jig builds the same objects in Go);
 *  - clients are exec'd pods sending probes (helpers/probes.ts) instead of
 *    curl / nc / `agnhost connect`, and every answer is checked for which pod
 *    sent it, not only for being non-empty;
 *  - kubemu has no cluster DNS yet, so Services are reached by cluster IP only
 *    (upstream also tries the Service's DNS name);
 *  - waits are seconds instead of minutes (kube-proxy applies in milliseconds),
 *    and before asserting a failure the test waits until every kube-proxy has
 *    applied the change (NetnsCluster.waitApplied), so a failure that came only
 *    from not-yet-programmed rules cannot pass for the expected one;
 *  - pods upstream places with a Deployment and pod anti-affinity are pinned to
 *    nodes with nodeName.
 * Each test gets its own namespace, deleted afterwards.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';
import { runProbes, type Probe, type ProbeResult } from './helpers/probes.js';

const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.53';
/** Upstream's KubeProxyLagTimeout / ServiceReachabilityShortPollTimeout (2 min), scaled. */
const LAG_MS = 10_000;
/** Consecutive identical answers that show ClientIP affinity holds (upstream's AffinityConfirmCount). */
const AFFINITY_CONFIRM = 130;

type Obj = Record<string, unknown>;

interface PortJ { name?: string; port: number; protocol?: string; nodePort?: number; targetPort?: number | string }
interface SvcJ { metadata: { name: string; resourceVersion: string }; spec: { clusterIP: string; type: string; ports: PortJ[]; healthCheckNodePort?: number } }
interface PodJ { metadata: { name: string }; spec: { nodeName?: string }; status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[] } }
/** How a client reads a server's name: HTTP GET /hostname, a raw TCP read (serve-hostname --tcp), a UDP datagram. */
type Speak = 'http' | 'raw' | 'udp';

interface PodOpts {
  labels?: Record<string, string>;
  node?: number;
  hostNetwork?: boolean;
  args?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  grace?: number;
  container?: Obj;
}

for (const mode of ['nftables', 'userspace'] as const) {
  describe.skipIf(!IS_ROOT)(`Services (Kubernetes e2e test/e2e/network/service.go), ${mode} mode (netns)`, () => {
    const c = new NetnsCluster(3, ['--proxy-mode', mode]);
    const nodeIPs: string[] = [];
    let ns = '';
    let seq = 0;
    /** Exec pods made on demand within one test (upstream makes a fresh one per check). */
    let cached: Record<string, string> = {};

    beforeAll(() => {
      c.up();
      for (let n = 1; n <= 3; n++) nodeIPs[n] = c.nodeIP(n);
    }, 180_000);
    afterAll(() => c.down(), 60_000);
    beforeEach(() => {
      ns = `services-${++seq}`;
      kubectl('create', 'namespace', ns);
      cached = {};
    });
    afterEach(() => {
      c.kubectl(['delete', 'pods', '--all', '-n', ns, '--grace-period=0', '--force']);
      c.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    // ---- objects ------------------------------------------------------------------

    function kubectl(...args: string[]): string {
      const r = c.kubectl(args);
      if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    }
    const k = (...args: string[]) => kubectl(...args, '-n', ns);

    function create(...items: Obj[]): void {
      // JSON documents are YAML: one per object
      const r = c.kubectl(['apply', '-n', ns, '-f', '-'], items.map((o) => JSON.stringify(o)).join('\n---\n'));
      if (r.status !== 0) throw new Error(r.stderr);
    }
    function patchSvc(name: string, patch: Obj): void {
      k('patch', 'svc', name, '--type=merge', '-p', JSON.stringify(patch));
    }
    const svc = (name: string): SvcJ => c.json<SvcJ>(['get', 'svc', name, '-n', ns]);
    const pod = (name: string): PodJ => c.json<PodJ>(['get', 'pod', name, '-n', ns]);
    const applied = (name: string) => c.waitApplied(name, ns);

    function service(name: string, spec: Obj, labels?: Record<string, string>): Obj {
      return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { selector: { app: name }, ...spec } };
    }
    function container(o: PodOpts): Obj {
      return { name: 'agnhost', image: AGNHOST, args: o.args ?? ['pause'], ports: o.ports, ...o.container };
    }
    function podSpec(o: PodOpts): Obj {
      return { nodeName: o.node ? `node-${o.node}` : undefined, hostNetwork: o.hostNetwork, terminationGracePeriodSeconds: o.grace, containers: [container(o)] };
    }
    function agnhostPod(name: string, o: PodOpts = {}): Obj {
      return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: o.labels }, spec: podSpec(o) };
    }
    function rc(name: string, replicas: number, labels: Record<string, string>, o: PodOpts): Obj {
      return { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name }, spec: { replicas, selector: labels, template: { metadata: { labels }, spec: podSpec(o) } } };
    }

    const isReady = (p: PodJ) => p.status.phase === 'Running' && !!p.status.podIP && !!p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
    async function ready(...names: string[]): Promise<PodJ[]> {
      return until(`pods ${names.join(', ')} ready`, () => {
        const pods = names.map(pod);
        return pods.every(isReady) && pods;
      }, 60_000);
    }
    async function running(selector: string, count: number): Promise<PodJ[]> {
      return until(`${count} running pods ${selector}`, () => {
        const pods = c.json<{ items: PodJ[] }>(['get', 'pods', '-n', ns, '-l', selector]).items;
        return pods.length === count && pods.every((p) => p.status.phase === 'Running' && p.status.podIP) && pods;
      }, 60_000);
    }
    /** An agnhost pause pod to run clients from (upstream's CreateExecPodOrFail / launchHostExecPod). */
    async function execPod(name: string, o: PodOpts = {}): Promise<string> {
      if (!cached[name]) {
        create(agnhostPod(name, o));
        await ready(name);
        cached[name] = name;
      }
      return name;
    }
    async function deletePod(name: string): Promise<void> {
      k('delete', 'pod', name, '--wait=false');
      await until(`pod ${name} gone`, () => !c.json<{ items: PodJ[] }>(['get', 'pods', '-n', ns]).items.some((p) => p.metadata.name === name), 60_000);
    }

    /**
     * validateEndpointsPortsOrFail: waits until both the Endpoints and the
     * EndpointSlices of `name` list exactly these pods with these ports
     * (`80` means 80/TCP, or give `"80/UDP"`).
     */
    async function expectEndpoints(name: string, want: Record<string, (number | string)[]>): Promise<void> {
      const norm = (m: Record<string, (number | string)[]>) =>
        JSON.stringify(Object.fromEntries(Object.entries(m).map(([p, ports]) => [p, ports.map((x) => (typeof x === 'number' ? `${x}/TCP` : x)).sort()]).sort()));
      type Ep = { subsets?: { addresses?: { targetRef?: { name: string } }[]; ports?: { port: number; protocol?: string }[] }[] };
      type Slices = { items: { endpoints?: { targetRef?: { name: string } }[]; ports?: { port: number; protocol?: string }[] }[] };
      let seen = '';
      await until(`endpoints of ${name} = ${norm(want)}`, () => {
        const fromEp: Record<string, string[]> = {};
        for (const s of c.json<Ep>(['get', 'endpoints', name, '-n', ns]).subsets ?? []) {
          for (const a of s.addresses ?? []) for (const p of s.ports ?? []) (fromEp[a.targetRef!.name] ??= []).push(`${p.port}/${p.protocol ?? 'TCP'}`);
        }
        const fromSlices: Record<string, string[]> = {};
        for (const s of c.json<Slices>(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name}`]).items) {
          for (const e of s.endpoints ?? []) for (const p of s.ports ?? []) (fromSlices[e.targetRef!.name] ??= []).push(`${p.port}/${p.protocol ?? 'TCP'}`);
        }
        seen = `Endpoints ${norm(fromEp)}, EndpointSlices ${norm(fromSlices)}`;
        return norm(fromEp) === norm(want) && norm(fromSlices) === norm(want);
      }, 15_000).catch((e) => {
        throw new Error(`${(e as Error).message}; last seen ${seen}`);
      });
    }

    // ---- traffic ------------------------------------------------------------------

    /** Runs `probes` from pod `from`, a few dozen per exec (the batch travels in the exec request's URL). */
    async function probe(from: string, probes: Probe[]): Promise<ProbeResult[]> {
      const out: ProbeResult[] = [];
      for (let i = 0; i < probes.length; i += 30) out.push(...(await runProbes({ kind: 'pod', kubeconfig: c.kubeconfig, pod: from, namespace: ns }, probes.slice(i, i + 30))));
      return out;
    }
    function ask(speak: Speak, host: string, port: number, timeoutMs = 2000, path = '/hostname'): Probe {
      if (speak === 'udp') return { id: `udp ${host}:${port}`, proto: 'udp', host, port, send: 'hostname', timeoutMs };
      return { id: `${speak} ${host}:${port}${path}`, proto: 'tcp', raw: speak === 'raw', host, port, path, timeoutMs };
    }
    async function once(from: string, p: Probe): Promise<ProbeResult> {
      return (await probe(from, [p]))[0]!;
    }
    const said = (r: ProbeResult) => (r.body !== undefined ? r.body.trim() || '(empty)' : `error ${r.err}`);

    /** testEndpointReachability: polls until `from` gets an answer from one of `backends`. */
    async function reach(from: string, speak: Speak, host: string, port: number, backends: string[]): Promise<void> {
      let last = '';
      await until(`${from} → ${speak} ${host}:${port} answered by one of ${backends.join(', ')}`, async () => {
        last = said(await once(from, ask(speak, host, port)));
        return backends.includes(last);
      }, LAG_MS).catch((e) => {
        throw new Error(`${(e as Error).message}; last answer: ${last}`);
      });
    }
    /** Polls until a request from `from` fails (upstream: "Eventually(...).ShouldNot(BeNil())"). */
    async function unreachable(from: string, speak: Speak, host: string, port: number): Promise<string> {
      let last = '';
      await until(`${from} → ${speak} ${host}:${port} failing`, async () => {
        const r = await once(from, ask(speak, host, port));
        last = said(r);
        return r.err !== undefined;
      }, LAG_MS).catch((e) => {
        throw new Error(`${(e as Error).message}; last answer: ${last}`);
      });
      return last;
    }

    /**
     * CheckServiceReachability: every port of the Service answers (from one of
     * `backends`) on the cluster IP and, for NodePort Services, on the node port
     * of two nodes. TCP ports are spoken to as `tcp` (http or raw).
     */
    async function checkServiceReachability(name: string, from: string, backends: string[], tcp: Speak = 'http', ports?: PortJ[]): Promise<void> {
      const s = svc(name);
      for (const p of ports ?? s.spec.ports) {
        const speak = p.protocol === 'UDP' ? 'udp' : tcp;
        await reach(from, speak, s.spec.clusterIP, p.port, backends);
        if (s.spec.type === 'NodePort') for (const n of [1, 2]) await reach(from, speak, nodeIPs[n]!, p.nodePort!, backends);
      }
    }

    /** execHostnameTest: GET /hostname from `from` until it answers (like upstream, retrying errors), then it must be `want`. */
    async function hostnameTest(from: string, host: string, port: number, want: string): Promise<void> {
      const r = await until(`an answer to ${from} from ${host}:${port}`, async () => {
        const x = await once(from, ask('http', host, port));
        return x.body?.trim() ? x : undefined;
      }, LAG_MS);
      expect(r.body!.trim(), `${from} → ${host}:${port}/hostname`).toBe(want);
    }
    /** curl --connect-timeout 5 … must fail; a Local policy without a local endpoint drops (times out). */
    async function expectDropped(from: string, host: string, port: number): Promise<void> {
      const r = await once(from, ask('http', host, port, 2000));
      expect(said(r), `${from} → ${host}:${port} should be dropped`).toBe('error timeout');
    }

    // ---- serve-hostname Services (StartServeHostnameService and friends) -----------

    const serveHostnameService = (name: string, spec: Obj = {}, labels?: Record<string, string>) =>
      service(name, { ports: [{ port: 80, targetPort: 9376, protocol: 'TCP' }], ...spec }, labels);

    /** Creates the Service, then an RC of `replicas` serve-hostname pods behind it; returns the pod names and the cluster IP. */
    async function startServeHostnameService(svcObj: Obj, replicas: number): Promise<{ pods: string[]; ip: string }> {
      const name = (svcObj.metadata as { name: string }).name;
      create(svcObj);
      create(rc(name, replicas, { app: name }, { container: { command: ['/agnhost', 'serve-hostname'], args: undefined } }));
      const pods = await running(`app=${name}`, replicas);
      return { pods: pods.map((p) => p.metadata.name).sort(), ip: svc(name).spec.clusterIP };
    }
    async function stopServeHostnameService(name: string): Promise<void> {
      k('delete', 'rc', name);
      await until(`pods of ${name} gone`, () => c.json<{ items: unknown[] }>(['get', 'pods', '-n', ns, '-l', `app=${name}`]).items.length === 0, 60_000);
      k('delete', 'svc', name);
    }
    /** From a hostNetwork exec pod and from a pod-network exec pod, 50 requests per pod reach exactly `pods`. */
    async function verifyServeHostnameServiceUp(pods: string[], ip: string, port: number): Promise<void> {
      const clients = [await execPod('verify-service-up-host-exec-pod', { hostNetwork: true }), await execPod('verify-service-up-exec-pod')];
      for (const from of clients) {
        const got = new Set<string>();
        await until(`${from} reaching all of ${pods.join(', ')} via ${ip}:${port}`, async () => {
          const res = await probe(from, Array.from({ length: 50 * pods.length }, (_, i) => ({ ...ask('http', ip, port, 1000, '/'), id: `#${i}` })));
          for (const r of res) if (r.body !== undefined) got.add(r.body.trim());
          return pods.every((p) => got.has(p));
        }, LAG_MS);
        expect([...got].sort(), `answers to ${from} via ${ip}:${port}`).toEqual(pods);
      }
    }
    /** From a hostNetwork exec pod, a request to the Service fails. */
    async function verifyServeHostnameServiceDown(ip: string, port: number): Promise<void> {
      await unreachable(await execPod('verify-service-down-host-exec-pod', { hostNetwork: true }), 'http', ip, port);
    }

    // ---- endpoints ---------------------------------------------------------------

    it('should serve a basic endpoint from pods', async () => {
      create(service('endpoint-test2', { ports: [{ port: 80, targetPort: 80 }] }));
      await expectEndpoints('endpoint-test2', {});
      const labels = { app: 'endpoint-test2' };
      const netexec = (name: string) => agnhostPod(name, { labels, ports: [{ containerPort: 80 }], args: ['netexec', '--http-port', '80'] });

      create(netexec('pod1'));
      await expectEndpoints('endpoint-test2', { pod1: [80] });
      const exec = await execPod('execpod');
      await checkServiceReachability('endpoint-test2', exec, ['pod1']);

      create(netexec('pod2'));
      await expectEndpoints('endpoint-test2', { pod1: [80], pod2: [80] });
      await checkServiceReachability('endpoint-test2', exec, ['pod1', 'pod2']);

      await deletePod('pod1');
      await expectEndpoints('endpoint-test2', { pod2: [80] });
      await applied('endpoint-test2');
      await checkServiceReachability('endpoint-test2', exec, ['pod2']);

      await deletePod('pod2');
      await expectEndpoints('endpoint-test2', {});
    });

    /** Pods serving netexec on a port named `svc1` (100) or `svc2` (101), as the multi-port tests make them. */
    const namedPortPod = (name: string, app: string, portName: string, port: number) =>
      agnhostPod(name, { labels: { app }, ports: [{ name: portName, containerPort: port }], args: ['netexec', '--http-port', String(port)] });
    const PORT1 = { name: 'portname1', port: 80, targetPort: 'svc1' };
    const PORT2 = { name: 'portname2', port: 81, targetPort: 'svc2' };

    it('should serve multiport endpoints from pods', async () => {
      create(service('multi-endpoint-test', { ports: [PORT1, PORT2] }));
      await expectEndpoints('multi-endpoint-test', {});

      create(namedPortPod('pod1', 'multi-endpoint-test', 'svc1', 100));
      await expectEndpoints('multi-endpoint-test', { pod1: [100] });
      create(namedPortPod('pod2', 'multi-endpoint-test', 'svc2', 101));
      await expectEndpoints('multi-endpoint-test', { pod1: [100], pod2: [101] });

      // each Service port reaches the one pod that has its named port
      const exec = await execPod('execpod');
      const [p80, p81] = svc('multi-endpoint-test').spec.ports;
      await checkServiceReachability('multi-endpoint-test', exec, ['pod1'], 'http', [p80!]);
      await checkServiceReachability('multi-endpoint-test', exec, ['pod2'], 'http', [p81!]);

      await deletePod('pod1');
      await expectEndpoints('multi-endpoint-test', { pod2: [101] });
      await deletePod('pod2');
      await expectEndpoints('multi-endpoint-test', {});
    });

    it('should be updated after adding or deleting ports', async () => {
      create(service('edit-port-test', { ports: [PORT1] }));
      await expectEndpoints('edit-port-test', {});
      create(namedPortPod('pod1', 'edit-port-test', 'svc1', 100));
      await expectEndpoints('edit-port-test', { pod1: [100] });
      const exec = await execPod('execpod');
      await checkServiceReachability('edit-port-test', exec, ['pod1']);

      // adding a port, and a pod for it
      patchSvc('edit-port-test', { spec: { ports: [PORT1, PORT2] } });
      create(namedPortPod('pod2', 'edit-port-test', 'svc2', 101));
      await expectEndpoints('edit-port-test', { pod1: [100], pod2: [101] });
      const [p80, p81] = svc('edit-port-test').spec.ports;
      await checkServiceReachability('edit-port-test', exec, ['pod1'], 'http', [p80!]);
      await checkServiceReachability('edit-port-test', exec, ['pod2'], 'http', [p81!]);

      // deleting it: pod2 drops out of the endpoints, port 80 still reaches pod1
      patchSvc('edit-port-test', { spec: { ports: [PORT1] } });
      await expectEndpoints('edit-port-test', { pod1: [100] });
      await checkServiceReachability('edit-port-test', exec, ['pod1']);
    });

    // ---- source IP, hairpin --------------------------------------------------------

    it.skipIf(mode === 'userspace')('should preserve source pod IP for traffic thru service cluster IP [LinuxOnly]', async () => {
      // (upstream skips userspace mode too: there the proxy connects from the node)
      create(service('sourceip-test', { ports: [{ port: 8080, targetPort: 8080 }] }));
      create(agnhostPod('echo-sourceip', { labels: { app: 'sourceip-test' }, args: ['netexec', '--http-port', '8080'] }));
      await ready('echo-sourceip');
      await expectEndpoints('sourceip-test', { 'echo-sourceip': [8080] });
      // upstream: a 2-replica Deployment of pause pods with pod anti-affinity, one per node
      const pausePods = [await execPod('pause-pod-1', { node: 1 }), await execPod('pause-pod-2', { node: 2 })];
      expect(pod(pausePods[0]!).spec.nodeName).not.toBe(pod(pausePods[1]!).spec.nodeName);
      const ip = svc('sourceip-test').spec.clusterIP;
      for (const from of pausePods) {
        const r = await until(`${from} → ${ip}:8080/clientip`, async () => (await once(from, ask('http', ip, 8080, 2000, '/clientip'))).body?.trim(), LAG_MS);
        const [sourceIP] = r.split(':');
        expect(sourceIP, `source IP seen for ${from}`).toBe(pod(from).status.podIP);
      }
    });

    it('should allow pods to hairpin back to themselves through services', async () => {
      create(service('hairpin-test', { ports: [{ port: 8080, targetPort: 8080 }] }));
      create(agnhostPod('hairpin', { labels: { app: 'hairpin-test' }, args: ['netexec', '--http-port', '8080'] }));
      await ready('hairpin');
      await expectEndpoints('hairpin-test', { hairpin: [8080] });
      await checkServiceReachability('hairpin-test', 'hairpin', ['hairpin']);
    });

    // ---- Service lifecycle ---------------------------------------------------------

    it('should be able to up and down services', async () => {
      const s1 = await startServeHostnameService(serveHostnameService('up-down-1'), 3);
      const s2 = await startServeHostnameService(serveHostnameService('up-down-2'), 3);
      await verifyServeHostnameServiceUp(s1.pods, s1.ip, 80);
      await verifyServeHostnameServiceUp(s2.pods, s2.ip, 80);

      await stopServeHostnameService('up-down-1');
      await verifyServeHostnameServiceDown(s1.ip, 80);
      await verifyServeHostnameServiceUp(s2.pods, s2.ip, 80);

      const s3 = await startServeHostnameService(serveHostnameService('up-down-3'), 3);
      expect(s3.ip, 'service IPs conflict').not.toBe(s2.ip);
      await verifyServeHostnameServiceUp(s2.pods, s2.ip, 80);
      await verifyServeHostnameServiceUp(s3.pods, s3.ip, 80);
    });

    it('should work after the service has been recreated', async () => {
      const { pods, ip } = await startServeHostnameService(serveHostnameService('service-deletion'), 1);
      await verifyServeHostnameServiceUp(pods, ip, 80);
      k('delete', 'svc', 'service-deletion');
      await until('service-deletion gone', () => c.kubectl(['get', 'svc', 'service-deletion', '-n', ns]).stderr.includes('NotFound'), LAG_MS);
      create(serveHostnameService('service-deletion'));
      await verifyServeHostnameServiceUp(pods, svc('service-deletion').spec.clusterIP, 80);
    });

    // ---- NodePort ------------------------------------------------------------------

    /** The jig's CreateServicePods: an RC of serve-hostname pods answering raw TCP and UDP on 9376. */
    async function createServicePods(name: string, replicas: number): Promise<string[]> {
      create(rc(name, replicas, { app: name }, { container: { command: ['/agnhost', 'serve-hostname', '--http=false', '--tcp', '--udp'], args: undefined } }));
      return (await running(`app=${name}`, replicas)).map((p) => p.metadata.name);
    }

    it('should be able to create a functioning NodePort service', async () => {
      create(service('nodeport-test', { type: 'NodePort', ports: [{ port: 80, name: 'http', protocol: 'TCP', targetPort: 9376 }] }));
      const pods = await createServicePods('nodeport-test', 2);
      await checkServiceReachability('nodeport-test', await execPod('execpod'), pods, 'raw');
    });

    it('should be able to update service type to NodePort listening on same port number but different protocols', async () => {
      create(service('nodeport-update-service', { ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] }));
      expect(svc('nodeport-update-service').spec.type).toBe('ClusterIP');
      const tcpPort = { name: 'tcp-port', port: 80, protocol: 'TCP', targetPort: 9376 };
      patchSvc('nodeport-update-service', { spec: { type: 'NodePort', ports: [tcpPort] } });
      const pods = await createServicePods('nodeport-update-service', 2);
      const exec = await execPod('execpod');
      await checkServiceReachability('nodeport-update-service', exec, pods, 'raw');

      patchSvc('nodeport-update-service', { spec: { type: 'NodePort', ports: [tcpPort, { ...tcpPort, name: 'udp-port', protocol: 'UDP' }] } });
      await checkServiceReachability('nodeport-update-service', exec, pods, 'raw');
      const ports = svc('nodeport-update-service').spec.ports;
      expect(ports, 'updated service should have two ports').toHaveLength(2);
      for (const p of ports) expect(p.nodePort, `node port of ${p.name}`).toBeGreaterThan(0);
    });

    // ---- session affinity ------------------------------------------------------------

    /**
     * checkAffinity: sends batches of requests until the last AFFINITY_CONFIRM
     * answers all came from one pod (shouldHold) or not (!shouldHold).
     */
    async function checkAffinity(from: string, host: string, port: number, shouldHold: boolean): Promise<void> {
      const trace: string[] = [];
      const verdict = () => {
        const last = trace.slice(-AFFINITY_CONFIRM);
        return { fulfilled: last.length >= AFFINITY_CONFIRM, holds: last.every((h) => h === last[last.length - 1]) };
      };
      await until(`affinity ${shouldHold ? 'holding' : 'not holding'} for ${from} → ${host}:${port}`, async () => {
        const res = await probe(from, Array.from({ length: AFFINITY_CONFIRM }, (_, i) => ({ ...ask('http', host, port, 2000, '/'), id: `#${i}` })));
        for (const r of res) if (r.body?.trim()) trace.push(r.body.trim());
        const { fulfilled, holds } = verdict();
        return fulfilled && holds === shouldHold;
      }, 30_000).catch((e) => {
        throw new Error(`${(e as Error).message}; last answers: ${trace.slice(-AFFINITY_CONFIRM).join(',')}`);
      });
    }

    /** The common start of the affinity tests: a ClientIP Service of 3 serve-hostname pods, where to reach it, an exec pod. */
    async function affinitySetup(name: string, type: string, affinityConfig?: Obj) {
      const { pods } = await startServeHostnameService(serveHostnameService(name, { type, sessionAffinity: 'ClientIP', sessionAffinityConfig: affinityConfig }), 3);
      const s = svc(name);
      const [host, port] = type === 'NodePort' ? [nodeIPs[1]!, s.spec.ports[0]!.nodePort!] : [s.spec.clusterIP, 80];
      const exec = await execPod('execpod-affinity');
      await checkServiceReachability(name, exec, pods);
      return { host, port, exec };
    }

    for (const [type, titled, key] of [['ClusterIP', 'service with type clusterIP', 'clusterip'], ['NodePort', 'NodePort service', 'nodeport']] as const) {
      it(`should have session affinity work for ${titled} [LinuxOnly]`, async () => {
        const { host, port, exec } = await affinitySetup(`affinity-${key}`, type);
        await checkAffinity(exec, host, port, true);
      });

      it(`should have session affinity timeout work for ${titled} [LinuxOnly]`, async () => {
        const timeoutSeconds = 10;
        const { host, port, exec } = await affinitySetup(`affinity-${key}-timeout`, type, { clientIP: { timeoutSeconds } });
        await checkAffinity(exec, host, port, true);
        // after the timeout without traffic, a new connection may land elsewhere: try a few times
        const hosts = new Set<string>();
        for (let i = 0; i < 10; i++) {
          const r = await once(exec, ask('http', host, port, 2000, '/'));
          if (r.body?.trim()) hosts.add(r.body.trim());
          if (hosts.size > 1) return;
          await new Promise((res) => setTimeout(res, (timeoutSeconds + 1) * 1000));
        }
        expect.fail(`session is sticky after reaching the timeout: ${[...hosts].join(',')}`);
      }, 240_000);

      it(`should be able to switch session affinity for ${titled} [LinuxOnly]`, async () => {
        const name = `affinity-${key}-transition`;
        const { host, port, exec } = await affinitySetup(name, type);
        patchSvc(name, { spec: { sessionAffinity: 'None' } });
        await checkAffinity(exec, host, port, false);
        patchSvc(name, { spec: { sessionAffinity: 'ClientIP' } });
        await checkAffinity(exec, host, port, true);
      });
    }

    // ---- no endpoints, traffic policies ----------------------------------------------

    it('should be rejected when no endpoints exist', async () => {
      create(service('no-pods', { ports: [{ port: 80, targetPort: 80 }] }));
      const exec = await execPod('execpod-noendpoints', { node: 1 });
      await applied('no-pods');
      const ip = svc('no-pods').spec.clusterIP;
      // upstream: `agnhost connect --timeout=3s` must say REFUSED (not a timeout)
      let last = '';
      await until('a refusal', async () => {
        const r = await once(exec, ask('http', ip, 80, 3000));
        expect(r.body, 'expected connect call to fail').toBeUndefined();
        last = said(r);
        return r.err === 'ECONNREFUSED';
      }, LAG_MS).catch((e) => {
        throw new Error(`${(e as Error).message}; last: ${last}`);
      });
    });

    /** The pods of the traffic-policy tests: one netexec server on node-1 and a client on node-1 and on node-2. */
    async function policySetup(name: string, spec: Obj, server: PodOpts, clients: PodOpts = {}) {
      create(service(name, spec));
      create(agnhostPod('echo-hostname-0', { labels: { app: name }, node: 1, ...server }));
      await ready('echo-hostname-0');
      const ports = (spec.ports as { targetPort: number }[]).map((p) => p.targetPort);
      await expectEndpoints(name, { 'echo-hostname-0': ports });
      const pause0 = await execPod('pause-pod-0', { node: 1, ...clients });
      const pause1 = await execPod('pause-pod-1', { node: 2, ...clients });
      await applied(name);
      return { s: svc(name), pause0, pause1 };
    }
    const httpPort = (port: number, targetPort = port) => ({ port, name: 'http', protocol: 'TCP', targetPort });

    for (const [title, hostNetworkClients] of [['Pod to Pod', false], ['Pod (hostNetwork: true) to Pod', true]] as const) {
      it(`should respect internalTrafficPolicy=Local ${title}`, async () => {
        const port = hostNetworkClients ? 8000 : 80;
        const { s, pause0, pause1 } = await policySetup('svc-itp', { internalTrafficPolicy: 'Local', ports: [httpPort(port)] }, { args: ['netexec', '--http-port', String(port)] }, { hostNetwork: hostNetworkClients });
        for (let i = 0; i < 5; i++) {
          await hostnameTest(pause0, s.spec.clusterIP, port, 'echo-hostname-0');
          await expectDropped(pause1, s.spec.clusterIP, port);
        }
      });
    }

    it('should respect internalTrafficPolicy=Local Pod and Node, to Pod (hostNetwork: true)', async () => {
      const endpointPort = 10180;
      const server = { hostNetwork: true, args: ['netexec', '--http-port', String(endpointPort), '--udp-port', String(endpointPort)] };
      const { s, pause0, pause1 } = await policySetup('svc-itp', { internalTrafficPolicy: 'Local', ports: [httpPort(80, endpointPort)] }, server);
      // the endpoint runs in node-1's network: it answers with the node's name
      for (let i = 0; i < 5; i++) {
        await hostnameTest(pause0, s.spec.clusterIP, 80, 'node-1');
        await expectDropped(pause1, s.spec.clusterIP, 80);
      }
      const pause2 = await execPod('pause-pod-2', { node: 1, hostNetwork: true });
      const pause3 = await execPod('pause-pod-3', { node: 2, hostNetwork: true });
      for (let i = 0; i < 5; i++) {
        await hostnameTest(pause2, s.spec.clusterIP, 80, 'node-1');
        await expectDropped(pause3, s.spec.clusterIP, 80);
      }
    });

    // ---- terminating endpoints -------------------------------------------------------

    /** A netexec server that keeps serving for 100 s after SIGTERM, with the grace period to match. */
    const slowTerminating: PodOpts = { args: ['netexec', '--http-port', '80', '--delay-shutdown', '100'], grace: 100 };

    /** Deletes the only endpoint pod and waits until every kube-proxy has applied its terminating slice. */
    async function terminate(svcName: string): Promise<void> {
      k('delete', 'pod', 'echo-hostname-0', '--wait=false');
      type Slices = { items: { endpoints?: { conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }[] }[] };
      await until('the endpoint serving and terminating, not ready', () => {
        const eps = c.json<Slices>(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${svcName}`]).items.flatMap((x) => x.endpoints ?? []);
        return eps.length === 1 && eps[0]!.conditions?.terminating === true && eps[0]!.conditions.serving === true && eps[0]!.conditions.ready === false;
      }, LAG_MS);
      await applied(svcName);
    }
    /** Five rounds a second apart (upstream: five rounds 5 s apart). */
    async function rounds(check: () => Promise<void>): Promise<void> {
      for (let i = 0; i < 5; i++) {
        await check();
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const nodePort = (s: SvcJ) => s.spec.ports[0]!.nodePort!;

    it('should fail health check node port if there are only terminating endpoints', async () => {
      const { s, pause0 } = await policySetup('svc-proxy-terminating', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [httpPort(80)] }, slowTerminating);
      const hc = `http://${nodeIPs[1]}:${s.spec.healthCheckNodePort}/healthz`;
      const healthz = async (want: number) => {
        let last = '';
        await until(`${hc} answering ${want}`, async () => {
          const r = await once(pause0, { id: hc, proto: 'tcp', host: nodeIPs[1]!, port: s.spec.healthCheckNodePort!, path: '/healthz', timeoutMs: 2000 });
          last = r.status !== undefined ? String(r.status) : `error ${r.err}`;
          return r.status === want;
        }, LAG_MS).catch((e) => {
          throw new Error(`${(e as Error).message}; last: ${last}`);
        });
      };
      expect(s.spec.healthCheckNodePort).toBeGreaterThan(0);
      await healthz(200);
      await terminate('svc-proxy-terminating');
      await healthz(503);
      // while the health check says 0 local endpoints, the terminating one still serves
      await hostnameTest(pause0, nodeIPs[1]!, nodePort(s), 'echo-hostname-0');
    });

    it('should fallback to terminating endpoints when there are no ready endpoints with internalTrafficPolicy=Cluster', async () => {
      const { s, pause0, pause1 } = await policySetup('svc-proxy-terminating', { ports: [httpPort(80)] }, slowTerminating);
      await terminate('svc-proxy-terminating');
      await rounds(async () => {
        await hostnameTest(pause0, s.spec.clusterIP, 80, 'echo-hostname-0');
        await hostnameTest(pause1, s.spec.clusterIP, 80, 'echo-hostname-0');
      });
    });

    it('should fallback to local terminating endpoints when there are no ready endpoints with internalTrafficPolicy=Local', async () => {
      const { s, pause0, pause1 } = await policySetup('svc-proxy-terminating', { internalTrafficPolicy: 'Local', ports: [httpPort(80)] }, slowTerminating);
      await terminate('svc-proxy-terminating');
      await rounds(async () => {
        await hostnameTest(pause0, s.spec.clusterIP, 80, 'echo-hostname-0');
        await expectDropped(pause1, s.spec.clusterIP, 80);
      });
    });

    // (upstream's title spells "externallTrafficPolicy")
    it('should fallback to terminating endpoints when there are no ready endpoints with externallTrafficPolicy=Cluster', async () => {
      const { s, pause0, pause1 } = await policySetup('svc-proxy-terminating', { type: 'NodePort', ports: [httpPort(80)] }, slowTerminating);
      await terminate('svc-proxy-terminating');
      await rounds(async () => {
        await hostnameTest(pause0, nodeIPs[1]!, nodePort(s), 'echo-hostname-0');
        await hostnameTest(pause1, nodeIPs[1]!, nodePort(s), 'echo-hostname-0');
      });
    });

    it('should fallback to local terminating endpoints when there are no ready endpoints with externalTrafficPolicy=Local', async () => {
      const { s, pause0, pause1 } = await policySetup('svc-proxy-terminating', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [httpPort(80)] }, slowTerminating);
      await terminate('svc-proxy-terminating');
      await rounds(async () => {
        // node-2 has no local endpoint: external traffic there is dropped; node-1 serves its terminating one
        await expectDropped(pause0, nodeIPs[2]!, nodePort(s));
        await hostnameTest(pause0, nodeIPs[1]!, nodePort(s), 'echo-hostname-0');
        await hostnameTest(pause1, nodeIPs[1]!, nodePort(s), 'echo-hostname-0');
      });
    });

    // ---- not-ready endpoints ---------------------------------------------------------

    it('should create endpoints for unready pods', async () => {
      const name = 'tolerate-unready';
      const rcName = 'slow-terminating-unready-pod';
      create(service(name, { selector: { app: rcName }, publishNotReadyAddresses: true, ports: [{ name: 'http', port: 80, targetPort: 80 }] }));
      create(rc(rcName, 1, { app: rcName }, {
        args: ['netexec', '--http-port=80'],
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        grace: 600,
        container: { readinessProbe: { exec: { command: ['/bin/false'] } }, lifecycle: { preStop: { exec: { command: ['/bin/sleep', '600'] } } } },
      }));
      const [unready] = await running(`app=${rcName}`, 1);
      const exec = await execPod('execpod');
      const ip = svc(name).spec.clusterIP;
      const answered = (why: string) => reach(exec, 'http', ip, 80, [unready!.metadata.name]).catch((e) => {
        throw new Error(`${why}: ${(e as Error).message}`);
      });
      await answered('expected un-ready endpoint for the Service');

      k('scale', 'rc', rcName, '--replicas=0');
      patchSvc(name, { spec: { publishNotReadyAddresses: false } });
      await applied(name);
      await unreachable(exec, 'http', ip, 80);

      patchSvc(name, { spec: { publishNotReadyAddresses: true } });
      await answered('expected the terminating pod to be reachable through the Service again');
    });

    // ---- Services kube-proxy must ignore -----------------------------------------------

    for (const [label, disabledName, toggledName] of [
      ['service.kubernetes.io/service-proxy-name', 'service-proxy-disabled', 'service-proxy-toggled'],
      ['service.kubernetes.io/headless', 'service-headless', 'service-headless-toggled'],
    ] as const) {
      it(`should implement ${label}`, async () => {
        const labels = { [label]: label.endsWith('headless') ? '' : 'foo-bar' };
        const disabled = await startServeHostnameService(serveHostnameService(disabledName, {}, labels), 3);
        const toggled = await startServeHostnameService(serveHostnameService(toggledName), 3);
        await verifyServeHostnameServiceUp(toggled.pods, toggled.ip, 80);
        await verifyServeHostnameServiceDown(disabled.ip, 80);

        patchSvc(toggledName, { metadata: { labels } });
        await verifyServeHostnameServiceDown(toggled.ip, 80);

        patchSvc(toggledName, { metadata: { labels: { [label]: null } } });
        await verifyServeHostnameServiceUp(toggled.pods, toggled.ip, 80);
        await verifyServeHostnameServiceDown(disabled.ip, 80);
      });
    }

    // ---- protocols ---------------------------------------------------------------------

    it('should serve endpoints on same port and different protocols', async () => {
      const name = 'multiprotocol-test';
      const tcp = { name: 'tcp-port', port: 80, targetPort: 80, protocol: 'TCP' };
      const udp = { name: 'udp-port', port: 80, targetPort: 80, protocol: 'UDP' };
      create(service(name, { ports: [tcp, udp] }, { app: name }));
      create(agnhostPod('pod1', {
        labels: { app: name },
        ports: [{ name: 'tcp-port', containerPort: 80, protocol: 'TCP' }, { name: 'udp-port', containerPort: 80, protocol: 'UDP' }],
        args: ['netexec', '--http-port', '80', '--udp-port', '80'],
      }));
      await expectEndpoints(name, { pod1: ['80/TCP', '80/UDP'] });
      const exec = await execPod('execpod');
      const ip = svc(name).spec.clusterIP;
      await reach(exec, 'http', ip, 80, ['pod1']);
      await reach(exec, 'udp', ip, 80, ['pod1']);

      // TCP only: TCP still answers, UDP stops
      patchSvc(name, { spec: { ports: [tcp] } });
      await reach(exec, 'http', ip, 80, ['pod1']);
      await unreachable(exec, 'udp', ip, 80);

      // UDP only: the other way round
      patchSvc(name, { spec: { ports: [udp] } });
      await reach(exec, 'udp', ip, 80, ['pod1']);
      await unreachable(exec, 'http', ip, 80);
    });
  });
}
