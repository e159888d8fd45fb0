import { describe, expect, it } from 'vitest';
import type { ConnStreamItem } from './conn-events.js';
import { DropWatch, droppedFromNftJson } from './drop-watch.js';

const setJson = (...elems: [string, string, number, string, number][]) =>
  JSON.stringify({ nftables: [{ metainfo: {} }, { set: { name: 'dropped', elem: elems.map((c) => ({ elem: { val: { concat: c }, expires: 28 } })) } }] });

describe('droppedFromNftJson', () => {
  it('reads the set elements: client address and port, protocol, destination', () => {
    expect(droppedFromNftJson(setJson(['172.30.1.1', 'tcp', 40000, '172.30.1.12', 30080]))).toEqual([
      { key: '172.30.1.1 tcp 40000 172.30.1.12 30080', protocol: 'TCP', client: '172.30.1.1:40000', dst: '172.30.1.12', dport: 30080 },
    ]);
    expect(droppedFromNftJson('Error: No such file or directory')).toEqual([]);
    expect(droppedFromNftJson(JSON.stringify({ nftables: [{ set: { name: 'dropped' } }] }))).toEqual([]);
  });
});

describe('DropWatch', () => {
  it('tells each connection dropped after the watch began once, named by its Service port', async () => {
    let listing = setJson(['172.30.1.1', 'tcp', 39999, '172.30.1.12', 30080]);
    const got: ConnStreamItem[] = [];
    const w = new DropWatch({
      node: 'node-2',
      lookup: () => (proto, ip, port) => (proto === 'TCP' && port === 30080 ? { service: 'default/web:http/TCP', via: 'node-port', hasEndpoints: true } : undefined),
      emit: (i) => got.push(i),
      list: async () => listing,
      now: () => 1000,
    });
    await w.poll(); // learns what was dropped before
    expect(got).toEqual([]);
    listing = setJson(['172.30.1.1', 'tcp', 39999, '172.30.1.12', 30080], ['172.30.1.1', 'tcp', 40000, '172.30.1.12', 30080]);
    await w.poll();
    await w.poll(); // the same element again: not told twice
    expect(got).toEqual([
      { type: 'close', start: 1000, durationMs: 0, protocol: 'TCP', service: 'default/web:http/TCP', via: 'node-port', client: '172.30.1.1:40000', node: 'node-2', endpoint: '', bytesIn: 0, bytesOut: 0, result: 'dropped', attempts: 0 },
    ]);
  });

  it('does not read the set while no drop rule is in place, after one last read', async () => {
    let reads = 0;
    let active = true;
    const listing = setJson(['172.30.1.1', 'tcp', 40000, '172.30.1.12', 30080]);
    const got: ConnStreamItem[] = [];
    const w = new DropWatch({
      node: 'node-2',
      lookup: () => () => ({ service: 'default/web:http/TCP', via: 'node-port', hasEndpoints: true }),
      emit: (i) => got.push(i),
      list: async () => (reads++, reads === 1 ? setJson() : listing),
      active: () => active,
    });
    await w.poll(); // learns (empty)
    active = false; // the Local policy went away; its last drop is in the set
    await w.poll();
    expect(got.map((g) => g.type === 'close' && g.client)).toEqual(['172.30.1.1:40000']);
    await w.poll();
    await w.poll();
    expect(reads).toBe(2);
    active = true;
    await w.poll();
    expect(reads).toBe(3);
    expect(got).toHaveLength(1);
  });
});
