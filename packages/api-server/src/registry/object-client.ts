/**
 * The in-process API that controllers use: the same write path as the REST API
 * (defaults, validation, allocation, resourceVersion), minus HTTP.
 *
 * Calls are synchronous (the store is embedded SQLite); watch callbacks are
 * delivered asynchronously, in resourceVersion order, never re-entrantly.
 * Failures throw ApiError (from @kubemu/api) with the Kubernetes Status.
 */
import type { KubeObject, ResourceInfo } from '@kubemu/api';

export interface ListOptions {
  /** Omit for all namespaces (or for cluster-scoped resources). */
  namespace?: string;
  /** Kubernetes label selector string, e.g. "app=kubia,tier!=db". */
  labelSelector?: string;
  /** Kubernetes field selector string, e.g. "spec.nodeName=node-1". */
  fieldSelector?: string;
}

export interface WatchOptions extends ListOptions {
  /** Resume after this resourceVersion; omit to start from now. Too old ⇒ ApiError 410. */
  resourceVersion?: string;
}

export interface ObjectEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
}

export interface DeleteOptions {
  /** Pods: seconds of grace (default: spec.terminationGracePeriodSeconds); 0 deletes at once. */
  gracePeriodSeconds?: number;
  /** Only delete if the stored uid / resourceVersion still match. */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

export interface ObjectClient {
  get<T extends KubeObject = KubeObject>(resource: ResourceInfo, namespace: string | undefined, name: string): T | undefined;
  list<T extends KubeObject = KubeObject>(resource: ResourceInfo, opts?: ListOptions): { items: T[]; resourceVersion: string };
  /** Creates (metadata.generateName honoured); returns the stored object. */
  create<T extends KubeObject = KubeObject>(resource: ResourceInfo, obj: T): T;
  /** Replaces spec/metadata (status is kept); a set metadata.resourceVersion must match (409 otherwise). */
  update<T extends KubeObject = KubeObject>(resource: ResourceInfo, obj: T): T;
  /** Replaces status only (the /status subresource). */
  updateStatus<T extends KubeObject = KubeObject>(resource: ResourceInfo, obj: T): T;
  /** Deletes; pods with grace > 0 only get deletionTimestamp (Terminating). Returns the final object, or undefined if absent. */
  delete(resource: ResourceInfo, namespace: string | undefined, name: string, opts?: DeleteOptions): KubeObject | undefined;
  /** Starts a watch; returns a function that stops it. */
  watch<T extends KubeObject = KubeObject>(resource: ResourceInfo, opts: WatchOptions, onEvent: (ev: ObjectEvent<T>) => void): () => void;
}
