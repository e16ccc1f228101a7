/**
 * A monitor that lives in the database of a PostgresStore test: after every transaction that can make a
 * lease live (an insert or update of a lease, a pool's total set, a session row when the schema has
 * sessions), it counts each pool's live seats and records every pool past its total in a violations
 * table. It never raises: the run goes on, and the test reads (and reports) every violation.
 *
 * It is the test's, not the product's schema. Live seats are counted through the view
 * `lv_license_live_leases` (account, id, feature, count, node), which the product schema is to provide;
 * until it does, {@link installMonitor} creates a stand-in on today's columns.
 *
 * How it sees every commit: a deferred constraint trigger runs at COMMIT, after every statement of the
 * transaction, and takes one transaction-scoped advisory lock before it counts. Committers are so
 * serialised at their commit, and PostgreSQL makes a commit visible before it releases its locks, so each
 * count (a new snapshot per statement, READ COMMITTED) sees every lease committed before it. Time passing
 * only ends leases, so a count that is within the totals at every commit is within them at every moment.
 * The lock is one for all pools, not one per pool: a per-pool lock taken row by row deadlocks two
 * transactions that write leases of two pools in opposite orders (a renewal, a session's heartbeat),
 * and a monitor must never make the product fail. The serialisation only orders commits; it cannot hide
 * a race, since the racing transactions have already counted and written (the negative control shows it).
 */
/** Anything that runs a query: a pg Client, a Pool, or a wrapper that retries. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** The advisory-lock key of the monitor ("lvchaosm" in ASCII, 0x6c766368616f736d), in the bigint key space. */
const MONITOR_LOCK = '7815543503310517101';

/** One pool seen past its total at a commit. */
export interface Violation {
  readonly seenAt: Date;
  readonly account: string;
  readonly feature: string;
  readonly live: number;
  readonly total: number;
  /** The table whose change fired the check. */
  readonly source: string;
  /** The live leases of the pool then, `id@node xcount`. */
  readonly leases: string;
}

/** The tables besides the leases that can make a lease live, when the schema has them. */
const OTHER_SOURCES = ['lv_license_pools', 'lv_license_sessions'];

/**
 * Installs the monitor (idempotent). Returns the tables it watches, for the report: the leases table
 * always, the pools table, and a sessions table if the schema has one.
 */
export async function installMonitor(client: Queryable): Promise<string[]> {
  const view = await client.query("SELECT to_regclass('lv_license_live_leases')::text AS found");
  if (view.rows[0]?.found === null) {
    // The stand-in until the product schema provides the view: a lease is live while its own expiry is
    // ahead of the database's clock.
    await client.query(
      `CREATE VIEW lv_license_live_leases AS SELECT account, id, feature, count, node
       FROM lv_license_leases WHERE expires_at > clock_timestamp()`,
    );
  }
  await client.query(`
    CREATE TABLE IF NOT EXISTS lv_chaos_violations (
      seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      account text NOT NULL,
      feature text NOT NULL,
      live bigint NOT NULL,
      total integer NOT NULL,
      source text NOT NULL,
      leases text NOT NULL
    );
    CREATE OR REPLACE FUNCTION lv_chaos_check() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Once per transaction: at commit every row of it is written, the first firing sees them all.
      IF current_setting('lv_chaos.checked', true) = txid_current()::text THEN RETURN NULL; END IF;
      PERFORM set_config('lv_chaos.checked', txid_current()::text, true);
      PERFORM pg_advisory_xact_lock(${MONITOR_LOCK}::bigint);
      INSERT INTO lv_chaos_violations (account, feature, live, total, source, leases)
      SELECT p.account, p.feature, l.live, p.total, TG_TABLE_NAME, l.leases
      FROM lv_license_pools p
      JOIN (SELECT account, feature, sum(count) AS live,
              string_agg(id || '@' || node || ' x' || count, ', ' ORDER BY id) AS leases
            FROM lv_license_live_leases GROUP BY account, feature) l
        ON l.account = p.account AND l.feature = p.feature
      WHERE l.live > p.total
        -- A pool that stays past its total is recorded once per state of its leases, not at every commit.
        AND NOT EXISTS (SELECT 1 FROM lv_chaos_violations v
                        WHERE v.account = p.account AND v.feature = p.feature AND v.leases = l.leases);
      RETURN NULL;
    END $$;
  `);
  const watched = ['lv_license_leases'];
  for (const table of OTHER_SOURCES) {
    const found = await client.query('SELECT to_regclass($1)::text AS found', [table]);
    if (found.rows[0]?.found !== null) watched.push(table);
  }
  for (const table of watched) {
    await client.query(`DROP TRIGGER IF EXISTS lv_chaos_monitor ON ${table}`);
    await client.query(
      `CREATE CONSTRAINT TRIGGER lv_chaos_monitor AFTER INSERT OR UPDATE ON ${table}
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lv_chaos_check()`,
    );
  }
  // Waits, in the database, until none of the ids is live: its clock when they were gone (or null after
  // the timeout). Measured there, it is free of the test process's scheduling.
  await client.query(`
    CREATE OR REPLACE FUNCTION lv_chaos_wait_gone(ids text[], timeout_ms integer) RETURNS timestamptz
    LANGUAGE plpgsql AS $$
    DECLARE deadline timestamptz := clock_timestamp() + timeout_ms * interval '1 millisecond';
    BEGIN
      LOOP
        IF NOT EXISTS (SELECT 1 FROM lv_license_live_leases WHERE id = ANY(ids)) THEN
          RETURN clock_timestamp();
        END IF;
        IF clock_timestamp() > deadline THEN RETURN NULL; END IF;
        PERFORM pg_sleep(0.005);
      END LOOP;
    END $$;
  `);
  return watched;
}

/** Every violation recorded so far, oldest first. */
export async function violations(client: Queryable): Promise<Violation[]> {
  const rows = await client.query(
    'SELECT seen_at, account, feature, live, total, source, leases FROM lv_chaos_violations ORDER BY seen_at',
  );
  return rows.rows.map((row) => ({
    seenAt: row.seen_at as Date,
    account: String(row.account),
    feature: String(row.feature),
    live: Number(row.live),
    total: Number(row.total),
    source: String(row.source),
    leases: String(row.leases),
  }));
}

/** The live leases, as the view counts them. */
export async function liveLeases(
  client: Queryable,
): Promise<Array<{ account: string; id: string; feature: string; count: number; node: string }>> {
  const rows = await client.query('SELECT account, id, feature, count, node FROM lv_license_live_leases');
  return rows.rows.map((row) => ({
    account: String(row.account),
    id: String(row.id),
    feature: String(row.feature),
    count: Number(row.count),
    node: String(row.node),
  }));
}

/** One line per violation, for a failure message. */
export function describeViolations(found: readonly Violation[]): string {
  return found
    .map(
      (v) =>
        `${v.seenAt.toISOString()} ${v.account || '(anonymous)'}/${v.feature}: ${v.live} live of ${v.total} after a change to ${v.source} [${v.leases}]`,
    )
    .join('\n');
}
