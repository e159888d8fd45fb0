/**
 * `kubectl debug` with ephemeral containers, on a real netns cluster with the
 * real kubectl (the server's 1.32 and the newest, 1.33): a busybox debug
 * container joins a running kubia pod's network and reaches the app on
 * localhost, over `kubectl debug -i` (stdin), `-it` (a real terminal, made
 * by util-linux `script`), and `kubectl debug` without attaching followed by
 * `kubectl attach`; the ephemeral container shows in the pod's spec and
 * status (never restarted, no effect on readiness); pods/ephemeralcontainers
 * refuses what Kubernetes refuses, with its field paths, and writes nothing.
 *
 * Set KUBEMU_DEBUG_TEST_SUBNET to run it on another node subnet.
 */
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NetnsCluster, until } from './helpers/netns-cluster.js';
import { versionedKubectl } from './helpers/kubectl-async.js';

const SUBNET = process.env.KUBEMU_DEBUG_TEST_SUBNET ?? '172.30.214.0/24';
const c = new NetnsCluster(2, ['--subnet', SUBNET]);
const POD = 'kubia-debug';
const PATH = `/api/v1/namespaces/default/pods/${POD}/ephemeralcontainers`;

interface ContainerStatusJ {
  name: string;
  ready: boolean;
  restartCount: number;
  state: { waiting?: { reason: string }; running?: object; terminated?: { exitCode: number; reason: string } };
}
interface PodJ {
  metadata: { resourceVersion: string };
  spec: { containers: { name: string }[]; ephemeralContainers?: { name: string; image: string; command?: string[]; stdin?: boolean; tty?: boolean; targetContainerName?: string }[] };
  status: { phase: string; conditions?: { type: string; status: string }[]; containerStatuses?: ContainerStatusJ[]; ephemeralContainerStatuses?: ContainerStatusJ[] };
}

const getPod = (): PodJ => c.json<PodJ>(['get', 'pod', POD]);
const ephemeralStatus = (name: string): ContainerStatusJ | undefined => getPod().status.ephemeralContainerStatuses?.find((s) => s.name === name);

/** kubectl (the dispatcher, or a versioned binary) with the cluster's kubeconfig; stdin from `input`. */
function kubectl(bin: string, args: string[], input?: string, timeoutMs = 60_000): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['--kubeconfig', c.kubeconfig, ...args], { input: input ?? '', encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * kubectl on a real terminal (util-linux `script` gives it one): `-it` then
 * puts the terminal in raw mode and attaches with a tty. `input` lines are
 * typed once kubectl says it is attached. Resolves with everything the
 * terminal showed and kubectl's exit code.
 */
function kubectlOnTerminal(bin: string, args: string[], input: string[] = [], timeoutMs = 60_000): Promise<{ status: number; out: string }> {
  // A 123×45 terminal: kubectl sends its size, the container's terminal follows.
  const cmd = `stty cols 123 rows 45; exec ${[bin, '--kubeconfig', c.kubeconfig, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')}`;
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let typed = false;
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (!typed && out.includes("If you don't see a command prompt")) {
        typed = true;
        void (async () => {
          for (const line of input) {
            await new Promise((r) => setTimeout(r, 500));
            child.stdin.write(`${line}\r`);
          }
        })();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ status: code ?? -1, out });
    });
  });
}

/** A raw request to the API server with the kubeconfig's token and CA: the Status body kubectl would only summarize. */
function api(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ code: number; body: any }> {
  const cfg = readFileSync(c.kubeconfig, 'utf8');
  const server = /server: (\S+)/.exec(cfg)![1]!;
  const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)![1]!, 'base64').toString('utf8');
  const token = /token: (\S+)/.exec(cfg)![1]!;
  return new Promise((resolve, reject) => {
    const req = request(`${server}${path}`, { method, ca, headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const KUBECTLS: [string, string][] = [['1.32 (the server\'s)', 'kubectl']];
const newest = versionedKubectl('1.33');
if (newest) KUBECTLS.push(['1.33', newest]);

beforeAll(async () => {
  if (!IS_ROOT) return;
  c.up();
  c.apply(`apiVersion: v1
kind: Pod
metadata: {name: ${POD}, labels: {app: kubia-debug}}
spec:
  containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}], readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}}]
`);
  const r = c.kubectl(['wait', '--for=condition=Ready', `pod/${POD}`, '--timeout=60s']);
  if (r.status !== 0) throw new Error(`kubia never got Ready: ${r.stderr}`);
}, 180_000);
afterAll(() => {
  if (IS_ROOT) c.down();
}, 60_000);

describe.skipIf(!IS_ROOT)('kubectl debug: ephemeral containers (netns)', () => {
  describe.each(KUBECTLS)('kubectl %s', (label, bin) => {
    const tag = label.startsWith('1.33') ? '133' : '132';

    it('kubectl debug -i: a busybox debug container in the pod reaches the app on localhost, over stdin', () => {
      const r = kubectl(bin, ['debug', '-i', POD, '--image=busybox', `--container=sh-${tag}`, '--', 'sh'], 'wget -qO- localhost:8080; echo; hostname; exit\n');
      expect(r.stderr).not.toMatch(/falling back to streaming logs/);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`You've hit ${POD}`);
      // The pod's UTS namespace: its hostname.
      expect(r.stdout.trim().split('\n').at(-1)).toBe(POD);
    });

    it('kubectl debug -it … -- wget -qO- localhost:8080 on a terminal prints the app\'s answer', async () => {
      const r = await kubectlOnTerminal(bin, ['debug', '-it', POD, '--image=busybox', '--', 'wget', '-qO-', 'localhost:8080']);
      expect(r.status).toBe(0);
      expect(r.out).toContain(`You've hit ${POD}`);
    });

    it('kubectl debug -it: an interactive shell on a terminal (prompt, echo, the app)', async () => {
      const r = await kubectlOnTerminal(bin, ['debug', '-it', POD, '--image=busybox', `--container=tty-${tag}`], ['wget -qO- localhost:8080; echo', 'stty size', 'exit']);
      expect(r.status).toBe(0);
      expect(r.out).toContain('wget -qO- localhost:8080; echo'); // the terminal echoed what was typed
      expect(r.out).toContain(`You've hit ${POD}`);
      expect(r.out).toMatch(/stty size\r?\n45 123\r?\n/); // kubectl's terminal size
      expect(r.out).toContain(`kubectl attach ${POD} -c tty-${tag} -i -t`); // kubectl's "Session ended" hint
      const ec = getPod().spec.ephemeralContainers!.find((e) => e.name === `tty-${tag}`)!;
      expect(ec).toMatchObject({ image: 'busybox', stdin: true, tty: true });
      await until('tty debug container terminated', () => ephemeralStatus(`tty-${tag}`)?.state.terminated?.exitCode === 0, 15_000);
    });

    it('kubectl exec -it gets kubectl\'s terminal size too', async () => {
      const r = await kubectlOnTerminal(bin, ['exec', '-it', POD, '-c', 'kubia', '--', 'sh', '-c', 'sleep 0.5; stty size'], []);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/45 123/);
    });

    it('kubectl debug without -it, then kubectl attach -i: stdin reaches the waiting shell; the exit code is kept, never restarted', async () => {
      const name = `later-${tag}`;
      const d = kubectl(bin, ['debug', POD, '--image=busybox', '-i', '--attach=false', `--container=${name}`, '--', 'sh']);
      expect(d.status, d.stderr).toBe(0);
      await until('the debug container runs', () => !!ephemeralStatus(name)?.state.running, 30_000);
      const a = kubectl(bin, ['attach', POD, '-c', name, '-i'], 'wget -qO- localhost:8080; exit 3\n');
      expect(a.stdout).toContain(`You've hit ${POD}`);
      await until('the debug container terminated', () => ephemeralStatus(name)?.state.terminated?.exitCode === 3, 15_000);
      await new Promise((r) => setTimeout(r, 2000));
      const s = ephemeralStatus(name)!;
      expect(s.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
      expect(s.restartCount).toBe(0);
      // A finished container cannot be attached to: kubectl says so (kubectl debug then falls back to its logs).
      expect(kubectl(bin, ['attach', POD, '-c', name]).status).not.toBe(0);
    });

    it('kubectl attach without -i follows the output of a debug container started without -it', async () => {
      const name = `ticker-${tag}`;
      const d = kubectl(bin, ['debug', POD, '--image=busybox', `--container=${name}`, '--', 'sh', '-c', 'sleep 2; for i in 1 2 3; do echo tick $i; sleep 0.5; done']);
      expect(d.status, d.stderr).toBe(0);
      await until('the ticker runs', () => !!ephemeralStatus(name)?.state.running, 30_000);
      const a = kubectl(bin, ['attach', POD, '-c', name]);
      expect(a.status, a.stderr).toBe(0);
      expect(a.stdout).toContain('tick 3');
      expect(kubectl(bin, ['logs', POD, '-c', name]).stdout).toBe('tick 1\ntick 2\ntick 3\n');
    });
  });

  it('shows the ephemeral containers in the pod (spec and status) and leaves the pod Ready, with one container', () => {
    const p = getPod();
    expect(p.spec.containers.map((x) => x.name)).toEqual(['kubia']);
    const names = p.spec.ephemeralContainers!.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['sh-132', 'tty-132', 'later-132']));
    expect(p.spec.ephemeralContainers!.find((e) => e.name === 'sh-132')).toMatchObject({ image: 'busybox', command: ['sh'], stdin: true });
    for (const n of names) expect(p.status.ephemeralContainerStatuses!.map((s) => s.name)).toContain(n);
    expect(p.status.ephemeralContainerStatuses!.find((s) => s.name === 'sh-132')).toMatchObject({ ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    expect(p.status.containerStatuses!.map((s) => s.name)).toEqual(['kubia']);
    expect(p.status.phase).toBe('Running');
    expect(p.status.conditions!.find((x) => x.type === 'Ready')!.status).toBe('True');
    const yaml = c.kubectl(['get', 'pod', POD, '-o', 'yaml']).stdout;
    expect(yaml).toMatch(/ephemeralContainers:\n {2}- command:\n {4}- sh\n/);
    expect(yaml).toContain('ephemeralContainerStatuses:');
    expect(c.kubectl(['get', 'pod', POD]).stdout).toMatch(new RegExp(`${POD}\\s+1/1\\s+Running\\s+0`));
  });

  it('--target joins the target container\'s namespaces (its mount view); without it the debug container has its own', () => {
    const own = c.kubectl(['exec', POD, '-c', 'kubia', '--', 'readlink', '/proc/self/ns/mnt']).stdout.trim();
    expect(own).toMatch(/^mnt:\[\d+\]$/);
    const targeted = kubectl('kubectl', ['debug', '-i', POD, '--image=busybox', '--target=kubia', '--', 'readlink', '/proc/self/ns/mnt']);
    const alone = kubectl('kubectl', ['debug', '-i', POD, '--image=busybox', '--', 'readlink', '/proc/self/ns/mnt']);
    const last = (s: string) => s.trim().split('\n').at(-1);
    expect(last(targeted.stdout)).toBe(own);
    expect(last(alone.stdout)).toMatch(/^mnt:\[\d+\]$/);
    expect(last(alone.stdout)).not.toBe(own);
    expect(getPod().spec.ephemeralContainers!.some((e) => e.targetContainerName === 'kubia')).toBe(true);
  });

  describe('pods/ephemeralcontainers refuses what Kubernetes refuses (422, field paths, nothing written)', () => {
    it('kubectl debug with a container name the pod has: Duplicate', () => {
      const rv = getPod().metadata.resourceVersion;
      for (const [, bin] of KUBECTLS) {
        const r = kubectl(bin, ['debug', POD, '--image=busybox', '--container=kubia', '--', 'true']);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(new RegExp(`The Pod "${POD}" is invalid: spec\\.ephemeralContainers\\[\\d+\\]\\.name: Duplicate value: "kubia"`));
      }
      expect(getPod().metadata.resourceVersion).toBe(rv);
    });

    it('kubectl debug --target naming no container: Not found', () => {
      const r = kubectl('kubectl', ['debug', POD, '--image=busybox', '--target=nope', '--', 'true']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/spec\.ephemeralContainers\[\d+\]\.targetContainerName: Not found: "nope"/);
    });

    it('PUT: ports, probes, resources, lifecycle, two of the same name, removing or changing one — each with its path', async () => {
      const before = (await api('GET', PATH)).body as PodJ & { spec: { ephemeralContainers: Record<string, unknown>[] } };
      expect(before.spec.ephemeralContainers.length).toBeGreaterThan(0);
      const n = before.spec.ephemeralContainers.length;
      const withExtra = (extra: Record<string, unknown>[]) => ({ ...before, spec: { ...before.spec, ephemeralContainers: [...before.spec.ephemeralContainers, ...extra] } });
      const cases: [string, unknown, { field: string; reason: string; message: RegExp }[]][] = [
        [
          'ports, probes, resources, lifecycle',
          withExtra([{ name: 'bad', image: 'busybox', ports: [{ containerPort: 80 }], readinessProbe: { tcpSocket: { port: 80 } }, resources: { limits: { cpu: '1' } }, lifecycle: { preStop: { exec: { command: ['true'] } } } }]),
          ['ports', 'resources', 'readinessProbe', 'lifecycle'].map((f) => ({ field: `spec.ephemeralContainers[${n}].${f}`, reason: 'FieldValueForbidden', message: /^Forbidden: cannot be set for an Ephemeral Container$/ })),
        ],
        [
          'two of the same name',
          withExtra([{ name: 'twin', image: 'busybox' }, { name: 'twin', image: 'busybox' }]),
          [{ field: `spec.ephemeralContainers[${n + 1}].name`, reason: 'FieldValueDuplicate', message: /^Duplicate value: "twin"$/ }],
        ],
        [
          'removing one',
          { ...before, spec: { ...before.spec, ephemeralContainers: before.spec.ephemeralContainers.slice(1) } },
          [{ field: 'spec.ephemeralContainers', reason: 'FieldValueForbidden', message: new RegExp(`^Forbidden: existing ephemeral containers "${String(before.spec.ephemeralContainers[0]!.name)}" may not be removed`) }],
        ],
        [
          'changing one',
          { ...before, spec: { ...before.spec, ephemeralContainers: [{ ...before.spec.ephemeralContainers[0], image: 'nginx' }, ...before.spec.ephemeralContainers.slice(1)] } },
          [{ field: `spec.ephemeralContainers[${String(before.spec.ephemeralContainers[0]!.name)}]`, reason: 'FieldValueForbidden', message: /may not be changed/ }],
        ],
      ];
      for (const [what, body, causes] of cases) {
        const r = await api('PUT', PATH, body);
        expect(r.code, what).toBe(422);
        expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', details: { name: POD, kind: 'Pod' } });
        const got = (r.body.details.causes as { field: string; reason: string; message: string }[]).map((x) => ({ field: x.field, reason: x.reason, message: x.message }));
        expect(got.map((x) => x.field), what).toEqual(causes.map((x) => x.field));
        causes.forEach((want, i) => {
          expect(got[i]!.reason, what).toBe(want.reason);
          expect(got[i]!.message, what).toMatch(want.message);
        });
      }
      expect(getPod().metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    });

    it('bad input is a Status, never a crash: wrong types, a strategic merge patch that deletes one, a missing pod', async () => {
      const rv = getPod().metadata.resourceVersion;
      const typed = await api('PATCH', PATH, { spec: { ephemeralContainers: [{ name: 'x', image: 'busybox', stdin: 'yes' }] } }, 'application/strategic-merge-patch+json');
      expect(typed.code).toBe(422);
      expect(typed.body.details.causes[0]).toMatchObject({ field: expect.stringMatching(/^spec\.ephemeralContainers\[\d+\]\.stdin$/) });
      const del = await api('PATCH', PATH, { spec: { ephemeralContainers: [{ name: 'sh-132', $patch: 'delete' }] } }, 'application/strategic-merge-patch+json');
      expect(del.code).toBe(422);
      expect(del.body.message).toContain('existing ephemeral containers "sh-132" may not be removed');
      const garbage = await api('PATCH', PATH, '{"spec":', 'application/merge-patch+json');
      expect(garbage.code).toBe(400);
      expect((await api('GET', '/api/v1/namespaces/default/pods/nope/ephemeralcontainers')).code).toBe(404);
      expect(getPod().metadata.resourceVersion).toBe(rv);
      // Other changes through the subresource are dropped, not applied.
      const relabel = await api('PATCH', PATH, { metadata: { labels: { sneaky: 'yes' } } }, 'application/merge-patch+json');
      expect(relabel.code).toBe(200);
      expect(relabel.body.metadata.labels?.sneaky).toBeUndefined();
      // The control plane is still fine.
      expect(c.kubectl(['get', 'pod', POD]).status).toBe(0);
    });

    it('is in discovery as kube-apiserver lists it', () => {
      const list = JSON.parse(c.kubectl(['get', '--raw', '/api/v1']).stdout) as { resources: { name: string; kind: string; verbs: string[] }[] };
      expect(list.resources.find((r) => r.name === 'pods/ephemeralcontainers')).toMatchObject({ kind: 'Pod', verbs: ['get', 'patch', 'update'] });
    });
  });
});
