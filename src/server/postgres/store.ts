/**
 * PostgresStore: a {@link LicenseStore} in PostgreSQL, so that several `lv-license serve` nodes serve one
 * pool. Exactness lives in the database: a grant serialises on its pool's row (`SELECT ... FOR UPDATE`,
 * transaction-scoped, so PgBouncer in transaction mode works), counts only the leases the database's own
 * clock says are live, and is idempotent on (account, lease id); an expired lease is never renewed or
 * reclaimed. `pg` is an optional peer dependency, loaded only here.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { ConfigError } from '../../errors.js';
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
  type HolderNotice,
  type LeaseFilter,
  type LicenseStore,
  type ReleaseResult,
  type RenewResult,
  type RevocationNotice,
  StoreUnavailableError,
} from '../store.js';
import { GRANT_ALONE, RELEASE_ALONE } from './alone.js';
import {
  checkStoreUrl,
  classify,
  describeDatabase,
  openPool,
  STATEMENT_TIMEOUT,
  unavailable,
} from './connection.js';
import { ChannelWatch } from './notifications.js';
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
  /** Changes on any node that may let this node's waiters in (LISTEN on its own connection). */
  readonly #notifications: ChannelWatch;
  #closed = false;
  /** Each connection's session id (see functions.ts): its leases live as long as it is renewed. */
  readonly #sessions = new Map<number, string>();
  /** The connection (on its node) of each lease this store handed out that is held through another node. */
  readonly #holders = new WeakMap<LeaseRecord, number>();
  readonly #pending: Pending[] = [];
  #inFlight = 0;
  /** The pools of the batches in the database (see #flush). */
  readonly #poolsInFlight = new Set<string>();
  readonly #maxBatches: number;
  /** A session with more left than this is used as it is (lv_license_session's p_keep). */
  get #keep(): number {
    return Math.max((this.leaseTtl * 2) / 3, STATEMENT_TIMEOUT + 1_000);
  }

  private constructor(pool: Pool, options: PostgresStoreOptions) {
    this.#pool = pool;
    this.#connectionString = options.connectionString;
    // Catching up on (re)connect: what changed while nobody listened may let waiters in.
    this.#notifications = new ChannelWatch(options.connectionString, CHANNEL, { catchUp: true });
    this.leaseTtl = options.leaseTtl ?? 30_000;
    this.node = options.node ?? randomUUID();
    this.#heartbeat = options.heartbeat ?? 1_000;
    // Batches in the database at once. Two: while one commits, the next gathers the calls that arrive;
    // more would only split those calls into smaller batches that queue on the same pools' locks.
    this.#maxBatches = Math.min(2, Math.max(1, (options.maxConnections ?? 10) - 1));
  }

  /**
   * Connects, checks (or with `migrate`, brings up to date) the schema, and registers this node.
   *
   * @throws {ConfigError} when `pg` is not installed, the URL is not a PostgreSQL URL, or the schema is older
   *   than this version needs (run `lv-license store migrate --store URL`, or pass `migrate`).
   * @throws {StoreUnavailableError} when the database cannot be reached.
   */
  static async connect(options: PostgresStoreOptions): Promise<PostgresStore> {
    checkStoreUrl(options.connectionString);
    const leaseTtl = options.leaseTtl ?? 30_000;
    if (!(Number.isFinite(leaseTtl) && leaseTtl > 0)) {
      throw new RangeError(`leaseTtl must be a positive number of milliseconds, not ${leaseTtl}.`);
    }
    // A node frozen mid-transaction (SIGSTOP, a long GC pause) must not hold a pool's lock for ever: the
    // database ends its transaction, and the others wait for a lock at most a few seconds, then answer -22.
    const pool = await openPool(options.connectionString, options.maxConnections ?? 10, {
      idle_in_transaction_session_timeout: 5_000,
    });
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
        store.#notifications.changed();
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
      // A bigger pool may let waiters in, a smaller one refuses some: every node re-checks its queue.
      await notify(c);
      // The pool's lease rows first, locked (a release racing this one has either freed its lease by now, or
      // waits for this transaction), then the live ones and the count: a lease released meanwhile is
      // neither counted nor taken. See lockLeases for why the lock is a statement of its own.
      await lockLeases(c, 'l.account = $1 AND l.feature = $2', [account, feature]);
      const newest = await c.query(
        `SELECT ${LEASE_COLUMNS} FROM ${LIVE_JOIN}
         WHERE l.account = $1 AND l.feature = $2 AND s.expires_at > clock_timestamp()
         ORDER BY l.granted_at DESC, l.id DESC`,
        [account, feature],
      );
      let used = await used_(c, account, feature);
      const revoked: LeaseRecord[] = [];
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
    if (count > MAX_INT) {
      return Promise.resolve(
        conflict(
          `${count} ${feature} seat(s) were asked for: more than any pool holds, so this can never be granted.`,
        ),
      );
    }
    // A wait the database's timestamps can hold (24 days is far beyond any caller's patience).
    const wait = request.wait !== undefined && request.wait > 0 ? Math.min(request.wait, MAX_INT) : 0;
    const item = {
      op: 'acquire',
      account,
      id,
      feature,
      count,
      owner,
      requestId,
      wait,
      session: this.#sessionOf(owner),
    } as const;
    return this.#batched(item).then((row) => this.#outcome(request, row));
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

  async renew(account: string, ids: readonly string[], owner: number): Promise<RenewResult> {
    const unique = [...new Set(ids)];
    const session = this.#sessionOf(owner);
    // One statement: the connection's session row is extended (its leases with it), and listed leases held
    // through another live session move to this one. See functions.ts for why no grant can miscount it.
    const done = await this.#statement('SELECT lv_license_renew($1, $2::text[], $3, $4, $5, $6) AS r', [
      account,
      unique,
      session,
      this.node,
      owner,
      this.leaseTtl,
    ]);
    const result = done.rows[0]?.r as {
      session: string;
      renewed: string[];
      moved: Record<string, number>;
    };
    this.#adopt(owner, session, result.session);
    const renewed = new Set(result.renewed);
    const moved = Object.entries(result.moved);
    return {
      renewed: unique.filter((i) => renewed.has(i)),
      unknown: unique.filter((i) => !renewed.has(i)),
      ...(moved.length > 0 ? { moved: new Map(moved.map(([id, epoch]) => [id, Number(epoch)])) } : {}),
    };
  }

  async release(
    account: string,
    ids: readonly string[],
    epochs?: ReadonlyArray<number | null>,
    owner?: number,
  ): Promise<ReleaseResult> {
    // A lease that moved to another connection or node since (its client reclaimed it there) is live: a late
    // release through the old one (a client tidying up) must not end it. A release with an epoch goes when
    // it is not older than the lease; one without (a 1.0 client) only through the node the lease is held at;
    // and whatever its epoch, a release goes through the connection that holds the lease (its answer that
    // moved the lease there may have been lost: the seat must not stay with that connection for good).
    const byId = new Map<string, number | null>();
    ids.forEach((id, index) => {
      const epoch = epochs?.[index] ?? null;
      const known = byId.get(id);
      byId.set(id, known === undefined || known === null ? epoch : Math.max(known, epoch ?? 0));
    });
    const unique = [...byId.keys()];
    const session = owner === undefined ? null : (this.#sessions.get(owner) ?? null);
    // In one order, whatever order the client named them in: the database deletes them one at a time, and
    // two releases of the same leases must not lock them crosswise (a deadlock).
    const inOrder = [...unique].sort(compareText);
    const item = {
      op: 'release',
      account,
      ids: inOrder,
      epochs: inOrder.map((id) => byId.get(id) ?? null),
      session,
    } as const;
    const row = (await this.#batched(item)) as { released: Row[] };
    const leases = row.released.filter((lease) => lease.live === true).map((lease) => this.#leaseJson(lease));
    const released = new Set(leases.map((lease) => lease.id));
    return {
      released: unique.filter((i) => released.has(i)),
      unknown: unique.filter((i) => !released.has(i)),
      leases: leases.sort(byGrant),
    };
  }

  revoke(account: string, ids?: readonly string[]): Promise<LeaseRecord[]> {
    return this.#tx(async (c) => {
      const which = [account, ids === undefined ? null : [...ids]];
      await lockLeases(c, 'l.account = $1 AND ($2::text[] IS NULL OR l.id = ANY($2::text[]))', which);
      const gone = await c.query(
        `DELETE FROM lv_license_leases l USING lv_license_sessions s
         WHERE s.id = l.session AND l.account = $1 AND ($2::text[] IS NULL OR l.id = ANY($2::text[]))
           AND s.expires_at > clock_timestamp() RETURNING ${LEASE_COLUMNS}`,
        which,
      );
      if (gone.rows.length > 0) await notify(c);
      return this.#leasesInOrder(gone.rows);
    });
  }

  revokeAll(): Promise<LeaseRecord[]> {
    return this.#tx(async (c) => {
      // As revoke(): locked first, so that a lease a call moves meanwhile is neither left out nor reported
      // with its session's expiry from before that call.
      await lockLeases(c, 'l.node = $1', [this.node]);
      const gone = await c.query(
        `DELETE FROM lv_license_leases l USING lv_license_sessions s
         WHERE s.id = l.session AND l.node = $1 AND s.expires_at > clock_timestamp() RETURNING ${LEASE_COLUMNS}`,
        [this.node],
      );
      if (gone.rows.length > 0) await notify(c);
      return this.#leasesInOrder(gone.rows);
    });
  }

  expire(): Promise<ExpireResult> {
    return this.#tx(async (c) => {
      // This node's sessions whose time has come, and their leases (a lease's expiry is its session's).
      // Two statements: the second sees a lease bound to one of those sessions by a call that committed
      // while the first waited (a statement's own snapshot would leave it behind, bound to nothing).
      const dead = await c.query(
        'DELETE FROM lv_license_sessions WHERE node = $1 AND expires_at <= clock_timestamp() RETURNING id, expires_at',
        [this.node],
      );
      const expired = await c.query(
        `DELETE FROM lv_license_leases l USING jsonb_to_recordset($1::jsonb) AS s(id text, expires_at timestamptz)
         WHERE l.session = s.id RETURNING ${LEASE_COLUMNS}`,
        [JSON.stringify(dead.rows)],
      );
      const timedOut = await c.query(
        `DELETE FROM lv_license_waiters WHERE node = $1 AND deadline <= now() RETURNING ${WAITER_COLUMNS}`,
        [this.node],
      );
      // Another node's leaves: rows long expired (their node is gone, or will find them gone) and waiters of
      // nodes silent for 30 heartbeats (gone: a live node would answer them; one silent for 5 is skipped in
      // the queue already). Live counts never include either.
      const longDead = await c.query(
        `DELETE FROM lv_license_sessions WHERE expires_at <= clock_timestamp() - $1 * interval '1 millisecond'
         RETURNING id`,
        [this.leaseTtl],
      );
      await c.query('DELETE FROM lv_license_leases WHERE session = ANY($1::text[])', [
        longDead.rows.map((row) => String(row.id)),
      ]);
      // Notices left for a node gone as long: nobody is there to push them.
      await c.query(
        `DELETE FROM lv_license_notices x WHERE NOT EXISTS (
           SELECT 1 FROM lv_license_nodes n WHERE n.node = x.node AND n.seen_at > now() - $1 * interval '1 millisecond')`,
        [this.#heartbeat * 30],
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
      `SELECT account, feature, array_agg(DISTINCT owner) AS owners FROM lv_license_waiters WHERE node = $1
       GROUP BY account, feature ORDER BY account COLLATE "C", feature COLLATE "C"`,
      [this.node],
    );
    for (const { account, feature, owners } of pools.rows as Array<{
      account: string;
      feature: string;
      owners: number[];
    }>) {
      const sessions = Object.fromEntries(
        owners.flatMap((o) => {
          const session = this.#sessions.get(o);
          return session === undefined ? [] : [[String(o), session]];
        }),
      );
      // One statement per pool: no lock is held between round trips.
      const rows = await this.#statement('SELECT lv_license_drain($1, $2, $3, $4, $5, $6::jsonb, $7) AS r', [
        account,
        feature,
        this.node,
        this.leaseTtl,
        this.#heartbeat * 5,
        JSON.stringify(sessions),
        this.#keep,
      ]);
      const part = rows.rows[0]?.r as {
        total: number | null;
        refused: Row[];
        granted: Array<{ waiter: Row; lease: Row }>;
        positions: Array<{ waiter: Row; position: number }>;
        sessions: Record<string, string>;
      };
      for (const [owner, session] of Object.entries(part.sessions)) {
        // A connection that closed meanwhile is not given a session back (its grant is handed back).
        const known = this.#sessions.get(Number(owner));
        if (known !== undefined) this.#adopt(Number(owner), known, session);
      }
      const total = part.total ?? undefined;
      for (const waiter of part.refused) result.refused.push({ waiter: this.#waiterJson(waiter), total });
      for (const { waiter, lease } of part.granted) {
        result.granted.push({ waiter: this.#waiterJson(waiter), lease: this.#leaseJson(lease) });
      }
      for (const { waiter, position } of part.positions) {
        result.positions.push({ waiter: this.#waiterJson(waiter), position: Number(position) });
      }
    }
    return result;
  }

  dropOwner(owner: number): Promise<Waiter[]> {
    // Its session stays in the database until its time comes: its leases wait there for a reclaim.
    this.#sessions.delete(owner);
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
         (SELECT coalesce(sum(l.count), 0) FROM lv_license_live_leases l
           WHERE l.account = p.account AND l.feature = p.feature)::int AS in_use,
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
      `SELECT ${LEASE_COLUMNS} FROM ${LIVE_JOIN}
       WHERE s.expires_at > clock_timestamp() AND ($1::text IS NULL OR l.account = $1)
         AND ($2::text IS NULL OR l.feature = $2)
       ORDER BY l.granted_at, l.account, l.id`,
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
         (SELECT min(expires_at) FROM lv_license_sessions WHERE node = $1),
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
    return this.#notifications.watch(listener);
  }

  /** Leaves each lease held through another node a notice there, and wakes that node. */
  async tellHolders(leases: readonly LeaseRecord[], notice: RevocationNotice): Promise<void> {
    const elsewhere = leases.flatMap((lease) => {
      const holder = this.#holders.get(lease);
      return lease.node === undefined || lease.node === this.node || holder === undefined
        ? []
        : [{ ...lease, owner: holder }];
    });
    if (elsewhere.length === 0) return;
    await this.#statement(
      `WITH n AS (
         INSERT INTO lv_license_notices (node, lease, code, message)
         SELECT x ->> 'node', x, $2, $3 FROM jsonb_array_elements($1::jsonb) x RETURNING 1)
       SELECT pg_notify('${CHANNEL}', '') FROM (SELECT 1 FROM n LIMIT 1) once`,
      [JSON.stringify(elsewhere), notice.code, notice.message],
    );
  }

  /** The notices other nodes left for leases held through this one, each once, oldest first. */
  async takeNotices(): Promise<HolderNotice[]> {
    const rows = await this.#statement(
      'DELETE FROM lv_license_notices WHERE node = $1 RETURNING seq, lease, code, message',
      [this.node],
    );
    return rows.rows
      .sort((a, b) => Number(a.seq) - Number(b.seq))
      .map((row) => ({
        lease: this.#leaseJson(row.lease as Row),
        notice: { code: Number(row.code), message: String(row.message) },
      }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeatTimer);
    await this.#notifications.close();
    await this.#query('DELETE FROM lv_license_nodes WHERE node = $1', [this.node]).catch(() => {});
    await this.#pool.end().catch(() => {});
  }

  // ---- inside ----------------------------------------------------------------------------------

  /** Locks the pool's row for the rest of the transaction; its total, or `undefined` when there is none. */
  async #lockPool(c: PoolClient, account: string, feature: string): Promise<number | undefined> {
    const rows = await c.query(
      'SELECT total FROM lv_license_pools WHERE account = $1 AND feature = $2 FOR UPDATE',
      [account, feature],
    );
    const total = rows.rows[0]?.total;
    return total === undefined ? undefined : Number(total);
  }

  /** The session of a connection of this node (made up here; the database makes its row when first used). */
  #sessionOf(owner: number): string {
    let session = this.#sessions.get(owner);
    if (session === undefined) {
      session = `${this.node}/${randomUUID()}`;
      this.#sessions.set(owner, session);
    }
    return session;
  }

  /** The database gave `owner` a new session (its old one had died): use that one from now on. */
  #adopt(owner: number, asked: string, given: string): void {
    if (asked !== given && this.#sessions.get(owner) === asked) this.#sessions.set(owner, given);
  }

  /**
   * Runs a release or an acquire in the next batch: those that arrive while earlier batches are in the
   * database go together, in one transaction and one commit. A call made alone goes at once.
   */
  #batched(item: BatchItem): Promise<Row> {
    return new Promise<Row>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  #flush(): void {
    while (this.#pending.length > 0 && this.#inFlight < this.#maxBatches) {
      // A batch that shares a pool with one in flight waits for it: two transactions would take the pool's
      // lock in either order, and a later acquire of the pool (of one connection's run, say) could be decided
      // before an earlier one.
      const next = this.#pending.slice(0, MAX_BATCH);
      const pools = new Set(next.map((entry) => poolKey(entry.item)).filter((key) => key !== ''));
      if ([...pools].some((key) => this.#poolsInFlight.has(key))) return;
      this.#pending.splice(0, next.length);
      this.#inFlight += 1;
      for (const key of pools) this.#poolsInFlight.add(key);
      this.#runBatch(next).finally(() => {
        this.#inFlight -= 1;
        for (const key of pools) this.#poolsInFlight.delete(key);
        this.#flush();
      });
    }
  }

  async #runBatch(batch: Pending[]): Promise<void> {
    // Acquires by pool (arrival order kept within one), so that batches lock pools in one order.
    const order = batch
      .map((entry, index) => ({ entry, index }))
      .sort((a, b) => compareText(poolKey(a.entry.item), poolKey(b.entry.item)) || a.index - b.index)
      .map(({ entry }) => entry);
    try {
      // A call made alone: a plain statement when it can answer it (alone.ts), the function otherwise.
      const only = order.length === 1 ? (order[0] as Pending) : undefined;
      const alone = only === undefined ? undefined : await this.#alone(only.item);
      if (only !== undefined && alone !== undefined) {
        only.resolve(alone);
        return;
      }
      // One statement, so one transaction and one round trip (no BEGIN, no COMMIT of its own).
      const rows = await this.#statement(BATCH, [
        JSON.stringify(order.map((entry) => entry.item)),
        this.node,
        this.leaseTtl,
        this.#heartbeat * 5,
        // A session with more left than this (two thirds of a TTL, and longer than a statement may run) is
        // not extended by a grant: a busy connection's grants do not all queue on its session's row. A new
        // lease then lives at least two thirds of a TTL before its connection's next heartbeat renews it,
        // which comes every third of one.
        this.#keep,
      ]);
      const answer = rows.rows[0]?.r as { sessions: Record<string, string>; results: Row[] };
      for (const [index, { item, resolve }] of order.entries()) {
        if (item.op === 'acquire')
          this.#adopt(item.owner, item.session, answer.sessions[item.session] ?? item.session);
        resolve(answer.results[index] as Row);
      }
    } catch (err) {
      // A call the database refuses (a bug, a value it cannot hold) must not fail the others of its batch:
      // each is tried alone, and only the one at fault fails. An unreachable database fails them all.
      if (order.length > 1 && !(err instanceof StoreUnavailableError)) {
        // One after the other, in the batch's order: the acquires of a pool keep their order.
        for (const entry of order) await this.#runBatch([entry]);
        return;
      }
      for (const { reject } of order) reject(err);
    }
  }

  /**
   * A batch of one as one plain statement (alone.ts), its answer as `lv_license_batch` gives it; `undefined`
   * when that statement cannot tell (an acquire other than a plain grant, a release of several leases): the
   * function decides then.
   */
  async #alone(item: BatchItem): Promise<Row | undefined> {
    if (item.op === 'release') {
      if (item.ids.length !== 1) return undefined;
      const rows = await this.#statement(RELEASE_ALONE, [
        item.account,
        item.ids[0],
        item.epochs[0],
        item.session,
        this.node,
      ]);
      return { released: rows.rows };
    }
    const { account, id, feature, count, owner, session } = item;
    const rows = await this.#statement(GRANT_ALONE, [
      account,
      id,
      feature,
      count,
      owner,
      session,
      this.node,
      this.#keep,
      this.leaseTtl,
    ]);
    const lease = rows.rows[0];
    return lease === undefined ? undefined : { kind: 'granted', reclaimed: false, lease };
  }

  /** An acquire's answer from the database, as the engine takes it. */
  #outcome(request: AcquireRequest, row: Row): AcquireOutcome {
    const { account, id, feature, count } = request;
    const replaced = row.replaced === undefined ? undefined : this.#waiterJson(row.replaced as Row);
    let decided: AcquireOutcome;
    switch (row.kind) {
      case 'granted':
        decided = {
          kind: 'granted',
          lease: this.#leaseJson(row.lease as Row),
          reclaimed: row.reclaimed === true,
        };
        break;
      case 'queued':
        decided = { kind: 'queued', position: Number(row.position) };
        break;
      case 'exhausted':
        decided = { kind: 'exhausted', total: Number(row.total), inUse: Number(row.inUse) };
        break;
      case 'unknown-feature':
        decided = { kind: 'unknown-feature' };
        break;
      case 'never':
        decided = conflict(
          `${count} ${feature} seat(s) were asked for, but ${describeAccount(account)} has only ${Number(row.total)} in all, so this can never be granted.`,
        );
        break;
      default:
        decided = conflict(
          row.held === true
            ? `Lease id ${JSON.stringify(id)} of ${describeAccount(account)} is already held for ${Number(row.count)} ${String(row.feature)} seat(s); it cannot be acquired again for ${count} ${feature}. Use a new lease id.`
            : `Lease id ${JSON.stringify(id)} of ${describeAccount(account)} is already waiting for ${Number(row.count)} ${String(row.feature)} seat(s); it cannot wait for ${count} ${feature} too. Use a new lease id.`,
        );
    }
    return replaced === undefined ? decided : { ...decided, replaced };
  }

  /** A lease as the database functions give it (lv_license_lease_json). */
  #leaseJson(row: Row): LeaseRecord {
    return {
      id: String(row.id),
      account: String(row.account),
      feature: String(row.feature),
      count: Number(row.count),
      grantedAt: Number(row.grantedAt),
      expiresAt: Number(row.expiresAt),
      owner: row.node === this.node ? Number(row.owner) : -1,
      epoch: Number(row.epoch),
      node: String(row.node),
    };
  }

  /** A waiter as the database functions give it (lv_license_waiter_json). */
  #waiterJson(row: Row): Waiter {
    return {
      id: String(row.id),
      account: String(row.account),
      feature: String(row.feature),
      count: Number(row.count),
      owner: row.node === this.node ? Number(row.owner) : -1,
      deadline: Number(row.deadline),
      requestId: Number(row.requestId),
    };
  }

  #lease(row: Row): LeaseRecord {
    const lease = {
      id: String(row.id),
      account: String(row.account),
      feature: String(row.feature),
      count: Number(row.count),
      grantedAt: (row.granted_at as Date).getTime(),
      expiresAt: (row.expires_at as Date).getTime(),
      owner: row.node === this.node ? Number(row.owner) : -1,
      epoch: Number(row.epoch),
      node: String(row.node),
    };
    // Held through another node: its connection there, for a revocation notice (tellHolders).
    if (row.node !== this.node) this.#holders.set(lease, Number(row.owner));
    return lease;
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

  /**
   * Runs one statement as its own transaction; a deadlock or serialization failure (two batches locking
   * the same pools) is retried, twice at most.
   */
  async #statement(
    text: string | { readonly name: string; readonly text: string },
    values: unknown[],
  ): Promise<{ rows: Row[] }> {
    const query = typeof text === 'string' ? { text, values } : { ...text, values };
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#pool.query(query);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt < 2 && (code === '23505' || code === '40001' || code === '40P01')) continue;
        throw classify(err, this.#connectionString);
      }
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

/**
 * Locks the lease rows `where` picks (over `lv_license_leases l`), by themselves. A statement that locks
 * or deletes leases through a join with their sessions must not be the one that takes the locks: a row a
 * renewal moves to another session meanwhile is re-checked against the session row read before, no longer
 * matches it, and silently drops out (a shrink or a revocation would then leave that seat held). Once
 * locked here, nothing moves them until the transaction ends.
 */
async function lockLeases(c: PoolClient, where: string, values: unknown[]): Promise<void> {
  // In key order, whoever locks: two of these over the same rows (a shrink and a drain's revokeAll) then
  // queue instead of deadlocking, as a scan order of their own could make them.
  await c.query(
    `SELECT 1 FROM lv_license_leases l WHERE ${where} ORDER BY l.account COLLATE "C", l.id COLLATE "C" FOR UPDATE`,
    values,
  );
}

/** A lease's columns, from `l` (the leases) and `s` (its session, whose expiry is the lease's). */
const LEASE_COLUMNS =
  'l.account, l.id, l.feature, l.count, l.granted_at, s.expires_at, l.node, l.owner, l.epoch';
/** The leases and their sessions, as `l` and `s`. */
const LIVE_JOIN = 'lv_license_leases l JOIN lv_license_sessions s ON s.id = l.session';
const WAITER_COLUMNS = 'seq, account, id, feature, count, node, owner, request_id, deadline, reported';

/** A release or an acquire, as lv_license_batch takes it. */
type BatchItem =
  | {
      readonly op: 'release';
      readonly account: string;
      /** Each lease id asked for, once. */
      readonly ids: readonly string[];
      /** The epoch the release names for each id (`null`: a 1.0 client's, without one). */
      readonly epochs: ReadonlyArray<number | null>;
      /** The releasing connection's session, when it has one. */
      readonly session: string | null;
    }
  | {
      readonly op: 'acquire';
      readonly account: string;
      readonly id: string;
      readonly feature: string;
      readonly count: number;
      readonly owner: number;
      readonly requestId: number;
      readonly wait: number;
      readonly session: string;
    };

interface Pending {
  readonly item: BatchItem;
  readonly resolve: (row: Row) => void;
  readonly reject: (err: unknown) => void;
}

/** The largest value of a PostgreSQL integer (a count, a total, a wait in ms). */
const MAX_INT = 2 ** 31 - 1;

/** The batch statement, prepared once per connection. */
const BATCH = { name: 'lv_license_batch', text: 'SELECT lv_license_batch($1::jsonb, $2, $3, $4, $5) AS r' };

/** Calls in one batch at most. */
const MAX_BATCH = 256;

/** Acquires by pool (the database runs the releases after them, whatever their place). */
function poolKey(item: BatchItem): string {
  return item.op === 'release' ? '' : `\u0001${item.account}\u0001${item.feature}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byGrant(a: LeaseRecord, b: LeaseRecord): number {
  return a.grantedAt - b.grantedAt || compareText(a.id, b.id);
}

/** Seats in use in a pool, under its lock (lv_license_used: see functions.ts). */
async function used_(c: PoolClient, account: string, feature: string): Promise<number> {
  const rows = await c.query('SELECT lv_license_used($1, $2) AS used', [account, feature]);
  return Number(rows.rows[0]?.used ?? 0);
}

function notify(c: PoolClient): Promise<unknown> {
  return c.query(`NOTIFY ${CHANNEL}`);
}

function conflict(message: string): AcquireOutcome {
  return { kind: 'conflict', message };
}

function describeAccount(account: string): string {
  return account === '' ? 'the anonymous pool' : `account ${JSON.stringify(account)}`;
}
