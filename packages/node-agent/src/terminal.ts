/**
 * Terminal sizes for programs running under util-linux `script` (a
 * container with `tty: true`, `kubectl exec -t`): kubectl's resize messages
 * become the size of the pseudo-terminal `script` made for its child, set
 * with `stty -F` (TIOCSWINSZ; the program gets SIGWINCH, as under a kubelet).
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tool } from '@kubemu/netns';

const MAX_DIMENSION = 0xffff;

/** The pseudo-terminal of `script`'s child (its stdin), or undefined while there is none. */
export function terminalOf(scriptPid: number): string | undefined {
  try {
    const children = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const child of children) {
      const t = readlinkSync(`/proc/${child}/fd/0`);
      if (/^\/dev\/pts\/\d+$/.test(t)) return t;
    }
  } catch {
    // gone, or not ours to read
  }
  return undefined;
}

/**
 * Sets the terminal size of the program `script` (pid `scriptPid`) runs.
 * The child may not exist yet right after the start: a few short retries.
 * Sizes that are no terminal size are ignored.
 */
export async function resizeTerminal(scriptPid: number, width: number, height: number): Promise<void> {
  const ok = (n: number) => Number.isInteger(n) && n > 0 && n <= MAX_DIMENSION;
  if (!ok(width) || !ok(height)) return;
  for (let attempt = 0; attempt < 10; attempt++) {
    const tty = terminalOf(scriptPid);
    if (tty) {
      await new Promise<void>((resolve) => {
        const p = spawn(tool('stty'), ['-F', tty, 'cols', String(width), 'rows', String(height)], { stdio: 'ignore' });
        p.once('error', () => resolve());
        p.once('close', () => resolve());
      });
      return;
    }
    await sleep(50);
  }
}
