/**
 * Parses a Kubernetes REST path into what it addresses.
 *
 *   /api/v1/namespaces/default/services/kubia/status
 *   └prefix┘└──── namespace ────┘└plural┘└name┘└sub┘
 */
import { resourceForPath, type ResourceInfo } from '@kubemu/api';

export type Route =
  | { type: 'discovery'; path: string }
  | { type: 'resource'; resource: ResourceInfo; namespace?: string; name?: string; subresource?: string; legacyWatch: boolean }
  | { type: 'unknown-resource'; group: string; version: string; plural: string }
  | { type: 'not-found' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length <= 2) return { type: 'discovery', path: pathname };
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length <= 3) return { type: 'discovery', path: pathname };
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return { type: 'discovery', path: pathname };
  }
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // namespaces/<ns>/<plural>/... addresses namespaced resources; namespaces/<name>[/status|finalize] the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && (group !== '' || (rest[2] !== 'status' && rest[2] !== 'finalize'))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length) return { type: 'not-found' };
  const resource = resourceForPath(group, version, plural);
  if (!resource) return { type: 'unknown-resource', group, version, plural };
  if (namespace !== undefined && !resource.namespaced) return { type: 'not-found' };
  return { type: 'resource', resource, namespace, name, subresource, legacyWatch };
}
