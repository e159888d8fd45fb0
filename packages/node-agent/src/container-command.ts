/**
 * What program a container runs: the built-in workload for a known image
 * (ENTRYPOINT semantics: `command` replaces it, `args` replace CMD), or the
 * container's `command` as a program on the node. An unknown image without a
 * command cannot run: kubelet would report ErrImagePull.
 */
import { BUILTIN_IMAGES, builtinImage, type Container } from '@kubemu/api';

export type ContainerProgram = { ok: true; argv: string[] } | { ok: false; reason: 'ErrImagePull'; message: string };

export function containerProgram(c: Container, workloadsEntry: string, nodeBinary = process.execPath): ContainerProgram {
  const img = builtinImage(c.image);
  const command = c.command ?? [];
  const args = c.args ?? [];
  if (img && img.workload !== 'busybox') {
    const runsEntrypoint = command.length === 0 || img.entrypoints.includes(command[0]);
    if (runsEntrypoint) {
      const rest = command.length ? [...command.slice(1), ...args] : args.length ? args : img.defaultArgs;
      // The book's kubia images run `node app.js`; a command naming node keeps its arguments out.
      const wArgs = img.entrypoints.includes('node') ? [] : rest;
      return { ok: true, argv: [nodeBinary, workloadsEntry, img.workload, ...wArgs] };
    }
  }
  if (command.length) return { ok: true, argv: [...command, ...args] };
  if (img?.workload === 'busybox') return { ok: true, argv: args.length ? args : img.defaultArgs };
  return {
    ok: false,
    reason: 'ErrImagePull',
    message: `Failed to pull image "${c.image ?? ''}": kubemu has no registry; built-in images are ${BUILTIN_IMAGES.join(', ')} — or give the container a command`,
  };
}
