/**
 * The store's statements find rows through their keys: a grant reads its pool's row and the lease it makes,
 * a release the leases it names. Checked on the plans PostgreSQL chose and the rows each plan node read
 * (auto_explain with `log_analyze`; Debian's postgresql package ships it), with 5,000 leases of the same
 * account in the table:
 * - a release once joined its list of ids with every lease row of the table (the planner guessed a JSON
 *   list long), and then, with the ids an array, read every lease of its account (the planner guessed an
 *   account small on a table not analyzed yet): a batch of n releases read n times the account's leases;
 * - a grant summed its pool's lease rows, so it cost more as the pool filled.
 * A heartbeat's renewal is checked the same way.
 */
import type pgLib from 'pg';
import { describe, expect, it } from 'vitest';
import { GRANT_ALONE, RELEASE_ALONE } from '../../src/server/postgres/alone.js';
import { usePostgresNodes } from '../helpers/pg-nodes.js';

/** The plans of every statement `db` runs from now on, nested ones included, with the rows each node read. */
async function explainAll(db: pgLib.Client): Promise<string[]> {
  const plans: string[] = [];
  db.on('notice', (notice) => plans.push(notice.message ?? ''));
  await db.query("LOAD 'auto_explain'");
  for (const setting of [
    'auto_explain.log_min_duration = 0',
    'auto_explain.log_nested_statements = on',
    'auto_explain.log_analyze = on',
    'auto_explain.log_timing = off',
    'auto_explain.log_level = notice',
    'client_min_messages = notice',
  ]) {
    await db.query(`SET ${setting}`);
  }
  return plans;
}

/** The most rows any plan node scanning a lease index or the lease table gave. */
function leaseRowsRead(plans: readonly string[]): number {
  let most = 0;
  for (const line of plans.join('\n').split('\n')) {
    const scan = /Scan (?:using|on) lv_license_leases\w*.*\(actual rows=(\d+)/.exec(line);
    if (scan !== null) most = Math.max(most, Number(scan[1]));
  }
  return most;
}

/** One call through lv_license_batch, as the store makes it (see functions.ts). */
async function batch(db: pgLib.Client, items: unknown[]) {
  const rows = await db.query('SELECT lv_license_batch($1::jsonb, $2, $3, $4, $5) AS r', [
    JSON.stringify(items),
    'n',
    30_000,
    5_000,
    20_000,
  ]);
  return rows.rows[0].r as { results: Array<Record<string, unknown>> };
}

const session = 'n/1';

/** An acquire of one seat of (acme, `feature`) as lease `id`, as a batch item. */
const acquire = (id: string, feature: string) => ({
  op: 'acquire',
  account: 'acme',
  id,
  feature,
  count: 1,
  owner: 1,
  requestId: 1,
  wait: 0,
  session,
});

/**
 * Inserts `count` live leases of pool (acme, `feature`), held through session other/s, and the sessions
 * the calls use; the tables are not analyzed (as on a new database, where the planner guesses most).
 */
async function fill(db: pgLib.Client, feature: string, count: number): Promise<void> {
  await db.query("INSERT INTO lv_license_sessions VALUES ('other/s', 'other', now() + interval '1 hour')");
  await db.query(
    `INSERT INTO lv_license_leases (account, id, feature, count, granted_at, expires_at, node, owner, session)
     SELECT 'acme', lower($1) || g, $1, 1, now(), now(), 'other', 1, 'other/s' FROM generate_series(1, $2::integer) g`,
    [feature, count],
  );
  await db.query(
    `INSERT INTO lv_license_sessions SELECT 'n/' || g, 'n', now() + interval '1 hour' FROM generate_series(1, 500) g`,
  );
}

describe('PostgresStore statements on a table of many leases', () => {
  const { setUp } = usePostgresNodes();

  it('a grant, a renewal and a release read the leases they name, not the table nor the account', async () => {
    const { stores, db } = await setUp(30_000, 1, 'plans');
    const store = stores[0];
    if (store === undefined) throw new Error('no store');
    await store.setTotal('acme', 'BIG', 10_000);
    await store.setTotal('acme', 'HOT', 10);
    await fill(db, 'BIG', 5_000);
    const plans = await explainAll(db);
    expect((await batch(db, [acquire('x', 'HOT'), acquire('y', 'HOT')])).results[0]?.kind).toBe('granted');
    const renewed = await db.query('SELECT lv_license_renew($1, $2::text[], $3, $4, $5, $6) AS r', [
      'acme',
      ['x', 'y'],
      session,
      'n',
      1,
      30_000,
    ]);
    expect(renewed.rows[0].r.renewed).toEqual(['x', 'y']);
    const released = await batch(db, [
      { op: 'release', account: 'acme', ids: ['x', 'y'], epochs: [1, null], session },
    ]);
    expect(released.results[0]?.released).toHaveLength(2);
    // Two ids named: no scan gives more than those two rows.
    expect(leaseRowsRead(plans)).toBeLessThanOrEqual(2);
    expect(plans.join('\n')).not.toMatch(/Seq Scan on lv_license_(leases|sessions)/);
  });

  it('a grant in a pool of 5,000 held seats reads none of them, alone or in a batch', async () => {
    const { stores, db } = await setUp(30_000, 1, 'plans');
    const store = stores[0];
    if (store === undefined) throw new Error('no store');
    await store.setTotal('acme', 'BIG', 10_000);
    await fill(db, 'BIG', 5_000);
    // The pool's first grant counts its rows (a new pool's figure is not known yet), and keeps the count.
    expect((await batch(db, [acquire('first', 'BIG')])).results[0]?.kind).toBe('granted');
    const plans = await explainAll(db);
    expect((await batch(db, [acquire('second', 'BIG')])).results[0]?.kind).toBe('granted');
    const values = ['acme', 'third', 'BIG', 1, 1, session, 'n', 20_000, 30_000];
    const alone = await db.query(GRANT_ALONE.text, values);
    expect(alone.rows).toEqual([expect.objectContaining({ id: 'third', feature: 'BIG' })]);
    const released = await db.query(RELEASE_ALONE.text, ['acme', 'third', 1, session, 'n']);
    expect(released.rows).toEqual([expect.objectContaining({ id: 'third', live: true })]);

    expect(plans.join('\n')).toMatch(/lv_license_grant_alone/);
    expect(leaseRowsRead(plans)).toBeLessThanOrEqual(1);
    expect(plans.join('\n')).not.toMatch(/Seq Scan on lv_license_leases/);
    const counted = await db.query("SELECT used FROM lv_license_pools WHERE feature = 'BIG'");
    expect(counted.rows[0]?.used).toBe(5_003);
  });
});
