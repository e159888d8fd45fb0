/**
 * The shell a pod's program starts under, in its new mount and UTS
 * namespaces (private propagation, so nothing here is seen outside):
 *
 *   1. /etc/hosts and /etc/resolv.conf: the pod's own files bound over the node's
 *   2. the service account directory bound read-only at
 *      <stateDir>/var/run/secrets/kubernetes.io/serviceaccount, so it comes along with
 *   3. /var and /tmp: recursive binds of <stateDir>/var and <stateDir>/tmp
 *   4. the copies of /run/netns dropped (else this mount namespace would keep
 *      every other namespace alive after `ip netns del`)
 *   5. the hostname set, cd, exec the program
 *
 * Sources are bound before /tmp and /var are covered, so a state directory
 * under /tmp (tests) still works. A step that fails exits 125 with a
 * "kubemu:" line on stderr.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote, tool } from '@kubemu/netns';

/** What a pod's programs see besides its network: its hostname and the files kubelet manages. */
export interface PodMounts {
  hostname: string;
  /** File bound over /etc/hosts. */
  etcHosts?: string;
  /** File bound over /etc/resolv.conf. */
  resolvConf?: string;
  /** Directory mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
}

/** Exit code of a launch that failed before the program ran. */
export const SANDBOX_SETUP_EXIT_CODE = 125;
const SA_SUBDIR = 'run/secrets/kubernetes.io/serviceaccount';

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

function real(p: string): string {
  try {
    return realpathSync(p); // /tmp may be a symlink; the order below needs real paths
  } catch {
    return p; // missing: mount will say so
  }
}

/** The script; run as `sh -c <script> kubemu-pod <program> <args…>`. */
export function launchScript(stateDir: string, cwd: string, m: PodMounts): string {
  const q = shellQuote;
  const mount = q(tool('mount'));
  const dir = real(stateDir);
  const fail = (what: string): string => `{ echo ${q(`kubemu: pod sandbox: ${what} failed`)} >&2; exit ${SANDBOX_SETUP_EXIT_CODE}; }`;
  const lines: string[] = [];
  for (const [src, dst] of [[m.etcHosts, '/etc/hosts'], [m.resolvConf, '/etc/resolv.conf']] as const) {
    if (src) lines.push(`${mount} --bind ${q(real(src))} ${dst} || ${fail(`mount ${src} on ${dst}`)}`);
  }
  if (m.serviceAccountDir) {
    const target = join(dir, 'var', SA_SUBDIR);
    lines.push(
      `${q(tool('mkdir'))} -p ${q(target)} || ${fail(`mkdir ${target}`)}`,
      `${mount} --bind ${q(real(m.serviceAccountDir))} ${q(target)} && ${mount} -o remount,bind,ro ${q(target)} || ${fail('mount the service account token')}`,
    );
  }
  const binds: [string, string][] = [[join(dir, 'tmp'), '/tmp'], [join(dir, 'var'), '/var']];
  // Cover first the directory that does not hold stateDir, or the second source would be hidden.
  if (under(dir, '/tmp')) binds.reverse();
  lines.push(...binds.map(([src, dst]) => `${mount} --rbind ${q(src)} ${dst} || ${fail(`mount ${src} on ${dst}`)}`));
  lines.push(
    `${q(tool('umount'))} -l /run/netns 2>/dev/null`,
    `${q(tool('hostname'))} ${q(m.hostname)} || ${fail('hostname')}`,
    `cd ${q(cwd)} || ${fail(`cd ${cwd}`)}`,
    'exec "$@"',
  );
  return lines.join('\n');
}
