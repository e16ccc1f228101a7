/**
 * A connection's run of acquires (lease-run.ts) can reach PostgreSQL in two batches: two transactions in
 * flight would lock a pool in either order, so a later acquire of the pool could be decided first. The store
 * runs no two batches that share a pool at once; one after the other, the earlier acquire gets the seat.
 */
import pgLib from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseServer, PostgresStore } from '../../src/server/index.js';
import { usePostgres } from '../helpers/pg-nodes.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';

describe.skipIf(!postgresAvailable)('a run of acquires over PostgreSQL keeps the order of one pool', () => {
  const pg = usePostgres();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(licenses: Record<string, number>) {
    const url = await pg.database('runs');
    const store = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000, migrate: true });
    const server = await LicenseServer.start({ port: 0, store, licenses });
    cleanups.push(
      () => store.close(),
      () => server.close(),
    );
    const raw: RawClient = await rawConnect(server.port);
    cleanups.push(() => raw.close());
    await raw.next((f) => f.type === 'greeting');
    expect((await raw.request('hello', { version: '1.0' })).ok).toBe(true);
    return { url, server, raw };
  }

  it('an earlier acquire of a pool gets its seat while another pool of its batch is locked elsewhere', async () => {
    const { url, raw } = await setUp({ ALPHA: 5, MID: 5, ZETA: 1 });
    // The connection's session row exists (committed) before the run.
    expect((await raw.request('acquire', { lease: 'warm', feature: 'MID', count: 1 })).ok).toBe(true);
    // Someone else (another node's batch, a cancel, a revoke...) holds ALPHA's pool row for a moment.
    const locker = new pgLib.Client({ connectionString: url });
    await locker.connect();
    cleanups.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query("SELECT total FROM lv_license_pools WHERE feature = 'ALPHA' FOR UPDATE");
    // One frame burst: x (ALPHA) and a (ZETA) go in one batch, which waits on ALPHA's lock.
    raw.sendRaw(
      [
        { id: 1, op: 'acquire', lease: 'x', feature: 'ALPHA', count: 1 },
        { id: 2, op: 'acquire', lease: 'a', feature: 'ZETA', count: 1 },
      ]
        .map((f) => `${JSON.stringify(f)}\n`)
        .join(''),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // b joins the run (an acquire of another lease) and goes in the second batch.
    raw.send({ id: 3, op: 'acquire', lease: 'b', feature: 'ZETA', count: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await locker.query('COMMIT');
    await raw.next((f) => f.id === 1);
    await raw.next((f) => f.id === 2);
    await raw.next((f) => f.id === 3);
    const answer = (id: number) => raw.frames.find((f) => f.id === id);
    // One after the other: a takes ZETA's one seat, b is refused.
    expect(answer(2)).toMatchObject({ ok: true, result: { lease: 'a' } });
    expect(answer(3)).toMatchObject({ ok: false, error: { code: -26 } });
  });

  it('an earlier acquire of a pool gets its seat when the run is split into two batches', async () => {
    const { raw } = await setUp({ ALPHA: 1000, MID: 5, ZETA: 1 });
    expect((await raw.request('acquire', { lease: 'warm', feature: 'MID', count: 1 })).ok).toBe(true);
    const frames: object[] = [];
    for (let i = 0; i < 255; i += 1)
      frames.push({ id: 100 + i, op: 'acquire', lease: `x${i}`, feature: 'ALPHA', count: 1 });
    frames.push({ id: 1, op: 'acquire', lease: 'a', feature: 'ZETA', count: 1 });
    frames.push({ id: 2, op: 'acquire', lease: 'b', feature: 'ZETA', count: 1 });
    raw.sendRaw(frames.map((f) => `${JSON.stringify(f)}\n`).join(''));
    await raw.next((f) => f.id === 1, 20_000);
    await raw.next((f) => f.id === 2, 20_000);
    const answer = (id: number) => raw.frames.find((f) => f.id === id);
    expect(answer(1)).toMatchObject({ ok: true, result: { lease: 'a' } });
    expect(answer(2)).toMatchObject({ ok: false, error: { code: -26 } });
  });
});
