import { describe, expect, it } from 'vitest';
import { findAccessLine, parseCookieOption, setCookiePair, traceRequestId } from './ingress-log.js';

// Lines as the controller's pod writes them (pino JSON, bindings node and pod), with the log's other lines around them.
const ID = 'kubemu-trace-0123456789abcdef';
const LOG = [
  '{"level":30,"time":1764655000000,"node":"node-1","pod":"ingress-kubemu-controller-abc","component":"ingress","msg":"ingress controller serving"}',
  `{"level":30,"time":1764655001000,"node":"node-1","pod":"ingress-kubemu-controller-abc","component":"ingress","host":"kubia.example.com","path":"/","method":"GET","status":200,"upstream":"kubia-1","upstreamAddr":"10.244.2.3:8080","upstreamMs":2,"bytes":27,"requestId":"other-${ID}","client":"10.244.1.1","proto":"http","msg":"access"}`,
  'not json at all ' + ID,
  `{"level":30,"time":1764655002000,"node":"node-1","pod":"ingress-kubemu-controller-abc","component":"ingress","ingress":"default/kubia","rule":{"host":"kubia.example.com","path":"/","pathType":"Prefix"},"service":"default/kubia:80","affinity":{"cookie":"INGRESSCOOKIE","mode":"balanced","state":"new","value":"k1.t2","pod":"kubia-2","addr":"10.244.1.4:8080"},"host":"kubia.example.com","path":"/","method":"GET","status":200,"upstream":"kubia-2","upstreamAddr":"10.244.1.4:8080","upstreamMs":3,"bytes":27,"requestId":"${ID}","client":"10.244.1.1","proto":"http","msg":"access"}`,
  '',
].join('\n');

describe('the traced request in the controller access log', () => {
  it('finds the line with exactly this request id, skipping other lines and ids that merely contain it', () => {
    const l = findAccessLine(LOG, ID)!;
    expect(l).toMatchObject({ pod: 'ingress-kubemu-controller-abc', node: 'node-1', ingress: 'default/kubia', upstream: 'kubia-2', upstreamAddr: '10.244.1.4:8080', upstreamMs: 3 });
    expect(l.affinity).toEqual({ cookie: 'INGRESSCOOKIE', mode: 'balanced', state: 'new', value: 'k1.t2', pod: 'kubia-2', addr: '10.244.1.4:8080' });
  });
  it('no line for an id the log does not have (yet)', () => {
    expect(findAccessLine(LOG, 'kubemu-trace-ffff')).toBeUndefined();
    expect(findAccessLine('', ID)).toBeUndefined();
  });
  it('request ids are kubemu-trace-<16 hex>, a new one each time', () => {
    const a = traceRequestId();
    expect(a).toMatch(/^kubemu-trace-[0-9a-f]{16}$/);
    expect(traceRequestId()).not.toBe(a);
  });
});

describe('cookies', () => {
  it('--cookie NAME=VALUE: one cookie, or nothing', () => {
    expect(parseCookieOption('INGRESSCOOKIE=abc.def')).toEqual({ name: 'INGRESSCOOKIE', value: 'abc.def' });
    expect(parseCookieOption('route=')).toEqual({ name: 'route', value: '' });
    expect(parseCookieOption('novalue')).toBeUndefined();
    expect(parseCookieOption('=v')).toBeUndefined();
    expect(parseCookieOption('a=1; b=2')).toBeUndefined();
    expect(parseCookieOption('bad name=1')).toBeUndefined();
  });
  it('a Set-Cookie header gives its NAME=VALUE', () => {
    expect(setCookiePair('INGRESSCOOKIE=k1.t2; Path=/; HttpOnly')).toEqual({ name: 'INGRESSCOOKIE', value: 'k1.t2' });
  });
});
