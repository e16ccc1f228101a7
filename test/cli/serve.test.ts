import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseLicenseList, serveOptions } from '../../src/cli/serve.js';
import { rawConnect } from '../helpers/raw-client.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) } };
}

describe('lv-license', () => {
  it('prints usage and exits 2 without a command', async () => {
    const { io, out } = capture();
    expect(await main([], io)).toBe(2);
    expect(out.join('')).toContain('Usage: lv-license <command>');
  });

  it('prints its version with --version', async () => {
    const { io, out } = capture();
    expect(await main(['--version'], io)).toBe(0);
    expect(out.join('')).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on an unknown command', async () => {
    const { io, err } = capture();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(err.join('')).toContain('Unknown command "frobnicate"');
  });
});

describe('lv-license serve', () => {
  it('serves until its signal fires, logging connections and grants', async () => {
    const { io, out } = capture();
    const controller = new AbortController();
    const done = main(['serve', '--port', '0', '--licenses', 'FULL=1'], { ...io, signal: controller.signal });
    await expect.poll(() => out.join('')).toMatch(/listening on 127\.0\.0\.1:\d+/);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out.join(''))?.[1]);
    const client = await rawConnect(port);
    await client.next((f) => f.type === 'greeting');
    await client.request('hello', { version: '1.0' });
    await client.request('acquire', { lease: 'cli-1', feature: 'FULL', count: 1 });
    controller.abort();
    expect(await done).toBe(0);
    const log = out.join('');
    expect(log).toMatch(/connection 1 from 127\.0\.0\.1:\d+/);
    expect(log).toContain('granted FULL x1 lease cli-1');
    expect(log).toContain('stopped');
    client.close();
  });

  it('logs readable lines on a terminal, reopens its event log on SIGHUP, and refuses one it cannot write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lv-serve-events-'));
    try {
      const events = join(dir, 'events.ndjson');
      const { io, out } = capture();
      const controller = new AbortController();
      let reload = () => {};
      const done = main(['serve', '--port', '0', '--licenses', 'FULL=2', '--events', events], {
        ...io,
        isTTY: true,
        signal: controller.signal,
        onReload: (listener) => {
          reload = listener;
          return () => {};
        },
      });
      await expect.poll(() => out.join('')).toMatch(/listening on 127\.0\.0\.1:\d+/);
      expect(out.join('')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z listening on/m); // text, not JSON
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out.join(''))?.[1]);
      const client = await rawConnect(port);
      await client.next((f) => f.type === 'greeting');
      await client.request('hello', { version: '1.0' });
      await client.request('acquire', { lease: 'before', feature: 'FULL', count: 1 });
      await rename(events, `${events}.1`); // logrotate
      reload();
      await expect.poll(() => out.join('')).toContain(`event log ${events} reopened`);
      await client.request('acquire', { lease: 'after', feature: 'FULL', count: 1 });
      controller.abort();
      expect(await done).toBe(0);
      client.close();
      const leases = async (path: string) =>
        (await readFile(path, 'utf8'))
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line).lease)
          .filter(Boolean);
      expect(await leases(`${events}.1`)).toEqual(['before']);
      expect(await leases(events)).toContain('after');
      const refused = capture();
      expect(
        await main(['serve', '--port', '0', '--events', join(dir, 'no', 'such', 'dir')], refused.io),
      ).toBe(1);
      expect(refused.err.join('')).toMatch(/--events .* cannot be written \(ENOENT\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads an accounts file and never logs a password', async () => {
    const { io, out } = capture();
    const controller = new AbortController();
    const file = join(import.meta.dirname, '../fixtures/accounts/license_authentication.conf');
    const done = main(['serve', '--port', '0', '--accounts', file], { ...io, signal: controller.signal });
    await expect.poll(() => out.join('')).toContain('authentication mode');
    controller.abort();
    expect(await done).toBe(0);
    expect(out.join('')).not.toContain('pencil');
  });

  it('exits 1 with the reason when the server cannot start', async () => {
    const { io, err } = capture();
    const status = await main(['serve', '--port', '0', '--accounts', '/nonexistent/accounts.conf'], io);
    expect(status).toBe(1);
    expect(err.join('')).toContain('/nonexistent/accounts.conf');
  });

  it.each([
    [['--port', '70000'], '--port must be a whole number from 0 to 65535'],
    [['--tls-cert', 'x.pem'], '--tls-cert and --tls-key go together'],
    [['--licenses', 'FULL:4'], '--licenses takes TYPE=COUNT pairs'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--accounts', 'a.conf', '--licenses', 'FULL=1'], '--licenses is for unauthenticated mode'],
  ])('rejects %j with a usage error', async (args, message) => {
    const { io, err } = capture();
    expect(await main(['serve', ...args], io)).toBe(2);
    expect(err.join('')).toContain(message);
  });

  it('prints its own help', async () => {
    const { io, out } = capture();
    expect(await main(['serve', '--help'], io)).toBe(0);
    expect(out.join('')).toContain('--tls-request-cert');
  });

  it('takes --max-batch from 0 (batching off) to the protocol limit', async () => {
    expect(await serveOptions(['--max-batch', '0'])).toMatchObject({ maxBatch: 0 });
    expect(await serveOptions(['--max-batch', '256'])).toMatchObject({ maxBatch: 256 });
    expect(await serveOptions([])).not.toHaveProperty('maxBatch');
    await expect(serveOptions(['--max-batch', '257'])).rejects.toThrow(
      '--max-batch must be a whole number from 0 to 256, not "257".',
    );
  });

  it('builds server options from flags', async () => {
    expect(await serveOptions(['--port', '7000', '--host', '0.0.0.0', '--lease-ttl', '5000'])).toEqual({
      port: 7000,
      host: '0.0.0.0',
      leaseTtl: 5000,
      drainTimeout: 5000,
      metricsPerAccount: true,
      events: undefined,
      logFormat: undefined,
      storeUrl: undefined,
      migrate: false,
    });
    expect(await serveOptions([], { LV_LICENSE_STORE: 'postgres://db/x' })).toMatchObject({
      storeUrl: 'postgres://db/x',
    });
    await expect(serveOptions(['--migrate'])).rejects.toThrow('give --store URL too');
    // With a store the accounts are the database's: a file beside it is refused, from the flag or the env.
    await expect(serveOptions(['--store', 'postgres://db/x', '--accounts', '/etc/a.conf'])).rejects.toThrow(
      'lv-license accounts import FILE --store URL',
    );
    await expect(
      serveOptions(['--accounts', '/etc/a.conf'], { LV_LICENSE_STORE: 'postgres://db/x' }),
    ).rejects.toThrow('the accounts live in the database');
    expect(await serveOptions(['--drain-timeout', '250'])).toMatchObject({ drainTimeout: 250 });
    expect(
      await serveOptions(['--metrics-per-account', 'false', '--log-format', 'json', '--events', '/tmp/e']),
    ).toMatchObject({ metricsPerAccount: false, logFormat: 'json', events: '/tmp/e' });
    await expect(serveOptions(['--log-format', 'xml'])).rejects.toThrow('--log-format takes text or json');
    await expect(serveOptions(['--metrics-per-account', 'no'])).rejects.toThrow('true or false');
    expect(parseLicenseList('full=4, LITE=2')).toEqual({ FULL: 4, LITE: 2 });
  });
});
