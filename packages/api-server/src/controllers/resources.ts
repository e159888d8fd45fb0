/**
 * The ResourceInfo of every kind the controllers read or write, looked up once
 * from the api package's resource table.
 */
import { resourceForKind, type ResourceInfo } from '@kubemu/api';

function must(apiVersion: string, kind: string): ResourceInfo {
  const r = resourceForKind(apiVersion, kind);
  if (!r) throw new Error(`resource table has no ${apiVersion} ${kind}`);
  return r;
}

export const R = {
  pods: must('v1', 'Pod'),
  services: must('v1', 'Service'),
  endpoints: must('v1', 'Endpoints'),
  nodes: must('v1', 'Node'),
  events: must('v1', 'Event'),
  namespaces: must('v1', 'Namespace'),
  serviceAccounts: must('v1', 'ServiceAccount'),
  replicationControllers: must('v1', 'ReplicationController'),
  endpointSlices: must('discovery.k8s.io/v1', 'EndpointSlice'),
  replicaSets: must('apps/v1', 'ReplicaSet'),
  deployments: must('apps/v1', 'Deployment'),
} as const;
