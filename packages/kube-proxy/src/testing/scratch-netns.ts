import { spawnSync } from 'node:child_process';

/** Root with nft: the tests that program a throwaway network namespace can run. */
export const CAN_PROGRAM_NETNS = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0;

/** Runs `fn` with a fresh network namespace (never the host's), deleted afterwards whatever happens. */
export function inScratchNetns<T>(fn: (ns: string) => T): T {
  const ns = `kmtest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
  try {
    return fn(ns);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
