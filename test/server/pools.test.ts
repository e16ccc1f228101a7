import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AcquireOutcome, AcquireRequest, LeaseRecord } from '../../src/server/pool-types.js';
import { ANONYMOUS_ACCOUNT, LicensePools } from '../../src/server/pools.js';

const TTL = 100;
let clock: number;
let pools: LicensePools;

function acquire(req: Partial<AcquireRequest> & { id: string }): AcquireOutcome {
  return pools.acquire({ account: 'alice', feature: 'FULL', count: 1, owner: 1, requestId: 1, ...req });
}

function granted(outcome: AcquireOutcome): LeaseRecord {
  if (outcome.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(outcome)}`);
  return outcome.lease;
}

beforeEach(() => {
  clock = 1_000;
  pools = new LicensePools({ now: () => clock, leaseTtl: TTL });
  pools.setTotal('alice', 'FULL', 2);
});

describe('LicensePools', () => {
  it('exports the anonymous account name and its TTL', () => {
    expect(ANONYMOUS_ACCOUNT).toBe('');
    expect(pools.leaseTtl).toBe(TTL);
    expect(() => new LicensePools({ now: () => 0, leaseTtl: 0 })).toThrow(RangeError);
    expect(() => new LicensePools({ now: () => 0, leaseTtl: Number.NaN })).toThrow(RangeError);
  });

  it('grants up to the total, then says exhausted', () => {
    const lease = granted(acquire({ id: 'p1', owner: 7 }));
    expect(lease).toEqual({
      id: 'p1',
      account: 'alice',
      feature: 'FULL',
      count: 1,
      grantedAt: 1_000,
      expiresAt: 1_100,
      owner: 7,
    });
    expect(acquire({ id: 'p2' })).toMatchObject({ kind: 'granted', reclaimed: false });
    expect(acquire({ id: 'p3' })).toEqual({ kind: 'exhausted', total: 2, inUse: 2 });
    expect(pools.inUse('alice', 'FULL')).toBe(2);
  });

  it('refuses unknown features and requests that can never fit', () => {
    expect(acquire({ id: 'p1', feature: 'TTS' })).toEqual({ kind: 'unknown-feature' });
    expect(acquire({ id: 'p1', account: 'bob' })).toEqual({ kind: 'unknown-feature' });
    const tooMany = acquire({ id: 'p1', count: 3, wait: 1_000 });
    expect(tooMany.kind).toBe('conflict');
    expect(tooMany.kind === 'conflict' && tooMany.message).toMatch(/3 FULL seat\(s\).*only 2 in all/);
    for (const count of [0, -1, 1.5, Number.NaN]) expect(acquire({ id: 'p1', count }).kind).toBe('conflict');
    expect(pools.inUse()).toBe(0);
    expect(pools.queued('alice', 'FULL')).toBe(0);
  });

  it('returns the same lease for a re-sent acquire, from any connection, without a second seat', () => {
    const first = granted(acquire({ id: 'p1', owner: 1 }));
    clock += 60;
    const again = acquire({ id: 'p1', owner: 2, requestId: 9 });
    expect(again).toEqual({
      kind: 'granted',
      reclaimed: true,
      lease: { ...first, expiresAt: 1_160, owner: 2 },
    });
    expect(pools.inUse('alice', 'FULL')).toBe(1);
    expect(pools.leases()).toHaveLength(1);
    // Even a full pool lets a held id back in.
    granted(acquire({ id: 'p2' }));
    expect(acquire({ id: 'p1', owner: 3 })).toMatchObject({ kind: 'granted', reclaimed: true });
  });

  it('refuses a held id asked again for another feature or count', () => {
    pools.setTotal('alice', 'TTS', 2);
    granted(acquire({ id: 'p1' }));
    const other = acquire({ id: 'p1', feature: 'TTS' });
    expect(other.kind === 'conflict' && other.message).toMatch(/"p1".*already held for 1 FULL/);
    expect(acquire({ id: 'p1', count: 2 }).kind).toBe('conflict');
    expect(pools.inUse('alice')).toBe(1);
  });

  it('keeps lease ids per account', () => {
    pools.setTotal('bob', 'FULL', 1);
    granted(acquire({ id: 'same' }));
    expect(acquire({ id: 'same', account: 'bob' })).toMatchObject({ kind: 'granted', reclaimed: false });
    expect(pools.inUse()).toBe(2);
    expect(pools.inUse(undefined, 'FULL')).toBe(2);
    expect(pools.release('bob', ['same'])).toEqual({
      released: ['same'],
      unknown: [],
      leases: [expect.objectContaining({ account: 'bob', id: 'same' })],
    });
    expect(pools.leases().map((l) => l.account)).toEqual(['alice']);
  });

  it('queues when asked to wait, grants in FIFO order and reports positions', () => {
    granted(acquire({ id: 'p1' }));
    granted(acquire({ id: 'p2' }));
    expect(acquire({ id: 'w1', wait: 500, owner: 3, requestId: 31 })).toEqual({
      kind: 'queued',
      position: 1,
    });
    expect(acquire({ id: 'w2', wait: 500 })).toEqual({ kind: 'queued', position: 2 });
    expect(acquire({ id: 'w3', wait: 500 })).toEqual({ kind: 'queued', position: 3 });
    expect(pools.queued('alice', 'FULL')).toBe(3);
    expect(pools.drain()).toEqual({ granted: [], positions: [], refused: [] });

    pools.release('alice', ['p1']);
    const { granted: grants, positions } = pools.drain();
    expect(grants).toHaveLength(1);
    expect(grants[0]?.waiter).toMatchObject({ id: 'w1', owner: 3, requestId: 31, deadline: 1_500 });
    expect(grants[0]?.lease).toMatchObject({ id: 'w1', owner: 3, count: 1, expiresAt: 1_100 });
    expect(positions.map((p) => [p.waiter.id, p.position])).toEqual([
      ['w2', 1],
      ['w3', 2],
    ]);
    expect(pools.drain()).toEqual({ granted: [], positions: [], refused: [] });
  });

  it('lets a head that does not fit block those behind it, and new requests queue behind', () => {
    pools.setTotal('alice', 'FULL', 3);
    granted(acquire({ id: 'p1', count: 2 }));
    expect(acquire({ id: 'big', count: 2, wait: 500 })).toEqual({ kind: 'queued', position: 1 });
    // One seat is free, but a waiter is first.
    expect(acquire({ id: 'small' })).toEqual({ kind: 'exhausted', total: 3, inUse: 2 });
    expect(acquire({ id: 'small', wait: 500 })).toEqual({ kind: 'queued', position: 2 });
    expect(pools.drain().granted).toEqual([]);
    pools.release('alice', ['p1']);
    expect(pools.drain().granted.map((g) => g.lease.id)).toEqual(['big', 'small']);
    expect(pools.inUse('alice', 'FULL')).toBe(3);
  });

  it('refuses the waiters a shrunk or removed pool can never grant, so they block nobody behind them', () => {
    pools.setTotal('alice', 'FULL', 3);
    granted(acquire({ id: 'p1', count: 2 }));
    acquire({ id: 'big', count: 3, wait: 500, owner: 4, requestId: 41 });
    acquire({ id: 'small', wait: 500 });
    pools.setTotal('alice', 'FULL', 2);
    const { refused, positions } = pools.drain();
    expect(refused).toEqual([
      { waiter: expect.objectContaining({ id: 'big', owner: 4, requestId: 41 }), total: 2 },
    ]);
    expect(positions.map((p) => [p.waiter.id, p.position])).toEqual([['small', 1]]);
    pools.release('alice', ['p1']);
    expect(pools.drain().granted.map((g) => g.lease.id)).toEqual(['small']);

    // A re-sent acquire of a waiter its pool no longer fits is answered as a new request: refused.
    granted(acquire({ id: 'x' }));
    acquire({ id: 'w', wait: 500 });
    acquire({ id: 'w2', count: 2, wait: 500 });
    pools.setTotal('alice', 'FULL', 1);
    expect(acquire({ id: 'w2', count: 2, wait: 500 }).kind).toBe('conflict');
    expect(pools.waiters().map((w) => w.id)).toEqual(['w']);
    // A license type the account no longer has refuses its waiters too.
    const removed = new LicensePools({ now: () => clock, leaseTtl: TTL });
    removed.setTotal('bob', 'TTS', 1);
    removed.acquire({ account: 'bob', id: 'h', feature: 'TTS', count: 1, owner: 1, requestId: 1 });
    removed.acquire({ account: 'bob', id: 'q', feature: 'TTS', count: 1, owner: 1, requestId: 2, wait: 500 });
    removed.setTotal('bob', 'TTS', 0);
    expect(removed.drain().refused.map((r) => [r.waiter.id, r.total])).toEqual([['q', 0]]);
  });

  it('keeps the place of a re-sent waiting acquire and takes its new owner, request id and deadline', () => {
    granted(acquire({ id: 'p1', count: 2 }));
    acquire({ id: 'w1', wait: 500 });
    acquire({ id: 'w2', wait: 500, owner: 1, requestId: 5 });
    clock += 10;
    // The earlier request comes back as `replaced`, for the server to answer.
    expect(acquire({ id: 'w2', wait: 800, owner: 2, requestId: 6 })).toEqual({
      kind: 'queued',
      position: 2,
      replaced: expect.objectContaining({ id: 'w2', owner: 1, requestId: 5, deadline: 1_500 }),
    });
    expect(pools.waiters().map((w) => [w.id, w.owner, w.requestId, w.deadline])).toEqual([
      ['w1', 1, 1, 1_500],
      ['w2', 2, 6, 1_810],
    ]);
    // Without a wait the deadline stays.
    expect(acquire({ id: 'w2', owner: 3, requestId: 7 })).toMatchObject({
      kind: 'queued',
      position: 2,
      replaced: { owner: 2, requestId: 6 },
    });
    expect(pools.waiters()[1]).toMatchObject({ owner: 3, requestId: 7, deadline: 1_810 });
    // A conflicting re-send leaves the waiter as it was: nothing was replaced.
    expect(acquire({ id: 'w2', count: 2, wait: 1 })).toEqual({
      kind: 'conflict',
      message: expect.any(String),
    });
    expect(pools.queued('alice', 'FULL')).toBe(2);
  });

  it('does not report again a position that a re-sent acquire just told', () => {
    granted(acquire({ id: 'p1', count: 2 }));
    acquire({ id: 'w1', wait: 500 });
    acquire({ id: 'w2', wait: 500 });
    pools.cancel('alice', 'w1');
    expect(acquire({ id: 'w2', wait: 500 })).toMatchObject({ kind: 'queued', position: 1 });
    expect(pools.drain()).toEqual({ granted: [], positions: [], refused: [] });
  });

  it('times a waiter out exactly at its deadline', () => {
    granted(acquire({ id: 'p1', count: 2 }));
    acquire({ id: 'w1', wait: 30 });
    clock = 1_029;
    expect(pools.expire().timedOut).toEqual([]);
    clock = 1_030;
    expect(pools.expire().timedOut.map((w) => w.id)).toEqual(['w1']);
  });

  it('cancels a waiter; those behind learn their new place at the next drain', () => {
    granted(acquire({ id: 'p1', count: 2 }));
    for (const id of ['w1', 'w2', 'w3']) acquire({ id, wait: 500 });
    expect(pools.cancel('alice', 'w1')).toMatchObject({ id: 'w1', feature: 'FULL' });
    expect(pools.cancel('alice', 'w1')).toBeUndefined();
    expect(pools.cancel('alice', 'p1')).toBeUndefined();
    expect(pools.drain().positions.map((p) => [p.waiter.id, p.position])).toEqual([
      ['w2', 1],
      ['w3', 2],
    ]);
  });

  it('renews held leases to now + TTL and names unknown ids', () => {
    granted(acquire({ id: 'p1', owner: 1 }));
    acquire({ id: 'p2', count: 2, wait: 500 });
    clock += 80;
    expect(pools.renew('alice', ['p1', 'p1', 'nope', 'p2'], 4)).toEqual({
      renewed: ['p1'],
      unknown: ['nope', 'p2'],
    });
    expect(pools.leases()[0]).toMatchObject({ expiresAt: 1_180, owner: 4, grantedAt: 1_000 });
    expect(pools.renew('bob', ['p1'], 4)).toEqual({ renewed: [], unknown: ['p1'] });
  });

  it('releases held leases only', () => {
    granted(acquire({ id: 'p1' }));
    granted(acquire({ id: 'p2' }));
    acquire({ id: 'w1', wait: 500 });
    expect(pools.release('alice', ['p1', 'w1', 'x'])).toMatchObject({
      released: ['p1'],
      unknown: ['w1', 'x'],
    });
    expect(pools.inUse('alice', 'FULL')).toBe(1);
    expect(pools.queued('alice', 'FULL')).toBe(1);
  });

  it('expires leases and waiters whose time has come, freeing the seats', () => {
    granted(acquire({ id: 'p1' }));
    clock += 50;
    granted(acquire({ id: 'p2' }));
    acquire({ id: 'w1', wait: 20 });
    acquire({ id: 'w2', wait: 200 });
    expect(pools.nextDeadline()).toBe(1_070);
    clock = 1_069;
    expect(pools.expire()).toEqual({ expired: [], timedOut: [] });
    clock = 1_100;
    const { expired, timedOut } = pools.expire();
    expect(expired.map((l) => l.id)).toEqual(['p1']);
    expect(timedOut.map((w) => w.id)).toEqual(['w1']);
    expect(pools.inUse('alice', 'FULL')).toBe(1);
    expect(pools.drain().granted.map((g) => g.lease.id)).toEqual(['w2']);
    expect(pools.nextDeadline()).toBe(1_150);
    clock = 1_200;
    expect(pools.expire().expired.map((l) => l.id)).toEqual(['p2', 'w2']);
    expect(pools.nextDeadline()).toBeUndefined();
    expect(pools.inUse()).toBe(0);
  });

  it('revokes the newest leases when the total shrinks, and grants waiters when it grows', () => {
    pools.setTotal('alice', 'FULL', 4);
    granted(acquire({ id: 'old', count: 2 }));
    clock += 1;
    granted(acquire({ id: 'mid' }));
    clock += 1;
    granted(acquire({ id: 'new' }));
    expect(pools.setTotal('alice', 'FULL', 2).map((l) => l.id)).toEqual(['new', 'mid']);
    expect(pools.inUse('alice', 'FULL')).toBe(2);
    expect(pools.setTotal('alice', 'FULL', 0).map((l) => l.id)).toEqual(['old']);

    // With no seats at all, the account is not licensed for the type (the same as no pool), not busy.
    expect(acquire({ id: 'w1', wait: 500 }).kind).toBe('unknown-feature');
    pools.setTotal('alice', 'FULL', 1);
    granted(acquire({ id: 'p1' }));
    expect(acquire({ id: 'w1', wait: 500 })).toEqual({ kind: 'queued', position: 1 });
    expect(pools.drain().granted).toEqual([]);
    expect(pools.setTotal('alice', 'FULL', 2)).toEqual([]);
    expect(pools.drain().granted.map((g) => g.waiter.id)).toEqual(['w1']);
    expect(() => pools.setTotal('alice', 'FULL', -1)).toThrow(RangeError);
    expect(() => pools.setTotal('alice', 'FULL', 1.5)).toThrow(RangeError);
  });

  it("drops a closed connection's waiters but keeps its leases for a reconnect", () => {
    granted(acquire({ id: 'p1', owner: 1 }));
    granted(acquire({ id: 'p2', owner: 2 }));
    acquire({ id: 'w1', wait: 500, owner: 1 });
    acquire({ id: 'w2', wait: 500, owner: 2 });
    acquire({ id: 'w3', wait: 500, owner: 1 });
    expect(pools.dropOwner(1).map((w) => w.id)).toEqual(['w1', 'w3']);
    expect(pools.waiters().map((w) => w.id)).toEqual(['w2']);
    expect(pools.inUse('alice', 'FULL')).toBe(2);
    expect(acquire({ id: 'p1', owner: 5 })).toMatchObject({
      kind: 'granted',
      reclaimed: true,
      lease: { owner: 5 },
    });
  });

  it('hands out copies', () => {
    const lease = granted(acquire({ id: 'p1' }));
    lease.expiresAt = 0;
    const listed = pools.leases()[0]!;
    listed.owner = 99;
    acquire({ id: 'w1', count: 2, wait: 500 });
    (pools.waiters()[0] as { count: number }).count = 1;
    expect(pools.leases()[0]).toMatchObject({ expiresAt: 1_100, owner: 1 });
    expect(pools.waiters()[0]?.count).toBe(2);
  });

  it('lists features sorted and counts per account', () => {
    pools.setTotal('alice', 'TTS', 1);
    pools.setTotal('alice', 'AMD', 0);
    pools.setTotal(ANONYMOUS_ACCOUNT, 'LITE', 1);
    expect(pools.features('alice')).toEqual(['AMD', 'FULL', 'TTS']);
    expect(pools.features('nobody')).toEqual([]);
    expect(pools.total('alice', 'AMD')).toBe(0);
    expect(pools.total('alice', 'LITE')).toBeUndefined();
    granted(acquire({ id: 'a' }));
    granted(acquire({ id: 'b', feature: 'TTS' }));
    granted(acquire({ id: 'a', account: ANONYMOUS_ACCOUNT, feature: 'LITE' }));
    expect(pools.inUse('alice')).toBe(2);
    expect(pools.inUse(ANONYMOUS_ACCOUNT)).toBe(1);
    expect(pools.inUse()).toBe(3);
  });
});

// ---- model test ----------------------------------------------------------------------------------------

const ACCOUNTS = ['a', 'b', ANONYMOUS_ACCOUNT] as const;
const FEATURES = ['FULL', 'TTS', 'AMD'] as const;
const TTL_MODEL = 50;

type Op =
  | {
      op: 'acquire';
      account: string;
      id: string;
      feature: string;
      count: number;
      owner: number;
      wait: number;
    }
  | { op: 'renew'; account: string; ids: string[]; owner: number }
  | { op: 'release'; account: string; ids: string[] }
  | { op: 'cancel'; account: string; id: string }
  | { op: 'setTotal'; account: string; feature: string; total: number }
  | { op: 'dropOwner'; owner: number }
  | { op: 'tick'; ms: number }
  | { op: 'expire' }
  | { op: 'drain' };

const account = fc.constantFrom(...ACCOUNTS);
const feature = fc.constantFrom(...FEATURES);
const id = fc.constantFrom('l0', 'l1', 'l2', 'l3', 'l4', 'l5');
const ids = fc.array(id, { maxLength: 3 });
const owner = fc.integer({ min: 1, max: 3 });
const count = fc.integer({ min: 1, max: 3 });
// Times in steps of 10 ms (TTL 50) so that deadlines and the clock often meet exactly.
const wait = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 8 }).map((n) => n * 10),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('acquire'), account, id, feature, count, owner, wait }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('renew'), account, ids, owner }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release'), account, ids }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel'), account, id }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('setTotal'), account, feature, total: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dropOwner'), owner }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick'), ms: fc.nat(6).map((n) => n * 10) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'expire' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'drain' as const }) },
);

const pair = (a: string, b: string): string => JSON.stringify([a, b]);
const inPool = (acct: string, feat: string) => (x: { account: string; feature: string }) =>
  x.account === acct && x.feature === feat;

/** The pools under test, the fake clock, and what the test knows of each waiter. */
class Harness {
  now = 0;
  step = 0;
  readonly pools = new LicensePools({ now: () => this.now, leaseTtl: TTL_MODEL });
  /** pairKey(account, id) -> when the waiter joined its queue, and the last position it was told. */
  readonly tracked = new Map<string, { joined: number; position: number }>();

  constructor() {
    this.pools.setTotal('a', 'FULL', 2);
    this.pools.setTotal(ANONYMOUS_ACCOUNT, 'FULL', 3);
  }

  run(op: Op): void {
    this.step += 1;
    switch (op.op) {
      case 'acquire':
        this.acquire(op);
        return;
      case 'renew': {
        const { renewed, unknown } = this.pools.renew(op.account, op.ids, op.owner);
        expect([...renewed, ...unknown].sort()).toEqual([...new Set(op.ids)].sort());
        for (const lease of this.pools
          .leases()
          .filter((l) => l.account === op.account && renewed.includes(l.id))) {
          expect(lease).toMatchObject({ expiresAt: this.now + TTL_MODEL, owner: op.owner });
        }
        return;
      }
      case 'release': {
        const { released } = this.pools.release(op.account, op.ids);
        const left = this.pools.leases().filter((l) => l.account === op.account);
        expect(left.some((l) => released.includes(l.id))).toBe(false);
        return;
      }
      case 'cancel':
        if (this.pools.cancel(op.account, op.id) !== undefined) this.tracked.delete(pair(op.account, op.id));
        return;
      case 'setTotal': {
        const before = this.pools.leases().filter(inPool(op.account, op.feature));
        const revoked = this.pools.setTotal(op.account, op.feature, op.total);
        // Newest first: the revoked leases are the last granted, latest first.
        const newest = before.slice(before.length - revoked.length).reverse();
        expect(revoked.map((l) => l.id)).toEqual(newest.map((l) => l.id));
        return;
      }
      case 'dropOwner': {
        const before = this.pools.leases();
        for (const w of this.pools.dropOwner(op.owner)) {
          expect(w.owner).toBe(op.owner);
          this.tracked.delete(pair(w.account, w.id));
        }
        expect(this.pools.waiters().some((w) => w.owner === op.owner)).toBe(false);
        expect(this.pools.leases()).toEqual(before);
        return;
      }
      case 'tick':
        this.now += op.ms;
        return;
      case 'expire': {
        for (const w of this.pools.expire().timedOut) this.tracked.delete(pair(w.account, w.id));
        expect(this.pools.leases().every((l) => l.expiresAt > this.now)).toBe(true);
        expect(this.pools.waiters().every((w) => w.deadline > this.now)).toBe(true);
        return;
      }
      case 'drain':
        this.drain();
        return;
    }
  }

  acquire(op: Extract<Op, { op: 'acquire' }>): void {
    const { pools } = this;
    const key = pair(op.account, op.id);
    const leasesBefore = pools.leases();
    const waitersBefore = pools.waiters();
    const held = leasesBefore.find((l) => pair(l.account, l.id) === key);
    const waiting = waitersBefore.find((w) => pair(w.account, w.id) === key);
    const queueBefore = pools.queued(op.account, op.feature);
    const inUseBefore = pools.inUse(op.account, op.feature);
    const total = pools.total(op.account, op.feature);
    const outcome = pools.acquire({ ...op, requestId: this.step });
    // `replaced` is the earlier waiter exactly when one waited with this id and no longer waits as it did
    // (taken over by this request, or pushed out of a pool it no longer fits): its request must be answered.
    const stillWaiting = pools.waiters().find((w) => pair(w.account, w.id) === key);
    const taken =
      waiting !== undefined &&
      (stillWaiting === undefined ||
        stillWaiting.owner !== waiting.owner ||
        stillWaiting.requestId !== waiting.requestId);
    expect(outcome.replaced).toEqual(taken ? waiting : undefined);
    switch (outcome.kind) {
      case 'granted': {
        const { lease } = outcome;
        expect(outcome.reclaimed).toBe(held !== undefined);
        expect(lease).toMatchObject({ id: op.id, feature: op.feature, count: op.count, owner: op.owner });
        expect(lease.expiresAt).toBe(this.now + TTL_MODEL);
        if (held !== undefined) {
          expect(lease.grantedAt).toBe(held.grantedAt);
          expect(pools.inUse(op.account, op.feature)).toBe(inUseBefore);
        } else {
          expect(queueBefore).toBe(0);
          expect(pools.inUse(op.account, op.feature)).toBe(inUseBefore + op.count);
        }
        return;
      }
      case 'queued': {
        expect(op.wait > 0 || waiting !== undefined).toBe(true);
        expect(op.count).toBeLessThanOrEqual(total ?? 0);
        const queue = pools.waiters().filter(inPool(op.account, op.feature));
        expect(queue[outcome.position - 1]).toMatchObject({ id: op.id, owner: op.owner });
        this.tracked.set(key, {
          joined: this.tracked.get(key)?.joined ?? this.step,
          position: outcome.position,
        });
        return;
      }
      default: {
        // A refusal changes nothing, but for a waiter its pool shrank below: that one has left its queue.
        const left =
          waiting !== undefined &&
          waiting.feature === op.feature &&
          waiting.count === op.count &&
          op.count > (total ?? 0);
        if (left) this.tracked.delete(key);
        expect(pools.leases()).toEqual(leasesBefore);
        expect(pools.waiters()).toEqual(left ? waitersBefore.filter((w) => w !== waiting) : waitersBefore);
        if (outcome.kind === 'unknown-feature') expect(total ?? 0).toBe(0);
        if (outcome.kind === 'conflict' && held === undefined && waiting === undefined) {
          expect(op.count).toBeGreaterThan(total ?? 0);
        }
        if (outcome.kind === 'exhausted') {
          expect(held ?? waiting).toBeUndefined();
          expect(op.count).toBeLessThanOrEqual(outcome.total);
          expect(queueBefore > 0 || inUseBefore + op.count > outcome.total).toBe(true);
        }
      }
    }
  }

  drain(): void {
    const before = this.pools.waiters();
    const { granted: grants, positions, refused } = this.pools.drain();
    const after = this.pools.waiters();
    // Refused: exactly the waiters that ask for more than their pool now has.
    const unfit = before.filter((w) => w.count > (this.pools.total(w.account, w.feature) ?? 0));
    expect(refused.map((r) => pair(r.waiter.account, r.waiter.id))).toEqual(
      unfit.map((w) => pair(w.account, w.id)),
    );
    for (const { waiter } of refused) this.tracked.delete(pair(waiter.account, waiter.id));
    for (const { waiter, lease } of grants) {
      this.tracked.delete(pair(waiter.account, waiter.id));
      const { id, account, feature, count, owner } = waiter;
      expect(lease).toMatchObject({ id, account, feature, count, owner, grantedAt: this.now });
    }
    // Only changes are reported.
    for (const { waiter, position } of positions) {
      const known = this.tracked.get(pair(waiter.account, waiter.id));
      expect(known?.position).not.toBe(position);
      if (known !== undefined) known.position = position;
    }
    for (const acct of ACCOUNTS) {
      for (const feat of FEATURES) {
        const grantedIds = grants
          .map((g) => g.waiter)
          .filter(inPool(acct, feat))
          .map((w) => w.id);
        const queueBefore = before
          .filter(inPool(acct, feat))
          .filter((w) => !unfit.includes(w))
          .map((w) => w.id);
        // Strict FIFO: a pool grants a prefix of its queue, and the head left does not fit.
        expect(grantedIds).toEqual(queueBefore.slice(0, grantedIds.length));
        const queue = after.filter(inPool(acct, feat));
        const head = queue[0];
        if (head !== undefined) {
          expect(this.pools.inUse(acct, feat) + head.count).toBeGreaterThan(
            this.pools.total(acct, feat) ?? 0,
          );
        }
        // After a drain every waiter knows its true place.
        for (const [index, w] of queue.entries()) {
          expect(this.tracked.get(pair(acct, w.id))?.position).toBe(index + 1);
        }
      }
    }
    expect(this.pools.drain()).toEqual({ granted: [], positions: [], refused: [] });
  }

  checkInvariants(): void {
    const { pools } = this;
    const leases = pools.leases();
    const waiters = pools.waiters();
    const keys = [...leases, ...waiters].map((x) => pair(x.account, x.id));
    expect(new Set(keys).size).toBe(keys.length);
    let all = 0;
    for (const acct of ACCOUNTS) {
      let accountSum = 0;
      for (const feat of FEATURES) {
        const sum = leases.filter(inPool(acct, feat)).reduce((s, l) => s + l.count, 0);
        expect(pools.inUse(acct, feat)).toBe(sum);
        expect(sum).toBeLessThanOrEqual(pools.total(acct, feat) ?? 0);
        const queue = waiters.filter(inPool(acct, feat));
        expect(pools.queued(acct, feat)).toBe(queue.length);
        // FIFO: the queue is in the order the waiters joined it.
        const joined = queue.map((w) => this.tracked.get(pair(acct, w.id))?.joined ?? Number.NaN);
        expect(joined).toEqual([...joined].sort((x, y) => x - y));
        accountSum += sum;
      }
      expect(pools.inUse(acct)).toBe(accountSum);
      all += accountSum;
    }
    expect(pools.inUse()).toBe(all);
    const deadlines = [...leases.map((l) => l.expiresAt), ...waiters.map((w) => w.deadline)];
    expect(pools.nextDeadline()).toBe(deadlines.length === 0 ? undefined : Math.min(...deadlines));
  }
}

describe('LicensePools model', () => {
  it('never grants past a total, keeps ids unique and queues FIFO, whatever happens', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }), (ops) => {
        const harness = new Harness();
        for (const op of ops) {
          harness.run(op);
          harness.checkInvariants();
        }
      }),
      { numRuns: 150 },
    );
  });
});
