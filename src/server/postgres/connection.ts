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
