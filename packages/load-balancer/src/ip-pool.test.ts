import { describe, expect, it } from 'vitest';
import { IpPool, parsePool, PoolError } from './ip-pool.js';

/** Every address of the pool, in allocation order, by allocating until it runs out. */
function drain(pool: IpPool): string[] {
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const r = pool.allocate(`ns/svc-${i}`);
    if (!r.ok) return out;
    out.push(r.ip);
  }
}

describe('parsePool', () => {
  it('reads a range, inclusive at both ends', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.250');
    expect(pool.size).toBe(51);
    expect(pool.contains('172.30.0.200')).toBe(true);
    expect(pool.contains('172.30.0.250')).toBe(true);
    expect(pool.contains('172.30.0.199')).toBe(false);
    expect(pool.contains('172.30.0.251')).toBe(false);
  });

  it('reads a single address and tolerates spaces', () => {
    const pool = new IpPool(' 172.30.0.200 - 172.30.0.201 , 172.30.0.240 ');
    expect(drain(pool)).toEqual(['172.30.0.200', '172.30.0.201', '172.30.0.240']);
  });

  it("leaves out a CIDR's network and broadcast addresses", () => {
    expect(drain(new IpPool('172.30.0.192/30'))).toEqual(['172.30.0.193', '172.30.0.194']);
    // /31 and /32 have no network or broadcast address to skip
    expect(drain(new IpPool('172.30.0.192/31'))).toEqual(['172.30.0.192', '172.30.0.193']);
    expect(drain(new IpPool('172.30.0.200/32'))).toEqual(['172.30.0.200']);
    expect(new IpPool('172.30.0.192/27').size).toBe(30);
  });

  it('joins a comma list of ranges and CIDRs, handing them out in the order given', () => {
    const pool = new IpPool('172.30.0.250-172.30.0.251,172.30.0.8/30');
    expect(pool.size).toBe(4);
    expect(drain(pool)).toEqual(['172.30.0.250', '172.30.0.251', '172.30.0.9', '172.30.0.10']);
  });

  it.each([
    ['', 'the pool is empty: give a range like 172.30.0.200-172.30.0.250'],
    [' , ,', 'the pool is empty: give a range like 172.30.0.200-172.30.0.250'],
    ['nope', 'pool "nope": want an IPv4 range like 172.30.0.200-172.30.0.250 or a CIDR'],
    ['172.30.0.256', 'pool "172.30.0.256": want an IPv4 range like 172.30.0.200-172.30.0.250 or a CIDR'],
    ['172.30.0.200-', 'pool "172.30.0.200-": want an IPv4 range like 172.30.0.200-172.30.0.250 or a CIDR'],
    ['172.30.0.1-172.30.0.2-172.30.0.3', 'pool "172.30.0.1-172.30.0.2-172.30.0.3": want an IPv4 range like 172.30.0.200-172.30.0.250 or a CIDR'],
    ['fd00::1-fd00::9', 'pool "fd00::1-fd00::9": want an IPv4 range like 172.30.0.200-172.30.0.250 or a CIDR'],
    ['172.30.0.250-172.30.0.200', 'pool "172.30.0.250-172.30.0.200": the range ends before it starts'],
    ['172.30.0.1/24', 'pool "172.30.0.1/24": invalid CIDR "172.30.0.1/24": host bits set (network is 172.30.0.0/24)'],
    ['172.30.0.0/33', 'pool "172.30.0.0/33": invalid CIDR "172.30.0.0/33": prefix length must be 0..32'],
    ['172.30.0.0/x', 'pool "172.30.0.0/x": invalid CIDR "172.30.0.0/x": expected a.b.c.d/len'],
    ['my.pool/24', 'pool "my.pool/24": invalid IPv4 address "my.pool": expected a.b.c.d'],
    ['172.30.0.200-172.30.0.210,172.30.0.210', 'pool "172.30.0.200-172.30.0.210,172.30.0.210": ranges overlap'],
    ['172.30.0.192/27,172.30.0.200-172.30.0.250', 'pool "172.30.0.192/27,172.30.0.200-172.30.0.250": ranges overlap'],
  ])('rejects %j with a PoolError saying what is wrong', (spec, message) => {
    expect(() => parsePool(spec)).toThrow(PoolError);
    expect(() => new IpPool(spec)).toThrow(message);
    try {
      parsePool(spec);
    } catch (e) {
      expect((e as PoolError).code).toBe('ERR_LB_POOL');
      expect((e as Error).message).toBe(message);
    }
  });

  it('accepts adjacent ranges (touching is not overlapping)', () => {
    expect(new IpPool('172.30.0.200-172.30.0.201,172.30.0.202-172.30.0.203').size).toBe(4);
  });
});

describe('IpPool allocation', () => {
  it('hands out the lowest free address and reuses one when it is released', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.202');
    expect(pool.allocate('default/a')).toEqual({ ok: true, ip: '172.30.0.200' });
    expect(pool.allocate('default/b')).toEqual({ ok: true, ip: '172.30.0.201' });
    expect(pool.allocate('default/c')).toEqual({ ok: true, ip: '172.30.0.202' });
    expect(pool.used).toBe(3);
    pool.release('default/b', '172.30.0.201');
    expect(pool.ownerOf('172.30.0.201')).toBeUndefined();
    expect(pool.allocate('default/d')).toEqual({ ok: true, ip: '172.30.0.201' });
    expect(pool.ownerOf('172.30.0.201')).toBe('default/d');
  });

  it('gives a requested address that is in the pool and free, even above free lower ones', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.250');
    expect(pool.allocate('default/a', '172.30.0.240')).toEqual({ ok: true, ip: '172.30.0.240' });
    expect(pool.ownerOf('172.30.0.240')).toBe('default/a');
    // asking again for its own address is fine
    expect(pool.allocate('default/a', '172.30.0.240')).toEqual({ ok: true, ip: '172.30.0.240' });
    expect(pool.used).toBe(1);
    // the lowest free address is unaffected
    expect(pool.allocate('default/b')).toEqual({ ok: true, ip: '172.30.0.200' });
  });

  it('refuses a requested address outside the pool', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.250');
    expect(pool.allocate('default/a', '172.30.0.199')).toEqual({
      ok: false,
      reason: 'not-in-pool',
      message: "172.30.0.199 is not in the load balancer's pool 172.30.0.200-172.30.0.250",
    });
    expect(pool.allocate('default/a', 'not-an-ip')).toMatchObject({ ok: false, reason: 'not-in-pool' });
    expect(pool.used).toBe(0);
  });

  it('refuses a requested address another Service holds, naming it', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.250');
    pool.allocate('default/a', '172.30.0.210');
    expect(pool.allocate('shop/b', '172.30.0.210')).toEqual({ ok: false, reason: 'taken', message: '172.30.0.210 is already assigned to Service default/a' });
    expect(pool.ownerOf('172.30.0.210')).toBe('default/a');
  });

  it('says the pool is exhausted when every address is held', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.201');
    pool.allocate('default/a');
    pool.allocate('default/b');
    expect(pool.allocate('default/c')).toEqual({
      ok: false,
      reason: 'exhausted',
      message: "no free address left in the load balancer's pool 172.30.0.200-172.30.0.201 (2 addresses, all assigned)",
    });
    expect(pool.used).toBe(2);
  });

  it('only releases an address for the Service that holds it', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.250');
    pool.allocate('default/a');
    pool.release('default/b', '172.30.0.200');
    pool.release('default/a', 'bogus');
    expect(pool.ownerOf('172.30.0.200')).toBe('default/a');
    pool.release('default/a', '172.30.0.200');
    expect(pool.used).toBe(0);
  });

  it('releaseAll frees every address a Service holds and says which', () => {
    const pool = new IpPool('172.30.0.200-172.30.0.250');
    pool.allocate('default/a');
    pool.allocate('default/b');
    pool.allocate('default/a', '172.30.0.220');
    expect(pool.heldBy('default/a').sort()).toEqual(['172.30.0.200', '172.30.0.220']);
    expect(pool.releaseAll('default/a').sort()).toEqual(['172.30.0.200', '172.30.0.220']);
    expect(pool.heldBy('default/a')).toEqual([]);
    expect(pool.releaseAll('default/a')).toEqual([]);
    expect(pool.ownerOf('172.30.0.201')).toBe('default/b');
    expect(pool.used).toBe(1);
  });
});
