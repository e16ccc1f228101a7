/**
 * PostgresStore's sessions (schema 3): a heartbeat costs one row update however many seats it renews; a
 * session whose time has come is never brought back; a lease moves to the session that renews it.
 */
import type pgLib from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/server/index.js';
import { usePostgres, usePostgresNodes } from '../helpers/pg-nodes.js';
import { postgresAvailable } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!postgresAvailable)('PostgresStore sessions', () => {
  const { setUp } = usePostgresNodes();

  /**
   * The transaction that last wrote each lease row and each session row: a row no statement wrote keeps its
   * `xmin`, so comparing two of these shows exactly which rows a call wrote.
   */
  async function versions(db: pgLib.Client) {
    const leases = await db.query('SELECT id, xmin::text AS x FROM lv_license_leases ORDER BY id');
    const sessions = await db.query('SELECT id, xmin::text AS x FROM lv_license_sessions ORDER BY id');
    return {
      leases: leases.rows.map((row) => `${row.id}@${row.x}`),
      sessions: sessions.rows.map((row) => `${row.id}@${row.x}`),
    };
  }

  it('renews 2,000 seats of one connection with one row update', async () => {
    const { stores, db } = await setUp(30_000);
    const store = stores[0] as PostgresStore;
    await store.setTotal('acme', 'FULL', 2_000);
    const ids = Array.from({ length: 2_000 }, (_, i) => `port-${i}`);
    const granted = await Promise.all(
      ids.map((id, i) =>
        store.acquire({ account: 'acme', id, feature: 'FULL', count: 1, owner: 1, requestId: i }),
      ),
    );
    expect(granted.every((outcome) => outcome.kind === 'granted')).toBe(true);
    const before = await versions(db);
    expect(before.sessions).toHaveLength(1);
    // The client's heartbeat comes in frames of a few hundred ids: each is one statement.
    for (let i = 0; i < ids.length; i += 500) {
      expect((await store.renew('acme', ids.slice(i, i + 500), 1)).unknown).toEqual([]);
    }
    const after = await versions(db);
    expect(after.leases).toEqual(before.leases); // not one of the 2,000 lease rows written
    expect(after.sessions).toHaveLength(1);
    expect(after.sessions).not.toEqual(before.sessions); // the one session row was
    expect((await store.counts('acme'))[0]).toMatchObject({ total: 2_000, inUse: 2_000 });
  });

  it('never brings back a session whose time came: its leases stay gone, and the connection gets a new one', async () => {
    const { stores } = await setUp(400);
    const store = stores[0] as PostgresStore;
    await store.setTotal('acme', 'FULL', 1);
    const first = await store.acquire({
      account: 'acme',
      id: 'a',
      feature: 'FULL',
      count: 1,
      owner: 1,
      requestId: 1,
    });
    expect(first.kind).toBe('granted');
    await sleep(600); // the session (and lease a) is dead by the database's clock; no expire pass ran
    expect(await store.renew('acme', ['a'], 1)).toEqual({ renewed: [], unknown: ['a'] });
    // The seat is free: the same connection gets it again under a new id, in a new session.
    const second = await store.acquire({
      account: 'acme',
      id: 'b',
      feature: 'FULL',
      count: 1,
      owner: 1,
      requestId: 2,
    });
    expect(second.kind).toBe('granted');
    expect((await store.leases()).map((lease) => lease.id)).toEqual(['b']);
    const { expired } = await store.expire();
    expect(expired.map((lease) => lease.id)).toEqual(['a']);
    expect((await store.counts('acme'))[0]).toMatchObject({ inUse: 1 });
  });

  it('moves a lease renewed through another connection (or node) to that one, once', async () => {
    const { stores, db } = await setUp(30_000, 2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.setTotal('acme', 'FULL', 3);
    for (const id of ['x', 'y', 'z']) {
      await a.acquire({ account: 'acme', id, feature: 'FULL', count: 1, owner: 1, requestId: 1 });
    }
    // Node A is lost; the client renews through node B.
    expect(await b.renew('acme', ['x', 'y', 'z'], 9)).toEqual({
      renewed: ['x', 'y', 'z'],
      unknown: [],
      moved: new Map([
        ['x', 2],
        ['y', 2],
        ['z', 2],
      ]),
    });
    const moved = await db.query('SELECT id, node, epoch FROM lv_license_leases ORDER BY id');
    expect(moved.rows).toEqual(['x', 'y', 'z'].map((id) => ({ id, node: b.node, epoch: '2' })));
    // The next heartbeat through B writes no lease row.
    const before = await versions(db);
    await b.renew('acme', ['x', 'y', 'z'], 9);
    expect((await versions(db)).leases).toEqual(before.leases);
    // A late release through A (the client tidying up) does not end leases held through B now.
    expect((await a.release('acme', ['x'])).released).toEqual([]);
    expect((await b.leases()).map((lease) => [lease.id, lease.owner])).toEqual([
      ['x', 9],
      ['y', 9],
      ['z', 9],
    ]);
  });
});

describe.skipIf(!postgresAvailable)('PostgresStore batches', () => {
  const pg = usePostgres();

  it('fails only the call the database refuses, not the others of its batch; holds any request id and wait', async () => {
    const store = await PostgresStore.connect({
      connectionString: await pg.database('batches'),
      migrate: true,
    });
    try {
      await store.setTotal('acme', 'FULL', 4);
      const ask = (id: string, extra: object = {}) =>
        store.acquire({ account: 'acme', id, feature: 'FULL', count: 1, owner: 1, requestId: 1, ...extra });
      const outcomes = await Promise.allSettled([
        ask('a'),
        // PostgreSQL cannot hold a NUL in text: this one call fails...
        store.acquire({
          account: 'bad\u0000name',
          id: 'x',
          feature: 'FULL',
          count: 1,
          owner: 1,
          requestId: 2,
        }),
        ask('b', { requestId: 2 ** 52 }),
        // ...a count past any pool is refused as such, not by the database...
        ask('c', { count: 3_000_000_000 }),
        ask('d'),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'fulfilled',
      ]);
      const values = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.kind : 'failed'));
      expect(values).toEqual(['granted', 'failed', 'granted', 'conflict', 'granted']);
      // ...and a waiter keeps a request id beyond 32 bits, and a wait of a year.
      await ask('e');
      expect(await ask('w', { requestId: 2 ** 52 + 1, wait: 365 * 24 * 3_600_000 })).toMatchObject({
        kind: 'queued',
      });
      expect(await store.waiters()).toEqual([expect.objectContaining({ id: 'w', requestId: 2 ** 52 + 1 })]);
    } finally {
      await store.close();
    }
  });
});
