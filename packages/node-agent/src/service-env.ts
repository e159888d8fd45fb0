/**
 * Kubernetes' service environment variables (kubelet envvars.go): for each
 * Service with a cluster IP in the pod's namespace (when enableServiceLinks)
 * plus `kubernetes` in `default` always, evaluated when a container starts.
 */
import type { Service } from '@kubemu/api';

function envName(s: string): string {
  return s.toUpperCase().replace(/-/g, '_');
}

function varsFor(svc: Service): Record<string, string> {
  const out: Record<string, string> = {};
  const ip = svc.spec.clusterIP;
  const ports = svc.spec.ports ?? [];
  if (!ip || ip === 'None' || !ports.length) return out;
  const base = envName(svc.metadata.name ?? '');
  out[`${base}_SERVICE_HOST`] = ip;
  out[`${base}_SERVICE_PORT`] = String(ports[0].port);
  for (const p of ports) if (p.name) out[`${base}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
  const first = ports[0];
  out[`${base}_PORT`] = `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`;
  for (const p of ports) {
    const proto = p.protocol ?? 'TCP';
    const key = `${base}_PORT_${p.port}_${proto.toUpperCase()}`;
    out[key] = `${proto.toLowerCase()}://${ip}:${p.port}`;
    out[`${key}_PROTO`] = proto.toLowerCase();
    out[`${key}_PORT`] = String(p.port);
    out[`${key}_ADDR`] = ip;
  }
  return out;
}

/** Env vars for a container in `namespace`; `services` may hold any namespaces. */
export function serviceEnv(services: Service[], namespace: string, enableServiceLinks = true): Record<string, string> {
  const out: Record<string, string> = {};
  // The pod's own namespace first so `kubernetes` in default wins over a same-named one, as kubelet does.
  const sorted = [...services].sort((a, b) => (a.metadata.namespace === 'default' && a.metadata.name === 'kubernetes' ? 1 : 0) - (b.metadata.namespace === 'default' && b.metadata.name === 'kubernetes' ? 1 : 0));
  for (const svc of sorted) {
    if (svc.spec.type === 'ExternalName') continue;
    const isMaster = svc.metadata.namespace === 'default' && svc.metadata.name === 'kubernetes';
    if (isMaster || (enableServiceLinks && svc.metadata.namespace === namespace)) Object.assign(out, varsFor(svc));
  }
  return out;
}
