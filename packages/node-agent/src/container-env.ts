/**
 * A container's environment at start: PATH/HOSTNAME, the Kubernetes service
 * variables, then the spec's env (user values win), with fieldRef,
 * configMapKeyRef and secretKeyRef resolved.
 */
import type { Container, KubeObject, Pod } from '@kubemu/api';

export interface EnvSources {
  serviceEnv: Record<string, string>;
  /** The pod's hostname (spec.hostname, the pod name, or the node's for hostNetwork pods); default the pod name. */
  hostname?: string;
  getObject(resource: 'configmaps' | 'secrets', namespace: string, name: string): Promise<KubeObject | undefined>;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function fieldValue(pod: Pod, path: string): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
  }
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? '';
  throw new Error(`unsupported fieldRef ${path}`);
}

/** Expands $(VAR) references as kubelet does ($$ escapes). */
function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : name !== undefined && name in env ? env[name] : m));
}

export async function containerEnv(pod: Pod, c: Container, src: EnvSources): Promise<Record<string, string>> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH, HOSTNAME: src.hostname || (pod.metadata.name ?? ''), ...src.serviceEnv };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.configMapKeyRef || e.valueFrom?.secretKeyRef) {
      const ref = (e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef)!;
      const kind = e.valueFrom.configMapKeyRef ? 'configmaps' : 'secrets';
      const obj = await src.getObject(kind, pod.metadata.namespace ?? 'default', ref.name);
      const data = (obj as { data?: Record<string, string> } | undefined)?.data;
      const raw = data?.[ref.key];
      if (raw === undefined) {
        if (ref.optional) continue;
        throw new Error(obj ? `couldn't find key ${ref.key} in ${kind === 'configmaps' ? 'ConfigMap' : 'Secret'} ${pod.metadata.namespace}/${ref.name}` : `${kind === 'configmaps' ? 'configmap' : 'secret'} "${ref.name}" not found`);
      }
      env[e.name] = kind === 'secrets' ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    } else env[e.name] = '';
  }
  return env;
}
