/**
 * `lv-license store migrate`: brings a PostgreSQL store's schema up to date.
 */
import { PostgresStore } from '../server/index.js';
import { type CliIo, parseFlags, UsageError } from './io.js';

export const STORE_USAGE = `Usage: lv-license store migrate --store URL

Creates or updates the tables of a PostgreSQL store (lv-license serve --store URL). Safe to run again, and
while nodes serve: each version is applied once, in one transaction, under a lock.

Options:
  --store URL           postgres://user:password@host:5432/db (or the LV_LICENSE_STORE environment variable)
  -h, --help            show this help

Exit status: 0 done, 1 the database refused or cannot be reached, 2 usage error.
`;

/** Runs `lv-license store`; resolves with the exit status. */
export async function store(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  const v = parseFlags(rest, { store: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (v.help === true || command === '--help' || command === '-h') {
    io.stdout(STORE_USAGE);
    return 0;
  }
  if (command !== 'migrate') throw new UsageError(`Unknown store command "${command ?? ''}": use migrate.`);
  const url = v.store ?? ((io.env ?? process.env).LV_LICENSE_STORE || undefined);
  if (url === undefined) throw new UsageError('Say which database: --store URL (or LV_LICENSE_STORE).');
  try {
    const connected = await PostgresStore.connect({ connectionString: url, migrate: true });
    await connected.close();
  } catch (err) {
    io.stderr(`lv-license store migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  io.stdout('the store schema is up to date\n');
  return 0;
}
