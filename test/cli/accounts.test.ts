/**
 * `lv-license accounts`: edits the accounts file atomically with mode 0600, writes verifiers and never a
 * plaintext password, never shows a secret; a running server picks the changes up. Real sockets.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { LicenseClient } from '../../src/index.js';
import { LicenseServer, parseAccountsFile } from '../../src/server/index.js';

const ROOT = join(import.meta.dirname, '../..');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lv-accounts-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function cli(password = '') {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: (t: string) => out.push(t),
    stderr: (t: string) => err.push(t),
    readSecret: async () => password,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

async function login(server: LicenseServer, username: string, password: string) {
  const client = new LicenseClient({ servers: server.address, username, password, licenseCachePeriod: 0 });
  cleanups.push(() => client.close());
  return client.acquire('FULL');
}

describe('lv-license accounts', () => {
  it('add writes a verifier with mode 0600, never the password, and the account logs in with it', async () => {
    const file = join(await tempDir(), 'license_authentication.conf');
    const { io, out } = cli('Pw-Added-Account-7');
    expect(
      await main(['accounts', 'add', 'alice', '--accounts', file, '--licenses', 'FULL=2,TTS=1'], io),
    ).toBe(0);
    expect(out()).toContain('added account alice');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('Pw-Added-Account-7');
    expect(text).toMatch(/VERIFIER = SCRAM-SHA-256\$4096:/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(parseAccountsFile(text).alice?.licenses).toEqual({ FULL: 2, TTS: 1 });
    const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts: file });
    cleanups.push(() => server.close());
    expect((await login(server, 'alice', 'Pw-Added-Account-7')).state).toBe('held');
  });

  it('passwd replaces the verifier: after a reload the old password is refused, the new one works', async () => {
    const file = join(await tempDir(), 'license_authentication.conf');
    await main(
      ['accounts', 'add', 'alice', '--accounts', file, '--licenses', 'FULL=4'],
      cli('old-password-1').io,
    );
    const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts: file });
    cleanups.push(() => server.close());
    expect(await main(['accounts', 'passwd', 'alice', '--accounts', file], cli('new-password-2').io)).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('new-password-2');
    await server.reload();
    await expect(login(server, 'alice', 'old-password-1')).rejects.toMatchObject({ code: -34 });
    expect((await login(server, 'alice', 'new-password-2')).state).toBe('held');
  });

  it('set, cancel and disable; list shows each account without a secret; untouched sections keep their text', async () => {
    const file = join(await tempDir(), 'license_authentication.conf');
    await writeFile(
      file,
      '# our accounts\n[keep]\n; a comment that stays\nPASSWORD = keep-secret-1\nFULL = 1\n',
      {
        mode: 0o600,
      },
    );
    await main(
      ['accounts', 'add', 'alice', '--accounts', file, '--licenses', 'FULL=2'],
      cli('pw-alice-1').io,
    );
    await main(['accounts', 'add', 'bob', '--accounts', file], cli('pw-bob-1').io);
    expect(
      await main(
        ['accounts', 'set', 'alice', '--accounts', file, '--licenses', 'FULL=6', '--renews-on', '10'],
        cli().io,
      ),
    ).toBe(0);
    expect(
      await main(['accounts', 'cancel', 'alice', '--accounts', file, '--on', '2026-11-03'], cli().io),
    ).toBe(0);
    expect(await main(['accounts', 'disable', 'bob', '--accounts', file], cli().io)).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# our accounts\n[keep]\n; a comment that stays\nPASSWORD = keep-secret-1');
    const listed = cli();
    expect(await main(['accounts', 'list', '--accounts', file], listed.io)).toBe(0);
    expect(listed.out()).toContain('alice\tFULL=6\t10\t2026-11-10\tcancelled');
    expect(listed.out()).toContain('bob\t-\t25\t-\tdisabled');
    expect(listed.out()).toContain('keep\tFULL=1\t25\t-\tactive');
    expect(listed.out()).not.toMatch(/keep-secret-1|SCRAM-SHA-256|pw-alice|pw-bob/);
    const json = cli();
    await main(['accounts', 'list', '--accounts', file, '--json'], json.io);
    expect(JSON.parse(json.out()).accounts).toHaveLength(3);
    expect(json.out()).not.toMatch(/keep-secret-1|SCRAM-SHA-256/);
  });

  it('a section the command changes never keeps a plaintext password: it becomes a verifier that still logs in', async () => {
    const file = join(await tempDir(), 'license_authentication.conf');
    await writeFile(file, '[plain]\nPASSWORD = plain-secret-42\nFULL = 1\n', { mode: 0o600 });
    expect(
      await main(['accounts', 'set', 'plain', '--accounts', file, '--licenses', 'FULL=3'], cli().io),
    ).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('plain-secret-42');
    expect(text).toMatch(/VERIFIER = SCRAM-SHA-256\$/);
    const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts: file });
    cleanups.push(() => server.close());
    expect((await login(server, 'plain', 'plain-secret-42')).state).toBe('held');
  });

  it('a disabled account is refused at its next login and its connections are closed at the reload', async () => {
    const file = join(await tempDir(), 'license_authentication.conf');
    await main(
      ['accounts', 'add', 'alice', '--accounts', file, '--licenses', 'FULL=2'],
      cli('pw-alice-2').io,
    );
    const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts: file });
    cleanups.push(() => server.close());
    const lease = await login(server, 'alice', 'pw-alice-2');
    await main(['accounts', 'disable', 'alice', '--accounts', file], cli().io);
    await server.reload();
    await expect.poll(() => lease.state).toBe('lost');
    expect(await server.inUse('FULL', 'alice')).toBe(0);
    await expect(login(server, 'alice', 'pw-alice-2')).rejects.toMatchObject({ code: -34 });
  });

  it('refuses what makes no sense, without touching the file', async () => {
    const file = join(await tempDir(), 'license_authentication.conf');
    await main(['accounts', 'add', 'alice', '--accounts', file], cli('pw-alice-3').io);
    const before = await readFile(file, 'utf8');
    const { io, err } = cli('pw');
    expect(await main(['accounts', 'add', 'alice', '--accounts', file], io)).toBe(2);
    expect(err()).toContain('exists already');
    expect(await main(['accounts', 'set', 'nobody', '--accounts', file], cli().io)).toBe(2);
    expect(await main(['accounts', 'set', 'alice', '--accounts', file, '--renews-on', '99'], cli().io)).toBe(
      2,
    );
    expect(await readFile(file, 'utf8')).toBe(before);
    // A file and a database at once, an import with no database, an import of nothing: usage errors.
    const url = 'postgres://lv:Db-Pw-Not-Shown@127.0.0.1:1/db';
    const both = cli();
    expect(await main(['accounts', 'list', '--accounts', file, '--store', url], both.io)).toBe(2);
    expect(both.err()).toContain('not both');
    const noStore = cli();
    expect(await main(['accounts', 'import', file, '--accounts', file], noStore.io)).toBe(2);
    expect(noStore.err()).toContain('give --store URL');
    expect(await main(['accounts', 'import', '--store', url], cli().io)).toBe(2);
    // A database that cannot be reached: exit 1, and the URL's password is not shown.
    const away = cli();
    expect(await main(['accounts', 'list', '--store', url], away.io)).toBe(1);
    expect(away.err()).toContain('127.0.0.1:1/db');
    expect(away.err()).not.toContain('Db-Pw-Not-Shown');
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('reads the password from standard input when run as a process', () => {
    return (async () => {
      const file = join(await tempDir(), 'license_authentication.conf');
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/index.ts',
          'accounts',
          'add',
          'carol',
          '--accounts',
          file,
          '--licenses',
          'FULL=1',
        ],
        { cwd: ROOT, input: 'Piped-Password-9\n', encoding: 'utf8', timeout: 30_000 },
      );
      expect(run.status).toBe(0);
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain('Piped-Password-9');
      expect(text).toContain('[carol]');
      expect(run.stdout + run.stderr).not.toContain('Piped-Password-9');
    })();
  });
});
