/**
 * Attacks on the lone paths of PostgresStore (lv_license_grant_alone, the lone release statement) and on the
 * pool row's `used` and `waiting`, with the interleavings forced by another client holding a pool's row lock
 * (or by a batch held open behind one). Each test states what should hold.
 */
import pgLib from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/server/index.js';
import { usePostgresNodes } from '../helpers/pg-nodes.js';
import { postgresAvailable } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ask = (store: PostgresStore, id: string, owner: number, extra: object = {}) =>
  store.acquire({ account: 'acme', id, feature: 'FULL', count: 1, owner, requestId: 1, ...extra });

/**
 * Waits until `n` statements of the database wait for a lock (a row's or an advisory one); returns what
 * those statements are (their text).
 */
async function lockWaiters(db: pgLib.Client, n: number): Promise<string[]> {
  for (let i = 0; i < 200; i += 1) {
    const rows = await db.query(
      "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    );
    if (rows.rows.length >= n) return rows.rows.map((row) => String(row.query));
    await sleep(25);
  }
  throw new Error(`${n} statement(s) never waited for a lock`);
}

async function poolRow(db: pgLib.Client, feature: string) {
  const rows = await db.query(
    `SELECT p.used, p.waiting, p.total,
       (SELECT coalesce(sum(l.count), 0) FROM lv_license_live_leases l
         WHERE l.account = p.account AND l.feature = p.feature)::int AS live
     FROM lv_license_pools p WHERE p.account = 'acme' AND p.feature = $1`,
    [feature],
  );
  return rows.rows[0] as { used: number | null; waiting: boolean; total: number; live: number };
}

describe.skipIf(!postgresAvailable)('PostgresStore lone grants and the pool row, attacked', () => {
  const { setUp } = usePostgresNodes();

  it('a lone grant that waited for the pool behind a batch that queued someone does not go around them', async () => {
    const { stores, db, url } = await setUp(30_000, 2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.setTotal('acme', 'FULL', 2);
    await a.setTotal('acme', 'LITE', 1);
    // Both connections' sessions exist; the pool: 1 of 2 used, nobody waiting (a batch looked).
    expect((await ask(a, 'warm', 1)).kind).toBe('granted');
    expect((await ask(b, 'warmb', 2, { feature: 'LITE' })).kind).toBe('granted');
    expect(await poolRow(db, 'FULL')).toMatchObject({ used: 1, waiting: false, live: 1 });
    const locker = new pgLib.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query("SELECT total FROM lv_license_pools WHERE feature = 'FULL' FOR UPDATE");
      // B's batch: w wants 2 seats (1 free): it will queue. It waits for the pool first.
      const w = ask(b, 'w', 2, { count: 2, wait: 10_000 });
      await lockWaiters(db, 1);
      // A's lone acquire of x: its snapshot says 1 used of 2, nobody waiting; it waits for the pool next.
      const x = ask(a, 'x', 1, { wait: 10_000 });
      expect((await lockWaiters(db, 2)).join('\n')).toContain('lv_license_grant_alone');
      await locker.query('COMMIT');
      expect(await w).toMatchObject({ kind: 'queued', position: 1 });
      // A seat is free, but w waits ahead of x: x queues behind it.
      expect(await x).toMatchObject({ kind: 'queued', position: 2 });
    } finally {
      await locker.end();
    }
    const row = await poolRow(db, 'FULL');
    expect(row.waiting).toBe(true);
    expect(row.used ?? 0).toBeGreaterThanOrEqual(row.live);
  });

  it('a lone grant that waited for its id behind a batch that queued that id elsewhere grants nothing', async () => {
    const { stores, db, url } = await setUp(30_000, 2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.setTotal('acme', 'FULL', 5);
    await a.setTotal('acme', 'LITE', 1);
    await a.setTotal('acme', 'ZETA', 1);
    expect((await ask(a, 'warm', 1)).kind).toBe('granted');
    expect((await ask(b, 'l', 2, { feature: 'LITE' })).kind).toBe('granted'); // LITE is full
    const before = await poolRow(db, 'FULL');
    expect(before).toMatchObject({ used: 1, waiting: false });
    const locker = new pgLib.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query("SELECT total FROM lv_license_pools WHERE feature = 'ZETA' FOR UPDATE");
      // B's batch (one flush): x queues in LITE (taking x's id lock), then waits for ZETA, held above.
      const queued = ask(b, 'x', 2, { feature: 'LITE', wait: 10_000 });
      const zeta = ask(b, 'z', 2, { feature: 'ZETA' });
      await lockWaiters(db, 1);
      // A's lone acquire of x in FULL: FULL has room; it takes FULL's row, then waits for x's id lock.
      const x = ask(a, 'x', 1);
      expect((await lockWaiters(db, 2)).join('\n')).toContain('lv_license_grant_alone');
      await locker.query('COMMIT');
      expect(await queued).toMatchObject({ kind: 'queued', position: 1 });
      expect((await zeta).kind).toBe('granted');
      // x waits in LITE: it cannot be a lease in FULL too.
      expect((await x).kind).toBe('conflict');
    } finally {
      await locker.end();
    }
    const both = await db.query(
      "SELECT count(*)::int AS n FROM lv_license_leases l JOIN lv_license_waiters w USING (account, id) WHERE l.account = 'acme'",
    );
    expect(both.rows[0].n).toBe(0);
    // The seat it counted went back.
    expect((await poolRow(db, 'FULL')).used).toBe(before.used);
  });

  it('a lone release wakes the node whose client waits (a notification, not its next heartbeat)', async () => {
    const { stores, url } = await setUp(30_000, 1);
    const [b] = stores as [PostgresStore];
    // Node A never ticks on its own in this test: only a notification wakes it.
    const a = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000, heartbeat: 600_000 });
    try {
      await b.setTotal('acme', 'FULL', 1);
      expect((await ask(b, 'held', 1)).kind).toBe('granted');
      expect(await ask(a, 'w', 1, { wait: 10_000 })).toMatchObject({ kind: 'queued', position: 1 });
      let woke = 0;
      const stop = a.watch(() => {
        woke += 1;
      });
      // The watch's first (re)connect tells it once: wait for that, then count afresh.
      for (let i = 0; i < 200 && woke === 0; i += 1) await sleep(10);
      woke = 0;
      expect((await b.release('acme', ['held'], [1], 1)).released).toEqual(['held']);
      for (let i = 0; i < 300 && woke === 0; i += 1) await sleep(10);
      stop();
      expect(woke).toBeGreaterThan(0);
      expect((await a.drain()).granted.map((g) => g.lease.id)).toEqual(['w']);
    } finally {
      await a.close();
    }
  });

  // FOUND: a release of several leases deletes them one at a time in the order the client named them
  // (lv_license_batch), where one DELETE of all of them locked them in the index's order. Two releases
  // of the same leases named in two orders (a client retrying through another node; a release and its
  // connection's stale twin) then lock them crosswise: a deadlock, which the database breaks after
  // deadlock_timeout by failing one (the store runs it again, with every grant of its batch).
  it('two releases of the same leases, named in two orders, do not deadlock', async () => {
    const { stores, db, url } = await setUp(30_000, 2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.setTotal('acme', 'FULL', 5);
    expect((await ask(a, 'x', 1)).kind).toBe('granted');
    expect((await ask(a, 'y', 1)).kind).toBe('granted');
    const deadlocks = async () =>
      Number(
        (await db.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0]
          .deadlocks,
      );
    const before = await deadlocks();
    const locker = new pgLib.Client({ connectionString: url });
    await locker.connect();
    let released: string[] = [];
    try {
      await locker.query('BEGIN');
      await locker.query("SELECT 1 FROM lv_license_leases WHERE account = 'acme' AND id = 'x' FOR UPDATE");
      const first = a.release('acme', ['x', 'y'], [1, 1], 1);
      await lockWaiters(db, 1);
      const second = b.release('acme', ['y', 'x'], [1, 1], 9);
      await lockWaiters(db, 2);
      await locker.query('COMMIT');
      released = [...(await first).released, ...(await second).released].sort();
    } finally {
      await locker.end();
    }
    expect(released).toEqual(['x', 'y']);
    // The deadlock counter is flushed by the backend that failed, within its stats interval (at most 10 s in PostgreSQL 15).
    let after = before;
    for (let i = 0; i < 44 && after === before; i += 1) {
      await sleep(250);
      after = await deadlocks();
    }
    expect(after - before).toBe(0);
  }, 30_000);
});
