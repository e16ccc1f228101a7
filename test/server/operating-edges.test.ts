/**
 * What an outside attack on the server's operation found: admin changes that a reload undid, edits of
 * the accounts file racing each other, a draining server serving its queue, files that changed owner or
 * lost their symbolic link, loose admin input, and unclear messages. Real sockets and files.
 */
import { chown, lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { LicenseClient } from '../../src/index.js';
import { editAccountsFile, LicenseServer, loadAdminTokens, startAdmin } from '../../src/server/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';

const ADMIN = 'admin-token-edges-0123456789';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lv-ops-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function clientOf(servers: string, username: string, password: string, extra = {}): LicenseClient {
  const client = new LicenseClient({
    servers,
    username,
    password,
    licenseCachePeriod: 0,
    gracePeriod: 60_000,
    ...extra,
  });
  cleanups.push(() => client.close());
  return client;
}

describe('admin changes and reloads', () => {
  it('a pool size set through the admin API is written to the accounts file, so a reload keeps it', async () => {
    const dir = await tempDir();
    const accounts = join(dir, 'license_authentication.conf');
    await writeFile(
      accounts,
      '[node1]\nPASSWORD = pw-node-1\nFULL = 4\n[node2]\nPASSWORD = pw-node-2\nFULL = 1\n',
      {
        mode: 0o600,
      },
    );
    await writeFile(join(dir, 'tokens'), `admin ${ADMIN}\n`, { mode: 0o600 });
    const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts });
    cleanups.push(() => server.close());
    const admin = await startAdmin(server, { port: 0, tokens: await loadAdminTokens(join(dir, 'tokens')) });
    cleanups.push(() => admin.close());
    const put = await fetch(`${admin.url}/pools/node1/FULL`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ total: 6 }),
    });
    expect(put.status).toBe(200);
    expect(await readFile(accounts, 'utf8')).toContain('FULL = 6');
    const client = clientOf(server.address, 'node1', 'pw-node-1');
    const lost: string[] = [];
    client.on('lease-lost', ({ lease }) => lost.push(lease.id));
    for (let i = 0; i < 6; i++) await client.acquire('FULL');
    // An edit of another account reloads the file: node1 keeps its 6 seats.
    await editAccountsFile(accounts, (all) => {
      all.node2 = { ...(all.node2 as NonNullable<typeof all.node2>), licenses: { FULL: 2 } };
    });
    await server.reload();
    expect((await server.pools()).find((p) => p.account === 'node1')).toMatchObject({ total: 6, inUse: 6 });
    expect(lost).toEqual([]);
  });

  it('refuses loose input: a drain timeout that is not a number, an absurd pool size', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'tokens'), `admin ${ADMIN}\n`, { mode: 0o600 });
    const server = await LicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      accounts: { a: { password: 'pw-a-1', licenses: { FULL: 1 } } },
    });
    cleanups.push(() => server.close());
    const admin = await startAdmin(server, { port: 0, tokens: await loadAdminTokens(join(dir, 'tokens')) });
    cleanups.push(() => admin.close());
    const call = (method: string, path: string, body?: object) =>
      fetch(`${admin.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then((r) => r.status);
    expect(await call('POST', '/drain?timeout=abc')).toBe(400);
    expect(server.draining).toBe(false);
    expect(await call('PUT', '/pools/a/FULL', { total: 99_999_999_999 })).toBe(400);
    // One account: a revoke needs no ?account=.
    expect(await call('POST', '/leases/nothing/revoke')).toBe(404);
  });
});

describe('a draining server', () => {
  it('refuses the acquires waiting in its queue and grants nothing more', async () => {
    const accounts = { node1: { password: 'pw-drain-1', licenses: { FULL: 1 } } };
    const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts, leaseTtl: 600 });
    cleanups.push(() => server.close());
    const client = clientOf(server.address, 'node1', 'pw-drain-1');
    await client.acquire('FULL');
    const waiting = client.acquire('FULL', { wait: 10_000 }).catch((e: unknown) => e);
    await expect.poll(async () => (await server.pools())[0]?.queued).toBe(1);
    const draining = server.drain({ timeout: 1_500 });
    expect(await waiting).toMatchObject({ code: -22 });
    await draining;
    expect(await server.leases()).toEqual([]);
  });
});

describe('editing the accounts file', () => {
  it('twelve edits at once all land', async () => {
    const file = join(await tempDir(), 'license_authentication.conf');
    const io = { stdout: () => {}, stderr: () => {}, readSecret: async () => 'pw-race-1' };
    const codes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        main(['accounts', 'add', `race${i}`, '--accounts', file, '--licenses', 'FULL=1'], io),
      ),
    );
    expect(codes).toEqual(Array(12).fill(0));
    const text = await readFile(file, 'utf8');
    expect(text.match(/^\[race\d+\]$/gm)).toHaveLength(12);
  });

  it('keeps the file behind a symbolic link, and the link', async () => {
    const dir = await tempDir();
    const real = join(dir, 'real.conf');
    const link = join(dir, 'license_authentication.conf');
    await writeFile(real, '[a]\nPASSWORD = pw-link-1\nFULL = 1\n', { mode: 0o600 });
    await symlink(real, link);
    await editAccountsFile(link, (all) => {
      all.a = { ...(all.a as NonNullable<typeof all.a>), licenses: { FULL: 3 } };
    });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, 'utf8')).toContain('FULL = 3');
  });

  it.skipIf(process.getuid?.() !== 0)(
    "keeps the owner of the file (an administrator edits the server user's file)",
    async () => {
      const file = join(await tempDir(), 'license_authentication.conf');
      await writeFile(file, '[a]\nPASSWORD = pw-own-1\nFULL = 1\n', { mode: 0o600 });
      await chown(file, 65_534, 65_534);
      await editAccountsFile(file, (all) => {
        all.a = { ...(all.a as NonNullable<typeof all.a>), licenses: { FULL: 2 } };
      });
      const after = await stat(file);
      expect([after.uid, after.gid, after.mode & 0o777]).toEqual([65_534, 65_534, 0o600]);
    },
  );

  it('a usage error prints the accounts usage, and a bad name is refused', async () => {
    const err: string[] = [];
    const io = { stdout: () => {}, stderr: (t: string) => err.push(t), readSecret: async () => 'pw' };
    expect(await main(['accounts', 'add', ' sp ', '--accounts', '/tmp/never-written.conf'], io)).toBe(2);
    expect(err.join('')).toContain('has blanks around it');
    expect(err.join('')).toContain('Usage: lv-license accounts');
  });
});

describe('messages', () => {
  it('lv-license admin against nothing says so and exits 1', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'tokens'), `${ADMIN}\n`, { mode: 0o600 });
    const err: string[] = [];
    const io = { stdout: () => {}, stderr: (t: string) => err.push(t) };
    expect(
      await main(['admin', 'pools', '--url', 'http://127.0.0.1:9', '--token-file', join(dir, 'tokens')], io),
    ).toBe(1);
    expect(err.join('')).toContain('no answer from http://127.0.0.1:9');
  });

  it('a revoked lease with nowhere to go says that no other server is configured', async () => {
    const server = await FakeLicenseServer.start({ port: 0, host: '127.0.0.1', licenses: { FULL: 2 } });
    cleanups.push(() => server.close());
    const client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
    cleanups.push(() => client.close());
    const messages: string[] = [];
    client.on('lease-lost', ({ error }) => messages.push(error.message));
    await client.acquire('FULL');
    await client.acquire('FULL');
    await server.setLicenses('FULL', 1);
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]).toContain('No other license server is configured');
    expect(messages[0]).not.toContain('(migrate: )');
  });
});
