import { describe, expect, it } from 'vitest';
import { containerProgram } from './container-command.js';

const W = '/w/main.js';
const N = '/usr/bin/node';

describe('containerProgram', () => {
  it('runs built-in images as workloads', () => {
    expect(containerProgram({ name: 'c', image: 'luksa/kubia' }, W, N)).toEqual({ ok: true, argv: [N, W, 'kubia'] });
    expect(containerProgram({ name: 'c', image: 'docker.io/library/nginx:1.27' }, W, N)).toEqual({ ok: true, argv: [N, W, 'nginx'] });
    expect(containerProgram({ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.47', args: ['netexec', '--http-port=8080'] }, W, N)).toEqual({
      ok: true,
      argv: [N, W, 'agnhost', 'netexec', '--http-port=8080'],
    });
    expect(containerProgram({ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.47', command: ['/agnhost', 'serve-hostname'] }, W, N)).toEqual({
      ok: true,
      argv: [N, W, 'agnhost', 'serve-hostname'],
    });
  });

  it('runs commands with the node tools', () => {
    expect(containerProgram({ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 1'] }, W, N)).toEqual({ ok: true, argv: ['sh', '-c', 'sleep 1'] });
    expect(containerProgram({ name: 'c', image: 'anything/unknown', command: ['sleep'], args: ['10'] }, W, N)).toEqual({ ok: true, argv: ['sleep', '10'] });
    expect(containerProgram({ name: 'c', image: 'busybox' }, W, N)).toEqual({ ok: true, argv: ['sh'] });
  });

  it('reports ErrImagePull for unknown images without a command', () => {
    const p = containerProgram({ name: 'c', image: 'example.com/nope:1' }, W, N);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toBe('ErrImagePull');
  });
});
