import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/index.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract(
  'MemoryStore',
  async (leaseTtl) => {
    let now = 1_000_000;
    return {
      store: new MemoryStore({ leaseTtl, now: () => now }),
      advance: (ms) => {
        now += ms;
      },
      now: () => now,
      dispose: () => Promise.resolve(),
    };
  },
  // The clock moves by hand: no time passes, so runs are cheap.
  { runs: 300, steps: 60, leaseTtl: 400, guard: 150 },
);

describe('MemoryStore', () => {
  it('takes calls made at once in the order they were made', async () => {
    const store = new MemoryStore();
    await store.setTotal('alice', 'FULL', 1);
    const ask = (id: string, requestId: number) => ({
      account: 'alice',
      id,
      feature: 'FULL',
      count: 1,
      owner: 1,
      requestId,
    });
    const [first, second, release, third] = await Promise.all([
      store.acquire(ask('a', 1)),
      store.acquire(ask('b', 2)),
      store.release('alice', ['a']),
      store.acquire(ask('c', 3)),
    ]);
    expect([first.kind, second.kind, third.kind]).toEqual(['granted', 'exhausted', 'granted']);
    expect(release.released).toEqual(['a']);
    // The same, read without a promise (what FakeLicenseServer reads).
    expect(store.inUseNow('alice', 'FULL')).toBe(1);
    expect(store.leasesNow().map((l) => l.id)).toEqual(['c']);
    expect(store.countsNow()).toEqual(await store.counts());
  });

  it('refuses a lease TTL that is not a positive number', () => {
    expect(() => new MemoryStore({ leaseTtl: 0 })).toThrow(RangeError);
  });
});
