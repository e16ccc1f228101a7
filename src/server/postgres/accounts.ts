/**
 * PostgresAccounts: the accounts of a license server kept in PostgreSQL, beside the pools of a
 * {@link PostgresStore}, so that every node on the database serves the same accounts. Only SCRAM verifier
 * material is stored (salt, iterations, StoredKey, ServerKey), never a password. Every change bumps one
 * version and NOTIFYs; a node hears it at once, and a node that missed it (its listening connection was
 * down) sees the version move at its next check, a second later at most.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { ConfigError } from '../../errors.js';
import { deriveScramCredentials, formatScramVerifier, parseScramVerifier } from '../../protocol/scram.js';
import type { AccountSource } from '../account-source.js';
import { type AccountSpec, type AccountsSpec, validateAccounts } from '../accounts.js';
import { verifierFor } from '../accounts-writer.js';
import { checkStoreUrl, classify, describeDatabase, openPool, unavailable } from './connection.js';
import { ChannelWatch } from './notifications.js';
import { SCHEMA_VERSION, schemaVersion } from './schema.js';

/** Options of {@link PostgresAccounts.connect}. */
export interface PostgresAccountsOptions {
  /** `postgres://user:password@host:5432/db`: the database of the {@link PostgresStore}. */
  readonly connectionString: string;
  /**
   * How often (ms) a watching node compares the accounts' version with the one it loaded: what catches a
   * change whose notification it missed. @defaultValue 1000
   */
  readonly checkInterval?: number;
}

/** What {@link PostgresAccounts.replace} did, account names only. */
export interface AccountsDiff {
  /** Accounts that were not there. */
  readonly added: string[];
  /** Accounts whose password, licenses or subscription changed. */
  readonly changed: string[];
  /** Accounts that are gone. */
  readonly removed: string[];
  /** Accounts left as they were. */
  readonly unchanged: string[];
}

/** The channel a change of accounts is announced on. */
const CHANNEL = 'lv_license_accounts_changed';

type Row = Record<string, unknown>;

/**
 * The accounts in PostgreSQL, an {@link AccountSource}: `lv-license serve --store URL` serves them, and
 * `lv-license accounts ... --store URL` changes them.
 *
 * @example
 * ```ts
 * import { LicenseServer, PostgresAccounts, PostgresStore } from 'lv-license-client/server';
 *
 * const connectionString = process.env.LV_LICENSE_STORE!;
 * const store = await PostgresStore.connect({ connectionString, migrate: true });
 * const accounts = await PostgresAccounts.connect({ connectionString });
 * const server = await LicenseServer.start({ store, accounts });
 * ```
 */
export class PostgresAccounts implements AccountSource {
  /** `PostgreSQL at host:port/db`: no user, no password. */
  readonly description: string;
  readonly #pool: Pool;
  readonly #connectionString: string;
  readonly #checkInterval: number;
  /** Account changes announced by any node or CLI (LISTEN on its own connection). */
  readonly #notifications: ChannelWatch;
  #checkTimer: NodeJS.Timeout | undefined;
  /** The highest version a load saw: a higher one in the database is a change not yet loaded. */
  #loadedVersion = -1;
  #closed = false;

  private constructor(pool: Pool, options: PostgresAccountsOptions) {
    this.#pool = pool;
    this.#connectionString = options.connectionString;
    this.#checkInterval = options.checkInterval ?? 1_000;
    this.#notifications = new ChannelWatch(options.connectionString, CHANNEL);
    this.description = `PostgreSQL at ${describeDatabase(options.connectionString)}`;
  }

  /**
   * Connects and checks that the schema has the accounts' tables.
   *
   * @throws {ConfigError} when `pg` is not installed, the URL is not a PostgreSQL URL, or the schema is older
   *   than this version needs (run `lv-license store migrate --store URL`).
   * @throws `StoreUnavailableError` when the database cannot be reached.
   */
  static async connect(options: PostgresAccountsOptions): Promise<PostgresAccounts> {
    const url = options.connectionString;
    checkStoreUrl(url);
    const interval = options.checkInterval ?? 1_000;
    if (!(Number.isFinite(interval) && interval > 0)) {
      throw new RangeError(`checkInterval must be a positive number of milliseconds, not ${interval}.`);
    }
    const pool = await openPool(url, 2);
    try {
      const client = await pool.connect().catch((err: unknown) => {
        throw unavailable(err, url);
      });
      try {
        const version = await schemaVersion(client);
        if (version < SCHEMA_VERSION) {
          throw new ConfigError(
            `The database at ${describeDatabase(url)} has schema version ${version}; the accounts need ${SCHEMA_VERSION}. Run "lv-license store migrate --store URL" (or start a node with --migrate).`,
          );
        }
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresAccounts(pool, options);
  }

  /** Every account, disabled ones included, by name. */
  async load(): Promise<AccountsSpec> {
    return this.#inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (c) => {
      const { accounts, version } = await readAll(c);
      this.#loadedVersion = Math.max(this.#loadedVersion, version);
      return accounts;
    });
  }

  async edit(change: (accounts: Record<string, AccountSpec>) => void): Promise<AccountsSpec> {
    return (await this.#change(change)).accounts;
  }

  /**
   * Makes the accounts in the database those of `next` (what `lv-license accounts import` does): adds,
   * changes and removes accounts so that the database holds exactly them. Idempotent: a password equal to
   * the one an account's verifier stands for leaves it unchanged. Passwords are stored as verifiers.
   *
   * @throws {ConfigError} when `next` does not validate (nothing is changed).
   */
  async replace(next: AccountsSpec): Promise<AccountsDiff> {
    return (
      await this.#change((all) => {
        for (const name of Object.keys(all)) delete all[name];
        Object.assign(all, structuredClone(next));
      })
    ).diff;
  }

  /**
   * Calls `listener` when the accounts changed: at once on the database's notification, and at the next
   * check (every `checkInterval`) when the version moved past what {@link PostgresAccounts.load} last saw.
   * Returns the function that stops it.
   */
  watch(listener: () => void): () => void {
    const stop = this.#notifications.watch(listener);
    if (this.#checkTimer === undefined && !this.#closed) {
      this.#checkTimer = setInterval(() => void this.#check(), this.#checkInterval);
      this.#checkTimer.unref();
    }
    return stop;
  }

  /** Stops watching and closes the connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkTimer);
    await this.#notifications.close();
    await this.#pool.end().catch(() => {});
  }

  // ---- inside ----------------------------------------------------------------------------------

  async #change(
    change: (accounts: Record<string, AccountSpec>) => void,
  ): Promise<{ accounts: AccountsSpec; diff: AccountsDiff }> {
    return this.#inTransaction('BEGIN', async (c) => {
      // One change at a time: each reads what the one before it wrote.
      await c.query('SELECT version FROM lv_license_accounts_version FOR UPDATE');
      const { accounts: before } = await readAll(c);
      const after = structuredClone({ ...before }) as Record<string, AccountSpec>;
      change(after);
      for (const [name, account] of Object.entries(after)) {
        if (account.password === undefined) continue;
        const { password, ...rest } = account;
        const kept = before[name]?.verifier;
        after[name] = {
          ...rest,
          verifier: kept !== undefined && standsFor(kept, password) ? kept : verifierFor(password),
        };
      }
      const accounts = validateAccounts(after);
      const diff: AccountsDiff = { added: [], changed: [], removed: [], unchanged: [] };
      for (const name of Object.keys(before)) {
        if (Object.hasOwn(accounts, name)) continue;
        await c.query('DELETE FROM lv_license_accounts WHERE name = $1', [name]);
        diff.removed.push(name);
      }
      for (const [name, account] of Object.entries(accounts)) {
        const old = before[name];
        if (old !== undefined && same(old, account)) {
          diff.unchanged.push(name);
          continue;
        }
        (old === undefined ? diff.added : diff.changed).push(name);
        await writeAccount(c, name, account);
      }
      if (diff.added.length + diff.changed.length + diff.removed.length > 0) {
        await c.query('UPDATE lv_license_accounts_version SET version = version + 1');
        await c.query(`NOTIFY ${CHANNEL}`);
      }
      return { accounts, diff };
    });
  }

  /** Tells the watchers when the version moved past the last load (a missed or late notification). */
  async #check(): Promise<void> {
    try {
      const rows = await this.#pool.query('SELECT version FROM lv_license_accounts_version');
      if (Number(rows.rows[0]?.version ?? 0) > this.#loadedVersion) this.#notifications.changed();
    } catch {
      // The database is away: the next check tries again.
    }
  }

  async #inTransaction<T>(begin: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw unavailable(err, this.#connectionString);
    }
    try {
      await client.query(begin);
      const value = await work(client);
      await client.query('COMMIT');
      client.release();
      return value;
    } catch (err) {
      const broken = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      client.release(broken);
      throw classify(err, this.#connectionString);
    }
  }
}

/** The accounts and their version, as one transaction sees them. */
async function readAll(c: PoolClient): Promise<{ accounts: AccountsSpec; version: number }> {
  const version = await c.query('SELECT version FROM lv_license_accounts_version');
  const rows = await c.query(
    `SELECT name, scram_iterations, scram_salt, scram_stored_key, scram_server_key, renews_on,
       to_char(cancelled_on, 'YYYY-MM-DD') AS cancelled_on, disabled
     FROM lv_license_accounts ORDER BY name`,
  );
  const licenses = await c.query(
    'SELECT account, feature, total FROM lv_license_account_licenses ORDER BY account, feature',
  );
  const byAccount = new Map<string, Record<string, number>>();
  for (const row of licenses.rows as Row[]) {
    const account = String(row.account);
    byAccount.set(account, { ...byAccount.get(account), [String(row.feature)]: Number(row.total) });
  }
  const accounts: Record<string, AccountSpec> = {};
  for (const row of rows.rows as Row[]) {
    const name = String(row.name);
    accounts[name] = {
      verifier: formatScramVerifier({
        iterations: Number(row.scram_iterations),
        salt: row.scram_salt as Buffer,
        storedKey: row.scram_stored_key as Buffer,
        serverKey: row.scram_server_key as Buffer,
      }),
      licenses: byAccount.get(name) ?? {},
      ...(row.renews_on === null ? {} : { renewsOn: Number(row.renews_on) }),
      ...(row.cancelled_on === null ? {} : { cancelledOn: String(row.cancelled_on) }),
      ...(row.disabled === true ? { disabled: true } : {}),
    };
  }
  return { accounts, version: Number(version.rows[0]?.version ?? 0) };
}

async function writeAccount(c: PoolClient, name: string, account: AccountSpec): Promise<void> {
  // validateAccounts has made sure of a verifier: a password never reaches here.
  const credentials = parseScramVerifier(account.verifier as string);
  await c.query(
    `INSERT INTO lv_license_accounts (name, scram_iterations, scram_salt, scram_stored_key, scram_server_key,
       renews_on, cancelled_on, disabled)
     VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8)
     ON CONFLICT (name) DO UPDATE SET scram_iterations = EXCLUDED.scram_iterations,
       scram_salt = EXCLUDED.scram_salt, scram_stored_key = EXCLUDED.scram_stored_key,
       scram_server_key = EXCLUDED.scram_server_key, renews_on = EXCLUDED.renews_on,
       cancelled_on = EXCLUDED.cancelled_on, disabled = EXCLUDED.disabled`,
    [
      name,
      credentials.iterations,
      credentials.salt,
      credentials.storedKey,
      credentials.serverKey,
      account.renewsOn ?? null,
      account.cancelledOn ?? null,
      account.disabled === true,
    ],
  );
  await c.query('DELETE FROM lv_license_account_licenses WHERE account = $1', [name]);
  for (const [feature, total] of Object.entries(account.licenses)) {
    await c.query('INSERT INTO lv_license_account_licenses (account, feature, total) VALUES ($1, $2, $3)', [
      name,
      feature,
      total,
    ]);
  }
}

/** Whether `verifier` stands for `password` (its salt and iterations give the same StoredKey). */
function standsFor(verifier: string, password: string): boolean {
  try {
    const stored = parseScramVerifier(verifier);
    const derived = deriveScramCredentials(password, { salt: stored.salt, iterations: stored.iterations });
    return timingSafeEqual(derived.storedKey, stored.storedKey);
  } catch {
    return false;
  }
}

/** Whether two accounts (with verifiers) are the same: credentials, licenses and subscription. */
function same(a: AccountSpec, b: AccountSpec): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(account: AccountSpec): unknown {
  return [
    account.verifier,
    Object.entries(account.licenses).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    account.renewsOn ?? null,
    account.cancelledOn ?? null,
    account.disabled === true,
  ];
}
