/**
 * Attacks on PostgresStore schema 3 from outside (sessions, batches, epochs, notices): real PostgreSQL,
 * several nodes on one database. Each test states what should hold.
 */
import pgLib from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/server/index.js';
import { usePostgres, usePostgresNodes } from '../helpers/pg-nodes.js';
import { postgresAvailable } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ask = (store: PostgresStore, id: string, owner: number, extra: object = {}) =>
  store.acquire({ account: 'acme', id, feature: 'FULL', count: 1, owner, requestId: 1, ...extra });

describe.skipIf(!postgresAvailable)('PostgresStore attacks', () => {
  const { setUp } = usePostgresNodes();

  // FOUND by an attack on the store, and fixed: a release the epoch fence ignores, sent by the very connection that now holds the lease (its
  // heartbeat moved the lease there a moment before: the release was already on the wire with the epoch
  // it knew), is answered "unknown" and the client forgets the lease; but the lease hangs on that
  // connection's session, which every later heartbeat extends, so the seat stays taken for as long as the
  // connection lives (MemoryStore would let it expire one TTL after the last heartbeat naming it).
  it('a release fenced off as stale does not keep its seat for the life of the connection that holds it', async () => {
    const { stores } = await setUp(600, 2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.setTotal('acme', 'FULL', 2);
    expect((await ask(a, 'x', 1)).kind).toBe('granted'); // epoch 1, through node A
    expect((await ask(b, 'keep', 9)).kind).toBe('granted');
    // The client, now on node B, heartbeats x and keep; x moves to B (epoch 2)...
    expect((await b.renew('acme', ['x', 'keep'], 9)).moved).toEqual(new Map([['x', 2]]));
    // ...while its release of x, sent with the epoch it knew (1), arrives just after.
    // It came on the connection that holds x now (owner 9): that connection's release goes, whatever epoch.
    const release = await b.release('acme', ['x'], [1], 9);
    expect(release.released).toEqual(['x']);
    // It keeps heartbeating what it holds (keep) for three TTLs.
    for (let i = 0; i < 9; i += 1) {
      await sleep(200);
      expect((await b.renew('acme', ['keep'], 9)).renewed).toEqual(['keep']);
    }
    await a.expire();
    await b.expire();
    // x was never named again after its release: it must be gone, and its seat free.
    expect((await b.leases()).map((lease) => lease.id)).toEqual(['keep']);
  });

  // FOUND by an attack on the store, and fixed: a connection whose session died (it held nothing for a TTL: the client stops
  // heartbeating then) and that then acquires in two batches at once (two in flight) was given two new
  // sessions, one per batch (a dead session's successor had a random name). The store kept the first; the
  // lease of the other hung on a session nobody renewed until the connection's next heartbeat moved it, with
  // a new epoch. A successor is now named after the dead session and its expiry, so both batches make the
  // same one. Another client holds the pool's row lock meanwhile, so that both batches are in the database
  // at once (each makes its session before it locks the pool).
  it('one connection gets one session, however many batches it has in flight when its old one died', async () => {
    const { stores, db, url } = await setUp(400, 1);
    const [a] = stores as [PostgresStore];
    await a.setTotal('acme', 'FULL', 3);
    expect((await ask(a, 'first', 1)).kind).toBe('granted');
    expect((await a.release('acme', ['first'], [1])).released).toEqual(['first']);
    await sleep(600); // the connection held nothing; its session died
    const holder = new pgLib.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        "SELECT total FROM lv_license_pools WHERE account = 'acme' AND feature = 'FULL' FOR UPDATE",
      );
      const x = ask(a, 'x', 1);
      await sleep(100); // x's batch made its session and waits for the pool
      const y = ask(a, 'y', 1);
      await sleep(100); // y's, in a second batch, waits for x's (uncommitted) session, or makes its own
      await holder.query('COMMIT');
      expect((await x).kind).toBe('granted');
      expect((await y).kind).toBe('granted');
    } finally {
      await holder.end();
    }
    const sessions = await db.query("SELECT DISTINCT session FROM lv_license_leases WHERE id IN ('x', 'y')");
    expect(sessions.rows).toHaveLength(1);
    expect((await a.renew('acme', ['x', 'y'], 1)).moved).toBeUndefined();
  });

  // FOUND by the storm below, and fixed: a shrink locked the pool's live leases through a join with their
  // sessions; a lease a renewal moved to another session while the shrink waited for its row was checked
  // again against the old session row, no longer matched, and dropped out of the shrink: it kept its seat
  // over the new total. The same held for an operator's revocation, and for a draining node's revokeAll
  // (found by the store's model test: the lease came back with its session's expiry from before the move).
  it.each([
    ['shrink', ['keep', 'x']],
    ['revoke', ['keep', 'x']],
    ['revokeAll', ['x']],
  ] as const)('a %s takes a lease that a renewal moves meanwhile', async (how, taken) => {
    const { stores, db, url } = await setUp(30_000, 2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.setTotal('acme', 'FULL', 2);
    expect((await ask(a, 'x', 1)).kind).toBe('granted');
    expect((await ask(b, 'keep', 9)).kind).toBe('granted');
    const moveTo = String(
      (await db.query("SELECT session FROM lv_license_leases WHERE id = 'keep'")).rows[0].session,
    );
    // A renewal through node B moving x to its connection's session, caught half-way (its row locked).
    const renewal = new pgLib.Client({ connectionString: url });
    await renewal.connect();
    try {
      await renewal.query('BEGIN');
      await renewal.query("UPDATE lv_license_leases SET session = $1, epoch = epoch + 1 WHERE id = 'x'", [
        moveTo,
      ]);
      const taking =
        how === 'shrink'
          ? a.setTotal('acme', 'FULL', 0)
          : how === 'revoke'
            ? a.revoke('acme')
            : a.revokeAll();
      await sleep(200); // it waits for x's row
      await renewal.query('COMMIT');
      const took = await taking;
      expect(took.map((lease) => lease.id).sort()).toEqual([...taken]);
      // x is reported as it was taken: with the expiry of the session the renewal moved it to.
      const [session] = (await db.query('SELECT expires_at FROM lv_license_sessions WHERE id = $1', [moveTo]))
        .rows;
      expect(took.find((lease) => lease.id === 'x')?.expiresAt).toBe((session.expires_at as Date).getTime());
    } finally {
      await renewal.end();
    }
    // Node B's own lease stays with a revokeAll of node A.
    expect((await a.leases()).map((lease) => lease.id)).toEqual(how === 'revokeAll' ? ['keep'] : []);
  });

  // FOUND by an attack on the store, and fixed: notices left for a node that never comes back (crashed, renamed) are never swept: the table
  // grows by one row per revoked lease held through a vanished node.
  it('sweeps revocation notices left for a node that is gone', async () => {
    const { stores, db, url } = await setUp(30_000, 1);
    const [b] = stores as [PostgresStore];
    const a = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000, heartbeat: 50 });
    await b.setTotal('acme', 'FULL', 3);
    for (const id of ['p', 'q', 'r']) expect((await ask(a, id, 1)).kind).toBe('granted');
    const taken = await b.revoke('acme');
    expect(taken).toHaveLength(3);
    // Node A dies (no clean close: its node row stays, its heartbeat stops).
    await (a as unknown as { close(): Promise<void> }).close();
    await db.query("INSERT INTO lv_license_nodes (node, seen_at) VALUES ($1, now() - interval '1 hour')", [
      a.node,
    ]);
    await b.tellHolders(taken, { code: -69, message: 'revoked' });
    expect(Number((await db.query('SELECT count(*) AS n FROM lv_license_notices')).rows[0].n)).toBe(3);
    // Long after: B sweeps as it does every pass.
    for (let i = 0; i < 3; i += 1) await b.expire();
    expect(Number((await db.query('SELECT count(*) AS n FROM lv_license_notices')).rows[0].n)).toBe(0);
  });
});

describe.skipIf(!postgresAvailable)('PostgresStore lock order', () => {
  const pg = usePostgres();

  const deadlocks = async (db: pgLib.Client) =>
    Number(
      (await db.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0]
        .deadlocks,
    );
  /** Waits until `n` statements of the database wait for a lock. */
  const waitingFor = async (db: pgLib.Client, n: number) => {
    for (;;) {
      const rows = await db.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
      );
      if (rows.rows[0].n >= n) return;
      await sleep(10);
    }
  };

  // FOUND by an attack on the store, and fixed: lv_license_batch locks its connections' session rows, then the pool's row; lv_license_drain
  // locks the pool's row, then (granting a waiter) updates the waiter's connection's session row. One
  // connection with a waiter in a pool and a new acquire in that pool (a client whose ports queue) is enough:
  // "deadlock detected", a second's stall for both, and the aborted statement retried (up to twice, then the
  // call fails). With a TTL of 30 s the batch extends the session only in the last third of its life (p_keep),
  // so it takes a late heartbeat; with a TTL under 16.5 s (p_keep = 11 s) every grant extends it.
  it('a grant pass and an acquire of the same connection in the same pool do not deadlock', async () => {
    const url = await pg.database('lockorder');
    const store = await PostgresStore.connect({ connectionString: url, leaseTtl: 5_000, migrate: true });
    const db = new pgLib.Client({ connectionString: url });
    await db.connect();
    const operator = new pgLib.Client({ connectionString: url });
    await operator.connect();
    try {
      await store.setTotal('acme', 'FULL', 1);
      expect((await ask(store, 'hold', 2)).kind).toBe('granted');
      expect(await ask(store, 'w1', 1, { wait: 60_000 })).toMatchObject({ kind: 'queued' });
      const before = await deadlocks(db);
      // Another node's transaction holds the pool a moment (a release of "hold" through it).
      await operator.query('BEGIN');
      await operator.query(
        "SELECT 1 FROM lv_license_pools WHERE account = 'acme' AND feature = 'FULL' FOR UPDATE",
      );
      await operator.query("DELETE FROM lv_license_leases WHERE account = 'acme' AND id = 'hold'");
      const drained = store.drain(); // waits for the pool
      await waitingFor(db, 1);
      const second = ask(store, 'w2', 1, { wait: 60_000 }); // locks owner 1's session, waits for the pool
      await waitingFor(db, 2);
      await operator.query('COMMIT');
      const [pass, outcome] = await Promise.all([drained, second]);
      expect(pass.granted.map((g) => g.lease.id)).toEqual(['w1']);
      expect(outcome).toMatchObject({ kind: 'queued' });
      expect((await deadlocks(db)) - before).toBe(0);
    } finally {
      await operator.end();
      await db.end();
      await store.close();
    }
  });

  // FOUND by an attack on the store, and fixed: a batch deletes the leases its releases name (their rows locked) before it locks the pool of its
  // acquires; setTotal locks the pool, then every live lease of it (FOR UPDATE OF l). A release and an
  // acquire of one pool in one batch (a busy node: one client frees a port while another asks) racing an
  // operator's setTotal of that pool deadlock.
  it('a shrink and a batch that releases and acquires in the same pool do not deadlock', async () => {
    const url = await pg.database('lockorder');
    const store = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000, migrate: true });
    const db = new pgLib.Client({ connectionString: url });
    await db.connect();
    const operator = new pgLib.Client({ connectionString: url });
    await operator.connect();
    try {
      await store.setTotal('acme', 'FULL', 3);
      expect((await ask(store, 'a', 1)).kind).toBe('granted');
      expect((await ask(store, 'b', 2)).kind).toBe('granted');
      const before = await deadlocks(db);
      await operator.query('BEGIN');
      await operator.query(
        "SELECT 1 FROM lv_license_pools WHERE account = 'acme' AND feature = 'FULL' FOR UPDATE",
      );
      const shrink = store.setTotal('acme', 'FULL', 2); // waits for the pool
      await waitingFor(db, 1);
      // One batch: a release of a (its row locked at once), then an acquire in the pool (waits for it).
      const [released, acquired] = [store.release('acme', ['a'], [1]), ask(store, 'c', 3)];
      await waitingFor(db, 2);
      await operator.query('COMMIT');
      const [revoked, freed, outcome] = await Promise.all([shrink, released, acquired]);
      expect(freed.released).toEqual(['a']);
      expect(revoked.length + (outcome.kind === 'granted' ? 1 : 0)).toBeLessThanOrEqual(1);
      expect((await deadlocks(db)) - before).toBe(0);
    } finally {
      await operator.end();
      await db.end();
      await store.close();
    }
  });

  // FOUND by an attack on the store, and fixed: lv_license_renew locks the listed leases held elsewhere, then their sessions; an acquire locks
  // its own session first, then the lease. A connection re-sending an acquire for a lease it holds (its
  // answer was lost) while another connection heartbeats the same id (the same client, moving to another
  // node; or a client of the account naming ids it does not hold) deadlock.
  it('a heartbeat naming a lease and a re-sent acquire of it through its own connection do not deadlock', async () => {
    const url = await pg.database('lockorder');
    const a = await PostgresStore.connect({ connectionString: url, leaseTtl: 5_000, migrate: true });
    const b = await PostgresStore.connect({ connectionString: url, leaseTtl: 5_000 });
    const db = new pgLib.Client({ connectionString: url });
    await db.connect();
    const operator = new pgLib.Client({ connectionString: url });
    await operator.connect();
    try {
      await a.setTotal('acme', 'FULL', 2);
      expect((await ask(a, 'x', 1)).kind).toBe('granted');
      const before = await deadlocks(db);
      await operator.query('BEGIN');
      await operator.query(
        "SELECT 1 FROM lv_license_pools WHERE account = 'acme' AND feature = 'FULL' FOR UPDATE",
      );
      const again = ask(a, 'x', 1); // locks owner 1's session, waits for the pool
      await waitingFor(db, 1);
      const renewed = b.renew('acme', ['x'], 9); // locks x, waits for owner 1's session
      await waitingFor(db, 2);
      await operator.query('COMMIT');
      const [outcome, renewal] = await Promise.all([again, renewed]);
      expect(outcome.kind).toBe('granted');
      expect(renewal.renewed).toEqual(['x']);
      expect((await deadlocks(db)) - before).toBe(0);
    } finally {
      await operator.end();
      await db.end();
      await b.close();
      await a.close();
    }
  });

  // Why serve-nodes.test.ts once saw its waiter "behind" told position 1 and never served: a node's grant
  // pass is one statement, and one it sent just before it froze (SIGSTOP; its heartbeat fires a pass every
  // second) runs in the database all the same. If a release on another node commits before that pass
  // counts the pool, the pass grants the frozen node's own waiter, first in the queue: a seat rightly
  // taken (FIFO), held until the frozen node's session runs out (a TTL). The waiter behind it is next, and
  // waits for a seat, as it should: here an operator's transaction holds the pool so that the frozen
  // node's pass is in the database, waiting, when the release commits.
  it("a frozen node's grant pass already in the database takes the seat a release frees, for its own waiter", async () => {
    const url = await pg.database('frozen');
    const b = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000, migrate: true });
    const c = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000 });
    const db = new pgLib.Client({ connectionString: url });
    await db.connect();
    const operator = new pgLib.Client({ connectionString: url });
    await operator.connect();
    try {
      await b.setTotal('acme', 'FULL', 2);
      expect((await ask(b, 'held', 1)).kind).toBe('granted');
      expect((await ask(b, 'fourth', 2)).kind).toBe('granted');
      expect(await ask(c, 'frozen', 1, { wait: 60_000 })).toMatchObject({ kind: 'queued', position: 1 });
      expect(await ask(b, 'behind', 3, { wait: 60_000 })).toMatchObject({ kind: 'queued', position: 2 });
      await operator.query('BEGIN');
      await operator.query(
        "SELECT 1 FROM lv_license_pools WHERE account = 'acme' AND feature = 'FULL' FOR UPDATE",
      );
      const frozenPass = c.drain(); // sent before the node froze; waits for the pool in the database
      await waitingFor(db, 1);
      // The release needs no lock of the pool: it commits while the frozen node's pass waits.
      expect((await b.release('acme', ['fourth'], [1], 2)).released).toEqual(['fourth']);
      await operator.query('COMMIT');
      // The pass counts the pool after the release: one seat free, and its own waiter heads the queue.
      expect((await frozenPass).granted.map(({ lease }) => lease.id)).toEqual(['frozen']);
      // Node B's pass: its waiter now heads the queue (told position 1), and the pool is full.
      const pass = await b.drain();
      expect(pass.granted).toEqual([]);
      expect(pass.positions.map(({ waiter, position }) => [waiter.id, position])).toEqual([['behind', 1]]);
      const live = await db.query('SELECT id, node FROM lv_license_live_leases ORDER BY id');
      expect(live.rows).toEqual([
        { id: 'frozen', node: c.node },
        { id: 'held', node: b.node },
      ]);
    } finally {
      await operator.end();
      await db.end();
      await c.close();
      await b.close();
    }
  });
  // A drain decides each pool in a statement (and a transaction) of its own, holding no lock between two
  // pools, so another call can come between them: the store's model test checks races against that
  // (a drain may be split between its pools). Here revokeAll comes between the FULL pool and the TTS pool.
  it('a drain decides each pool on its own: a revokeAll can come between two of its pools', async () => {
    const url = await pg.database('split');
    const a = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000, migrate: true });
    const db = new pgLib.Client({ connectionString: url });
    await db.connect();
    const operator = new pgLib.Client({ connectionString: url });
    await operator.connect();
    const take = (id: string, feature: string, owner: number, wait?: number) =>
      a.acquire({ account: 'acme', id, feature, count: 1, owner, requestId: 1, ...(wait ? { wait } : {}) });
    try {
      await a.setTotal('acme', 'FULL', 1);
      await a.setTotal('acme', 'TTS', 1);
      expect((await take('x', 'FULL', 1)).kind).toBe('granted');
      expect((await take('y', 'TTS', 1)).kind).toBe('granted');
      expect((await take('wf', 'FULL', 2, 60_000)).kind).toBe('queued');
      expect((await take('wt', 'TTS', 2, 60_000)).kind).toBe('queued');
      // TTS has a free seat for wt; FULL is full (x).
      expect((await a.release('acme', ['y'])).released).toEqual(['y']);
      await operator.query('BEGIN');
      await operator.query(
        "SELECT 1 FROM lv_license_pools WHERE account = 'acme' AND feature = 'TTS' FOR UPDATE",
      );
      const pass = a.drain(); // decides FULL (nothing fits), then waits for the TTS pool
      await waitingFor(db, 1);
      // Between the two pools: x goes, FULL has a free seat the pass has already looked at.
      expect((await a.revokeAll()).map((lease) => lease.id)).toEqual(['x']);
      await operator.query('COMMIT');
      const drained = await pass;
      expect(drained.granted.map(({ lease }) => lease.id)).toEqual(['wt']);
      // No single order of the two explains this (revokeAll first: wf is granted; the drain first: wt is
      // revoked); the next pass grants wf.
      expect((await a.drain()).granted.map(({ lease }) => lease.id)).toEqual(['wf']);
    } finally {
      await operator.end();
      await db.end();
      await a.close();
    }
  });
});
