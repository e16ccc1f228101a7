/**
 * `lv-license serve` as a real process: SIGHUP reloads under load, a bad file is refused, SIGTERM drains
 * the seats to another server, and a second SIGTERM exits at once. Loopback only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseClient } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { rawConnect } from '../helpers/raw-client.js';

const ROOT = join(import.meta.dirname, '../..');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const accountsFile = (full: number, password = 'pw-process-1') =>
  `[ivr]\nPASSWORD = ${password}\nFULL = ${full}\n`;

interface Served {
  readonly child: ChildProcess;
  readonly address: string;
  log(): string;
  exited(): Promise<number | null>;
}

async function serve(args: string[]): Promise<Served> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/index.ts', 'serve', '--port', '0', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await expect.poll(() => /listening on (127\.0\.0\.1:\d+)/.exec(out)?.[1], { timeout: 15_000 }).toBeTruthy();
  const address = /listening on (127\.0\.0\.1:\d+)/.exec(out)?.[1] as string;
  return { child, address, log: () => out, exited: () => exit };
}

async function tempFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lv-serve-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'license_authentication.conf');
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

function clientOf(servers: string): LicenseClient {
  const client = new LicenseClient({
    servers,
    username: 'ivr',
    password: 'pw-process-1',
    requestTimeout: 1_000,
    operationTimeout: 3_000,
    gracePeriod: 60_000,
    licenseCachePeriod: 0,
  });
  cleanups.push(() => client.close());
  return client;
}

describe('lv-license serve, as a process', () => {
  it('reloads on SIGHUP under load: no connection dropped, no lease lost', async () => {
    const path = await tempFile(accountsFile(40));
    const served = await serve(['--accounts', path, '--drain-timeout', '300']);
    const client = clientOf(served.address);
    const trouble: string[] = [];
    client.on('disconnect', () => trouble.push('disconnect'));
    client.on('lease-lost', () => trouble.push('lease-lost'));
    const held = [await client.acquire('FULL'), await client.acquire('FULL')];
    let stop = false;
    let cycles = 0;
    const load = (async () => {
      while (!stop && cycles < 5_000) {
        const lease = await client.acquire('FULL');
        await lease.release();
        cycles += 1;
      }
    })();
    for (const full of [50, 40, 60, 40, 45]) {
      await writeFile(path, accountsFile(full));
      served.child.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    stop = true;
    await load;
    expect(cycles).toBeGreaterThan(10);
    expect(trouble).toEqual([]);
    expect(held.map((l) => l.state)).toEqual(['held', 'held']);
    expect((served.log().match(/accounts reloaded/g) ?? []).length).toBeGreaterThanOrEqual(5);
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('keeps the accounts in force when the edited file does not load, and says why', async () => {
    const path = await tempFile(accountsFile(4));
    const served = await serve(['--accounts', path, '--drain-timeout', '300']);
    await writeFile(path, '[ivr]\nFULL = 4\n');
    served.child.kill('SIGHUP');
    await expect.poll(() => served.log(), { timeout: 5_000 }).toContain('the accounts file was not applied');
    expect(served.log()).not.toContain('pw-process-1');
    const client = clientOf(served.address);
    expect((await client.acquire('FULL')).state).toBe('held');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('drains on SIGTERM: the seats move to the other server, and it exits 0', async () => {
    const path = await tempFile(accountsFile(4));
    const served = await serve(['--accounts', path, '--drain-timeout', '1000']);
    const other = await FakeLicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      accounts: { ivr: { password: 'pw-process-1', licenses: { FULL: 4 } } },
    });
    cleanups.push(() => other.close());
    const client = clientOf(`${served.address};${other.address}`);
    const lost: string[] = [];
    client.on('lease-lost', ({ lease }) => lost.push(lease.id));
    const ports = [await client.openPort(), await client.openPort()];
    expect(ports.map((p) => p.lease?.server)).toEqual([served.address, served.address]);
    served.child.kill('SIGTERM');
    await expect.poll(() => other.inUse('FULL', 'ivr'), { timeout: 5_000 }).toBe(2);
    expect(await served.exited()).toBe(0);
    expect(ports.map((p) => p.lease?.server)).toEqual([other.address, other.address]);
    expect(lost).toEqual([]);
    expect(served.log()).toContain('draining');
  });

  it('re-reads the admin tokens on SIGHUP: the new one works, the old one no longer does', async () => {
    const path = await tempFile(accountsFile(4));
    const tokens = join(path, '..', 'tokens');
    await writeFile(tokens, 'admin old-admin-token-0123456789\n', { mode: 0o600 });
    const served = await serve([
      '--accounts',
      path,
      '--drain-timeout',
      '300',
      '--admin',
      '127.0.0.1:0',
      '--admin-token-file',
      tokens,
    ]);
    await expect.poll(() => /admin API on (http:\/\/127\.0\.0\.1:\d+)/.exec(served.log())?.[1]).toBeTruthy();
    const url = /admin API on (http:\/\/127\.0\.0\.1:\d+)/.exec(served.log())?.[1] as string;
    const statusWith = (token: string) =>
      fetch(`${url}/pools`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await statusWith('old-admin-token-0123456789')).toBe(200);
    await writeFile(tokens, 'admin new-admin-token-0123456789\n', { mode: 0o600 });
    served.child.kill('SIGHUP');
    await expect.poll(() => served.log(), { timeout: 5_000 }).toContain('admin tokens reloaded');
    expect(await statusWith('new-admin-token-0123456789')).toBe(200);
    expect(await statusWith('old-admin-token-0123456789')).toBe(401);
    expect(served.log()).not.toContain('admin-token-0123456789');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('--max-batch 0 serves protocol 1.1 without batches, and a client works against it one frame per call', async () => {
    const path = await tempFile(accountsFile(4));
    const served = await serve(['--accounts', path, '--max-batch', '0']);
    const raw = await rawConnect(Number(served.address.split(':')[1]));
    cleanups.push(() => raw.close());
    const greeting = await raw.next((f) => f.type === 'greeting');
    expect(greeting.version).toBe('1.1');
    const hello = await raw.request('hello', { version: '1.2' });
    expect(hello.ok).toBe(true);
    expect(hello.result).not.toHaveProperty('batch');
    const client = clientOf(served.address);
    const leases = await Promise.all([
      client.acquire('FULL'),
      client.acquire('FULL'),
      client.acquire('FULL'),
    ]);
    await Promise.all(leases.map((lease) => lease.release()));
    expect(client.status().servers[0]?.state).toBe('up');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('a second SIGTERM exits at once', async () => {
    const path = await tempFile(accountsFile(4));
    const served = await serve(['--accounts', path, '--drain-timeout', '60000']);
    // A client that never leaves: the drain would wait its whole 60 s for it.
    const stubborn = await rawConnect(Number(served.address.split(':')[1]));
    cleanups.push(() => stubborn.close());
    await stubborn.next((f) => f.type === 'greeting');
    const started = Date.now();
    served.child.kill('SIGTERM');
    await expect.poll(() => served.log()).toContain('draining');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
