/**
 * PostgresAccounts against a real PostgreSQL: only SCRAM material is stored, an import is idempotent and
 * says what it did, a change that does not validate changes nothing, and a change reaches every node:
 * by the notification, and when the notification is lost, by the version check. Real sockets, loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Lease, LicenseClient } from '../../src/index.js';
import {
  type AccountSpec,
  LicenseServer,
  PostgresAccounts,
  PostgresStore,
  parseAccountsFile,
  verifierFor,
} from '../../src/server/index.js';
import { usePostgres } from '../helpers/pg-nodes.js';
import { postgresAvailable, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(name: string): Promise<string> {
  const url = await pg.database(name);
  const store = await PostgresStore.connect({ connectionString: url, migrate: true });
  await store.close();
  return url;
}

async function accountsOf(url: string, checkInterval?: number): Promise<PostgresAccounts> {
  const accounts = await PostgresAccounts.connect({
    connectionString: url,
    ...(checkInterval === undefined ? {} : { checkInterval }),
  });
  cleanups.push(() => accounts.close());
  return accounts;
}

async function sql(url: string, text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

const FILE = `
[alice]
PASSWORD = "Alice#Pw;1"
FULL = 1
RENEWS_ON = 10

[bob]
VERIFIER = ${verifierFor('Bob-Pw-1')}
LITE = 2
CANCELLED = 2026-11-10
`;

describe.skipIf(!postgresAvailable)('PostgresAccounts', () => {
  pg = usePostgres();

  it('keeps verifier material only, imports idempotently, and refuses a change that does not validate', async () => {
    const url = await database('accounts');
    const accounts = await accountsOf(url);
    const spec = parseAccountsFile(FILE);
    expect(await accounts.replace(spec)).toEqual({
      added: ['alice', 'bob'],
      changed: [],
      removed: [],
      unchanged: [],
    });
    expect(await accounts.replace(spec)).toMatchObject({
      added: [],
      changed: [],
      unchanged: ['alice', 'bob'],
    });
    const rows = await sql(url, 'SELECT to_jsonb(a)::text AS row FROM lv_license_accounts a');
    expect(rows).toHaveLength(2);
    for (const { row } of rows) expect(String(row)).not.toContain('Alice#Pw;1');
    const loaded = await accounts.load();
    expect(loaded.alice).toEqual({
      verifier: expect.stringMatching(/^SCRAM-SHA-256\$4096:/),
      licenses: { FULL: 1 },
      renewsOn: 10,
    });
    expect(loaded.bob).toEqual({ ...spec.bob, licenses: { LITE: 2 } });

    const [before] = await sql(url, 'SELECT version FROM lv_license_accounts_version');
    await expect(
      accounts.edit((all) => {
        const alice = all.alice as AccountSpec;
        all.alice = { ...alice, licenses: { FULL: -1 } };
      }),
    ).rejects.toThrow('whole number');
    expect(await sql(url, 'SELECT version FROM lv_license_accounts_version')).toEqual([before]);
    expect((await accounts.load()).alice?.licenses).toEqual({ FULL: 1 });
  });

  it('a change reaches the other node at once, and a lost notification by the next version check', {
    timeout: 30_000,
  }, async () => {
    const url = await database('nodes');
    await (await accountsOf(url)).replace(parseAccountsFile(FILE));
    const servers: LicenseServer[] = [];
    const reloadedAt: number[][] = [[], []];
    for (const index of [0, 1]) {
      const store = await PostgresStore.connect({ connectionString: url, heartbeat: 200 });
      const accounts = await accountsOf(url, 200);
      const server = await LicenseServer.start({
        port: 0,
        store,
        accounts,
        log: (line) => {
          if (line.startsWith('accounts reloaded')) reloadedAt[index]?.push(Date.now());
        },
      });
      cleanups.push(
        () => store.close(),
        () => server.close(),
      );
      servers.push(server);
    }
    const [one, two] = servers as [LicenseServer, LicenseServer];
    const onTwo = new LicenseClient({
      servers: two.address,
      username: 'alice',
      password: 'Alice#Pw;1',
      licenseCachePeriod: 0,
    });
    cleanups.push(() => onTwo.close());
    await onTwo.acquire('FULL');
    await expect(onTwo.acquire('FULL')).rejects.toMatchObject({ code: -26 });

    // Through node one's admin path (setPoolSize edits the source): node two hears the notification.
    const changed = Date.now();
    await one.setPoolSize('alice', 'FULL', 2);
    const second: Lease = await onTwo.acquire('FULL');
    await expect.poll(() => reloadedAt[1]?.length).toBe(1);
    console.info(
      `node two applied node one's change ${(reloadedAt[1]?.[0] ?? 0) - changed} ms later (notification)`,
    );

    // Written with no notification (as if node two's listening connection were down): the check finds it.
    const lost = Date.now();
    await sql(
      url,
      `UPDATE lv_license_accounts SET cancelled_on = '2020-01-01' WHERE name = 'alice';
       UPDATE lv_license_accounts_version SET version = version + 1;`,
    );
    await expect.poll(() => reloadedAt[1]?.length, { timeout: 5_000 }).toBe(2);
    console.info(
      `node two applied a change whose notification was lost ${(reloadedAt[1]?.[1] ?? 0) - lost} ms later`,
    );
    await expect
      .poll(async () =>
        onTwo.acquire('FULL').then(
          () => 'granted',
          (err: { code: number }) => err.code,
        ),
      )
      .toBe(-59);
    expect(second.state).not.toBe('held');
  });
});
