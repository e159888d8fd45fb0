/**
 * `kubemu ssh NODE` on the docker runtime: a shell (or a command) in the
 * node's container, whose network namespace is the node's — `docker exec -it`
 * through dockerode. With a terminal it runs raw with the terminal's size;
 * without one, stdout and stderr stay apart.
 */
import { DockerCluster } from './docker-cluster.js';

/** Runs `argv` (a login shell when empty) in `machine` of compose project `project`; resolves with its exit code. */
export async function dockerShell(project: string, machine: string, argv: string[]): Promise<number> {
  const dc = new DockerCluster({ project });
  const { handle, info } = await dc.container(machine);
  if (info.state !== 'running') throw new Error(`${machine}'s container is ${info.state}; start it (\`kubemu chaos start-node ${machine}\` or \`docker compose start\`)`);
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const exec = await handle.exec({
    Cmd: argv.length ? argv : ['/bin/bash', '-i'],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: tty,
    Env: [`KUBEMU_NODE=${machine}`, `PS1=${machine}:\\w# `],
  });
  const stream = await exec.start({ hijack: true, stdin: true, Tty: tty });
  if (tty) {
    process.stdin.setRawMode(true);
    stream.pipe(process.stdout);
    const resize = () => void exec.resize({ h: process.stdout.rows, w: process.stdout.columns }).catch(() => {});
    process.stdout.on('resize', resize);
    resize();
  } else {
    dc.docker.modem.demuxStream(stream, process.stdout, process.stderr);
  }
  process.stdin.pipe(stream);
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
  if (tty) process.stdin.setRawMode(false);
  process.stdin.unpipe(stream);
  process.stdin.pause();
  return (await exec.inspect()).ExitCode ?? 1;
}
