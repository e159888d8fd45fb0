import { describe, expect, it } from 'vitest';
import type { Pod } from '@kubemu/api';
import { ObjectIndex } from './object-index.js';

const pod = (ns: string, name: string, app = 'a'): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name, labels: { app } }, spec: { containers: [] } });

describe('ObjectIndex', () => {
  it('keeps each namespace’s pods from a list and the watch events after it', () => {
    const ix = new ObjectIndex<Pod>();
    ix.apply({ type: 'ADDED', object: pod('default', 'early') }); // before the list: ignored (the list has it or not)
    ix.fill([pod('default', 'a'), pod('other', 'b')]);
    ix.apply({ type: 'ADDED', object: pod('default', 'c') });
    ix.apply({ type: 'MODIFIED', object: pod('default', 'a', 'changed') });
    ix.apply({ type: 'DELETED', object: pod('other', 'b') });
    expect(ix.list('default').map((p) => [p.metadata.name, p.metadata.labels!.app])).toEqual([
      ['a', 'changed'],
      ['c', 'a'],
    ]);
    expect(ix.list('other')).toEqual([]);
    expect(ix.filled).toBe(true);
    ix.reset();
    expect(ix.filled).toBe(false);
    expect(ix.list('default')).toEqual([]);
  });
});
