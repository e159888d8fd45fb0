import { describe, expect, it } from 'vitest';
import { cookieOfLine, IngressCookies } from './ingress-cookies.js';

const line = (value: string, pod: string, state = 'new', time = 1000) =>
  JSON.stringify({ level: 30, time, component: 'ingress', msg: 'access', host: 'sticky.example', path: '/', status: 200, ingress: 'default/sticky', affinity: { cookie: 'INGRESSCOOKIE', mode: 'balanced', state, value, pod, addr: '10.244.1.5:8080' } });

describe('ingress cookies from the controller access log', () => {
  it('reads the cookie and the pod it pins from an access line', () => {
    expect(cookieOfLine(line('k1.abc', 'kubia-1'), 0)).toEqual({ ingress: 'default/sticky', host: 'sticky.example', cookie: 'INGRESSCOOKIE', value: 'k1.abc', mode: 'balanced', state: 'new', pod: 'default/kubia-1', addr: '10.244.1.5:8080', time: 1000 });
    // other lines: requests without affinity, the controller's own logs, non-JSON
    expect(cookieOfLine(JSON.stringify({ msg: 'access', host: 'x', status: 200 }), 0)).toBeUndefined();
    expect(cookieOfLine(JSON.stringify({ msg: 'synced', affinity: 'x' }), 0)).toBeUndefined();
    expect(cookieOfLine('not json "affinity"', 0)).toBeUndefined();
  });

  it('keeps the newest state per cookie value and counts its requests', () => {
    let changes = 0;
    const c = new IngressCookies({ server: 'https://127.0.0.1:1', namespace: 'default' }, () => changes++);
    c.line(line('k1.abc', 'kubia-1', 'new', 1000));
    c.line(line('k2.def', 'kubia-2', 'new', 1100));
    c.line(line('k1.abc', 'kubia-1', 'honoured', 1200));
    expect(c.current().map((x) => [x.value, x.pod, x.state, x.requests])).toEqual([
      ['k1.abc', 'default/kubia-1', 'honoured', 2],
      ['k2.def', 'default/kubia-2', 'new', 1],
    ]);
    expect(changes).toBe(3);
  });
});
