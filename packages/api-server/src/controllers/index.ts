/**
 * The in-process controllers of the control plane, and one call that starts
 * them all over an ObjectClient.
 *
 * Each controller watches what it needs, queues keys and reconciles them one
 * at a time from the store's current state; a full resync runs at start and
 * periodically, so a missed event only delays convergence. Errors are logged
 * and retried with backoff; nothing a controller does can crash the process.
 */
import type { Logger } from 'pino';
import type { ObjectClient } from '../registry/object-client.js';
import type { Clock } from './controller-utils.js';
import { DeploymentController, type DeploymentControllerOptions } from './deployment-controller.js';
import { EndpointSliceController, type EndpointSliceControllerOptions } from './endpointslice-controller.js';
import { EndpointSliceMirroringController, type EndpointSliceMirroringControllerOptions } from './endpointslice-mirroring-controller.js';
import { EndpointsController, type EndpointsControllerOptions } from './endpoints-controller.js';
import { GarbageCollector, type GarbageCollectorOptions } from './garbage-collector.js';
import { NodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle-controller.js';
import { ReplicationManager, type ReplicationControllerOptions } from './replication-controller.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { ServiceAccountsController, type ServiceAccountsControllerOptions } from './serviceaccounts-controller.js';

export { BaseController, systemClock, type BaseControllerOptions, type Clock } from './controller-utils.js';
export { WorkQueue, type WorkQueueOptions, type WorkHandler } from './work-queue.js';
export { EventRecorder, type EventRecorderOptions, type EventType } from './event-recorder.js';
export { EndpointsController, ENDPOINTS_MAX_CAPACITY, type EndpointsControllerOptions } from './endpoints-controller.js';
export { EndpointSliceController, DEFAULT_MAX_ENDPOINTS_PER_SLICE, type EndpointSliceControllerOptions } from './endpointslice-controller.js';
export {
  EndpointSliceMirroringController,
  MIRRORING_MAX_ENDPOINTS_PER_SUBSET,
  type EndpointSliceMirroringControllerOptions,
} from './endpointslice-mirroring-controller.js';
export { ReplicationManager, podFromTemplate, rankForDeletion, type ReplicationControllerOptions } from './replication-controller.js';
export { DeploymentController, computeHash, POD_TEMPLATE_HASH, type DeploymentControllerOptions } from './deployment-controller.js';
export { GarbageCollector, type GarbageCollectorOptions } from './garbage-collector.js';
export { Scheduler, DEFAULT_SCHEDULER_NAME, NO_NODES_AVAILABLE, type SchedulerOptions, type Taint, type Toleration } from './scheduler.js';
export { ServiceAccountsController, MANAGED_SERVICE_ACCOUNTS, type ServiceAccountsControllerOptions } from './serviceaccounts-controller.js';
export { NodeLifecycleController, TAINT_NOT_READY, TAINT_UNREACHABLE, type NodeLifecycleOptions } from './node-lifecycle-controller.js';
export {
  LABEL_SERVICE_NAME,
  LABEL_MANAGED_BY,
  LABEL_HEADLESS,
  SLICE_CONTROLLER_NAME,
  MIRRORING_CONTROLLER_NAME,
  findPort,
  shouldPodBeInEndpoints,
} from './endpoint-utils.js';

export interface ControllersOptions {
  /** Clock for every controller that reads time (node lifecycle, availability, events). */
  clock?: Clock;
  /** Default full-resync period for controllers that do not set their own (30 s). */
  resyncPeriodMs?: number;
  /** Shorthand for nodeLifecycle.gracePeriodMs (40 s): how long a node may stay silent before it is NotReady. */
  nodeGracePeriodMs?: number;
  /** Per-controller options; `false` leaves that controller out. */
  endpoints?: EndpointsControllerOptions | false;
  endpointSlices?: EndpointSliceControllerOptions | false;
  endpointSliceMirroring?: EndpointSliceMirroringControllerOptions | false;
  replication?: ReplicationControllerOptions | false;
  deployments?: DeploymentControllerOptions | false;
  garbageCollector?: GarbageCollectorOptions | false;
  scheduler?: SchedulerOptions | false;
  nodeLifecycle?: NodeLifecycleOptions | false;
  serviceAccounts?: ServiceAccountsControllerOptions | false;
}

export interface RunningControllers {
  /** The started controllers, by name. */
  controllers: {
    endpoints?: EndpointsController;
    endpointSlices?: EndpointSliceController;
    endpointSliceMirroring?: EndpointSliceMirroringController;
    replication?: ReplicationManager;
    deployments?: DeploymentController;
    garbageCollector?: GarbageCollector;
    scheduler?: Scheduler;
    nodeLifecycle?: NodeLifecycleController;
    serviceAccounts?: ServiceAccountsController;
  };
  /** Resolves when every controller's queue is idle (tests). */
  idle(): Promise<void>;
  stop(): void;
}

/** Starts every controller (or those not disabled) on `client`; `stop()` stops them all. */
export function startControllers(client: ObjectClient, log: Logger, opts: ControllersOptions = {}): RunningControllers {
  const base = { clock: opts.clock, ...(opts.resyncPeriodMs !== undefined ? { resyncPeriodMs: opts.resyncPeriodMs } : {}) };
  const pick = <T extends object>(o: T | false | undefined): (T & typeof base) | undefined => (o === false ? undefined : ({ ...base, ...(o ?? {}) } as T & typeof base));
  const c: RunningControllers['controllers'] = {};
  const o = {
    endpoints: pick(opts.endpoints),
    endpointSlices: pick(opts.endpointSlices),
    endpointSliceMirroring: pick(opts.endpointSliceMirroring),
    replication: pick(opts.replication),
    deployments: pick(opts.deployments),
    garbageCollector: pick(opts.garbageCollector),
    scheduler: pick(opts.scheduler),
    nodeLifecycle: pick(opts.nodeLifecycle),
    serviceAccounts: pick(opts.serviceAccounts),
  };
  if (o.endpoints) c.endpoints = new EndpointsController(client, log, o.endpoints);
  if (o.endpointSlices) c.endpointSlices = new EndpointSliceController(client, log, o.endpointSlices);
  if (o.endpointSliceMirroring) c.endpointSliceMirroring = new EndpointSliceMirroringController(client, log, o.endpointSliceMirroring);
  if (o.replication) c.replication = new ReplicationManager(client, log, o.replication);
  if (o.deployments) c.deployments = new DeploymentController(client, log, o.deployments);
  if (o.garbageCollector) c.garbageCollector = new GarbageCollector(client, log, { resyncPeriodMs: 60_000, ...o.garbageCollector });
  if (o.scheduler) c.scheduler = new Scheduler(client, log, o.scheduler);
  if (o.serviceAccounts) c.serviceAccounts = new ServiceAccountsController(client, log, o.serviceAccounts);
  if (o.nodeLifecycle) {
    const { resyncPeriodMs: _ignored, ...nl } = o.nodeLifecycle as NodeLifecycleOptions & { resyncPeriodMs?: number };
    if (opts.nodeGracePeriodMs !== undefined && nl.gracePeriodMs === undefined) nl.gracePeriodMs = opts.nodeGracePeriodMs;
    c.nodeLifecycle = new NodeLifecycleController(client, log, nl);
  }
  const all = Object.values(c).filter((x): x is NonNullable<typeof x> => !!x);
  for (const ctrl of all) {
    try {
      ctrl.start();
    } catch (err) {
      log.error({ err }, 'controller failed to start');
    }
  }
  log.info({ controllers: Object.keys(c) }, 'controllers started');
  return {
    controllers: c,
    async idle() {
      // Controllers feed each other: wait until a pass finds every queue idle.
      for (let i = 0; i < 50; i++) {
        await Promise.all(all.map((x) => x.idle()));
        await new Promise((r) => setImmediate(r));
        if (all.every((x) => x.pendingKeys() === 0)) return;
      }
    },
    stop() {
      for (const ctrl of all) {
        try {
          ctrl.stop();
        } catch (err) {
          log.warn({ err }, 'controller failed to stop cleanly');
        }
      }
    },
  };
}
