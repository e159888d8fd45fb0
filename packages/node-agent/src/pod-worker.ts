/**
 * Everything kubelet does for one pod on this node: a sandbox with the pod's
 * IP, its containers (started in order), status reports, and graceful
 * termination (SIGTERM, SIGKILL after the grace period, sandbox removed, then
 * the pod object is finally deleted).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Container, ContainerState, Pod, PodStatus, ServiceAccount } from '@kubemu/api';
import { PodSandbox } from './sandbox/pod-sandbox.js';
import { ContainerRunner, type Sandbox } from './container-runner.js';
import { HostNetworkSandbox } from './sandbox/host-network-sandbox.js';
import { containerEnv, type EnvSources } from './container-env.js';
import { podStatus } from './pod-status.js';
import { metaTime } from '@kubemu/api';
import { writePodFiles, type PodFilesSettings } from './pod-files/pod-files.js';
import { ServiceAccountVolume, shouldAutomount, type TokenFetcher } from './pod-files/service-account-volume.js';
import type { PodMounts } from './sandbox/launch-script.js';
import { chaosReadinessFailure } from './probes/chaos-readiness.js';

/** First and longest wait between attempts to get a pod's service account token. */
const TOKEN_RETRY_MIN_MS = 1000;
const TOKEN_RETRY_MAX_MS = 32_000;

export interface PodWorkerDeps {
  cluster: string;
  nodeNs: string;
  nodeName: string;
  nodeIP: string;
  stateRoot: string;
  workloadsEntry: string;
  kubeMinor: string;
  gateway: string;
  prefixLen: number;
  allocateIP(): string;
  releaseIP(ip: string): void;
  envSources(pod: Pod): EnvSources;
  /** DNS and hosts settings of the node (kubelet's --cluster-dns, --cluster-domain, --resolv-conf). */
  podFiles: PodFilesSettings;
  /** The cluster CA (the service account volume's ca.crt). */
  caCert: string;
  getServiceAccount(namespace: string, name: string): Promise<ServiceAccount | undefined>;
  fetchToken: TokenFetcher;
  reportStatus(pod: Pod, status: PodStatus): void;
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Final removal of the pod object once everything is stopped. */
  finalize(pod: Pod): Promise<void>;
  log: Logger;
}

/** A status without its timestamps, for comparing what matters. */
function statusKey(s: PodStatus): string {
  return JSON.stringify({
    phase: s.phase,
    podIP: s.podIP,
    conditions: s.conditions?.map((c) => [c.type, c.status]),
    containers: s.containerStatuses?.map((c) => [c.name, c.ready, c.restartCount, Object.keys(c.state ?? {})[0], c.state?.waiting?.reason]),
    ephemeral: s.ephemeralContainerStatuses?.map((c) => [c.name, Object.keys(c.state ?? {})[0], c.state?.waiting?.reason, c.state?.terminated?.exitCode]),
  });
}


export class PodWorker {
  pod: Pod;
  readonly #d: PodWorkerDeps;
  #sandbox?: Sandbox;
  #containers: ContainerRunner[] = [];
  /** Ephemeral containers (kubectl debug), started as they appear in the spec, never restarted. */
  #ephemeral: ContainerRunner[] = [];
  /** The sandbox and its mounts are ready: ephemeral containers may start. */
  #running = false;
  #podIP?: string;
  readonly #startTime = metaTime();
  #terminating?: Promise<void>;
  #lastReported = '';
  #reportTimer?: NodeJS.Timeout;
  #hostname = '';
  #serviceAccount?: ServiceAccountVolume;
  /** Aborted when the pod stops: ends waits for its token. */
  readonly #stopping = new AbortController();

  constructor(pod: Pod, deps: PodWorkerDeps) {
    this.pod = pod;
    this.#d = deps;
  }

  get uid(): string {
    return this.pod.metadata.uid ?? '';
  }

  get podIP(): string | undefined {
    return this.#podIP;
  }

  get stateDir(): string {
    return join(this.#d.stateRoot, 'pods', this.uid);
  }

  /** The pod's containers (for usage accounting). */
  get containers(): readonly ContainerRunner[] {
    return this.#containers;
  }

  /** A container of the pod by name (ephemeral ones included); the first regular one without a name. */
  container(name?: string): ContainerRunner | undefined {
    if (!name) return this.#containers[0];
    return this.#containers.find((c) => c.spec.name === name) ?? this.#ephemeral.find((c) => c.spec.name === name);
  }

  get sandbox(): Sandbox | undefined {
    return this.#sandbox;
  }

  async start(existing?: { podIP: string }): Promise<void> {
    const pod = this.pod;
    // What the previous agent reported of the ephemeral containers (this agent's first report drops it).
    const priorEphemeral = existing ? new Map((pod.status?.ephemeralContainerStatuses ?? []).map((s) => [s.name, s.state])) : undefined;
    const log = this.#d.log.child({ pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
    try {
      if (pod.spec.hostNetwork) {
        this.#podIP = this.#d.nodeIP;
        this.#sandbox = new HostNetworkSandbox(this.#d.nodeNs, this.#d.nodeName, this.stateDir);
      } else if (existing) {
        this.#podIP = existing.podIP;
        const adopted = await PodSandbox.adopt({ cluster: this.#d.cluster, nodeNs: this.#d.nodeNs, podUid: this.uid, stateDir: this.stateDir });
        this.#sandbox = adopted;
        // Containers of an adopted sandbox are restarted fresh: kubemu cannot learn the exit code of a program it did not start.
        for (const pid of await adopted.pids()) process.kill(pid, 'SIGKILL');
      } else {
        this.#podIP = this.#d.allocateIP();
        this.#sandbox = await PodSandbox.create({
          cluster: this.#d.cluster,
          nodeNs: this.#d.nodeNs,
          podUid: this.uid,
          podName: pod.metadata.name ?? '',
          podIP: this.#podIP,
          gatewayIP: this.#d.gateway,
          prefixLen: this.#d.prefixLen,
          stateDir: this.stateDir,
        });
      }
    } catch (err) {
      log.error({ err }, 'creating the pod sandbox failed');
      this.#d.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      if (this.#podIP && !existing) this.#d.releaseIP(this.#podIP);
      this.#podIP = undefined;
      throw err;
    }
    const sandbox = this.#sandbox!;
    let mounts: PodMounts;
    try {
      const files = await writePodFiles({ pod, podIP: this.#podIP!, nodeName: this.#d.nodeName, stateDir: this.stateDir }, this.#d.podFiles);
      for (const w of files.warnings) this.#d.event(pod, 'Warning', w.reason, w.message);
      mounts = files.mounts;
    } catch (err) {
      log.error({ err }, 'writing the pod hosts and resolv.conf failed');
      this.#d.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      await this.destroySandbox();
      throw err;
    }
    this.#hostname = mounts.hostname;
    this.#containers = pod.spec.containers.map((c) => this.#runner(sandbox, c, pod.spec.restartPolicy ?? 'Always'));
    this.#applyChaosReadiness();
    this.#report();
    const saDir = await this.#mountServiceAccount(log);
    if (saDir === null) return; // stopped while waiting
    if (saDir) mounts.serviceAccountDir = saDir;
    sandbox.setMounts(mounts);
    for (const c of this.#containers) await c.start();
    this.#running = true;
    this.#syncEphemeral(priorEphemeral);
  }

  #runner(sandbox: Sandbox, c: Container, restartPolicy: 'Always' | 'OnFailure' | 'Never', targetPid?: () => number | undefined): ContainerRunner {
    const pod = this.pod;
    return new ContainerRunner(c, {
      sandbox,
      podName: pod.metadata.name ?? '',
      podIP: this.#podIP!,
      logDir: join(this.stateDir, 'logs'),
      restartPolicy,
      terminationGraceSeconds: pod.spec.terminationGracePeriodSeconds ?? 30,
      workloadsEntry: this.#d.workloadsEntry,
      kubeMinor: this.#d.kubeMinor,
      env: () => containerEnv({ ...this.pod, status: { ...this.pod.status, podIP: this.#podIP, hostIP: this.#d.nodeIP } }, c, { ...this.#d.envSources(this.pod), hostname: this.#hostname }),
      targetPid,
      onChange: () => this.#scheduleReport(),
      event: (type, reason, message) => this.#d.event(this.pod, type, reason, message),
    });
  }

  /**
   * Starts the spec's ephemeral containers that have no runner yet, as
   * kubelet does on each sync: in the pod's network (and UTS, and a mount
   * namespace with the pod's /tmp, /var and files), or — with
   * targetContainerName — in that container's own namespaces. They run once
   * (restartPolicy Never) and count for neither phase nor readiness.
   * `prior`: this agent took over a running pod from a previous one, which
   * reported these states; an ephemeral container that already ran then is
   * not run again.
   */
  #syncEphemeral(prior?: Map<string, ContainerState | undefined>): void {
    const sandbox = this.#sandbox;
    if (!this.#running || !sandbox || this.#terminating) return;
    const known = new Set(this.#ephemeral.map((c) => c.spec.name));
    for (const ec of this.pod.spec.ephemeralContainers ?? []) {
      if (!ec || typeof ec.name !== 'string' || known.has(ec.name)) continue;
      known.add(ec.name);
      const target = typeof ec.targetContainerName === 'string' && ec.targetContainerName !== '' ? ec.targetContainerName : undefined;
      const runner = this.#runner(sandbox, ec, 'Never', target ? () => this.#containers.find((c) => c.spec.name === target)?.pid : undefined);
      this.#ephemeral.push(runner);
      const before = prior?.get(ec.name);
      if (before?.running || before?.terminated) {
        runner.state = { terminated: before.terminated ?? { exitCode: 137, reason: 'Error', message: 'the node agent restarted while the container ran', startedAt: before.running?.startedAt, finishedAt: metaTime() } };
        continue;
      }
      void runner.start();
    }
    if (this.#ephemeral.length) this.#scheduleReport();
  }

  /**
   * The service account token volume, when the pod gets one: its directory
   * once a token is in it, undefined without automount, null when the pod
   * stopped first. Until a token comes the containers wait (ContainerCreating)
   * and each failure is a FailedMount event, retried with backoff, as kubelet's
   * volume manager does.
   */
  async #mountServiceAccount(log: Logger): Promise<string | undefined | null> {
    const pod = this.pod;
    const saName = pod.spec.serviceAccountName || 'default';
    const ns = pod.metadata.namespace ?? 'default';
    let sa: ServiceAccount | undefined;
    if (typeof pod.spec.automountServiceAccountToken !== 'boolean') sa = await this.#d.getServiceAccount(ns, saName).catch(() => undefined);
    if (!shouldAutomount(pod, sa)) return undefined;
    const volume = `kube-api-access-${this.uid.replace(/-/g, '').slice(0, 5)}`;
    const vol = new ServiceAccountVolume({
      dir: join(this.stateDir, 'serviceaccount'),
      pod,
      caCert: this.#d.caCert,
      fetch: this.#d.fetchToken,
      onRefreshError: (err) => log.warn({ err: err.message }, 'refreshing the service account token failed; keeping the current one'),
    });
    for (let delay = TOKEN_RETRY_MIN_MS; ; delay = Math.min(TOKEN_RETRY_MAX_MS, delay * 2)) {
      if (this.#stopping.signal.aborted) return null;
      try {
        await vol.setUp();
        if (this.#stopping.signal.aborted) {
          vol.stop();
          return null;
        }
        this.#serviceAccount = vol;
        return vol.dir;
      } catch (err) {
        this.#d.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${volume}" : failed to fetch token: ${(err as Error).message}`);
        try {
          await sleep(delay, undefined, { signal: this.#stopping.signal });
        } catch {
          return null;
        }
      }
    }
  }

  /** A newer version of the pod object arrived. */
  update(pod: Pod): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) return void this.terminate();
    this.#applyChaosReadiness();
    this.#syncEphemeral();
    // Someone else changed the status (e.g. the node lifecycle controller while
    // this node was unreachable): report ours again.
    if (this.#containers.length && statusKey(pod.status ?? {}) !== this.#lastReported) this.#scheduleReport();
  }

  /** `kubemu chaos fail-readiness`: the pod's annotation, passed to every container's prober. */
  #applyChaosReadiness(): void {
    const failure = chaosReadinessFailure(this.pod, this.#d.cluster);
    for (const c of this.#containers) c.setChaosReadiness(failure);
  }

  #scheduleReport(): void {
    if (this.#reportTimer) return;
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      this.#report();
    }, 10);
  }

  #report(): void {
    const status = podStatus({
      pod: this.pod,
      containers: this.#containers,
      ephemeral: this.#ephemeral,
      hostIP: this.#d.nodeIP,
      podIP: this.#podIP,
      startTime: this.pod.status?.startTime ?? this.#startTime,
      sandboxReady: !!this.#sandbox,
    });
    const key = statusKey(status);
    if (key === this.#lastReported && key === statusKey(this.pod.status ?? {})) return;
    this.#lastReported = key;
    this.#d.reportStatus(this.pod, status);
  }

  /** Stops containers (SIGTERM, then SIGKILL after the grace period), removes the sandbox, deletes the pod. */
  terminate(): Promise<void> {
    this.#stopping.abort();
    this.#terminating ??= (async () => {
      const grace = this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
      await Promise.all([...this.#containers, ...this.#ephemeral].map((c) => c.stop(grace)));
      await this.destroySandbox();
      await this.#d.finalize(this.pod);
    })();
    return this.#terminating;
  }

  /** Removes the sandbox and frees the IP (also used for pods that vanished from the API). */
  async destroySandbox(): Promise<void> {
    this.#stopping.abort();
    this.#serviceAccount?.stop();
    if (this.#reportTimer) clearTimeout(this.#reportTimer);
    try {
      await this.#sandbox?.destroy();
    } catch (err) {
      this.#d.log.warn({ err, uid: this.uid }, 'removing a pod sandbox failed');
    }
    if (this.#podIP && !this.pod.spec.hostNetwork) this.#d.releaseIP(this.#podIP);
    this.#sandbox = undefined;
  }

  async stopAll(): Promise<void> {
    this.#stopping.abort();
    await Promise.all([...this.#containers, ...this.#ephemeral].map((c) => c.stop(0)));
    await this.destroySandbox();
  }
}
