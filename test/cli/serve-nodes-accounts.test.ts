/**
 * Accounts in PostgreSQL, from the side of the processes that live with them: `lv-license accounts import`
 * loads a license_authentication.conf into the database (idempotent, saying what it did), two real
 * `lv-license serve --store URL` nodes serve those accounts over SCRAM, and a change made by the CLI or
 * through one node's admin API (a pool, a password, a subscription) is what a client of the other node
 * meets next. In unauthenticated mode `--licenses` sets the one pool every node shares. No secret reaches
 * any output. Loopback only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Lease, LicenseClient } from '../../src/index.js';
import { parseScramVerifier } from '../../src/protocol/scram.js';
import { verifierFor } from '../../src/server/index.js';
import { usePostgres } from '../helpers/pg-nodes.js';
import { postgresAvailable, type TestPostgres } from '../helpers/postgres.js';

const ROOT = join(import.meta.dirname, '../..');
const ADMIN_TOKEN = 'admin-token-accounts-0123456789';

let pg: TestPostgres;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Everything any process printed, to search for secrets at the end. */
let printed = '';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `lv-license ARGS` to its end, with `input` on standard input. */
function cli(args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      printed += stdout + stderr;
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

interface Node {
  readonly child: ChildProcess;
  readonly address: string;
  log(): string;
}

async function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Node> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/index.ts', 'serve', '--port', '0', '--log-format', 'text', ...args],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  cleanups.push(async () => {
    printed += out;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
  await expect.poll(() => /listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1], { timeout: 20_000 }).toBeTruthy();
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1] as string;
  return { child, address: `127.0.0.1:${port}`, log: () => out };
}

function client(server: string, username?: string, password?: string): LicenseClient {
  const made = new LicenseClient({
    servers: server,
    ...(username === undefined ? {} : { username, password }),
    licenseCachePeriod: 0,
    requestTimeout: 2_000,
  });
  cleanups.push(() => made.close());
  return made;
}

/** What acquiring one seat comes to: the lease, or the return code it was refused with. */
async function attempt(of: LicenseClient, feature = 'FULL'): Promise<Lease | number> {
  try {
    return await of.acquire(feature);
  } catch (err) {
    return (err as { code: number }).code;
  }
}

/** A new client's login and acquire on `server`: 'held', or the return code. */
async function login(server: string, username: string, password: string): Promise<string | number> {
  const fresh = client(server, username, password);
  const got = await attempt(fresh);
  if (typeof got === 'number') return got;
  await got.release();
  return 'held';
}

describe.skipIf(!postgresAvailable)('accounts in PostgreSQL across lv-license serve nodes', () => {
  pg = usePostgres();

  it('imports the accounts file, serves it from two nodes, and a change on one is what the other serves', {
    timeout: 120_000,
  }, async () => {
    // A URL with a password (the test server trusts loopback and never asks for it): it must show nowhere.
    const url = (await pg.database('accounts')).replace('postgres@', 'postgres:Db-Secret-Pw-9@');
    const dir = await mkdtemp(join(tmpdir(), 'lv-pg-accounts-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'license_authentication.conf');
    const bobVerifier = verifierFor('Bob-Pw-1');
    const conf = (bob: string) =>
      `[alice]\nPASSWORD = Alice-Pw-One-1\nFULL = 1\n\n[bob]\nVERIFIER = ${bobVerifier}\n${bob}\n\n[carol]\nPASSWORD = Carol-Pw-1\nFULL = 1\n`;
    await writeFile(file, conf('LITE = 1'), { mode: 0o600 });

    expect((await cli(['store', 'migrate', '--store', url])).code).toBe(0);
    const first = await cli(['accounts', 'import', file, '--store', url]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('3 added (alice, bob, carol), 0 changed, 0 removed, 0 unchanged');
    // Again: nothing to do, though the file holds plaintext passwords and the database only verifiers.
    expect((await cli(['accounts', 'import', file, '--store', url])).stdout).toContain(
      '0 added, 0 changed, 0 removed, 3 unchanged',
    );
    await writeFile(file, conf('LITE = 2').slice(0, conf('LITE = 2').indexOf('[carol]')));
    expect((await cli(['accounts', 'import', file, '--store', url])).stdout).toContain(
      '0 added, 1 changed (bob), 1 removed (carol), 1 unchanged',
    );

    // --accounts beside --store is refused: the database holds the accounts.
    const both = await cli(['serve', '--port', '0', '--store', url, '--accounts', file]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('lv-license accounts import');
    // --licenses is for unauthenticated mode, which a database with accounts is not.
    const licenses = await cli(['serve', '--port', '0', '--store', url, '--licenses', 'FULL=9']);
    expect(licenses.code).toBe(1);
    expect(licenses.stderr).toContain('leave out --licenses');

    const tokens = join(dir, 'tokens');
    await writeFile(tokens, `admin ${ADMIN_TOKEN}\n`, { mode: 0o600 });
    const a = await node([
      '--store',
      url,
      '--lease-ttl',
      '3000',
      '--admin',
      '127.0.0.1:0',
      '--admin-token-file',
      tokens,
    ]);
    const b = await node(['--lease-ttl', '3000'], { LV_LICENSE_STORE: url });
    expect(b.log()).toContain('accounts kept in PostgreSQL: 2 account(s), authentication mode');
    await expect.poll(() => /admin API on (http:\/\/[\d.:]+)/.exec(a.log())?.[1]).toBeTruthy();
    const admin = /admin API on (http:\/\/[\d.:]+)/.exec(a.log())?.[1] as string;

    // Alice's one FULL seat is one pool across both nodes.
    const onA = client(a.address, 'alice', 'Alice-Pw-One-1');
    const onB = client(b.address, 'alice', 'Alice-Pw-One-1');
    const heldOnA = await onA.acquire('FULL');
    expect(await attempt(onB)).toBe(-26);
    // Bob's imported verifier logs in (SCRAM; the database holds no password of his).
    expect(await login(b.address, 'bob', 'Bob-Pw-1')).toBe(-69); // bob has LITE only
    expect(typeof (await attempt(client(b.address, 'bob', 'Bob-Pw-1'), 'LITE'))).toBe('object');

    // The CLI grows the pool: node B's client gets a second seat.
    expect((await cli(['accounts', 'set', 'alice', '--licenses', 'FULL=2', '--store', url])).code).toBe(0);
    const second = await pollFor(() => attempt(onB));
    // Node A's admin API grows it again, into the database: node B's client gets a third.
    const put = await fetch(`${admin}/pools/alice/FULL`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ total: 3 }),
    });
    expect(put.status).toBe(200);
    const third = await pollFor(() => attempt(onB));
    const listed = await cli(['accounts', 'list', '--store', url, '--json']);
    expect(JSON.parse(listed.stdout).accounts).toEqual([
      expect.objectContaining({ account: 'alice', licenses: { FULL: 3 } }),
      expect.objectContaining({ account: 'bob', licenses: { LITE: 2 } }),
    ]);
    await second.release();
    await third.release();

    // A new password through the CLI: node B refuses the old one and takes the new one; so does node A.
    const passwd = await cli(['accounts', 'passwd', 'alice', '--store', url], 'Alice-Pw-Two-2\n');
    expect(passwd.code).toBe(0);
    await expect.poll(() => login(b.address, 'alice', 'Alice-Pw-One-1'), { timeout: 10_000 }).toBe(-34);
    expect(await login(b.address, 'alice', 'Alice-Pw-Two-2')).toBe('held');
    expect(await login(a.address, 'alice', 'Alice-Pw-One-1')).toBe(-34);
    expect(await login(a.address, 'alice', 'Alice-Pw-Two-2')).toBe('held');

    // A cancelled subscription whose cycle is over: node B refuses new seats (-59), node A's lease goes.
    const lost = new Promise((resolve) => onA.once('lease-lost', resolve));
    const cancel = await cli(['accounts', 'cancel', 'alice', '--on', '2020-01-01', '--store', url]);
    expect(cancel.code).toBe(0);
    const late = client(b.address, 'alice', 'Alice-Pw-Two-2');
    await expect.poll(() => attempt(late), { timeout: 10_000 }).toBe(-59);
    await lost;
    expect(heldOnA.state).not.toBe('held');

    // No secret anywhere: not the passwords, nor the verifier, nor the database's password, nor the token.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const salt = parseScramVerifier(bobVerifier).salt.toString('base64');
    for (const secret of [
      'Alice-Pw-One-1',
      'Alice-Pw-Two-2',
      'Bob-Pw-1',
      'Carol-Pw-1',
      'Db-Secret-Pw-9',
      ADMIN_TOKEN,
      'SCRAM-SHA-256$',
      salt,
    ]) {
      expect(printed).not.toContain(secret);
    }
    expect(printed).toContain('accounts reloaded');
  });

  it('in unauthenticated mode, --licenses sets the one pool every node shares', {
    timeout: 60_000,
  }, async () => {
    const url = await pg.database('anonymous');
    expect((await cli(['store', 'migrate', '--store', url])).code).toBe(0);
    const a = await node(['--store', url, '--licenses', 'FULL=1']);
    expect(a.log()).toContain('no accounts in PostgreSQL: unauthenticated mode');
    // B names no pool: it serves the one in the database (1 FULL), not the default (4).
    const b = await node(['--store', url]);
    const onB = client(b.address);
    const held = await onB.acquire('FULL');
    expect(await attempt(onB)).toBe(-26);
    expect(await attempt(client(a.address), 'LITE')).toBe(-69); // A's list has no LITE
    // A third node with a bigger list sets the shared pool: B's client gets a second seat.
    await node(['--store', url, '--licenses', 'FULL=2']);
    const second = await pollFor(() => attempt(onB));
    expect(held.state).toBe('held');
    await second.release();
    // Accounts imported while the nodes run: their mode holds until a restart, and they say so.
    const dir = await mkdtemp(join(tmpdir(), 'lv-pg-anonymous-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'license_authentication.conf');
    await writeFile(file, '[dave]\nPASSWORD = Dave-Pw-1\nFULL = 1\n', { mode: 0o600 });
    expect((await cli(['accounts', 'import', file, '--store', url])).stdout).toContain('1 added (dave)');
    await expect
      .poll(() => a.log(), { timeout: 10_000 })
      .toContain('the database now holds 1 account(s): this node stays in unauthenticated mode');
    expect(held.state).toBe('held');
  });
});

/** Polls `get` until it gives a lease (a refusal is a code: try again). */
async function pollFor(get: () => Promise<Lease | number>): Promise<Lease> {
  let last: Lease | number = -1;
  await expect
    .poll(
      async () => {
        last = await get();
        return typeof last;
      },
      { timeout: 10_000, interval: 100 },
    )
    .toBe('object');
  return last as unknown as Lease;
}
