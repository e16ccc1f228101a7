/**
 * A pool's row carries its seats in use (`used`, never fewer than the live leases' seats) and whether anyone
 * may wait in it (`waiting`): a grant reads those under the pool's lock instead of summing the pool's lease
 * rows, and a call made alone is granted without lv_license_batch (alone.ts). These tests read the row as
 * the calls leave it, and check that every answer is the one the lease rows give.
 */
import { describe, expect, it } from 'vitest';
import { usePostgresNodes } from '../helpers/pg-nodes.js';
import { postgresAvailable } from '../helpers/postgres.js';

const acquire = (id: string, extra: { wait?: number; feature?: string; owner?: number } = {}) => ({
  account: 'acme',
  id,
  feature: extra.feature ?? 'FULL',
  count: 1,
  owner: extra.owner ?? 1,
  requestId: 1,
  ...(extra.wait === undefined ? {} : { wait: extra.wait }),
});

describe.skipIf(!postgresAvailable)("PostgresStore's seat count in the pool's row", () => {
  const { setUp } = usePostgresNodes();

  async function pool(db: { query: (text: string) => Promise<{ rows: unknown[] }> }) {
    const rows = await db.query(
      "SELECT used, waiting FROM lv_license_pools WHERE account = 'acme' AND feature = 'FULL'",
    );
    return rows.rows[0] as { used: number | null; waiting: boolean };
  }

  it('stays high after a release, and a grant that finds it full counts the seats afresh', async () => {
    const { stores, db } = await setUp(30_000);
    const [store] = stores;
    if (store === undefined) throw new Error('no store');
    await store.setTotal('acme', 'FULL', 2);
    expect((await pool(db)).used).toBeNull(); // a new pool: not counted yet
    expect((await store.acquire(acquire('a'))).kind).toBe('granted');
    expect((await store.acquire(acquire('b'))).kind).toBe('granted');
    expect((await pool(db)).used).toBe(2);
    expect((await store.release('acme', ['a'])).released).toEqual(['a']);
    expect((await pool(db)).used).toBe(2); // a release does not take the pool's lock
    // 2 + 1 > 2: counted afresh (1 live), granted, and the exact count written back.
    expect((await store.acquire(acquire('c'))).kind).toBe('granted');
    expect((await pool(db)).used).toBe(2);
    expect(await store.acquire(acquire('d'))).toMatchObject({ kind: 'exhausted', total: 2, inUse: 2 });
    const counts = await store.counts('acme');
    expect(counts).toEqual([expect.objectContaining({ feature: 'FULL', total: 2, inUse: 2 })]);
  });

  it('counts a pool whose figure is unknown from its lease rows', async () => {
    const { stores, db } = await setUp(30_000);
    const [store] = stores;
    if (store === undefined) throw new Error('no store');
    await store.setTotal('acme', 'FULL', 3);
    for (const id of ['a', 'b']) expect((await store.acquire(acquire(id))).kind).toBe('granted');
    // As a pool migrated from an older schema, or a figure lost: the next grant sums the rows.
    await db.query("UPDATE lv_license_pools SET used = NULL WHERE account = 'acme'");
    expect((await store.acquire(acquire('c'))).kind).toBe('granted');
    expect((await pool(db)).used).toBe(3);
    expect(await store.acquire(acquire('d'))).toMatchObject({ kind: 'exhausted', inUse: 3 });
  });

  it('sends no grant around the queue while anyone may wait, and opens again once a grant finds it empty', async () => {
    const { stores, db } = await setUp(30_000);
    const [store] = stores;
    if (store === undefined) throw new Error('no store');
    await store.setTotal('acme', 'FULL', 1);
    expect((await store.acquire(acquire('a'))).kind).toBe('granted');
    expect(await store.acquire(acquire('b', { wait: 10_000 }))).toMatchObject({
      kind: 'queued',
      position: 1,
    });
    expect((await pool(db)).waiting).toBe(true);
    expect((await store.release('acme', ['a'])).released).toEqual(['a']);
    // A seat is free, but b waits for it: a newcomer is not granted ahead of b (it queues behind).
    expect(await store.acquire(acquire('c', { wait: 10_000 }))).toMatchObject({
      kind: 'queued',
      position: 2,
    });
    const drained = await store.drain();
    expect(drained.granted.map((entry) => entry.lease.id)).toEqual(['b']);
    expect((await pool(db)).waiting).toBe(true); // c still waits
    expect(await store.cancel('acme', 'c')).toMatchObject({ id: 'c' });
    expect((await store.release('acme', ['b'])).released).toEqual(['b']);
    // The queue is empty, but only a holder of the pool's lock who looked may say so: the next grant.
    expect((await pool(db)).waiting).toBe(true);
    expect((await store.acquire(acquire('d'))).kind).toBe('granted');
    expect(await pool(db)).toEqual({ used: 1, waiting: false });
  });

  it('answers an acquire of an id held or waiting elsewhere as the function does: a reclaim, a conflict', async () => {
    const { stores } = await setUp(30_000);
    const [store] = stores;
    if (store === undefined) throw new Error('no store');
    await store.setTotal('acme', 'FULL', 5);
    await store.setTotal('acme', 'LITE', 1);
    expect((await store.acquire(acquire('a'))).kind).toBe('granted');
    // The same id again, from another connection: a reclaim of the same lease (no second seat).
    expect(await store.acquire(acquire('a', { owner: 2 }))).toMatchObject({
      kind: 'granted',
      reclaimed: true,
    });
    expect((await store.counts('acme')).find((p) => p.feature === 'FULL')?.inUse).toBe(1);
    expect((await store.acquire(acquire('a', { feature: 'LITE' }))).kind).toBe('conflict');
    expect((await store.acquire(acquire('l', { feature: 'LITE' }))).kind).toBe('granted');
    expect(await store.acquire(acquire('w', { feature: 'LITE', wait: 10_000 }))).toMatchObject({
      kind: 'queued',
    });
    expect((await store.acquire(acquire('w'))).kind).toBe('conflict');
  });
});
