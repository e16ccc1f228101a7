/**
 * The store's statements find rows through their keys: a grant reads its own pool's leases, a release the
 * leases it names. A release once joined its list of ids with every lease row of the table (the planner
 * guessed a JSON list long), so each one cost more as the table grew. Checked on the plans PostgreSQL chose
 * (auto_explain, which Debian's postgresql package ships), with 5,000 leases of another pool in the table.
 */
import { describe, expect, it } from 'vitest';
import { usePostgresNodes } from '../helpers/pg-nodes.js';

describe('PostgresStore statements on a table of many leases', () => {
  const { setUp } = usePostgresNodes();

  it('a grant and a release of one seat read no whole table', async () => {
    const { stores, db } = await setUp(30_000, 1, 'plans');
    const store = stores[0];
    if (store === undefined) throw new Error('no store');
    await store.setTotal('acme', 'BIG', 10_000);
    await store.setTotal('acme', 'HOT', 10);
    await db.query("INSERT INTO lv_license_sessions VALUES ('other/s', 'other', now() + interval '1 hour')");
    await db.query(
      `INSERT INTO lv_license_leases (account, id, feature, count, granted_at, expires_at, node, owner, session)
       SELECT 'acme', 'big' || g, 'BIG', 1, now(), now(), 'other', 1, 'other/s' FROM generate_series(1, 5000) g`,
    );
    await db.query('ANALYZE lv_license_leases');
    await db.query(
      `INSERT INTO lv_license_sessions SELECT 'n/' || g, 'n', now() + interval '1 hour' FROM generate_series(1, 500) g`,
    );
    await db.query('ANALYZE lv_license_sessions');

    const plans: string[] = [];
    db.on('notice', (notice) => plans.push(notice.message ?? ''));
    await db.query("LOAD 'auto_explain'");
    for (const setting of [
      'auto_explain.log_min_duration = 0',
      'auto_explain.log_nested_statements = on',
      'auto_explain.log_level = notice',
      'client_min_messages = notice',
    ]) {
      await db.query(`SET ${setting}`);
    }
    // The calls as the store makes them (the items of lv_license_batch: see functions.ts).
    const batch = async (items: unknown[]) => {
      const rows = await db.query('SELECT lv_license_batch($1::jsonb, $2, $3, $4, $5) AS r', [
        JSON.stringify(items),
        'n',
        30_000,
        5_000,
        20_000,
      ]);
      return rows.rows[0].r as { results: Array<Record<string, unknown>> };
    };
    const session = 'n/1';
    const granted = await batch([
      {
        op: 'acquire',
        account: 'acme',
        id: 'x',
        feature: 'HOT',
        count: 1,
        owner: 1,
        requestId: 1,
        wait: 0,
        session,
      },
    ]);
    expect(granted.results[0]?.kind).toBe('granted');
    const released = await batch([{ op: 'release', account: 'acme', epochs: { x: 1 }, session }]);
    expect(released.results[0]?.released).toHaveLength(1);

    const text = plans.join('\n');
    expect(text).toMatch(/Index Scan using lv_license_leases_pkey/);
    expect(text).not.toMatch(/Seq Scan on lv_license_leases/);
    expect(text).not.toMatch(/Seq Scan on lv_license_sessions/);
  });
});
