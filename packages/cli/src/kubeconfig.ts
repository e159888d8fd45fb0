/**
 * Reads the parts of a kubeconfig the CLI needs: server, CA and token of the
 * current context.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface ClusterAccess {
  server: string;
  ca?: string;
  token?: string;
  namespace: string;
}

export class KubeconfigError extends Error {
  readonly code = 'ERR_KUBECONFIG';
}

export function defaultKubeconfigPath(): string {
  return process.env.KUBECONFIG?.split(':')[0] || join(homedir(), '.kube', 'config');
}

export function loadKubeconfig(path = defaultKubeconfigPath()): ClusterAccess {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: start a cluster (kubemu control-plane --data-dir DIR) and pass --kubeconfig DIR/kubeconfig`);
  }
  const cfg = parse(text) as any;
  const ctxName = cfg?.['current-context'];
  const ctx = cfg?.contexts?.find((c: any) => c.name === ctxName)?.context;
  if (!ctx) throw new KubeconfigError(`kubeconfig ${path} has no current context`);
  const cluster = cfg.clusters?.find((c: any) => c.name === ctx.cluster)?.cluster;
  const user = cfg.users?.find((u: any) => u.name === ctx.user)?.user ?? {};
  if (!cluster?.server) throw new KubeconfigError(`kubeconfig ${path}: cluster ${ctx.cluster} has no server`);
  return {
    server: cluster.server,
    ca: cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8') : undefined,
    token: user.token,
    namespace: ctx.namespace ?? 'default',
  };
}
