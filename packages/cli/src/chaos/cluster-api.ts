/** ClusterApi over the CLI's REST client: the pods the faults act on. */
import type { KubeObject } from '@kubemu/api';
import { RestClient, RestError } from '../rest-client.js';
import type { ClusterApi, PodInfo } from './faults.js';

export function restClusterApi(c: RestClient): ClusterApi {
  const podPath = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`;
  return {
    async getPod(namespace, name): Promise<PodInfo | undefined> {
      let p: KubeObject;
      try {
        p = await c.call<KubeObject>('GET', podPath(namespace, name));
      } catch (e) {
        if (e instanceof RestError && e.code === 404) return undefined;
        throw e;
      }
      const spec = (p.spec ?? {}) as { nodeName?: string; containers?: { name: string }[]; restartPolicy?: string };
      return {
        namespace,
        name,
        uid: p.metadata.uid ?? '',
        nodeName: spec.nodeName,
        containers: (spec.containers ?? []).map((x) => x.name),
        restartPolicy: spec.restartPolicy ?? 'Always',
      };
    },
    async annotatePod(namespace, name, key, value) {
      await c.call('PATCH', podPath(namespace, name), { metadata: { annotations: { [key]: value } } }, { 'Content-Type': 'application/merge-patch+json' });
    },
    async healthy() {
      try {
        await c.call('GET', '/version');
        return true;
      } catch {
        return false;
      }
    },
  };
}
