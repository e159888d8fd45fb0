/**
 * A minimal OpenAPI v3 surface: enough for kubectl to learn that every PATCH
 * accepts `fieldValidation` (so it leaves validation to the server instead of
 * downloading schemas). No schemas are published: kubectl then uses its
 * built-in strategic-merge metadata, which matches ours.
 */
import { RESOURCES, groupVersion } from '@kubemu/api';

function gvPath(gv: string): string {
  return gv.includes('/') ? `apis/${gv}` : `api/${gv}`;
}

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

export function openapiV3Root(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of new Set(RESOURCES.map(groupVersion))) {
    paths[gvPath(gv)] = { serverRelativeURL: `/openapi/v3/${gvPath(gv)}?hash=kubemu1` };
  }
  return { paths };
}

/** The document for `api/v1` or `apis/<g>/<v>`, or undefined. */
export function openapiV3Document(path: string): object | undefined {
  const rs = RESOURCES.filter((r) => gvPath(groupVersion(r)) === path);
  if (!rs.length) return undefined;
  const paths: Record<string, object> = {};
  for (const r of rs) {
    const base = `/${gvPath(groupVersion(r))}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`;
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    paths[base] = {
      patch: {
        operationId: `patch${r.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: QUERY_PARAMS.map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } })),
        responses: { '200': { description: 'OK' } },
      },
    };
    // pods/ephemeralcontainers (read, replace, patch), as kube-apiserver publishes it.
    for (const sub of r.subresources.filter((s) => s === 'ephemeralcontainers')) {
      const op = (verb: 'read' | 'replace' | 'patch', action: string) => ({
        operationId: `${verb}${r.namespaced ? 'Namespaced' : ''}${r.kind}Ephemeralcontainers`,
        'x-kubernetes-action': action,
        'x-kubernetes-group-version-kind': gvk,
        ...(verb === 'read' ? {} : { parameters: QUERY_PARAMS.filter((n) => verb === 'patch' || n !== 'force').map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } })) }),
        responses: { '200': { description: 'OK' } },
      });
      paths[`${base}/${sub}`] = { get: op('read', 'get'), put: op('replace', 'put'), patch: op('patch', 'patch') };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0-kubemu' }, paths, components: { schemas: {} } };
}
