/**
 * The PostgreSQL schema of {@link PostgresStore}, versioned: each migration runs once, in order, in one
 * transaction, under a transaction-scoped advisory lock so that nodes starting together do not race.
 */
import type { PoolClient } from 'pg';
import { MIGRATION_3, MIGRATION_5 } from './functions.js';

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = 5;

/** The advisory-lock key migrations serialise on ("lvlicens" in ASCII). */
const MIGRATION_LOCK = 0x6c766c6963656e73n;

const MIGRATIONS: readonly string[] = [
  // 1: pools, leases, the FIFO queue, and the nodes that serve them.
  `
  CREATE TABLE lv_license_pools (
    account text NOT NULL,
    feature text NOT NULL,
    total integer NOT NULL CHECK (total >= 0),
    PRIMARY KEY (account, feature)
  );
  CREATE TABLE lv_license_leases (
    account text NOT NULL,
    id text NOT NULL,
    feature text NOT NULL,
    count integer NOT NULL CHECK (count > 0),
    granted_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    node text NOT NULL,
    owner integer NOT NULL,
    epoch bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account, id)
  );
  CREATE INDEX lv_license_leases_pool ON lv_license_leases (account, feature, expires_at);
  CREATE INDEX lv_license_leases_node ON lv_license_leases (node, expires_at);
  CREATE TABLE lv_license_waiters (
    seq bigserial PRIMARY KEY,
    account text NOT NULL,
    id text NOT NULL,
    feature text NOT NULL,
    count integer NOT NULL CHECK (count > 0),
    node text NOT NULL,
    owner integer NOT NULL,
    request_id integer NOT NULL,
    deadline timestamptz NOT NULL,
    reported integer NOT NULL,
    UNIQUE (account, id)
  );
  CREATE INDEX lv_license_waiters_pool ON lv_license_waiters (account, feature, seq);
  CREATE TABLE lv_license_nodes (
    node text PRIMARY KEY,
    seen_at timestamptz NOT NULL
  );
  `,
  // 2: the pool's id, which every node announces as its cluster (protocol 1.1).
  `
  CREATE TABLE lv_license_cluster (id text PRIMARY KEY);
  INSERT INTO lv_license_cluster (id) VALUES (gen_random_uuid()::text);
  `,
  // 3: a lease's life hangs on its connection's session, so that a heartbeat is one row update however many
  // seats it renews; acquire, renew and release are one statement (one round trip) each, and acquires
  // arriving together are granted in one transaction. Nodes of schema 2 must all be stopped first.
  MIGRATION_3,
  // 4: the accounts (SCRAM verifier material only, never a password), their licenses and subscriptions,
  // and a version every change bumps, so that a node that missed a notification catches up.
  `
  CREATE TABLE lv_license_accounts (
    name text PRIMARY KEY CHECK (name <> ''),
    scram_iterations integer NOT NULL CHECK (scram_iterations > 0),
    scram_salt bytea NOT NULL CHECK (octet_length(scram_salt) > 0),
    scram_stored_key bytea NOT NULL CHECK (octet_length(scram_stored_key) = 32),
    scram_server_key bytea NOT NULL CHECK (octet_length(scram_server_key) = 32),
    renews_on smallint CHECK (renews_on BETWEEN 1 AND 31),
    cancelled_on date,
    disabled boolean NOT NULL DEFAULT false
  );
  CREATE TABLE lv_license_account_licenses (
    account text NOT NULL REFERENCES lv_license_accounts (name) ON DELETE CASCADE,
    feature text NOT NULL,
    total integer NOT NULL CHECK (total >= 0),
    PRIMARY KEY (account, feature)
  );
  CREATE TABLE lv_license_accounts_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version bigint NOT NULL
  );
  INSERT INTO lv_license_accounts_version (singleton, version) VALUES (true, 0);
  `,
  // 5: a pool's seats in use kept in its row, a lease index that no longer starts with the account, and the
  // functions again (functions.ts). Nodes of schema 4 must all be stopped first (a release's form changed).
  MIGRATION_5,
];

/** Brings the schema to {@link SCHEMA_VERSION}; returns the versions it applied. */
export async function migrate(client: PoolClient): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query('CREATE TABLE IF NOT EXISTS lv_license_schema (version integer NOT NULL)');
    const found = await client.query<{ version: number }>(
      'SELECT max(version) AS version FROM lv_license_schema',
    );
    const current = found.rows[0]?.version ?? 0;
    for (let version = current + 1; version <= MIGRATIONS.length; version += 1) {
      await client.query(MIGRATIONS[version - 1] as string);
      await client.query('INSERT INTO lv_license_schema (version) VALUES ($1)', [version]);
      applied.push(version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The schema version of the database (0: none yet). */
export async function schemaVersion(client: PoolClient): Promise<number> {
  const exists = await client.query<{ found: string | null }>(
    "SELECT to_regclass('lv_license_schema') AS found",
  );
  if (exists.rows[0]?.found === null || exists.rows[0]?.found === undefined) return 0;
  const found = await client.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM lv_license_schema',
  );
  return found.rows[0]?.version ?? 0;
}
