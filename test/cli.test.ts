/**
 * The kubemu CLI's basics against a real control plane: apply, get, delete,
 * one-line errors with a non-zero exit, and a clean stop on SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneProcess, KUBEMU, ROOT } from './helpers/control-plane-process.js';

const cp = new ControlPlaneProcess();
beforeAll(() => cp.start());
afterAll(() => cp.cleanup());

function kubemu(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KUBEMU, ...args, '--kubeconfig', cp.kubeconfig], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('kubemu apply/get/delete', () => {
  it('applies manifests, lists them as a kubectl-style table and deletes them', () => {
    let r = kubemu(['apply', '-f', join(ROOT, 'examples', 'kubia-rc.yaml'), '-f', join(ROOT, 'examples', 'kubia-svc.yaml')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('replicationcontroller/kubia created\nservice/kubia created\n');
    r = kubemu(['apply', '-f', join(ROOT, 'examples', 'kubia-svc.yaml')]);
    expect(r.stdout).toBe('service/kubia configured\n');
    r = kubemu(['get', 'svc']);
    expect(r.stdout).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    expect(r.stdout).toMatch(/^kubia\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+$/m);
    r = kubemu(['get', 'svc', 'kubia', '-o', 'yaml']);
    expect(r.stdout).toMatch(/^kind: Service$/m);
    r = kubemu(['delete', 'svc', 'kubia']);
    expect(r.stdout).toBe('service "kubia" deleted\n');
    expect(kubemu(['get', 'svc', 'kubia']).status).not.toBe(0);
  });

  it('answers bad input with one line and a non-zero exit, storing nothing', () => {
    const bad = join(cp.dataDir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports: [{port: 80}]\n');
    let r = kubemu(['apply', '-f', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Error from server \(Invalid\): Service "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name"/);
    writeFileSync(bad, 'apiVersion: v1\nkind: [unclosed\n');
    r = kubemu(['apply', '-f', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: error parsing .*bad\.yaml/);
    r = kubemu(['get', 'widgets']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('error: the server doesn\'t have a resource type "widgets"');
  });

  it('stops the control plane cleanly on SIGTERM', async () => {
    expect(await cp.stop('SIGTERM')).toBe(0);
  });
});
