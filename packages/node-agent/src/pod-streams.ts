/**
 * `kubectl exec`, `kubectl attach` and `kubectl logs` on this node: exec
 * enters the running container's namespaces (nsenter) and relays
 * stdin/stdout/stderr, terminal sizes (-t) and the exit code; attach joins
 * the container's own program; logs read the container's log file (the
 * current run, or the previous one with --previous), with --tail and -f.
 */
import { createReadStream, existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ExecRequest, ExecStream, LogsRequest, LogStream } from '@kubemu/agent-client';
import type { PodWorker } from './pod-worker.js';
import { resizeTerminal } from './terminal.js';

export type FindWorker = (namespace: string, name: string, uid: string) => PodWorker | undefined;

export function serveExec(find: FindWorker, req: ExecRequest, stream: ExecStream): void {
  if (req.attach) return serveAttach(find, req, stream);
  const w = find(req.namespace, req.pod, req.uid);
  const c = w?.container(req.container);
  if (!w || !c) return stream.fail(`unable to upgrade connection: container not found ("${req.container}")`, 404);
  const pid = c.pid;
  if (!pid || !w.sandbox) return stream.fail(`unable to upgrade connection: container ${req.container} is not running`, 400);
  let child;
  try {
    child = w.sandbox.exec(pid, req.command, { stdin: req.stdin, tty: req.tty });
  } catch (e) {
    return stream.fail((e as Error).message, 500);
  }
  if (req.stdin && stream.stdin && child.stdin) stream.stdin.pipe(child.stdin);
  else child.stdin?.end();
  child.stdin?.on('error', () => {});
  child.stdout?.pipe(stream.stdout, { end: false });
  child.stderr?.pipe(req.tty ? stream.stdout : stream.stderr, { end: false });
  stream.signal.addEventListener('abort', () => child.kill('SIGKILL'));
  if (req.tty && child.pid) {
    const pid = child.pid;
    stream.on('resize', ({ width, height }) => void resizeTerminal(pid, width, height));
  }
  child.once('error', (e) => stream.fail(`exec failed: ${e.message}`));
  child.once('close', (code, signal) => stream.exit(code, signal));
}

/** The last `n` lines of `text`. */
function tail(text: string, n: number): string {
  if (n <= 0) return '';
  const lines = text.split('\n');
  const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
  return lines.slice(-n).join('\n') + (trailing !== undefined ? '\n' : '');
}

export async function serveLogs(find: FindWorker, req: LogsRequest, stream: LogStream): Promise<void> {
  const w = find(req.namespace, req.pod, req.uid);
  const c = w?.container(req.container);
  if (!w || !c) return stream.fail(`container "${req.container}" in pod "${req.pod}" is not available`, 400);
  if (req.previous && c.restartCount === 0) return stream.fail(`previous terminated container "${req.container}" in pod "${req.pod}" not found`, 400);
  let run = req.previous ? c.restartCount - 1 : c.restartCount;
  // A container waiting to restart shows its last run's log, as kubelet does.
  if (!req.previous && run > 0 && !existsSync(c.logFile(run))) run--;
  const file = c.logFile(run);
  if (!existsSync(file)) {
    if (c.state.waiting) return stream.fail(`container "${req.container}" in pod "${req.pod}" is waiting to start: ${c.state.waiting.reason ?? 'ContainerCreating'}`, 400);
    stream.end();
    return;
  }
  const fh = await open(file, 'r');
  let offset: number;
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(size);
    await fh.read(buf, 0, size, 0);
    const text = buf.toString('utf8');
    stream.write(req.tailLines !== undefined ? tail(text, req.tailLines) : text);
    offset = size;
  } finally {
    await fh.close();
  }
  if (!req.follow || req.previous) return stream.end();
  // Follow: stream what the program appends until the client goes away or the run ends.
  let reading = false;
  const pump = () => {
    if (reading || stream.signal.aborted) return;
    const size = existsSync(file) ? statSync(file).size : offset;
    if (size <= offset) {
      if (c.restartCount !== run || !c.state.running) finish();
      return;
    }
    reading = true;
    const rs = createReadStream(file, { start: offset, end: size - 1 });
    rs.on('data', (d) => stream.write(d as Buffer));
    rs.on('close', () => {
      offset = size;
      reading = false;
    });
  };
  const watcher = watch(file, () => pump());
  const timer = setInterval(pump, 500);
  const finish = () => {
    watcher.close();
    clearInterval(timer);
    stream.end();
  };
  stream.signal.addEventListener('abort', () => {
    watcher.close();
    clearInterval(timer);
  });
}

/** How often an attach session looks for new output besides the file watch. */
const ATTACH_POLL_MS = 100;
/** How much earlier output the first attach session of a run gets. */
const ATTACH_REPLAY_BYTES = 64 * 1024;

/**
 * `kubectl attach` (and `kubectl debug -i`/`-it`): joins the container's
 * running program. Its output from now on is what the program writes to its
 * log (a terminal's output, echo included, with `tty: true`), relayed on
 * stdout — for the run's first session, from the run's start (see
 * ContainerRunner.firstAttach); the client's stdin goes to the program's stdin when the container
 * has `stdin: true` (with `stdinOnce`, the program's stdin closes when this
 * session ends). The session ends when the client goes away, or with Success
 * when the program exits, as kubelet's attach does. A program that is not
 * running — or has just exited — is refused, so kubectl falls back to the
 * logs.
 */
export function serveAttach(find: FindWorker, req: ExecRequest, stream: ExecStream): void {
  const w = find(req.namespace, req.pod, req.uid);
  const c = w?.container(req.container);
  if (!w || !c) return stream.fail(`unable to upgrade connection: container not found ("${req.container}")`, 404);
  if (!c.alive) return stream.fail(`unable to upgrade connection: container ${req.container} is not running`, 400);
  const run = c.restartCount;
  const file = c.logFile(run);
  const size = existsSync(file) ? statSync(file).size : 0;
  // The run's first session also gets its output so far (its last 64 KiB); later ones start at the end.
  let offset = c.firstAttach() ? Math.max(0, size - ATTACH_REPLAY_BYTES) : size;
  const input = req.stdin ? c.attachStdin() : undefined;
  if (stream.stdin) {
    stream.stdin.on('data', (d: Buffer) => input?.write(d));
    stream.stdin.on('end', () => input?.detach());
  }
  if (req.tty) stream.on('resize', ({ width, height }) => c.resize(width, height));
  let reading = false;
  let over = false;
  const finish = (exited: boolean) => {
    if (over) return;
    over = true;
    watcher?.close();
    clearInterval(timer);
    input?.detach();
    if (exited) stream.exit(0, null);
  };
  const pump = () => {
    if (reading || over) return;
    const size = existsSync(file) ? statSync(file).size : offset;
    if (size <= offset) {
      // Everything written is out: end once the program has exited.
      if (c.restartCount !== run || !c.state.running) finish(true);
      return;
    }
    reading = true;
    const rs = createReadStream(file, { start: offset, end: size - 1 });
    rs.on('data', (d) => stream.stdout.write(d as Buffer));
    rs.on('close', () => {
      offset = size;
      reading = false;
      pump();
    });
    rs.on('error', () => {
      reading = false;
    });
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(file, () => pump());
    watcher.on('error', () => {});
  } catch {
    watcher = undefined; // no file yet: the poll still runs
  }
  const timer = setInterval(pump, ATTACH_POLL_MS);
  stream.signal.addEventListener('abort', () => finish(false));
}
