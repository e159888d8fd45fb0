/**
 * The service accounts controller (Kubernetes' pkg/controller/serviceaccount
 * ServiceAccountsController): every active namespace has a `default`
 * ServiceAccount. A namespace that appears (or the controller's start) gets
 * one; one that is deleted is made again. Terminating namespaces are left
 * alone, as their contents are being removed.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '@kubemu/api';
import type { ObjectClient } from '../registry/object-client.js';
import { BaseController, type BaseControllerOptions, isAlreadyExists, isApiErrorCode } from './controller-utils.js';
import { R } from './resources.js';

/** The service accounts every namespace gets. */
export const MANAGED_SERVICE_ACCOUNTS = ['default'];

export type ServiceAccountsControllerOptions = BaseControllerOptions;

export class ServiceAccountsController extends BaseController {
  constructor(client: ObjectClient, log: Logger, opts: ServiceAccountsControllerOptions = {}) {
    super(client, log, 'serviceaccounts-controller', opts);
  }

  protected setupWatches(): void {
    this.watch<KubeObject>(R.namespaces, {}, (ev) => {
      if (ev.type !== 'DELETED') this.queue.add(ev.object.metadata.name ?? '');
    });
    this.watch<KubeObject>(R.serviceAccounts, {}, (ev) => {
      if (ev.type === 'DELETED' && MANAGED_SERVICE_ACCOUNTS.includes(ev.object.metadata.name ?? '')) this.queue.add(ev.object.metadata.namespace ?? '');
    });
  }

  protected resync(): void {
    for (const ns of this.client.list(R.namespaces).items) this.queue.add(ns.metadata.name ?? '');
  }

  protected sync(namespace: string): void {
    const ns = this.client.get(R.namespaces, undefined, namespace);
    if (!ns || ns.metadata.deletionTimestamp || (ns.status?.phase && ns.status.phase !== 'Active')) return;
    for (const name of MANAGED_SERVICE_ACCOUNTS) {
      if (this.client.get(R.serviceAccounts, namespace, name)) continue;
      try {
        this.client.create(R.serviceAccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
        this.log.debug({ namespace, name }, 'service account created');
      } catch (err) {
        // Someone else made it, or the namespace began terminating in between.
        if (isAlreadyExists(err) || isApiErrorCode(err, 403) || isApiErrorCode(err, 404)) continue;
        throw err;
      }
    }
  }
}
