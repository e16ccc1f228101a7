/**
 * A real PostgreSQL for one describe block, and PostgresStore nodes on a fresh database of it: the hooks
 * are registered here, and every store and client a test made is closed after it.
 */
import pgLib from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { PostgresStore } from '../../src/server/index.js';
import { startPostgres, type TestPostgres } from './postgres.js';

/**
 * Call inside a `describe` (or at a file's top level): starts a PostgreSQL of its own before the block's
 * tests and stops it after them. The server it returns is usable from the tests and from hooks registered
 * after this call.
 */
export function usePostgres(): TestPostgres {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  const started = (): TestPostgres => {
    if (server === undefined) throw new Error('PostgreSQL did not start');
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    database: (name) => started().database(name),
    stop: () => started().stop(),
    restart: () => started().restart(),
  };
}

/** Call inside a `describe`; returns `setUp(leaseTtl, nodes, name)` and `database(name)` (a new, empty one). */
export function usePostgresNodes() {
  const pg = usePostgres();
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const database = (name: string): Promise<string> => pg.database(name);
  /** `nodes` stores on one new database, and a plain client on it to read the tables. */
  const setUp = async (leaseTtl: number, nodes = 1, name = 'nodes') => {
    const url = await database(name);
    const stores: PostgresStore[] = [];
    for (let i = 0; i < nodes; i += 1) {
      const store = await PostgresStore.connect({ connectionString: url, leaseTtl, migrate: true });
      cleanups.push(() => store.close());
      stores.push(store);
    }
    const db = new pgLib.Client({ connectionString: url });
    await db.connect();
    cleanups.push(() => db.end());
    return { stores, db, url };
  };
  return { setUp, database };
}
