/**
 * `kubectl exec` and `kubectl logs` end to end: the real kubectl against a
 * real control-plane process, relayed over the agent WebSocket to a small
 * real node agent running in this test process (AgentClient as
 * `node-agent/node-1`). Its exec handler runs the command on this machine
 * with child_process.spawn (no namespaces — that is node-agent's job); its
 * logs handler streams a file, and in follow mode what is appended to it.
 */
import { until } from './helpers/netns-cluster.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, openSync, readSync, closeSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient, type ExecStream, type LogStream } from '@kubemu/agent-client';
import { errors } from '@kubemu/api';
import { ControlPlaneProcess } from './helpers/control-plane-process.js';
import { kubectlAsync, spawnKubectl, versionedKubectl } from './helpers/kubectl-async.js';

const cp = new ControlPlaneProcess();
const logDir = mkdtempSync(join(tmpdir(), 'kubemu-logs-'));
const logFile = (pod: string, container: string) => join(logDir, `${pod}_${container}.log`);
const children = new Set<ChildProcess>();
const procs = new Set<ChildProcess>();
let agent: AgentClient | undefined;


const kubectl = (args: string[], input?: string | Buffer, bin?: string) => kubectlAsync(cp.kubeconfig, args, { input, bin });

/** Runs the command for real, wired to the stream, and reports its exit. */
function serveExec(req: { container: string; command: string[] }, stream: ExecStream): void {
  if (req.container === 'sidecar') throw errors.badRequest('unable to upgrade connection: container not found ("sidecar")');
  const child = spawn(req.command[0], req.command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], cwd: logDir });
  children.add(child);
  child.stdin.on('error', () => {});
  if (stream.stdin) stream.stdin.pipe(child.stdin);
  else child.stdin.end();
  child.stdout.pipe(stream.stdout);
  child.stderr.pipe(stream.stderr);
  child.on('error', (e) => stream.fail(`exec failed: ${e.message}`));
  child.on('close', (code, signal) => {
    children.delete(child);
    stream.exit(code, signal);
  });
  stream.signal.addEventListener('abort', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Streams the container's log file (tailLines honoured), then, with follow, what gets appended. */
function serveLogs(req: { pod: string; container: string; follow: boolean; tailLines?: number }, stream: LogStream): void {
  if (req.container === 'sidecar') throw errors.badRequest(`container "sidecar" in pod "${req.pod}" is waiting to start: ContainerCreating`);
  const file = logFile(req.pod, req.container);
  let text = readFileSync(file, 'utf8');
  let offset = Buffer.byteLength(text);
  if (req.tailLines !== undefined) {
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    text = req.tailLines === 0 ? '' : lines.slice(-req.tailLines).join('\n') + '\n';
  }
  stream.write(text);
  if (!req.follow) return stream.end();
  const timer = setInterval(() => {
    const size = statSync(file).size;
    if (size <= offset) return;
    const buf = Buffer.alloc(size - offset);
    const fd = openSync(file, 'r');
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset = size;
    stream.write(buf);
  }, 50);
  stream.signal.addEventListener('abort', () => clearInterval(timer));
}

async function startAgent(): Promise<AgentClient> {
  const a = new AgentClient({ server: cp.url, token: cp.agentToken, ca: cp.ca, agentName: 'node-agent/node-1', minBackoffMs: 50, maxBackoffMs: 200 });
  a.onExec(serveExec);
  a.onLogs(serveLogs);
  a.start();
  await a.waitConnected(10_000);
  return a;
}

function pod(name: string, node: string | undefined, containers = ['main']): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { ...(node ? { nodeName: node } : {}), containers: containers.map((c) => ({ name: c, image: 'busybox', command: ['sleep', '3600'] })) },
  };
}

beforeAll(async () => {
  await cp.start();
  for (const n of ['node-1', 'node-2']) {
    const r = await cp.api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  for (const p of [pod('web', 'node-1'), pod('duo', 'node-1', ['main', 'sidecar']), pod('orphan', 'node-2'), pod('unscheduled', undefined)]) {
    const r = await cp.api('POST', '/api/v1/namespaces/default/pods', p);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  writeFileSync(logFile('web', 'main'), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'].map((l) => `${l}\n`).join(''));
  agent = await startAgent();
});

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  for (const c of children) c.kill('SIGKILL');
  agent?.close();
  await cp.cleanup();
  rmSync(logDir, { recursive: true, force: true });
});

describe('kubectl exec', () => {
  it('separates stdout and stderr and exits with the command’s exit code', async () => {
    const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toContain('err\n');
    expect(r.stderr).toContain('command terminated with exit code 3');
    expect(r.status).toBe(3);
  });

  it('takes a command line longer than 16 KiB (every argument is a query parameter of the URL)', async () => {
    const long = 'x'.repeat(40_000);
    const r = await kubectl(['exec', 'web', '--', 'sh', '-c', `printf %s "$1" | wc -c`, 'sh', long]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('40000');
  });

  it('runs a command that succeeds', async () => {
    const r = await kubectl(['exec', 'web', '--', 'echo', 'hello', 'world']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello world\n');
    expect(r.status).toBe(0);
  });

  it('passes stdin through, and its EOF ends the command (kubectl exec -i … -- cat)', async () => {
    const r = await kubectl(['exec', '-i', 'web', '--', 'cat'], 'hello from stdin\nsecond line\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from stdin\nsecond line\n');
    expect(r.status).toBe(0);
  });

  it('moves megabytes both ways under flow control', async () => {
    const input = randomBytes(3 * 1024 * 1024).toString('base64');
    const r = await kubectl(['exec', '-i', 'web', '--', 'sha256sum'], input);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split(' ')[0]).toBe(createHash('sha256').update(input).digest('hex'));
    const big = await kubectl(['exec', 'web', '--', 'head', '-c', '5000000', '/dev/zero']);
    expect(big.status, big.stderr).toBe(0);
    expect(big.stdoutBytes).toBe(5_000_000);
  });

  it('works with the newest kubectl too', async () => {
    const bin = versionedKubectl('1.33');
    if (!bin) return;
    const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo new; exit 7'], undefined, bin);
    expect(r.stdout).toBe('new\n');
    expect(r.stderr).toContain('command terminated with exit code 7');
    expect(r.status).toBe(7);
  });

  it('tells kubectl older than 1.30 (SPDY) that it needs the WebSocket protocol', async () => {
    const bin = versionedKubectl('1.29');
    if (!bin) return;
    const r = await kubectl(['exec', 'web', '--', 'true'], undefined, bin);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('kubemu speaks the WebSocket remote-command protocol');
    expect(r.stderr).toContain('kubectl 1.30 or newer');
  });

  it('reports a pod that does not exist', async () => {
    const r = await kubectl(['exec', 'nope', '--', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pods "nope" not found');
  });

  it('reports a pod that is not on a node', async () => {
    const r = await kubectl(['exec', 'unscheduled', '--', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pod unscheduled does not have a host assigned');
  });

  it('reports a node whose agent is not connected', async () => {
    const r = await kubectl(['exec', 'orphan', '--', 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('the node agent of node "node-2" is not connected');
    expect(r.stdout).toBe('');
  });

  it('shows the agent’s refusal (container not running) as kubectl shows kubelet’s', async () => {
    const r = await kubectl(['exec', 'duo', '-c', 'sidecar', '--', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: unable to upgrade connection: container not found ("sidecar")');
  });

  it('stops the command on the node when kubectl goes away', async () => {
    const p = spawnKubectl(cp.kubeconfig, ['exec', 'web', '--', 'sh', '-c', 'echo started; exec sleep 30']);
    procs.add(p);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the command to start', () => out.includes('started'));
    const running = [...children];
    expect(running.length).toBe(1);
    p.kill('SIGKILL');
    await until('the agent to cancel the stream', () => agent!.activeStreams === 0);
    await until('the command to be killed', () => running[0].exitCode !== null || running[0].signalCode !== null);
    procs.delete(p);
  });
});

describe('kubectl logs', () => {
  it('prints the container log', async () => {
    const r = await kubectl(['logs', 'web']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
    expect(r.status).toBe(0);
  });

  it('honours --tail and --limit-bytes', async () => {
    const t = await kubectl(['logs', '--tail=2', 'web']);
    expect(t.stdout).toBe('line 4\nline 5\n');
    const l = await kubectl(['logs', '--limit-bytes=10', 'web']);
    expect(l.stdout).toBe('line 1\nlin');
  });

  it('follows the log until kubectl goes away (kubectl logs -f)', async () => {
    const p = spawnKubectl(cp.kubeconfig, ['logs', '-f', 'web']);
    procs.add(p);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the existing lines', () => out.includes('line 5\n'));
    appendFileSync(logFile('web', 'main'), 'line 6\n');
    await until('the appended line', () => out.includes('line 6\n'));
    appendFileSync(logFile('web', 'main'), 'line 7\n');
    await until('another appended line', () => out.includes('line 7\n'));
    expect(out).toBe('line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n');
    expect(agent!.activeStreams).toBe(1);
    p.kill('SIGTERM');
    await until('the agent to cancel the stream', () => agent!.activeStreams === 0);
    procs.delete(p);
  });

  it('shows the agent’s refusal (container waiting to start) as kube-apiserver does', async () => {
    const r = await kubectl(['logs', 'duo', '-c', 'sidecar']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error from server (BadRequest): container "sidecar" in pod "duo" is waiting to start: ContainerCreating');
  });

  it('rejects a container the pod does not have', async () => {
    const r = await kubectl(['logs', 'duo', '-c', 'nope']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('container nope is not valid for pod duo');
  });

  it('reports a node whose agent is not connected', async () => {
    const r = await kubectl(['logs', 'orphan']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the node agent of node "node-2" is not connected');
  });

  it('lists pods/exec and pods/log in discovery', async () => {
    const r = await cp.api('GET', '/api/v1');
    const names = (r.body.resources as { name: string }[]).map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['pods/exec', 'pods/log', 'pods/attach', 'pods/portforward', 'pods/status']));
  });
});

describe('when the node agent goes away mid-stream', () => {
  it('ends a running exec with an error, and serves again once the agent is back', async () => {
    const p = spawnKubectl(cp.kubeconfig, ['exec', 'web', '--', 'sh', '-c', 'echo started; exec sleep 30']);
    procs.add(p);
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => p.once('close', (code) => r(code)));
    await until('the command to start', () => out.includes('started'));
    const running = [...children];
    agent!.close();
    const code = await exited;
    procs.delete(p);
    expect(code).not.toBe(0);
    expect(err).toContain('the node agent of node "node-1" disconnected');
    await until('the orphaned command to be killed', () => running[0].exitCode !== null || running[0].signalCode !== null);

    agent = await startAgent();
    const r = await kubectl(['exec', 'web', '--', 'echo', 'back']);
    expect(r.stdout).toBe('back\n');
    expect(r.status).toBe(0);
  });
});
