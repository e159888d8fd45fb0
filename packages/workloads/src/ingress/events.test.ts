import { describe, expect, it } from 'vitest';
import { EventGate, type IngressEvent } from './events.js';

const ev = (name: string, message: string): IngressEvent => ({ ingress: { namespace: 'default', name }, type: 'Warning', reason: 'Conflict', message });

describe('EventGate', () => {
  it('passes a problem once while it lasts, and again after it went away and came back', () => {
    const g = new EventGate();
    expect(g.fresh([ev('a', 'x'), ev('a', 'x')])).toHaveLength(1);
    expect(g.fresh([ev('a', 'x')])).toEqual([]);
    expect(g.fresh([ev('a', 'x'), ev('b', 'y')])).toEqual([ev('b', 'y')]);
    expect(g.fresh([])).toEqual([]);
    expect(g.fresh([ev('a', 'x')])).toEqual([ev('a', 'x')]);
  });
});
