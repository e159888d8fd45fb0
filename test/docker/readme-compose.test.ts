/**
 * The README's "Start with docker compose" lines, run as written from the
 * host with the compose tool this machine has (`docker compose` becomes
 * `docker-compose` where only 1.29 is installed): the default project
 * `kubemu` on 172.30.0.0/24 with its published ports, the host kubeconfig in
 * ./.kubemu, the demo reached at a node port, the LoadBalancer IP and the
 * Ingress, then `down -v`. Skipped when the default project, 172.30.0.0/24 or
 * one of its host ports is already in use on this machine.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/control-plane-process.js';
import { composeCommand, dockerUnavailable } from '../helpers/compose-project.js';
import { until } from '../helpers/netns-cluster.js';

const why = await dockerUnavailable();

function readmeLines(): string[] {
  const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = md.split(/^## /m).find((s) => s.startsWith('Start with docker compose'));
  if (!section) throw new Error('README.md has no "## Start with docker compose" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l && !l.startsWith('#'));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function inUse(): Promise<string | null> {
  const docker = new Docker();
  if ((await docker.listContainers({ all: true, filters: { label: ['com.docker.compose.project=kubemu'] } })).length) return 'a compose project "kubemu" exists';
  if (/^172\.30\.0\.0\/24 /m.test(spawnSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).stdout ?? '')) return '172.30.0.0/24 is routed already';
  for (const p of [6443, 8080, 8443, 30000]) if (!(await portFree(p))) return `host port ${p} is taken`;
  return null;
}

describe.skipIf(why !== null)('README compose quick start, as written', () => {
  const compose = (composeCommand() ?? ['docker-compose']).join(' ');
  let started = false;
  const sh = (line: string) => {
    const cmd = line.replace(/^docker compose\b/, compose).replace(/\s+# or docker-compose.*$/, '');
    const r = spawnSync('bash', ['-c', cmd], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
  };
  afterAll(() => {
    if (started) sh(`${compose} down -v -t 5`);
  }, 180_000);

  it('up -d, the demo at a node port, the LB IP and the Ingress, down -v', async (ctx) => {
    const busy = await inUse();
    if (busy) {
      console.warn(`readme-compose.test.ts skipped: ${busy} (the README starts the default project)`);
      ctx.skip();
    }
    const lines = readmeLines();
    const find = (re: RegExp) => {
      const l = lines.find((x) => re.test(x));
      if (!l) throw new Error(`README.md's compose section no longer has a line matching ${re}`);
      return l;
    };
    const ok = (line: string) => {
      const r = sh(line);
      expect(r.status, `${line}\n${r.out}`).toBe(0);
      return r.stdout;
    };
    started = true;
    ok(find(/compose up -d/));
    await until('3 Ready nodes', () => (sh(find(/get nodes/)).stdout.match(/\bReady\b/g) ?? []).length === 3, 120_000);
    ok(find(/apply -f examples\/demo.yaml/));
    await until('the demo available', () => sh(find(/wait --for=condition=Available/)).status === 0, 120_000);
    for (const re of [/172\.30\.0\.11:30000/, /172\.30\.0\.200\//, /Host: kubia\.example\.com/]) {
      const line = find(re);
      const body = await until(line, () => /^You've hit kubia-\S+$/.exec(sh(line).stdout.trim()), 60_000);
      expect(body[0]).toMatch(/^You've hit kubia-/);
    }
    ok(find(/compose down -v/));
    started = false;
    const left = await new Docker().listContainers({ all: true, filters: { label: ['com.docker.compose.project=kubemu'] } });
    expect(left).toEqual([]);
  });
});
