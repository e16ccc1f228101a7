/**
 * What the PostgreSQL store and the accounts source share about the database: loading the optional `pg`
 * driver, naming a database without its credentials, and telling "the database is away" from a bug.
 */
import { ConfigError } from '../../errors.js';
import { errorText } from '../error-text.js';
import { StoreUnavailableError } from '../store.js';

/** Which database a URL names, for messages: host, port and database only, never a user or a password. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}${parsed.port === '' ? '' : `:${parsed.port}`}${parsed.pathname}`;
  } catch {
    return '(the store URL)';
  }
}

/**
 * Checks that `url` is a PostgreSQL URL. The message never shows the value: it may hold a password.
 *
 * @throws {ConfigError} when it is not one.
 */
export function checkStoreUrl(url: string): void {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError(
      'The store must be a PostgreSQL URL such as postgres://user:password@host:5432/db (the value given is not shown: it may hold a password).',
    );
  }
}

/**
 * A `pg` pool of at most `max` connections to `url`, with the bounds every connection of the store and the
 * accounts source has (a lock waited for at most 3 s, a statement at most 10 s, a connect at most 5 s)
 * and `extra` on top. A connection the database drops, idle or in use, does not take the process down:
 * the query on it fails (and is answered -22); the pool makes a new one.
 *
 * @throws {ConfigError} when `pg` is not installed.
 */
export async function openPool(
  url: string,
  max: number,
  extra: Partial<import('pg').PoolConfig> = {},
): Promise<import('pg').Pool> {
  const pg = await loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max,
    lock_timeout: 3_000,
    statement_timeout: STATEMENT_TIMEOUT,
    connectionTimeoutMillis: 5_000,
    ...extra,
  });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** How long (ms) a statement may run before the database ends it. */
export const STATEMENT_TIMEOUT = 10_000;

/** Loads `pg`, or says how to get it. */
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
