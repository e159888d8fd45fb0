import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferedAccessLog } from './access-log.js';

describe('access log', () => {
  it('writes JSON lines with component ingress, and ignores lines after close instead of throwing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ing-log-')), 'access.log');
    const a = bufferedAccessLog(file);
    await new Promise((r) => setTimeout(r, 50));
    a.log({ host: 'h', path: '/p', method: 'GET', status: 200, upstream: 'pod-1', upstreamAddr: '10.0.0.1:80', upstreamMs: 3, bytes: 12, client: '1.2.3.4', proto: 'http' });
    a.close();
    expect(() => a.log({ host: 'h', path: '/late', method: 'GET', status: 502, bytes: 0, client: '', proto: 'http' })).not.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ component: 'ingress', host: 'h', path: '/p', status: 200, upstream: 'pod-1', upstreamMs: 3, bytes: 12, msg: 'access' });
    expect(typeof lines[0].time).toBe('number');
  });
});
