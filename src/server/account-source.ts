/**
 * Where a license server's accounts come from: a `license_authentication.conf` file, or a database shared
 * by several nodes. The engine reads, changes and watches accounts only through {@link AccountSource}, so
 * one source takes the place of the other; what a change does to the pools stays the engine's
 * (apply-accounts.ts), whatever the source.
 */
import { watchFile } from '../config/index.js';
import { type AccountSpec, type AccountsSpec, loadAccountsFile } from './accounts.js';
import { editAccountsFile } from './accounts-writer.js';

/**
 * The accounts of a license server, kept somewhere a change outlives a restart: a file
 * ({@link accountsFileSource}) or PostgreSQL (`PostgresAccounts`).
 */
export interface AccountSource {
  /** Names the source in messages: a file's path, a database's host, port and name (never a password). */
  readonly description: string;
  /**
   * The accounts as they are now, disabled ones included.
   *
   * @throws {ConfigError} when they do not validate; `StoreUnavailableError` when a database cannot be reached.
   */
  load(): Promise<AccountsSpec>;
  /**
   * Applies `change` to the accounts and keeps the result, validated whole first (nothing changes when
   * `change` throws or the result does not validate). A password `change` sets is kept as a SCRAM verifier,
   * never as text. Resolves with the accounts after.
   */
  edit(change: (accounts: Record<string, AccountSpec>) => void): Promise<AccountsSpec>;
  /**
   * Calls `listener` when the accounts may have changed from outside (the file edited, another node or the
   * CLI writing the database). Returns the function that stops it.
   */
  watch?(listener: () => void): () => void;
}

/**
 * The accounts of a `license_authentication.conf`: read with `loadAccountsFile`, changed with
 * `editAccountsFile` (atomically), watched by polling its size and time.
 */
export function accountsFileSource(path: string): AccountSource {
  return {
    description: path,
    load: () => loadAccountsFile(path),
    edit: (change) => editAccountsFile(path, change),
    watch: (listener) => watchFile(path, listener),
  };
}

/** Whether the `accounts` option is a source rather than accounts in code or a path. */
export function isAccountSource(value: unknown): value is AccountSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { load?: unknown }).load === 'function' &&
    typeof (value as { edit?: unknown }).edit === 'function'
  );
}
