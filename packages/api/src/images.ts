/**
 * The built-in image catalogue: which `image:` names kubemu can run and which
 * built-in workload answers for each (there is no registry; see DESIGN.md §5).
 * Data only — the programs live in @kubemu/workloads.
 */

export type WorkloadName = 'kubia' | 'kubia-unhealthy' | 'nginx' | 'echo' | 'agnhost' | 'pause' | 'busybox' | 'cluster-dns' | 'ingress-controller';

export interface BuiltinImage {
  workload: WorkloadName;
  /** The image's ENTRYPOINT names: a `command:` starting with one runs the workload. */
  entrypoints: string[];
  /** The image's CMD when the pod gives no args. */
  defaultArgs: string[];
}

const CATALOGUE: Record<string, BuiltinImage> = {
  'luksa/kubia': { workload: 'kubia', entrypoints: ['node'], defaultArgs: [] },
  'luksa/kubia-unhealthy': { workload: 'kubia-unhealthy', entrypoints: ['node'], defaultArgs: [] },
  nginx: { workload: 'nginx', entrypoints: ['nginx', '/docker-entrypoint.sh'], defaultArgs: [] },
  'kubemu/echo': { workload: 'echo', entrypoints: ['echo-server'], defaultArgs: [] },
  'kubemu/cluster-dns': { workload: 'cluster-dns', entrypoints: ['/cluster-dns', 'cluster-dns'], defaultArgs: [] },
  'e2e-test-images/agnhost': { workload: 'agnhost', entrypoints: ['/agnhost', 'agnhost'], defaultArgs: ['pause'] },
  'kubernetes-e2e-test-images/agnhost': { workload: 'agnhost', entrypoints: ['/agnhost', 'agnhost'], defaultArgs: ['pause'] },
  'kubemu/ingress-controller': { workload: 'ingress-controller', entrypoints: ['/ingress-controller', 'ingress-controller'], defaultArgs: [] },
  pause: { workload: 'pause', entrypoints: ['/pause'], defaultArgs: [] },
  busybox: { workload: 'busybox', entrypoints: [], defaultArgs: ['sh'] },
};

/** Strips registry host, `library/`, tag and digest: "docker.io/library/nginx:1.27" → "nginx". */
export function imageRepository(image: string): string {
  let s = image.trim().split('@')[0];
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) s = s.slice(0, colon);
  const parts = s.split('/');
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) parts.shift();
  if (parts[0] === 'library') parts.shift();
  return parts.join('/');
}

/** The built-in image for `image`, or undefined (the pod then gets ErrImagePull unless it has a command). */
export function builtinImage(image: string | undefined): BuiltinImage | undefined {
  if (!image) return undefined;
  return CATALOGUE[imageRepository(image)];
}

export const BUILTIN_IMAGES = Object.keys(CATALOGUE);
