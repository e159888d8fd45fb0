/**
 * The node agent (kubelet's job): registers its Node, heartbeats, watches the
 * pods bound to it and runs each in a PodWorker, reports their status, and
 * cleans up sandboxes no pod owns (after a restart or a crash).
 */
import os from 'node:os';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { AgentClient, AgentEventSink } from '@kubemu/agent-client';
import { statSync } from 'node:fs';
import { UsageSampler, type ContainerRef } from './metrics/usage-sampler.js';

const nsInodeOf = (path: string): number => {
  try {
    return statSync(path).ino;
  } catch {
    return 0;
  }
};
import { isApiError, type KubeObject, type Node, type Pod, type PodStatus, type Service, type ServiceAccount, type TokenRequest, metaTime } from '@kubemu/api';
import { DEFAULT_CLUSTER_DOMAIN } from './pod-files/pod-dns.js';
import type { PodFilesSettings } from './pod-files/pod-files.js';
import type { TokenFetcher } from './pod-files/service-account-volume.js';
import { PodSandbox } from './sandbox/pod-sandbox.js';
import { PodIPAllocator } from './ipam.js';
import { PodWorker } from './pod-worker.js';
import { serviceEnv } from './service-env.js';
import { serveExec, serveLogs, type FindWorker } from './pod-streams.js';

export interface NodeAgentOptions {
  cluster: string;
  nodeName: string;
  /** The node's netns name (the agent runs inside it). */
  nodeNs: string;
  nodeIP: string;
  podCIDR: string;
  server: string;
  token: string;
  /** The cluster CA: trusted for the API server, and every pod's service account ca.crt. */
  ca?: string;
  /** kubelet --cluster-dns: the nameservers of ClusterFirst pods (cluster DNS's Service IP). */
  clusterDNS?: string[];
  /** kubelet --cluster-domain (default cluster.local). */
  clusterDomain?: string;
  /** kubelet --resolv-conf: the node's resolver, for Default pods (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Where pod state (/tmp, /var, logs) lives: /run/kubemu/<cluster>/<node>. */
  stateRoot: string;
  /** packages/workloads/dist/main.js */
  workloadsEntry: string;
  heartbeatMs?: number;
  /** How often CPU and memory are reported for `kubectl top` (default 15 s, as metrics-server's resolution). */
  metricsIntervalMs?: number;
  log: Logger;
  kubeletVersion?: string;
}

export class NodeAgent {
  readonly opts: NodeAgentOptions;
  readonly client: AgentClient;
  readonly #log: Logger;
  readonly #ipam: PodIPAllocator;
  readonly #workers = new Map<string, PodWorker>();
  readonly #pods = new Map<string, Pod>();
  readonly #services = new Map<string, Service>();
  readonly #events: AgentEventSink;
  #heartbeat?: NodeJS.Timeout;
  #metricsTimer?: NodeJS.Timeout;
  readonly #usage = new UsageSampler();
  #stops: (() => void)[] = [];
  #sandboxesChecked = false;
  #existing = new Map<string, { podIP: string }>();
  readonly #desired = new Map<string, PodStatus>();
  readonly #sending = new Set<string>();

  constructor(opts: NodeAgentOptions) {
    this.opts = opts;
    this.#log = opts.log;
    this.#ipam = new PodIPAllocator(opts.podCIDR);
    this.client = new AgentClient({ server: opts.server, token: opts.token, ca: opts.ca, agentName: `node-agent/${opts.nodeName}` });
    this.#events = new AgentEventSink(this.client, { component: 'kubelet', node: opts.nodeName, defaultKind: 'Pod' });
  }

  worker(namespace: string, name: string): PodWorker | undefined {
    for (const w of this.#workers.values()) if (w.pod.metadata.namespace === namespace && w.pod.metadata.name === name) return w;
    return undefined;
  }

  async start(): Promise<void> {
    mkdirSync(this.opts.stateRoot, { recursive: true });
    for (const s of await PodSandbox.list(this.opts.cluster, this.opts.nodeNs)) {
      if (s.podIP) {
        this.#ipam.reserve(s.podIP);
        this.#existing.set(s.podUid, { podIP: s.podIP });
      }
    }
    this.client.on('socket-error', (err: Error) => this.#log.debug({ err: err.message }, 'api-server connection problem; retrying'));
    this.client.on('connected', () => {
      this.#log.info('connected to the api-server');
      void this.#register();
    });
    const find: FindWorker = (ns, name, uid) => {
      const w = this.worker(ns, name);
      return w && (!uid || w.uid === uid) ? w : undefined;
    };
    this.client.onExec((req, stream) => serveExec(find, req, stream));
    this.client.onLogs((req, stream) => serveLogs(find, req, stream));
    this.client.start();
    await this.client.waitConnected(60_000);
    this.#stops.push(
      this.client.watch('services', {}, (ev) => {
        const key = `${ev.object.metadata.namespace}/${ev.object.metadata.name}`;
        if (ev.type === 'DELETED') this.#services.delete(key);
        else this.#services.set(key, ev.object as Service);
      }),
    );
    this.#stops.push(
      this.client.watch('pods', { fieldSelector: `spec.nodeName=${this.opts.nodeName}` }, (ev) => {
        void this.#onPod(ev.type, ev.object as Pod).catch((err) => this.#log.error({ err }, 'handling a pod failed'));
      }),
    );
    this.#heartbeat = setInterval(() => void this.#register(), this.opts.heartbeatMs ?? 10_000);
    // The first sample opens the window; reports follow every interval (the first one second later, so top answers soon).
    this.#reportUsage();
    setTimeout(() => this.#reportUsage(), 1000).unref();
    this.#metricsTimer = setInterval(() => this.#reportUsage(), this.opts.metricsIntervalMs ?? 15_000);
    this.#metricsTimer.unref();
    // Sandboxes whose pods are gone (deleted while the agent was down) are removed once the pod list is in.
    setTimeout(() => void this.#sweepOrphans(), 3000).unref();
  }

  // ---- node registration ----------------------------------------------------

  #nodeObject(existing?: Node): Node {
    const now = metaTime();
    const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => {
      const old = existing?.status?.conditions?.find((c) => c.type === type);
      return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now };
    };
    const memKi = `${Math.floor(os.totalmem() / 1024)}Ki`;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        ...(existing?.metadata ?? {}),
        name: this.opts.nodeName,
        labels: {
          ...(existing?.metadata.labels ?? {}),
          'kubernetes.io/hostname': this.opts.nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
        },
      },
      spec: { ...(existing?.spec ?? {}), podCIDR: this.opts.podCIDR, podCIDRs: [this.opts.podCIDR] },
      status: {
        capacity: { cpu: String(os.cpus().length), memory: memKi, pods: '110', 'ephemeral-storage': '10Gi' },
        allocatable: { cpu: String(os.cpus().length), memory: memKi, pods: '110', 'ephemeral-storage': '10Gi' },
        conditions: [
          cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
          cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
          cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
          cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
        ],
        addresses: [
          { type: 'InternalIP', address: this.opts.nodeIP },
          { type: 'Hostname', address: this.opts.nodeName },
        ],
        nodeInfo: {
          machineID: '',
          systemUUID: '',
          bootID: '',
          kernelVersion: os.release(),
          osImage: 'kubemu node (netns)',
          containerRuntimeVersion: 'kubemu://0.1.0',
          kubeletVersion: this.opts.kubeletVersion ?? 'v1.32.0-kubemu',
          kubeProxyVersion: this.opts.kubeletVersion ?? 'v1.32.0-kubemu',
          operatingSystem: 'linux',
          architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        },
      },
    };
  }

  async #register(): Promise<void> {
    try {
      const got = await this.client.request({ verb: 'get', resource: 'nodes', name: this.opts.nodeName }).catch((e) => {
        if (isApiError(e) && e.code === 404) return undefined;
        throw e;
      });
      const existing = got?.object as Node | undefined;
      if (!existing) {
        await this.client.request({ verb: 'create', resource: 'nodes', object: this.#nodeObject() });
        this.#log.info({ node: this.opts.nodeName }, 'node registered');
        return;
      }
      const next = this.#nodeObject(existing);
      if (JSON.stringify(existing.spec) !== JSON.stringify(next.spec) || JSON.stringify(existing.metadata.labels) !== JSON.stringify(next.metadata.labels)) {
        const u = await this.client.request({ verb: 'update', resource: 'nodes', object: next });
        next.metadata.resourceVersion = u.object?.metadata.resourceVersion;
      }
      await this.client.request({ verb: 'updateStatus', resource: 'nodes', object: next });
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'node heartbeat failed; will retry');
    }
  }

  // ---- pods -------------------------------------------------------------------------

  get #podFiles(): PodFilesSettings {
    return {
      clusterDNS: this.opts.clusterDNS ?? [],
      clusterDomain: this.opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
      resolvConf: this.opts.resolvConf ?? '/etc/resolv.conf',
      hostsFile: '/etc/hosts',
    };
  }

  /** A pod-bound token from the serviceaccounts/token subresource, over the agent socket. */
  readonly #fetchToken: TokenFetcher = async (namespace, serviceAccount, pod, expirationSeconds) => {
    const request: TokenRequest = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: { audiences: [], expirationSeconds, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.name, uid: pod.uid } },
    };
    const r = await this.client.request({ verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace, name: serviceAccount, object: request });
    const tr = r.object as TokenRequest | undefined;
    if (!tr?.status?.token) throw new Error('the API server answered the TokenRequest without a token');
    return { token: tr.status.token, expirationTimestamp: tr.status.expirationTimestamp, expirationSeconds: tr.spec.expirationSeconds ?? expirationSeconds };
  };

  async #onPod(type: string, pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    if (type === 'DELETED') {
      this.#pods.delete(uid);
      const w = this.#workers.get(uid);
      this.#workers.delete(uid);
      await w?.stopAll();
      return;
    }
    this.#pods.set(uid, pod);
    const w = this.#workers.get(uid);
    if (w) return w.update(pod);
    if (pod.metadata.deletionTimestamp) {
      await this.#finalize(pod);
      return;
    }
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && !this.#existing.has(uid)) return;
    const worker = new PodWorker(pod, {
      cluster: this.opts.cluster,
      nodeNs: this.opts.nodeNs,
      nodeName: this.opts.nodeName,
      nodeIP: this.opts.nodeIP,
      stateRoot: this.opts.stateRoot,
      workloadsEntry: this.opts.workloadsEntry,
      kubeMinor: '32',
      gateway: this.#ipam.gateway,
      prefixLen: this.#ipam.prefixLen,
      allocateIP: () => this.#ipam.allocate(),
      releaseIP: (ip) => this.#ipam.release(ip),
      envSources: (p) => ({
        serviceEnv: serviceEnv([...this.#services.values()], p.metadata.namespace ?? 'default', p.spec.enableServiceLinks !== false),
        getObject: async (resource, namespace, name) => {
          try {
            return (await this.client.request({ verb: 'get', resource, namespace, name })).object;
          } catch (e) {
            if (isApiError(e) && e.code === 404) return undefined;
            throw e;
          }
        },
      }),
      podFiles: this.#podFiles,
      caCert: this.opts.ca ?? '',
      getServiceAccount: async (namespace, name) => {
        try {
          return (await this.client.request({ verb: 'get', resource: 'serviceaccounts', namespace, name })).object as ServiceAccount;
        } catch (e) {
          if (isApiError(e) && e.code === 404) return undefined;
          throw e;
        }
      },
      fetchToken: this.#fetchToken,
      reportStatus: (p, status) => this.#reportStatus(p, status),
      event: (p, t, reason, message) => this.#events.emit(p, t, reason, message),
      finalize: (p) => this.#finalize(p),
      log: this.#log,
    });
    this.#workers.set(uid, worker);
    const existing = this.#existing.get(uid);
    this.#existing.delete(uid);
    try {
      await worker.start(existing);
    } catch {
      this.#workers.delete(uid);
      setTimeout(() => {
        const latest = this.#pods.get(uid);
        if (latest && !this.#workers.has(uid)) void this.#onPod('MODIFIED', latest);
      }, 5000).unref();
    }
  }

  /**
   * Status reports are per pod, one in flight at a time, latest wins: a retry
   * after a conflict always sends the newest status, never an older one.
   */
  #reportStatus(pod: Pod, status: PodStatus): void {
    const uid = pod.metadata.uid ?? '';
    this.#desired.set(uid, status);
    if (this.#sending.has(uid)) return;
    this.#sending.add(uid);
    void this.#sendStatus(uid, pod).finally(() => this.#sending.delete(uid));
  }

  async #sendStatus(uid: string, pod: Pod): Promise<void> {
    for (let attempt = 0; attempt < 20; ) {
      const status = this.#desired.get(uid);
      if (!status) return;
      const latest = this.#pods.get(uid) ?? pod;
      try {
        const r = await this.client.request({ verb: 'updateStatus', resource: 'pods', namespace: latest.metadata.namespace, object: { ...latest, status } as KubeObject });
        if (r.object && this.#pods.has(uid)) this.#pods.set(uid, r.object as Pod);
        if (this.#desired.get(uid) === status) {
          this.#desired.delete(uid);
          return;
        }
      } catch (e) {
        attempt++;
        if (isApiError(e) && e.code === 404) return void this.#desired.delete(uid);
        if (isApiError(e) && e.code === 409) {
          const got = await this.client.request({ verb: 'get', resource: 'pods', namespace: latest.metadata.namespace, name: latest.metadata.name }).catch(() => undefined);
          if (got?.object) this.#pods.set(uid, got.object as Pod);
          continue;
        }
        this.#log.warn({ err: (e as Error).message, pod: latest.metadata.name }, 'status update failed; retrying');
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  async #finalize(pod: Pod): Promise<void> {
    this.#workers.delete(pod.metadata.uid ?? '');
    try {
      await this.client.request({ verb: 'delete', resource: 'pods', namespace: pod.metadata.namespace, name: pod.metadata.name, gracePeriodSeconds: 0 });
    } catch (e) {
      if (!(isApiError(e) && e.code === 404)) this.#log.warn({ err: (e as Error).message }, 'final pod delete failed');
    }
  }

  async #sweepOrphans(): Promise<void> {
    if (this.#sandboxesChecked) return;
    this.#sandboxesChecked = true;
    for (const [uid] of this.#existing) {
      if (this.#pods.has(uid)) continue;
      this.#log.info({ uid }, 'removing a sandbox no pod owns');
      await PodSandbox.remove({ cluster: this.opts.cluster, nodeNs: this.opts.nodeNs, podUid: uid, stateDir: `${this.opts.stateRoot}/pods/${uid}` }).catch(() => {});
      this.#existing.delete(uid);
    }
  }

  /** Stops watching; with `killPods`, also stops every pod (kubemu down). */
  /** CPU and memory of this node and its pods' containers, to the api-server (metrics.k8s.io). */
  #reportUsage(): void {
    try {
      const containers: ContainerRef[] = [];
      const netns = new Set<number>([nsInodeOf('/proc/self/ns/net')]);
      for (const w of this.#workers.values()) {
        const ns = w.pod.metadata.namespace ?? 'default';
        const name = w.pod.metadata.name ?? '';
        for (const c of w.containers) if (c.pid) containers.push({ namespace: ns, pod: name, container: c.spec.name, pid: c.pid });
        const podNetns = (w.sandbox as { netns?: string } | undefined)?.netns;
        if (podNetns) netns.add(nsInodeOf(`/run/netns/${podNetns}`));
      }
      const u = this.#usage.sample(Date.now(), containers, netns);
      if (!u) return;
      this.client.sendMetrics({
        t: 'metrics',
        timestamp: new Date().toISOString(),
        windowSeconds: Math.round(u.windowSeconds * 10) / 10,
        node: u.node,
        pods: [...u.pods.values()].map((p) => ({ namespace: p.namespace, name: p.name, containers: [...p.containers].map(([cname, x]) => ({ name: cname, ...x })) })),
      });
    } catch (e) {
      this.#log.debug({ err: (e as Error).message }, 'usage sample failed');
    }
  }

  async stop(killPods = false): Promise<void> {
    if (this.#metricsTimer) clearInterval(this.#metricsTimer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const s of this.#stops) s();
    if (killPods) await Promise.all([...this.#workers.values()].map((w) => w.stopAll()));
    this.client.close();
  }
}
