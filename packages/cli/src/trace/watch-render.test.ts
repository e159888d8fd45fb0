import { describe, expect, it } from 'vitest';
import { renderWatchText, verdictOf, watchLine, type StreamEvent, type WatchContext } from './watch-render.js';

const ctx: WatchContext = {
  ports: new Map([['', { port: 80, nodePort: 31594 }]]),
  podByIP: new Map([['10.244.2.3', 'default/kubia-n2']]),
  nodeByIP: new Map([['172.30.3.11', 'node-1']]),
};
const ev = (x: Partial<StreamEvent>): StreamEvent => ({
  type: 'open', start: Date.UTC(2026, 0, 1, 5, 38, 21, 398), durationMs: 0, protocol: 'TCP', service: 'default/kubia:/TCP', via: 'node-port',
  client: '172.30.3.1:50424', node: 'node-1', endpoint: '10.244.2.3:8080', bytesIn: 0, bytesOut: 0, result: 'open', attempts: 1, ...x,
});
const at = (e: StreamEvent) => e.start + e.durationMs;
const clock = (ms: number) => new Date(ms).toTimeString().slice(0, 8);

describe('trace --watch lines', () => {
  it('verdicts as Kubernetes users say them', () => {
    expect(verdictOf({ type: 'open', result: 'open' })).toBe('FORWARDED');
    expect(verdictOf({ type: 'close', result: 'ok' })).toBe('FORWARDED');
    expect(verdictOf({ type: 'close', result: 'no-endpoints' })).toBe('REFUSED');
    expect(verdictOf({ type: 'close', result: 'connect-failed' })).toBe('REFUSED');
    expect(verdictOf({ type: 'close', result: 'reset' })).toBe('RESET');
    expect(verdictOf({ type: 'close', result: 'timeout' })).toBe('TIMED OUT');
    expect(verdictOf({ type: 'close', result: 'no-reply' })).toBe('TIMED OUT');
  });

  it('open and close: the Service port and how it was reached, the pod that took it, bytes on close', () => {
    const o = ev({});
    expect(renderWatchText(o, ctx, at(o))).toBe(`${clock(o.start)}.398  node-1        open  172.30.3.1:50424 → default/kubia:80/TCP (via node-port 31594) → default/kubia-n2 10.244.2.3:8080  FORWARDED`);
    const c = ev({ type: 'close', durationMs: 25, bytesIn: 401, bytesOut: 378, result: 'ok' });
    expect(renderWatchText(c, ctx, at(c))).toMatch(/\.423  node-1        close 172\.30\.3\.1:50424 → default\/kubia:80\/TCP \(via node-port 31594\) → default\/kubia-n2 10\.244\.2\.3:8080  CLOSED \(ok\)  401 B in, 378 B out, 25 ms$/);
    expect(watchLine(c, ctx, at(c))).toEqual({ time: new Date(at(c)).toISOString(), event: 'close', node: 'node-1', client: '172.30.3.1:50424', service: 'default/kubia', port: 80, protocol: 'TCP', via: 'node-port', endpoint: '10.244.2.3:8080', pod: 'default/kubia-n2', verdict: 'FORWARDED', result: 'ok', bytesIn: 401, bytesOut: 378, durationMs: 25 });
  });

  it('a refusal has no endpoint; the LB names the node it sent the connection to', () => {
    const r = ev({ type: 'close', endpoint: '', result: 'no-endpoints', attempts: 0 });
    expect(renderWatchText(r, ctx, at(r))).toMatch(/→ \(no endpoint\)  REFUSED \(no endpoints\)$/);
    const lb = ev({ node: 'load-balancer', via: 'load-balancer', endpoint: '172.30.3.11:31594', backendNode: 'node-1' });
    expect(renderWatchText(lb, ctx, at(lb))).toMatch(/load-balancer open  172\.30\.3\.1:50424 → default\/kubia:80\/TCP \(via load-balancer\) → node-1 172\.30\.3\.11:31594  FORWARDED$/);
    expect(watchLine(lb, ctx, at(lb)).backendNode).toBe('node-1');
    expect(watchLine(lb, ctx, at(lb)).pod).toBeUndefined();
  });
});
