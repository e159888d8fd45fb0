import { describe, expect, it } from 'vitest';
import type { KubeObject, Pod, Service } from '@kubemu/api';
import { Registry, RES } from './registry.js';
import { bootstrap } from '../system/bootstrap.js';
import type { ObjectEvent } from './object-client.js';
import { thrownApiError } from '../testing/api-error.js';

function fresh(): Registry {
  const reg = Registry.inMemory();
  bootstrap(reg, { ip: '172.30.0.2', port: 6443 });
  return reg;
}

const svc = (name: string, spec: Partial<Service['spec']> = {}): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
});

describe('Registry: services', () => {
  it('gives the kubernetes Service the first IP and others distinct IPs in the CIDR', () => {
    const reg = fresh();
    expect(reg.get<Service>(RES.services, 'default', 'kubernetes')?.spec.clusterIP).toBe('10.96.0.1');
    const ips = new Set<string>();
    for (let i = 0; i < 50; i++) ips.add(reg.create(RES.services, svc(`s${i}`)).spec.clusterIP!);
    expect(ips.size).toBe(50);
    for (const ip of ips) expect(ip).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
  });

  it('honours a requested clusterIP and rejects a taken one with the field path', () => {
    const reg = fresh();
    expect(reg.create(RES.services, svc('dns', { clusterIP: '10.96.0.10' })).spec.clusterIP).toBe('10.96.0.10');
    const e = thrownApiError(() => reg.create(RES.services, svc('dns2', { clusterIP: '10.96.0.10' })));
    expect(e.code).toBe(422);
    expect(e.message).toContain('spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: provided IP is already allocated');
    expect(reg.get(RES.services, 'default', 'dns2')).toBeUndefined();
  });

  it('allocates node ports, honours requested ones and releases them on delete', () => {
    const reg = fresh();
    const a = reg.create(RES.services, svc('a', { type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30123 }] }));
    expect(a.spec.ports![0].nodePort).toBe(30123);
    const e = thrownApiError(() => reg.create(RES.services, svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30123 }] })));
    expect(e.message).toContain('spec.ports[0].nodePort: Invalid value: 30123: provided port is already allocated');
    const auto = reg.create(RES.services, svc('c', { type: 'NodePort' }));
    expect(auto.spec.ports![0].nodePort).toBeGreaterThanOrEqual(30000);
    reg.delete(RES.services, 'default', 'a');
    expect(reg.create(RES.services, svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30123 }] })).spec.ports![0].nodePort).toBe(30123);
  });

  it('keeps the clusterIP and node ports on an update that omits them, drops node ports when the type goes back to ClusterIP', () => {
    const reg = fresh();
    const s = reg.create(RES.services, svc('a', { type: 'NodePort' }));
    const ip = s.spec.clusterIP;
    const port = s.spec.ports![0].nodePort!;
    const put = svc('a', { type: 'NodePort' });
    put.metadata.resourceVersion = s.metadata.resourceVersion;
    const u = reg.update(RES.services, put);
    expect(u.spec.clusterIP).toBe(ip);
    expect(u.spec.ports![0].nodePort).toBe(port);
    const back = reg.update(RES.services, { ...u, spec: { ...u.spec, type: 'ClusterIP' } });
    expect(back.spec.ports![0].nodePort).toBeUndefined();
    expect(back.spec.clusterIP).toBe(ip);
    // the port is free again
    expect(reg.create(RES.services, svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: port }] })).spec.ports![0].nodePort).toBe(port);
  });

  it('refuses a stale resourceVersion with 409 and keeps a no-op update at the same version', () => {
    const reg = fresh();
    const s = reg.create(RES.services, svc('a'));
    const same = reg.update(RES.services, s);
    expect(same.metadata.resourceVersion).toBe(s.metadata.resourceVersion);
    const changed = reg.update(RES.services, { ...s, metadata: { ...s.metadata, labels: { x: 'y' } } });
    expect(changed.metadata.resourceVersion).not.toBe(s.metadata.resourceVersion);
    const e = thrownApiError(() => reg.update(RES.services, { ...s, metadata: { ...s.metadata, labels: { x: 'z' } } }));
    expect(e.code).toBe(409);
    expect(e.reason).toBe('Conflict');
  });
});

describe('Registry: objects', () => {
  it('creates with generateName, uid, timestamps and Pending pods', () => {
    const reg = fresh();
    const p = reg.create<Pod>(RES.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'kubia-' }, spec: { containers: [{ name: 'c', image: 'luksa/kubia' }] } });
    expect(p.metadata.name).toMatch(/^kubia-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(p.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.status?.phase).toBe('Pending');
    expect(p.spec.restartPolicy).toBe('Always');
  });

  it('rejects objects in namespaces that do not exist', () => {
    const reg = fresh();
    const e = thrownApiError(() => reg.create(RES.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'nope' } }));
    expect(e.code).toBe(404);
    expect(e.message).toBe('namespaces "nope" not found');
  });

  it('deletes a bound pod gracefully and an unbound one at once', () => {
    const reg = fresh();
    reg.create(RES.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    const pod = (name: string, nodeName?: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }] } });
    reg.create(RES.pods, pod('bound', 'node-1'));
    reg.create(RES.pods, pod('free'));
    const t = reg.delete(RES.pods, 'default', 'bound');
    expect(t?.metadata.deletionTimestamp).toBeDefined();
    expect(t?.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(reg.get(RES.pods, 'default', 'bound')).toBeDefined();
    reg.delete(RES.pods, 'default', 'free');
    expect(reg.get(RES.pods, 'default', 'free')).toBeUndefined();
    reg.delete(RES.pods, 'default', 'bound', { gracePeriodSeconds: 0 });
    expect(reg.get(RES.pods, 'default', 'bound')).toBeUndefined();
  });

  it('watches with a label selector: objects entering and leaving it are ADDED and DELETED', async () => {
    const reg = fresh();
    const seen: string[] = [];
    const stop = reg.watch(RES.configmaps, { namespace: 'default', labelSelector: 'app=web' }, (ev: ObjectEvent) => seen.push(`${ev.type} ${ev.object.metadata.name}`));
    const c = reg.create(RES.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { app: 'db' } } });
    const c2 = reg.update(RES.configmaps, { ...c, metadata: { ...c.metadata, labels: { app: 'web' } } });
    const c3 = reg.update(RES.configmaps, { ...c2, data: { k: 'v' } });
    reg.update(RES.configmaps, { ...c3, metadata: { ...c3.metadata, labels: { app: 'db' } } });
    await new Promise((r) => setImmediate(r));
    stop();
    expect(seen).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
  });

  it('resumes a watch from a resourceVersion', async () => {
    const reg = fresh();
    const a = reg.create(RES.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
    reg.create(RES.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } });
    const seen: string[] = [];
    const stop = reg.watch(RES.configmaps, { resourceVersion: a.metadata.resourceVersion }, (ev) => seen.push(`${ev.type} ${ev.object.metadata.name}`));
    await new Promise((r) => setImmediate(r));
    stop();
    expect(seen).toEqual(['ADDED b']);
  });
});

describe('Registry: pods/ephemeralcontainers', () => {
  const kubia = (): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kubia', namespace: 'default' }, spec: { containers: [{ name: 'kubia', image: 'luksa/kubia' }] } });

  it('takes only spec.ephemeralContainers (defaulted), keeps status and everything else, bumps the resourceVersion', () => {
    const reg = fresh();
    const pod = reg.create<Pod>(RES.pods, kubia());
    const asked = structuredClone(pod);
    asked.metadata.labels = { sneaky: 'yes' };
    asked.spec.containers[0]!.image = 'nginx';
    asked.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', stdin: true, tty: true }];
    asked.status = { phase: 'Failed' };
    const out = reg.updateEphemeralContainers(RES.pods, asked);
    expect(out.metadata.labels).toBeUndefined();
    expect(out.spec.containers[0]!.image).toBe('luksa/kubia');
    expect(out.status?.phase).toBe('Pending');
    expect(out.spec.ephemeralContainers).toEqual([{ name: 'debugger', image: 'busybox', stdin: true, tty: true, imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }]);
    expect(Number(out.metadata.resourceVersion)).toBeGreaterThan(Number(pod.metadata.resourceVersion));
  });

  it('refuses a removal, a stale resourceVersion and a plain pod update that adds one, writing nothing', () => {
    const reg = fresh();
    const pod = reg.create<Pod>(RES.pods, kubia());
    const withOne = reg.updateEphemeralContainers(RES.pods, { ...pod, spec: { ...pod.spec, ephemeralContainers: [{ name: 'd', image: 'busybox' }] } });
    const removal = thrownApiError(() => reg.updateEphemeralContainers(RES.pods, { ...withOne, spec: { ...withOne.spec, ephemeralContainers: [] } }));
    expect(removal.code).toBe(422);
    expect(removal.message).toBe('Pod "kubia" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "d" may not be removed\n');
    expect(thrownApiError(() => reg.updateEphemeralContainers(RES.pods, { ...pod, spec: { ...pod.spec, ephemeralContainers: [{ name: 'e', image: 'busybox' }] } })).code).toBe(409);
    const plain = thrownApiError(() => reg.update(RES.pods, { ...withOne, spec: { ...withOne.spec, ephemeralContainers: [...withOne.spec.ephemeralContainers!, { name: 'e', image: 'busybox' }] } }));
    expect(plain.code).toBe(422);
    expect(reg.get<Pod>(RES.pods, 'default', 'kubia')?.metadata.resourceVersion).toBe(withOne.metadata.resourceVersion);
    // dry run: validated, not stored
    const dry = reg.updateEphemeralContainers(RES.pods, { ...withOne, spec: { ...withOne.spec, ephemeralContainers: [...withOne.spec.ephemeralContainers!, { name: 'e', image: 'busybox' }] } }, { dryRun: true });
    expect(dry.spec.ephemeralContainers).toHaveLength(2);
    expect(reg.get<Pod>(RES.pods, 'default', 'kubia')?.spec.ephemeralContainers).toHaveLength(1);
  });
});
