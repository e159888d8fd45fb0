/**
 * Named network namespaces as iproute2 keeps them: a file /run/netns/<name>
 * with the namespace bind-mounted on it (nsfs). A namespace lives while that
 * mount or any process inside it exists.
 *
 * Partial state is normal here (a crash between `ip netns add` and its mount,
 * a reboot that left the file behind), so "exists" means "the file is a live
 * nsfs mount"; a stale file is removed and recreated by ensureNetns.
 * Everything is idempotent: ensure on a live namespace and delete on a missing
 * one succeed and do nothing.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { NETNS_DIR, netnsPath, run } from './run.js';

/** statfs(2) magic of the nsfs filesystem that backs /run/netns/<name> mounts. */
const NSFS_MAGIC = 0x6e736673;

/** Every name in /run/netns (live or stale), sorted. */
export async function listNetns(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** True when /run/netns/<ns> is a mounted namespace (not missing, not a leftover file). */
export async function netnsIsLive(ns: string): Promise<boolean> {
  try {
    return (await statfs(netnsPath(ns))).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** Creates the namespace unless it is live already. Returns true when it was created. */
export async function ensureNetns(ns: string): Promise<boolean> {
  if (await netnsIsLive(ns)) return false;
  // A leftover file (or a half-made namespace) blocks `ip netns add`: remove it first.
  if (existsSync(netnsPath(ns))) await run('ip', ['netns', 'del', ns], { allowFail: true });
  const added = await run('ip', ['netns', 'add', ns], { allowFail: true });
  if (added.code !== 0) {
    // Someone else may have created it in between; that is fine.
    if (await netnsIsLive(ns)) return false;
    await run('ip', ['netns', 'add', ns]);
  }
  return true;
}

/** Unmounts and removes /run/netns/<ns>; a missing namespace is not an error. */
export async function deleteNetns(ns: string): Promise<void> {
  const res = await run('ip', ['netns', 'del', ns], { allowFail: true });
  if (res.code !== 0 && (await listNetns()).includes(ns)) await run('ip', ['netns', 'del', ns]);
}

/** Pids of the processes whose network namespace is <ns> (`ip netns pids`). */
export async function netnsPids(ns: string): Promise<number[]> {
  const res = await run('ip', ['netns', 'pids', ns], { allowFail: true });
  if (res.code !== 0) return [];
  return res.stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

/** True while the process exists and is not a zombie (a zombie holds no namespaces any more). */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs every process inside the given namespaces, repeating (a dying
 * agent may still start something) until none is left or `timeoutMs` passes.
 * Never signals the calling process. Returns the pids signalled.
 */
export async function killNetnsProcesses(namespaces: readonly string[], timeoutMs = 5_000): Promise<number[]> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = (await Promise.all(namespaces.map(netnsPids))).flat();
    const alive: number[] = [];
    for (const pid of pids) if (await processAlive(pid)) alive.push(pid);
    if (alive.length === 0 || Date.now() > deadline) return [...killed];
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // already gone
      }
    }
    await sleep(20);
  }
}

/** Inode of a namespace file (/run/netns/<ns> or /proc/<pid>/ns/net); equal inodes mean the same namespace. */
export async function nsInode(path: string): Promise<number | null> {
  try {
    return (await stat(path)).ino;
  } catch {
    return null;
  }
}

/**
 * Names the calling process's own network namespace <ns> (`ip netns attach`),
 * so tools that address namespaces by name reach it: the docker runtime's
 * node containers, where the container's namespace is the node's. A name
 * already on this namespace is kept; a stale one, or one on another
 * namespace, is replaced.
 */
export async function nameOwnNamespace(ns: string): Promise<void> {
  const own = await nsInode(`/proc/${process.pid}/ns/net`);
  if ((await netnsIsLive(ns)) && (await nsInode(netnsPath(ns))) === own) return;
  if (existsSync(netnsPath(ns))) await run('ip', ['netns', 'del', ns], { allowFail: true });
  await run('ip', ['netns', 'attach', ns, String(process.pid)]);
}
