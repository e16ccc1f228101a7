/**
 * PostgresStore: a {@link LicenseStore} in PostgreSQL, so that several `lv-license serve` nodes serve one
 * pool. Exactness lives in the database: a grant serialises on its pool's row (`SELECT ... FOR UPDATE`,
 * transaction-scoped, so PgBouncer in transaction mode works), counts only the leases the database's own
 * clock says are live, and is idempotent on (account, lease id); an expired lease is never renewed or
 * reclaimed. `pg` is an optional peer dependency, loaded only here.
 */
import { randomUUID } from 'node:crypto';
import type { Client, Pool, PoolClient } from 'pg';
import { ConfigError } from '../../errors.js';
import { errorText } from '../error-text.js';
import type { PoolStatus } from '../options.js';
import type {
  AcquireOutcome,
  AcquireRequest,
  DrainResult,
  ExpireResult,
  LeaseRecord,
  Waiter,
} from '../pool-types.js';
import {
  type LeaseFilter,
  type LicenseStore,
  type ReleaseResult,
  type RenewResult,
  StoreUnavailableError,
} from '../store.js';
import { migrate, SCHEMA_VERSION, schemaVersion } from './schema.js';

/** Options of {@link PostgresStore.connect}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/db` (the password never reaches a message or a log line). */
  readonly connectionString: string;
  /** How long (ms) a lease lives without a renewal. Every node of one pool must use the same. @defaultValue 30000 */
  readonly leaseTtl?: number;
  /** This node's name in the database; unique per running server. @defaultValue a random UUID */
  readonly node?: string;
  /** Bring the schema up to date first (`lv-license serve --migrate`). @defaultValue false */
  readonly migrate?: boolean;
  /** Connections in the pool. @defaultValue 10 */
  readonly maxConnections?: number;
  /** How often (ms) this node says it is alive. Waiters of a node silent for 5 of these are dropped. @defaultValue 1000 */
  readonly heartbeat?: number;
}

/** The notification channel a change that may let waiters in is announced on. */
const CHANNEL = 'lv_license_changed';

type Row = Record<string, unknown>;

/**
 * The PostgreSQL {@link LicenseStore}. Pools are shared by every node on the database; leases and waiters
 * remember the node they were granted or queued through, and what a node is handed back (`expire`,
 * `dropOwner`, `waiters`, `revokeAll`) is its own. A lease held through another node comes back with owner
 * -1 (no connection of this server holds it).
 *
 * @example
 * ```ts
 * import { LicenseServer, PostgresStore } from 'lv-license-client/server';
 *
 * const store = await PostgresStore.connect({ connectionString: process.env.LV_LICENSE_STORE!, migrate: true });
 * const server = await LicenseServer.start({ store, accounts: '/etc/lumenvox/license_authentication.conf' });
 * ```
 */
export class PostgresStore implements LicenseStore {
  readonly leaseTtl: number;
  /** This node's name in the database. */
  readonly node: string;
  #cluster: string | undefined;
  readonly #pool: Pool;
  readonly #connectionString: string;
  readonly #heartbeat: number;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #listener: Client | undefined;
  readonly #watchers = new Set<() => void>();
  #closed = false;
  #notifyScheduled = false;

  private constructor(pool: Pool, options: PostgresStoreOptions) {
    this.#pool = pool;
    this.#connectionString = options.connectionString;
    this.leaseTtl = options.leaseTtl ?? 30_000;
    this.node = options.node ?? randomUUID();
    this.#heartbeat = options.heartbeat ?? 1_000;
  }

  /**
   * Connects, checks (or with `migrate`, brings up to date) the schema, and registers this node.
   *
   * @throws {ConfigError} when `pg` is not installed, the URL is not a PostgreSQL URL, or the schema is older
   *   than this version needs (run `lv-license store migrate --store URL`, or pass `migrate`).
   * @throws {StoreUnavailableError} when the database cannot be reached.
   */
  static async connect(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (!/^postgres(ql)?:\/\//.test(options.connectionString)) {
      throw new ConfigError(
        'The store must be a PostgreSQL URL such as postgres://user:password@host:5432/db (the value given is not shown: it may hold a password).',
      );
    }
    const leaseTtl = options.leaseTtl ?? 30_000;
    if (!(Number.isFinite(leaseTtl) && leaseTtl > 0)) {
      throw new RangeError(`leaseTtl must be a positive number of milliseconds, not ${leaseTtl}.`);
    }
    const pg = await loadPg();
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      // A node frozen mid-transaction (SIGSTOP, a long GC pause) must not hold a pool's lock for ever: the
      // database ends its transaction, and the others wait for a lock at most a few seconds, then answer -22.
      idle_in_transaction_session_timeout: 5_000,
      lock_timeout: 3_000,
      statement_timeout: 10_000,
      connectionTimeoutMillis: 5_000,
    });
    // A connection the database drops, idle or in use, must not take the process down: the query on it
    // fails (and is answered -22); the pool makes a new one.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const store = new PostgresStore(pool, options);
    try {
      const client = await pool.connect().catch((err: unknown) => {
        throw unavailable(err, options.connectionString);
      });
      try {
        if (options.migrate === true) await migrate(client);
        const version = await schemaVersion(client);
        if (version < SCHEMA_VERSION) {
          throw new ConfigError(
            `The database at ${describeDatabase(options.connectionString)} has schema version ${version}; this server needs ${SCHEMA_VERSION}. Run "lv-license store migrate --store URL" (or start with --migrate).`,
          );
        }
        const cluster = await client.query<{ id: string }>('SELECT id FROM lv_license_cluster LIMIT 1');
        store.#cluster = cluster.rows[0]?.id;
      } finally {
        client.release();
      }
      await store.#beat();
      store.#heartbeatTimer = setInterval(() => {
        store.#beat().catch(() => {});
        store.#changed();
      }, store.#heartbeat);
      store.#heartbeatTimer.unref();
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  /** The pool's id in the database: every node on it announces it to clients (protocol 1.1). */
  get cluster(): string | undefined {
    return this.#cluster;
  }

  // ---- LicenseStore ----------------------------------------------------------------------------

  setTotal(account: string, feature: string, total: number): Promise<LeaseRecord[]> {
    if (!Number.isSafeInteger(total) || total < 0) {
      return Promise.reject(
        new RangeError(`The total of ${feature} must be a whole number, 0 or more, not ${total}.`),
      );
    }
    return this.#tx(async (c) => {
      await c.query(
        `INSERT INTO lv_license_pools (account, feature, total) VALUES ($1, $2, $3)
         ON CONFLICT (account, feature) DO UPDATE SET total = EXCLUDED.total`,
        [account, feature, total],
      );
      await this.#lockPool(c, account, feature);
      let used = await this.#used(c, account, feature);
      const revoked: LeaseRecord[] = [];
      // A bigger pool may let waiters in, a smaller one refuses some: every node re-checks its queue.
      await notify(c);
      if (used <= total) return revoked;
      const newest = await c.query(
        `SELECT ${LEASE_COLUMNS} FROM lv_license_leases
         WHERE account = $1 AND feature = $2 AND expires_at > now()
         ORDER BY granted_at DESC, id DESC FOR UPDATE`,
        [account, feature],
      );
      for (const row of newest.rows) {
        if (used <= total) break;
        const lease = this.#lease(row);
        await c.query('DELETE FROM lv_license_leases WHERE account = $1 AND id = $2', [account, lease.id]);
        used -= lease.count;
        revoked.push(lease);
      }
      return revoked;
    });
  }

  acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const { account, id, feature, count, owner, requestId } = request;
    if (!Number.isSafeInteger(count) || count < 1) {
      return Promise.resolve(
        conflict(`An acquire must ask for a whole number of seats, at least 1, not ${count}.`),
      );
    }
    const wait = request.wait !== undefined && request.wait > 0 ? request.wait : 0;
    return this.#tx(async (c) => {
      // One id is one lease or one waiter, whatever the feature asked: acquires of one id serialise on it
      // (two nodes asking for one id under two features would otherwise each lock only their own pool).
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [account, id]);
      const total = await this.#lockPool(c, account, feature);
      const held = await c.query(
        `SELECT ${LEASE_COLUMNS}, expires_at > clock_timestamp() AS live FROM lv_license_leases
         WHERE account = $1 AND id = $2 FOR UPDATE`,
        [account, id],
      );
      const heldRow = held.rows[0];
      if (heldRow !== undefined && heldRow.live !== true) {
        // Expired: gone for good, never brought back; the id may be granted afresh.
        await c.query('DELETE FROM lv_license_leases WHERE account = $1 AND id = $2', [account, id]);
      } else if (heldRow !== undefined) {
        const lease = this.#lease(heldRow);
        if (lease.feature !== feature || lease.count !== count) {
          return conflict(
            `Lease id ${JSON.stringify(id)} of ${describeAccount(account)} is already held for ${lease.count} ${lease.feature} seat(s); it cannot be acquired again for ${count} ${feature}. Use a new lease id.`,
          );
        }
        const renewed = await c.query(
          `UPDATE lv_license_leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond', node = $4,
             owner = $5, epoch = epoch + 1
           WHERE account = $1 AND id = $2 RETURNING ${LEASE_COLUMNS}`,
          [account, id, this.leaseTtl, this.node, owner],
        );
        return { kind: 'granted', lease: this.#lease(renewed.rows[0] as Row), reclaimed: true };
      }
      let replaced: Waiter | undefined;
      const pending = await c.query(
        `SELECT ${WAITER_COLUMNS} FROM lv_license_waiters WHERE account = $1 AND id = $2 FOR UPDATE`,
        [account, id],
      );
      const pendingRow = pending.rows[0];
      if (pendingRow !== undefined) {
        const waiter = this.#waiter(pendingRow);
        if (waiter.feature !== feature || waiter.count !== count) {
          return conflict(
            `Lease id ${JSON.stringify(id)} of ${describeAccount(account)} is already waiting for ${waiter.count} ${waiter.feature} seat(s); it cannot wait for ${count} ${feature} too. Use a new lease id.`,
          );
        }
        replaced = waiter;
        if (total !== undefined && count <= total) {
          const position = await this.#position(c, Number(pendingRow.seq));
          await c.query(
            `UPDATE lv_license_waiters SET node = $3, owner = $4, request_id = $5, reported = $6,
               deadline = CASE WHEN $7::float8 > 0 THEN now() + $7 * interval '1 millisecond' ELSE deadline END
             WHERE account = $1 AND id = $2`,
            [account, id, this.node, owner, requestId, position, wait],
          );
          return { kind: 'queued', position, replaced };
        }
        // Its pool shrank below it since it queued: it leaves, and is answered as a new request would be.
        await c.query('DELETE FROM lv_license_waiters WHERE account = $1 AND id = $2', [account, id]);
      }
      const decided = await this.#decide(c, request, total, wait);
      return replaced === undefined ? decided : { ...decided, replaced };
    });
  }

  cancel(account: string, id: string): Promise<Waiter | undefined> {
    return this.#tx(async (c) => {
      const gone = await c.query(
        `DELETE FROM lv_license_waiters WHERE account = $1 AND id = $2 RETURNING ${WAITER_COLUMNS}`,
        [account, id],
      );
      if (gone.rows[0] === undefined) return undefined;
      await notify(c);
      return this.#waiter(gone.rows[0]);
    });
  }

  renew(account: string, ids: readonly string[], owner: number): Promise<RenewResult> {
    const unique = [...new Set(ids)];
    return this.#tx(async (c) => {
      // Under the pools' locks (in one order, against deadlocks): a grant that counts a lease as expired
      // cannot overlap a renewal that keeps it. Live is judged by the clock now, not at BEGIN.
      await c.query(
        `SELECT 1 FROM lv_license_pools p WHERE p.account = $1 AND p.feature IN (
           SELECT DISTINCT feature FROM lv_license_leases WHERE account = $1 AND id = ANY($2::text[]))
         ORDER BY p.feature COLLATE "C" FOR UPDATE`,
        [account, unique],
      );
      const done = await c.query(
        `UPDATE lv_license_leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond', node = $4,
           owner = $5, epoch = epoch + 1
         WHERE account = $1 AND id = ANY($2::text[]) AND expires_at > clock_timestamp() RETURNING id`,
        [account, unique, this.leaseTtl, this.node, owner],
      );
      const renewed = new Set(done.rows.map((row) => String(row.id)));
      return {
        renewed: unique.filter((i) => renewed.has(i)),
        unknown: unique.filter((i) => !renewed.has(i)),
      };
    });
  }

  release(account: string, ids: readonly string[]): Promise<ReleaseResult> {
    const unique = [...new Set(ids)];
    return this.#tx(async (c) => {
      // Only a lease held through this node: one that moved to another node (its client reclaimed it
      // there) is live, and a late release through the old node (a client tidying up) must not end it.
      const gone = await c.query(
        `DELETE FROM lv_license_leases WHERE account = $1 AND id = ANY($2::text[]) AND node = $3
         RETURNING ${LEASE_COLUMNS}, expires_at > clock_timestamp() AS live`,
        [account, unique, this.node],
      );
      const leases = gone.rows.filter((row) => row.live === true).map((row) => this.#lease(row));
      if (leases.length > 0) await notify(c);
      const released = new Set(leases.map((lease) => lease.id));
      return {
        released: unique.filter((i) => released.has(i)),
        unknown: unique.filter((i) => !released.has(i)),
        leases,
      };
    });
  }

  revoke(account: string, ids?: readonly string[]): Promise<LeaseRecord[]> {
    return this.#tx(async (c) => {
      const gone = await c.query(
        `DELETE FROM lv_license_leases WHERE account = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))
           AND expires_at > now() RETURNING ${LEASE_COLUMNS}`,
        [account, ids === undefined ? null : [...ids]],
      );
      if (gone.rows.length > 0) await notify(c);
      return this.#leasesInOrder(gone.rows);
    });
  }

  revokeAll(): Promise<LeaseRecord[]> {
    return this.#tx(async (c) => {
      const gone = await c.query(
        `DELETE FROM lv_license_leases WHERE node = $1 AND expires_at > now() RETURNING ${LEASE_COLUMNS}`,
        [this.node],
      );
      if (gone.rows.length > 0) await notify(c);
      return this.#leasesInOrder(gone.rows);
    });
  }

  expire(): Promise<ExpireResult> {
    return this.#tx(async (c) => {
      const expired = await c.query(
        `DELETE FROM lv_license_leases WHERE node = $1 AND expires_at <= now() RETURNING ${LEASE_COLUMNS}`,
        [this.node],
      );
      const timedOut = await c.query(
        `DELETE FROM lv_license_waiters WHERE node = $1 AND deadline <= now() RETURNING ${WAITER_COLUMNS}`,
        [this.node],
      );
      // Another node's leaves: rows long expired (their node is gone, or will find them gone) and waiters of
      // nodes silent for 30 heartbeats (gone: a live node would answer them; one silent for 5 is skipped in
      // the queue already). Live counts never include either.
      await c.query(
        `DELETE FROM lv_license_leases WHERE expires_at <= now() - $1 * interval '1 millisecond'`,
        [this.leaseTtl],
      );
      await c.query(
        `DELETE FROM lv_license_waiters w WHERE NOT EXISTS (
           SELECT 1 FROM lv_license_nodes n WHERE n.node = w.node AND n.seen_at > now() - $1 * interval '1 millisecond')`,
        [this.#heartbeat * 30],
      );
      if (expired.rows.length + timedOut.rows.length > 0) await notify(c);
      return {
        expired: this.#leasesInOrder(expired.rows),
        timedOut: timedOut.rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((row) => this.#waiter(row)),
      };
    });
  }

  async drain(): Promise<DrainResult> {
    const result: DrainResult = { granted: [], positions: [], refused: [] };
    const pools = await this.#query(
      'SELECT DISTINCT account, feature FROM lv_license_waiters WHERE node = $1 ORDER BY account, feature',
      [this.node],
    );
    for (const { account, feature } of pools.rows as Array<{ account: string; feature: string }>) {
      const part = await this.#tx((c) => this.#drainPool(c, account, feature));
      result.granted.push(...part.granted);
      result.positions.push(...part.positions);
      result.refused.push(...part.refused);
    }
    return result;
  }

  dropOwner(owner: number): Promise<Waiter[]> {
    return this.#tx(async (c) => {
      const gone = await c.query(
        `DELETE FROM lv_license_waiters WHERE node = $1 AND owner = $2 RETURNING ${WAITER_COLUMNS}`,
        [this.node, owner],
      );
      if (gone.rows.length > 0) await notify(c);
      return gone.rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((row) => this.#waiter(row));
    });
  }

  async counts(account?: string): Promise<PoolStatus[]> {
    const rows = await this.#query(
      `SELECT p.account, p.feature, p.total,
         (SELECT coalesce(sum(l.count), 0) FROM lv_license_leases l
           WHERE l.account = p.account AND l.feature = p.feature AND l.expires_at > now())::int AS in_use,
         (SELECT count(*) FROM lv_license_waiters w
           WHERE w.account = p.account AND w.feature = p.feature AND w.deadline > now())::int AS queued
       FROM lv_license_pools p WHERE $1::text IS NULL OR p.account = $1
       ORDER BY p.account COLLATE "C", p.feature COLLATE "C"`,
      [account ?? null],
    );
    return rows.rows.map((row) =>
      Object.freeze({
        account: String(row.account),
        feature: String(row.feature),
        total: Number(row.total),
        inUse: Number(row.in_use),
        queued: Number(row.queued),
      }),
    );
  }

  async leases(filter: LeaseFilter = {}): Promise<LeaseRecord[]> {
    const rows = await this.#query(
      `SELECT ${LEASE_COLUMNS} FROM lv_license_leases
       WHERE expires_at > now() AND ($1::text IS NULL OR account = $1) AND ($2::text IS NULL OR feature = $2)
       ORDER BY granted_at, account, id`,
      [filter.account ?? null, filter.feature ?? null],
    );
    return rows.rows.map((row) => this.#lease(row));
  }

  async waiters(): Promise<Waiter[]> {
    const rows = await this.#query(
      `SELECT ${WAITER_COLUMNS} FROM lv_license_waiters WHERE node = $1
       ORDER BY account COLLATE "C", feature COLLATE "C", seq`,
      [this.node],
    );
    return rows.rows.map((row) => this.#waiter(row));
  }

  async nextDeadline(): Promise<number | undefined> {
    // How long until then by the database's clock, put on this process's clock: a node whose clock is off
    // the database's still arms its timer for the right moment (not at once, over and over).
    const rows = await this.#query(
      `SELECT (extract(epoch FROM least(
         (SELECT min(expires_at) FROM lv_license_leases WHERE node = $1),
         (SELECT min(deadline) FROM lv_license_waiters WHERE node = $1)) - clock_timestamp()) * 1000)::float8
         AS remaining`,
      [this.node],
    );
    const remaining = rows.rows[0]?.remaining;
    return typeof remaining === 'number' ? Date.now() + remaining : undefined;
  }

  /**
   * Calls `listener` when another node (or this one) changed something that may let waiters in, and once a
   * heartbeat, so that a waiter behind a vanished node's waiter is served. Returns the function that stops it.
   */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    if (this.#listener === undefined) void this.#listen();
    return () => this.#watchers.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeatTimer);
    this.#watchers.clear();
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.#query('DELETE FROM lv_license_nodes WHERE node = $1', [this.node]).catch(() => {});
    await this.#pool.end().catch(() => {});
  }

  // ---- inside ----------------------------------------------------------------------------------

  async #decide(
    c: PoolClient,
    request: AcquireRequest,
    total: number | undefined,
    wait: number,
  ): Promise<AcquireOutcome> {
    const { account, id, feature, count, owner, requestId } = request;
    // No seats of this type at all, absent or a pool of 0: "not licensed", not "busy".
    if (total === undefined || total === 0) return { kind: 'unknown-feature' };
    if (count > total) {
      return conflict(
        `${count} ${feature} seat(s) were asked for, but ${describeAccount(account)} has only ${total} in all, so this can never be granted.`,
      );
    }
    const inUse = await this.#used(c, account, feature);
    const queued = await this.#queued(c, account, feature);
    if (queued === 0 && inUse + count <= total) {
      const granted = await c.query(
        `INSERT INTO lv_license_leases (account, id, feature, count, granted_at, expires_at, node, owner)
         VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp() + $5 * interval '1 millisecond', $6, $7)
         RETURNING ${LEASE_COLUMNS}`,
        [account, id, feature, count, this.leaseTtl, this.node, owner],
      );
      return { kind: 'granted', lease: this.#lease(granted.rows[0] as Row), reclaimed: false };
    }
    if (wait === 0) return { kind: 'exhausted', total, inUse };
    await c.query(
      `INSERT INTO lv_license_waiters (account, id, feature, count, node, owner, request_id, deadline, reported)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 millisecond', $9)`,
      [account, id, feature, count, this.node, owner, requestId, wait, queued + 1],
    );
    return { kind: 'queued', position: queued + 1 };
  }

  /** One pool's share of {@link PostgresStore.drain}, in one transaction under the pool's lock. */
  async #drainPool(c: PoolClient, account: string, feature: string): Promise<DrainResult> {
    const result: DrainResult = { granted: [], positions: [], refused: [] };
    const total = await this.#lockPool(c, account, feature);
    const unfit = await c.query(
      `DELETE FROM lv_license_waiters WHERE node = $1 AND account = $2 AND feature = $3 AND count > $4
       RETURNING ${WAITER_COLUMNS}`,
      [this.node, account, feature, total ?? 0],
    );
    for (const row of unfit.rows.sort((a, b) => Number(a.seq) - Number(b.seq))) {
      result.refused.push({ waiter: this.#waiter(row), total });
    }
    let used = await this.#used(c, account, feature);
    for (;;) {
      const head = await c.query(
        `SELECT ${WAITER_COLUMNS} FROM lv_license_waiters w
         WHERE account = $1 AND feature = $2 AND deadline > now() AND ${LIVE_NODE}
         ORDER BY seq LIMIT 1 FOR UPDATE`,
        [account, feature, this.#heartbeat * 5, this.node],
      );
      const row = head.rows[0];
      // Another node's waiter is first: that node grants it (it hears of the change); FIFO holds.
      if (row === undefined || row.node !== this.node) break;
      const waiter = this.#waiter(row);
      if (used + waiter.count > (total ?? 0)) break;
      await c.query('DELETE FROM lv_license_waiters WHERE seq = $1', [row.seq]);
      const granted = await c.query(
        `INSERT INTO lv_license_leases (account, id, feature, count, granted_at, expires_at, node, owner)
         VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp() + $5 * interval '1 millisecond', $6, $7)
         ON CONFLICT (account, id) DO NOTHING
         RETURNING ${LEASE_COLUMNS}`,
        [account, waiter.id, feature, waiter.count, this.leaseTtl, this.node, waiter.owner],
      );
      const lease = granted.rows[0];
      if (lease === undefined) {
        // The id is a lease already (which this waiter cannot merge into): it is refused, not merged.
        result.refused.push({ waiter, total });
        continue;
      }
      used += waiter.count;
      result.granted.push({ waiter, lease: this.#lease(lease) });
    }
    const moved = await c.query(
      `WITH ranked AS (
         SELECT seq, node, row_number() OVER (ORDER BY seq)::int AS position FROM lv_license_waiters w
         WHERE account = $1 AND feature = $2 AND deadline > now() AND ${LIVE_NODE})
       UPDATE lv_license_waiters w SET reported = ranked.position FROM ranked
       WHERE w.seq = ranked.seq AND ranked.node = $4 AND w.reported <> ranked.position
       RETURNING w.seq, w.account, w.id, w.feature, w.count, w.node, w.owner, w.request_id, w.deadline,
         ranked.position`,
      [account, feature, this.#heartbeat * 5, this.node],
    );
    for (const row of moved.rows.sort((a, b) => Number(a.seq) - Number(b.seq))) {
      result.positions.push({ waiter: this.#waiter(row), position: Number(row.position) });
    }
    return result;
  }

  /** Locks the pool's row for the rest of the transaction; its total, or `undefined` when there is none. */
  async #lockPool(c: PoolClient, account: string, feature: string): Promise<number | undefined> {
    const rows = await c.query(
      'SELECT total FROM lv_license_pools WHERE account = $1 AND feature = $2 FOR UPDATE',
      [account, feature],
    );
    const total = rows.rows[0]?.total;
    return total === undefined ? undefined : Number(total);
  }

  async #used(c: PoolClient, account: string, feature: string): Promise<number> {
    const rows = await c.query(
      `SELECT coalesce(sum(count), 0)::int AS used FROM lv_license_leases
       WHERE account = $1 AND feature = $2 AND expires_at > now()`,
      [account, feature],
    );
    return Number(rows.rows[0]?.used ?? 0);
  }

  async #queued(c: PoolClient, account: string, feature: string): Promise<number> {
    const rows = await c.query(
      `SELECT count(*)::int AS queued FROM lv_license_waiters w
       WHERE account = $1 AND feature = $2 AND deadline > now() AND ${LIVE_NODE}`,
      [account, feature, this.#heartbeat * 5, this.node],
    );
    return Number(rows.rows[0]?.queued ?? 0);
  }

  async #position(c: PoolClient, seq: number): Promise<number> {
    const rows = await c.query(
      `SELECT count(*)::int AS position FROM lv_license_waiters w, lv_license_waiters me
       WHERE me.seq = $1 AND w.account = me.account AND w.feature = me.feature AND w.seq <= me.seq
         AND (w.seq = me.seq OR (w.deadline > now() AND ${LIVE_NODE.replaceAll('$3', '$2').replaceAll('$4', '$3')}))`,
      [seq, this.#heartbeat * 5, this.node],
    );
    return Number(rows.rows[0]?.position ?? 1);
  }

  #lease(row: Row): LeaseRecord {
    return {
      id: String(row.id),
      account: String(row.account),
      feature: String(row.feature),
      count: Number(row.count),
      grantedAt: (row.granted_at as Date).getTime(),
      expiresAt: (row.expires_at as Date).getTime(),
      owner: row.node === this.node ? Number(row.owner) : -1,
    };
  }

  #leasesInOrder(rows: Row[]): LeaseRecord[] {
    return rows
      .map((row) => this.#lease(row))
      .sort((a, b) => a.grantedAt - b.grantedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #waiter(row: Row): Waiter {
    return {
      id: String(row.id),
      account: String(row.account),
      feature: String(row.feature),
      count: Number(row.count),
      owner: row.node === this.node ? Number(row.owner) : -1,
      deadline: (row.deadline as Date).getTime(),
      requestId: Number(row.request_id),
    };
  }

  /** Says this node is alive. */
  async #beat(): Promise<void> {
    await this.#query(
      `INSERT INTO lv_license_nodes (node, seen_at) VALUES ($1, now())
       ON CONFLICT (node) DO UPDATE SET seen_at = now()`,
      [this.node],
    );
  }

  /** Tells the watchers, once per turn of the event loop however many notifications came. */
  #changed(): void {
    if (this.#notifyScheduled || this.#watchers.size === 0) return;
    this.#notifyScheduled = true;
    setImmediate(() => {
      this.#notifyScheduled = false;
      for (const watcher of this.#watchers) {
        try {
          watcher();
        } catch {
          // A watcher that throws must not stop the others.
        }
      }
    });
  }

  /** LISTENs on a connection of its own (not the pool's), reconnecting after a second when it drops. */
  async #listen(): Promise<void> {
    if (this.#closed) return;
    const pg = await loadPg();
    const client = new pg.Client({ connectionString: this.#connectionString });
    this.#listener = client;
    const retry = () => {
      if (this.#listener !== client || this.#closed) return;
      this.#listener = undefined;
      client.end().catch(() => {});
      setTimeout(() => void this.#listen(), 1_000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => this.#changed());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.#changed(); // changes made while not listening
    } catch {
      retry();
    }
  }

  async #query(text: string, values: unknown[]): Promise<{ rows: Row[] }> {
    try {
      return await this.#pool.query(text, values);
    } catch (err) {
      throw classify(err, this.#connectionString);
    }
  }

  /**
   * Runs `work` in one transaction. A race on a unique key (two nodes granting one lease id under two
   * pools' locks), a serialization failure or a deadlock is retried, twice at most.
   */
  async #tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let client: PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (err) {
        throw unavailable(err, this.#connectionString);
      }
      try {
        await client.query('BEGIN');
        const value = await work(client);
        await client.query('COMMIT');
        client.release();
        return value;
      } catch (err) {
        // A connection whose ROLLBACK fails is broken: it is not given back to the pool.
        const broken = await client.query('ROLLBACK').then(
          () => false,
          () => true,
        );
        client.release(broken);
        const code = (err as { code?: unknown }).code;
        if (attempt < 2 && (code === '23505' || code === '40001' || code === '40P01')) continue;
        throw classify(err, this.#connectionString);
      }
    }
  }
}

const LEASE_COLUMNS = 'account, id, feature, count, granted_at, expires_at, node, owner';
const WAITER_COLUMNS = 'seq, account, id, feature, count, node, owner, request_id, deadline, reported';
/**
 * A waiter of this node ($4), or of a node that still says it is alive ($3: how long a node may be silent,
 * ms). A node never counts its own waiters dead, whatever its heartbeat did.
 */
const LIVE_NODE = `(w.node = $4 OR EXISTS (SELECT 1 FROM lv_license_nodes n WHERE n.node = w.node
  AND n.seen_at > now() - $3 * interval '1 millisecond'))`;

function notify(c: PoolClient): Promise<unknown> {
  return c.query(`NOTIFY ${CHANNEL}`);
}

function conflict(message: string): AcquireOutcome {
  return { kind: 'conflict', message };
}

function describeAccount(account: string): string {
  return account === '' ? 'the anonymous pool' : `account ${JSON.stringify(account)}`;
}

/** Which database a URL names, for messages: host, port and database only, never a user or a password. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}${parsed.port === '' ? '' : `:${parsed.port}`}${parsed.pathname}`;
  } catch {
    return '(the store URL)';
  }
}

/** Loads `pg`, or says how to get it (the accounts source shares it). */
export async function loadPg(): Promise<typeof import('pg')> {
  try {
    const module = (await import('pg')) as typeof import('pg') & { default?: typeof import('pg') };
    return module.default ?? module;
  } catch (err) {
    throw new ConfigError(
      'The PostgreSQL store needs the "pg" package, which is not installed: run "npm install pg" where lv-license-client is installed.',
      { cause: err },
    );
  }
}

/** PostgreSQL error classes that mean "the database is not there just now". */
function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string')
    return err instanceof Error && /Connection terminated|timeout/i.test(err.message);
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin shutdown
    code === '57P02' || // crash shutdown
    code === '57P03' || // cannot connect now
    code === '53300' || // too many connections
    code === '55P03' || // lock not available: another node holds the pool (lock_timeout)
    code === '57014' || // statement timeout
    code === '25P03' || // idle in transaction timeout
    /^E[A-Z]+$/.test(code) // ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND...
  );
}

/** A {@link StoreUnavailableError} for `err`, naming the database without its user or password. */
export function unavailable(err: unknown, url: string): StoreUnavailableError {
  const reason = errorText(err);
  // pg's messages name no URL; a reason that did would have its password cut out with the URL.
  const safe = reason.includes(url) ? reason.replaceAll(url, describeDatabase(url)) : reason;
  return new StoreUnavailableError(`PostgreSQL at ${describeDatabase(url)} is unavailable: ${safe}`, {
    cause: err,
  });
}

/** `err` as a {@link StoreUnavailableError} when it means the database is not there just now, else as it is. */
export function classify(err: unknown, url: string): unknown {
  return isConnectionFailure(err) ? unavailable(err, url) : err;
}
