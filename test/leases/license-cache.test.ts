import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CachedLicense, LicenseCache } from '../../src/leases/license-cache.js';

/** A hand-driven clock. */
function manualClock(start = 1_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

const ids = (list: readonly CachedLicense[]) => list.map((e) => e.leaseId);

describe('LicenseCache', () => {
  describe('put', () => {
    it('caches with expiresAt = now + period', () => {
      const clock = manualClock(10_000);
      const cache = new LicenseCache(30_000, clock.now);
      expect(cache.enabled).toBe(true);
      expect(cache.size).toBe(0);
      expect(cache.put('L1', 'FULL')).toBe(true);
      expect(cache.size).toBe(1);
      expect(cache.entries()).toEqual([{ leaseId: 'L1', feature: 'FULL', expiresAt: 40_000 }]);
    });

    it('keeps entries oldest first', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('a', 'FULL');
      clock.advance(1);
      cache.put('b', 'LITE');
      clock.advance(1);
      cache.put('c', 'FULL');
      expect(ids(cache.entries())).toEqual(['a', 'b', 'c']);
    });
  });

  describe('take', () => {
    it('returns undefined when empty, for no features, or for a feature with nothing cached', () => {
      const cache = new LicenseCache(1_000, manualClock().now);
      expect(cache.take(['FULL'])).toBeUndefined();
      cache.put('a', 'LITE');
      expect(cache.take([])).toBeUndefined();
      expect(cache.take(['FULL'])).toBeUndefined();
      expect(cache.take(['TTS', 'AMD'])).toBeUndefined();
      expect(cache.size).toBe(1);
    });

    it('removes what it hands out', () => {
      const cache = new LicenseCache(1_000, manualClock().now);
      cache.put('a', 'FULL');
      expect(cache.take(['FULL'])?.leaseId).toBe('a');
      expect(cache.size).toBe(0);
      expect(cache.take(['FULL'])).toBeUndefined();
    });

    it("['FULL', 'LITE'] prefers FULL even when the LITE entry is older", () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(10_000, clock.now);
      cache.put('lite-old', 'LITE');
      clock.advance(100);
      cache.put('full-new', 'FULL');
      expect(cache.take(['FULL', 'LITE'])?.leaseId).toBe('full-new');
      expect(cache.take(['FULL', 'LITE'])?.leaseId).toBe('lite-old');
      expect(cache.take(['FULL', 'LITE'])).toBeUndefined();
    });

    it("['LITE', 'FULL'] prefers LITE", () => {
      const cache = new LicenseCache(10_000, manualClock().now);
      cache.put('f', 'FULL');
      cache.put('l', 'LITE');
      expect(cache.take(['LITE', 'FULL'])?.leaseId).toBe('l');
    });

    it('hands out the oldest first within a feature', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(10_000, clock.now);
      for (const id of ['f1', 'l1', 'f2', 'l2', 'f3']) {
        cache.put(id, id.startsWith('f') ? 'FULL' : 'LITE');
        clock.advance(10);
      }
      expect(cache.take(['FULL'])?.leaseId).toBe('f1');
      expect(cache.take(['FULL'])?.leaseId).toBe('f2');
      expect(cache.take(['LITE'])?.leaseId).toBe('l1');
      expect(cache.take(['FULL'])?.leaseId).toBe('f3');
      expect(cache.take(['FULL'])).toBeUndefined();
      expect(ids(cache.entries())).toEqual(['l2']);
    });

    it('matches features exactly (case-sensitive)', () => {
      const cache = new LicenseCache(10_000, manualClock().now);
      cache.put('a', 'FULL');
      expect(cache.take(['full'])).toBeUndefined();
      expect(cache.take(['FULL'])?.leaseId).toBe('a');
    });

    it('never hands out an expired entry, and leaves it for expired()', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('old', 'FULL');
      clock.advance(1_000); // exactly at expiresAt: due
      expect(cache.take(['FULL'])).toBeUndefined();
      expect(cache.size).toBe(1);
      expect(ids(cache.expired())).toEqual(['old']);
    });

    it('is still handed out one ms before it is due', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('a', 'FULL');
      clock.advance(999);
      expect(cache.take(['FULL'])?.leaseId).toBe('a');
    });

    it('skips an expired older entry for a live newer one of the same feature', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('old', 'FULL');
      clock.advance(600);
      cache.put('new', 'FULL');
      clock.advance(500); // old due at 1000, new due at 1600
      expect(cache.take(['FULL'])?.leaseId).toBe('new');
      expect(ids(cache.entries())).toEqual(['old']);
    });

    it('falls through to the next feature when the preferred one has only expired entries', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('full', 'FULL');
      clock.advance(500);
      cache.setPeriod(5_000);
      cache.put('lite', 'LITE');
      clock.advance(600);
      expect(cache.take(['FULL', 'LITE'])?.leaseId).toBe('lite');
      expect(ids(cache.entries())).toEqual(['full']);
    });

    it('returns the entry as cached', () => {
      const clock = manualClock(123);
      const cache = new LicenseCache(77, clock.now);
      cache.put('a', 'TTS');
      expect(cache.take(['TTS'])).toEqual({ leaseId: 'a', feature: 'TTS', expiresAt: 200 });
    });
  });

  describe('expiry', () => {
    it('expired() removes and returns exactly the due entries, oldest first', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('a', 'FULL'); // due 1000
      clock.advance(300);
      cache.put('b', 'LITE'); // due 1300
      clock.advance(300);
      cache.put('c', 'FULL'); // due 1600
      expect(cache.expired()).toEqual([]);
      clock.advance(700); // now 1300
      const due = cache.expired();
      expect(ids(due)).toEqual(['a', 'b']);
      expect(due[0]).toEqual({ leaseId: 'a', feature: 'FULL', expiresAt: 1_000 });
      expect(ids(cache.entries())).toEqual(['c']);
      expect(cache.expired()).toEqual([]);
      clock.advance(1_000);
      expect(ids(cache.expired())).toEqual(['c']);
      expect(cache.size).toBe(0);
    });

    it('expired() on an empty cache returns []', () => {
      expect(new LicenseCache(1, manualClock().now).expired()).toEqual([]);
    });

    it('expired() handles entries due out of insertion order (after setPeriod)', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(10_000, clock.now);
      cache.put('long', 'FULL'); // due 10000
      cache.setPeriod(100);
      clock.advance(1);
      cache.put('short', 'FULL'); // due 101
      clock.advance(1);
      cache.put('short2', 'LITE'); // due 102
      clock.advance(200);
      expect(ids(cache.expired())).toEqual(['short', 'short2']);
      expect(ids(cache.entries())).toEqual(['long']);
    });

    it('nextExpiry() is the earliest expiresAt, or undefined when empty', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      expect(cache.nextExpiry()).toBeUndefined();
      cache.put('a', 'FULL');
      expect(cache.nextExpiry()).toBe(1_000);
      clock.advance(50);
      cache.put('b', 'FULL');
      expect(cache.nextExpiry()).toBe(1_000);
      cache.take(['FULL']);
      expect(cache.nextExpiry()).toBe(1_050);
      cache.setPeriod(10);
      cache.put('c', 'LITE');
      expect(cache.nextExpiry()).toBe(60);
      cache.drain();
      expect(cache.nextExpiry()).toBeUndefined();
    });

    it('nextExpiry() includes entries already due but not yet collected', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(10, clock.now);
      cache.put('a', 'FULL');
      clock.advance(1_000);
      expect(cache.nextExpiry()).toBe(10);
      cache.expired();
      expect(cache.nextExpiry()).toBeUndefined();
    });
  });

  describe('period', () => {
    it('period 0 disables the cache: put returns false and caches nothing', () => {
      const cache = new LicenseCache(0, manualClock().now);
      expect(cache.enabled).toBe(false);
      expect(cache.put('a', 'FULL')).toBe(false);
      expect(cache.size).toBe(0);
      expect(cache.take(['FULL'])).toBeUndefined();
      expect(cache.nextExpiry()).toBeUndefined();
    });

    it('a negative period also disables it', () => {
      const cache = new LicenseCache(-5, manualClock().now);
      expect(cache.enabled).toBe(false);
      expect(cache.put('a', 'FULL')).toBe(false);
    });

    it('does not read the clock when disabled', () => {
      let reads = 0;
      const cache = new LicenseCache(0, () => {
        reads += 1;
        return 0;
      });
      cache.put('a', 'FULL');
      expect(reads).toBe(0);
    });

    it('setPeriod affects only entries cached afterwards', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('before', 'FULL');
      cache.setPeriod(5_000);
      cache.put('after', 'FULL');
      expect(cache.entries().map((e) => e.expiresAt)).toEqual([1_000, 5_000]);
    });

    it('setPeriod(0) turns caching off but keeps (and still hands out) what is cached', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(1_000, clock.now);
      cache.put('kept', 'FULL');
      cache.setPeriod(0);
      expect(cache.enabled).toBe(false);
      expect(cache.put('dropped', 'FULL')).toBe(false);
      expect(ids(cache.entries())).toEqual(['kept']);
      expect(cache.take(['FULL'])?.leaseId).toBe('kept');
    });

    it('setPeriod from 0 turns caching on', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(0, clock.now);
      cache.setPeriod(200);
      expect(cache.enabled).toBe(true);
      expect(cache.put('a', 'LITE')).toBe(true);
      expect(cache.nextExpiry()).toBe(200);
    });
  });

  describe('remove, drain, entries', () => {
    it('remove() takes out one entry by lease id and says whether it was there', () => {
      const cache = new LicenseCache(1_000, manualClock().now);
      cache.put('a', 'FULL');
      cache.put('b', 'FULL');
      cache.put('c', 'LITE');
      expect(cache.remove('b')).toBe(true);
      expect(ids(cache.entries())).toEqual(['a', 'c']);
      expect(cache.remove('b')).toBe(false);
      expect(cache.remove('nope')).toBe(false);
      expect(cache.size).toBe(2);
    });

    it('remove() works on an expired entry', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(10, clock.now);
      cache.put('a', 'FULL');
      clock.advance(100);
      expect(cache.remove('a')).toBe(true);
      expect(cache.expired()).toEqual([]);
    });

    it('drain() removes and returns everything, expired or not, oldest first', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(100, clock.now);
      cache.put('a', 'FULL');
      clock.advance(200);
      cache.put('b', 'LITE');
      const drained = cache.drain();
      expect(ids(drained)).toEqual(['a', 'b']);
      expect(cache.size).toBe(0);
      expect(cache.entries()).toEqual([]);
      expect(cache.drain()).toEqual([]);
    });

    it('entries() is a copy', () => {
      const cache = new LicenseCache(100, manualClock().now);
      cache.put('a', 'FULL');
      const copy = cache.entries();
      copy.pop();
      copy.push({ leaseId: 'x', feature: 'FULL', expiresAt: 1 });
      expect(ids(cache.entries())).toEqual(['a']);
      expect(cache.entries()).not.toBe(cache.entries());
    });

    it('a lease can be cached again after it was taken', () => {
      const clock = manualClock(0);
      const cache = new LicenseCache(100, clock.now);
      cache.put('a', 'FULL');
      cache.take(['FULL']);
      clock.advance(50);
      cache.put('a', 'FULL');
      expect(cache.entries()).toEqual([{ leaseId: 'a', feature: 'FULL', expiresAt: 150 }]);
    });
  });

  describe('model', () => {
    type Command =
      | { kind: 'put'; feature: string }
      | { kind: 'take'; features: string[] }
      | { kind: 'remove'; pick: number }
      | { kind: 'advance'; ms: number }
      | { kind: 'expired' }
      | { kind: 'setPeriod'; periodMs: number }
      | { kind: 'drain' };

    const feature = fc.constantFrom('FULL', 'LITE', 'TTS');
    const command: fc.Arbitrary<Command> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), feature }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('take' as const),
          features: fc.uniqueArray(feature, { maxLength: 3 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat({ max: 40 }) }),
      },
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150 }) }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('expired' as const) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('setPeriod' as const),
          periodMs: fc.integer({ min: 0, max: 300 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('drain' as const) }) },
    );

    it('behaves like a simple list model under random put/take/remove/advance/expired', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 300 }),
          fc.array(command, { maxLength: 60 }),
          (initialPeriod, commands) => {
            let now = 0;
            let period = initialPeriod;
            let model: CachedLicense[] = [];
            let nextId = 0;
            let everPut: string[] = [];
            const cache = new LicenseCache(initialPeriod, () => now);

            for (const cmd of commands) {
              switch (cmd.kind) {
                case 'put': {
                  const leaseId = `L${nextId++}`;
                  everPut.push(leaseId);
                  const ok = cache.put(leaseId, cmd.feature);
                  expect(ok).toBe(period > 0);
                  if (period > 0) model.push({ leaseId, feature: cmd.feature, expiresAt: now + period });
                  break;
                }
                case 'take': {
                  let expected: CachedLicense | undefined;
                  for (const f of cmd.features) {
                    expected = model.find((e) => e.feature === f && e.expiresAt > now);
                    if (expected !== undefined) break;
                  }
                  const got = cache.take(cmd.features);
                  expect(got).toEqual(expected);
                  if (got !== undefined) {
                    expect(got.expiresAt).toBeGreaterThan(now);
                    model = model.filter((e) => e !== expected);
                  }
                  break;
                }
                case 'remove': {
                  const leaseId = everPut.length === 0 ? 'none' : everPut[cmd.pick % everPut.length]!;
                  const present = model.some((e) => e.leaseId === leaseId);
                  expect(cache.remove(leaseId)).toBe(present);
                  model = model.filter((e) => e.leaseId !== leaseId);
                  break;
                }
                case 'advance':
                  now += cmd.ms;
                  break;
                case 'expired': {
                  const due = model.filter((e) => e.expiresAt <= now);
                  expect(cache.expired()).toEqual(due);
                  model = model.filter((e) => e.expiresAt > now);
                  break;
                }
                case 'setPeriod':
                  cache.setPeriod(cmd.periodMs);
                  period = cmd.periodMs;
                  expect(cache.enabled).toBe(period > 0);
                  break;
                case 'drain':
                  expect(cache.drain()).toEqual(model);
                  model = [];
                  everPut = [];
                  break;
              }
              expect(cache.size).toBe(model.length);
              expect(cache.entries()).toEqual(model);
              expect(cache.nextExpiry()).toBe(
                model.length === 0 ? undefined : Math.min(...model.map((e) => e.expiresAt)),
              );
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
