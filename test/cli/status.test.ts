import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { tempDir } from '../doctor/support.js';
import { closedPort, rawConnect } from '../helpers/raw-client.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, isTTY: false };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('lv-license status', () => {
  it('shows each server, reachable or not, and total / in use / queued / free per type', async () => {
    await using server = await FakeLicenseServer.start({ licenses: { FULL: 3, LITE: 1 } });
    const holder = await rawConnect(server.port);
    await holder.next((f) => f.type === 'greeting');
    await holder.request('hello', { version: '1.0' });
    await holder.request('acquire', { lease: 'held', feature: 'FULL', count: 2 });
    const down = await closedPort();
    const config = tmp.write('c.conf', `LICENSE_SERVERS = ${server.address};127.0.0.1:${down}\n`);
    try {
      const { io, stdout } = capture();
      expect(await main(['status', '--config', config], io)).toBe(0);
      const text = stdout()
        .replaceAll(String(server.port), '<server>')
        .replaceAll(String(down), '<closed>')
        .replaceAll(tmp.dir, '<dir>')
        .replace(/ping \d+(\.\d+)? ms/, 'ping <n> ms');
      expect(text).toBe(
        [
          'lv-license status: <dir>/c.conf (LICENSE_TYPE Auto)',
          '',
          'UP  127.0.0.1:<server>: lv-license-client-fake/0.1.0, unauthenticated, ping <n> ms',
          '    TYPE     TOTAL  IN USE  QUEUED  FREE',
          '    FULL         3       2       0     1',
          '    LITE         1       0       0     1',
          'DOWN  127.0.0.1:<closed>: Connection refused: nothing is listening on port <closed> of 127.0.0.1.',
          '',
        ].join('\n'),
      );

      const json = capture();
      expect(await main(['status', '--config', config, '--json'], json.io)).toBe(0);
      const report = JSON.parse(json.stdout());
      expect(report).toMatchObject({
        version: 1,
        tool: 'lv-license status',
        library: '0.1.0',
        config: { path: config },
        licenseType: 'Auto',
        servers: [
          {
            server: server.address,
            reachable: true,
            answered: true,
            software: 'lv-license-client-fake/0.1.0',
            features: {
              FULL: { total: 3, inUse: 2, queued: 0, free: 1 },
              LITE: { total: 1, inUse: 0, queued: 0, free: 1 },
            },
            rttMs: expect.any(Number),
          },
          {
            server: `127.0.0.1:${down}`,
            reachable: false,
            answered: false,
            error: expect.stringContaining('refused'),
          },
        ],
      });
    } finally {
      holder.close();
    }
  });

  it('exits 1 when no server answered', async () => {
    await using server = await FakeLicenseServer.start({
      accounts: { a: { password: 'pw-a-123', licenses: { FULL: 1 } } },
    });
    const config = tmp.write('c.conf', `LICENSE_SERVERS = ${server.address}\n`);
    const { io, stdout } = capture();
    expect(await main(['status', '--config', config], io)).toBe(1);
    expect(stdout()).toContain(`NO ANSWER  ${server.address}: Authentication mode mismatch`);
  });

  it('exits 1 with the reason when the configuration does not load', async () => {
    const { io, stderr } = capture();
    expect(await main(['status', '--config', join(tmp.dir, 'missing.conf')], io)).toBe(1);
    expect(stderr()).toContain('No client_property.conf found');
    expect(stderr()).toContain('lv-license doctor');
    // With --json, a script still gets a JSON document.
    const json = capture();
    expect(await main(['status', '--config', join(tmp.dir, 'missing.conf'), '--json'], json.io)).toBe(1);
    expect(JSON.parse(json.stdout())).toMatchObject({
      error: { code: -11, message: expect.stringContaining('No client_property.conf') },
    });
  });

  it('exits 2 on a usage error', async () => {
    const { io, stderr } = capture();
    expect(await main(['status', '--verbose'], io)).toBe(2);
    expect(stderr()).toContain("Unknown option '--verbose'");
  });
});

describe('lv-license status with settings from the environment', () => {
  it('asks the servers LV_LICENSE_SERVERS names, with LV_AUTHENTICATION_*, over the file or with none', async () => {
    const password = 'Status-Env-Pw-Canary-4Hs1';
    await using server = await FakeLicenseServer.start({
      accounts: { ivr: { password, licenses: { FULL: 2 } } },
    });
    const env = {
      LV_CLIENT_PROPERTY_CONF: join(tmp.dir, 'missing.conf'),
      LV_LICENSE_SERVERS: server.address,
      LV_AUTHENTICATION_USERNAME: 'ivr',
      LV_AUTHENTICATION_PASSWORD: password,
    };
    const none = capture();
    expect(await main(['status', '--json'], { ...none.io, env })).toBe(0);
    expect(JSON.parse(none.stdout())).toMatchObject({
      config: { path: null },
      servers: [{ server: server.address, answered: true, account: 'ivr', features: { FULL: { free: 2 } } }],
    });

    // A file naming a dead server: the environment's server is asked instead, as a client would use it.
    const config = tmp.write('c.conf', `LICENSE_SERVERS = 127.0.0.1:${await closedPort()}\n`);
    const over = capture();
    expect(await main(['status', '--config', config], { ...over.io, env })).toBe(0);
    expect(over.stdout()).toContain(`UP  ${server.address}: lv-license-client-fake/0.1.0, account "ivr"`);
    expect(over.stdout()).not.toContain('DOWN');
    expect(none.stdout() + over.stdout() + over.stderr()).not.toContain(password);
  });
});
