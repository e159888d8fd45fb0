import { describe, expect, it } from 'vitest';
import { affinityFromNftJson } from './affinity-sets.js';

describe('affinityFromNftJson', () => {
  it('lists each client held in an endpoint affinity set with its time left', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { set: { family: 'ip', name: 'svc-addrs', table: 'kubemu-nat', elem: ['10.96.0.1'] } },
        { set: { family: 'ip', name: 'p9-a10800-10-244-1-3-8080', table: 'kubemu-nat', flags: ['timeout'], timeout: 10800 } },
        { set: { family: 'ip', name: 'p9-a10800-10-244-3-3-8080', table: 'kubemu-nat', elem: [{ elem: { val: '172.30.1.1', expires: 10798 } }, { elem: { val: '10.244.2.7', expires: 12 } }] } },
        { set: { family: 'ip', name: 'p12-a60-10-244-2-5-80', table: 'kubemu-nat', elem: [{ elem: { val: '172.30.1.1', expires: 59 } }] } },
      ],
    });
    const names: Record<string, string> = { p9: 'default/kubia:http/TCP' };
    expect(affinityFromNftJson(json, (id) => names[id])).toEqual([
      { service: 'default/kubia:http/TCP', client: '172.30.1.1', endpoint: '10.244.3.3:8080', secondsLeft: 10798 },
      { service: 'default/kubia:http/TCP', client: '10.244.2.7', endpoint: '10.244.3.3:8080', secondsLeft: 12 },
    ]);
  });

  it('gives nothing for output that is not JSON', () => {
    expect(affinityFromNftJson('Error: No such file or directory', () => 'x')).toEqual([]);
  });
});
