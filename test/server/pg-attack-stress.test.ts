/**
 * A storm on two PostgresStore nodes of one pool, with sessions dying in the middle of it (a short TTL):
 * acquires that wait or not, releases with right, stale and forged epochs, heartbeats that move leases
 * between nodes, shrinking and growing pools, cancels, expire and drain passes on both nodes. Checked
 * throughout, in committed snapshots: never more seats live than the pool holds; after, no session or lease
 * is left once everyone stopped. It prints how many calls ran and failed and how many deadlocks the database
 * detected. PGATTACK_URL (a database to use instead of a fresh one, e.g. one started with log_lock_waits),
 * PGATTACK_TTL (ms) and PGATTACK_SHARED=0 (each connection its own lease ids) vary it by hand.
 */
import pgLib from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/server/index.js';
import { usePostgres } from '../helpers/pg-nodes.js';
import { postgresAvailable } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!postgresAvailable)('PostgresStore storm', () => {
  const pg = usePostgres();

  it('keeps every pool within its total and leaves no session or lease behind', async () => {
    const url = process.env.PGATTACK_URL ?? (await pg.database('storm'));
    const ttl = Number(process.env.PGATTACK_TTL ?? 300);
    const nodes = [
      await PostgresStore.connect({ connectionString: url, leaseTtl: ttl, migrate: true, heartbeat: 100 }),
      await PostgresStore.connect({ connectionString: url, leaseTtl: ttl, heartbeat: 100 }),
    ];
    const db = new pgLib.Client({ connectionString: url });
    await db.connect();
    const features = ['FULL', 'ASR'];
    for (const f of features) await nodes[0]?.setTotal('acme', f, 4);
    const failures: string[] = [];
    const overuse: string[] = [];
    const epochs = new Map<string, number>();
    let seq = 0;
    let stop = false;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
    const shared = process.env.PGATTACK_SHARED !== '0';
    const ids = Array.from({ length: 12 }, (_, i) => `L${i}`);
    const guard = async (what: string, call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    };
    const worker = async (w: number) => {
      while (!stop) {
        const node = pick(nodes);
        const owner = shared ? 1 + (w % 3) : 10 + w;
        // Shared ids: two connections contend for one lease (a client moving nodes, or a hostile one).
        const id = shared ? pick(ids) : `W${w}${pick(ids)}`;
        const feature = ids.indexOf(id.replace(/^W\d+/, '')) % 2 === 0 ? 'FULL' : 'ASR';
        const r = Math.random();
        if (r < 0.35) {
          await guard('acquire', async () => {
            const out = await node.acquire({
              account: 'acme',
              id,
              feature,
              count: 1 + (ids.indexOf(id.replace(/^W\d+/, '')) % 3 === 0 ? 1 : 0),
              owner,
              requestId: ++seq,
              wait: Math.random() < 0.3 ? 200 : 0,
            });
            if (out.kind === 'granted') epochs.set(id, out.lease.epoch ?? 1);
          });
        } else if (r < 0.55) {
          const e = Math.random();
          const epoch = e < 0.5 ? (epochs.get(id) ?? null) : e < 0.75 ? 1 : Number.MAX_SAFE_INTEGER;
          await guard('release', () => node.release('acme', [id], [epoch]));
        } else if (r < 0.8) {
          await guard('renew', async () => {
            const res = await node.renew(
              'acme',
              [pick(ids), pick(ids), pick(ids)].map((i) => (shared ? i : `W${w}${i}`)),
              owner,
            );
            for (const [i, e] of res.moved ?? []) epochs.set(i, e);
          });
        } else if (r < 0.85) {
          await guard('setTotal', () =>
            node.setTotal('acme', pick(features), 1 + Math.floor(Math.random() * 5)),
          );
        } else if (r < 0.9) {
          await guard('cancel', () => node.cancel('acme', id));
        } else if (r < 0.95) {
          await guard('expire', () => node.expire());
        } else {
          await guard('drain', () => node.drain());
        }
      }
    };
    // The checker locks nothing (it must not take part in what it watches): one snapshot shows committed
    // state only, and a grant or a shrink commits its pool's total and leases together.
    const checker = async () => {
      const c = new pgLib.Client({ connectionString: url });
      await c.connect();
      while (!stop) {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        const rows = await c.query(
          `SELECT p.feature, p.total, (SELECT coalesce(sum(l.count), 0) FROM lv_license_live_leases l
             WHERE l.account = p.account AND l.feature = p.feature)::int AS live
           FROM lv_license_pools p WHERE p.account = 'acme'`,
        );
        await c.query('COMMIT');
        for (const row of rows.rows) {
          if (row.live > row.total) {
            overuse.push(`${row.feature}: ${row.live} live of ${row.total}`);
            // The pool's leases as they are now, to tell what happened.
            const detail = await c.query(
              `SELECT l.id, l.count, l.session, l.epoch, lv_license_ms(l.granted_at) AS granted,
                 lv_license_ms(s.expires_at) AS expires, lv_license_ms(clock_timestamp()) AS now
               FROM lv_license_leases l JOIN lv_license_sessions s ON s.id = l.session
               WHERE l.account = 'acme' AND l.feature = $1`,
              [row.feature],
            );
            overuse.push(JSON.stringify(detail.rows));
          }
        }
        await sleep(5);
      }
      await c.end();
    };
    const deadlocksBefore = Number(
      (await db.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0]
        .deadlocks,
    );
    const running = [...Array.from({ length: 8 }, (_, w) => worker(w)), checker()];
    await sleep(8_000);
    stop = true;
    await Promise.all(running);
    await sleep(100);
    const deadlocks =
      Number(
        (await db.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0]
          .deadlocks,
      ) - deadlocksBefore;
    // Everyone stopped: after two TTLs and a sweep on each node, nothing is left.
    await sleep(2 * ttl + 50);
    for (const node of nodes) await node.expire();
    const sessions = Number((await db.query('SELECT count(*) AS n FROM lv_license_sessions')).rows[0].n);
    const leases = Number((await db.query('SELECT count(*) AS n FROM lv_license_leases')).rows[0].n);
    console.log({
      calls: seq,
      failures: failures.length,
      deadlocks,
      sessions,
      leases,
      overuse: overuse.length,
    });
    console.log(failures.slice(0, 10).join('\n'));
    await db.end();
    for (const node of nodes) await node.close();
    expect(overuse, overuse.slice(0, 8).join('\n')).toEqual([]);
    // Not asserted here: deadlocks and calls failed by lock_timeout (see pg-attack.test.ts, "lock order",
    // for deterministic cases); printed above for whoever runs this by hand.
    expect({ sessions, leases }).toEqual({ sessions: 0, leases: 0 });
  }, 60_000);
});
