/**
 * The doctor with container settings (LV_LICENSE_SERVERS, LV_AUTHENTICATION_*): it checks the values a
 * client would use, says where each came from, and never shows a password.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSupportBundle, type DoctorReport, describeSettingSource, runDoctor } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { closedPort } from '../helpers/raw-client.js';
import { findingOf, findingsOf, tempDir } from './support.js';

const FILE_PASSWORD = 'File-Pw-Canary-8kQ2';
const ENV_PASSWORD = 'Env-Pw-Canary-3vXw';
const TIMEOUT = 500;

let tmp: ReturnType<typeof tempDir>;
let down: number;
beforeEach(async () => {
  tmp = tempDir();
  down = await closedPort();
});
afterEach(() => tmp.cleanup());

const setting = (report: DoctorReport, key: string) => report.config.settings.find((s) => s.key === key);

/** Neither password, in any form a report or bundle could carry it. */
function expectNoPassword(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of [FILE_PASSWORD, ENV_PASSWORD]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString('base64'));
  }
}

describe('runDoctor: where each value comes from', () => {
  it('names the file and line of each value, and the default of the others', async () => {
    const config = tmp.write(
      'client_property.conf',
      [
        '[GLOBAL]',
        `LICENSE_SERVERS = 127.0.0.1:${down}`,
        'LICENSE_CACHE_PERIOD = default',
        '[SRE]',
        'LICENSE_TYPE = VoxLite',
        '[AUTHENTICATION]',
        'AUTHENTICATION_USERNAME = ivr',
        `AUTHENTICATION_PASSWORD = ${FILE_PASSWORD}`,
        '',
      ].join('\n'),
    );
    const report = await runDoctor({ config, env: {}, timeout: TIMEOUT });
    expect(report.config.settings).toEqual([
      {
        key: 'LICENSE_SERVERS',
        value: `127.0.0.1:${down}`,
        source: { kind: 'file', path: config, line: 2 },
      },
      { key: 'LICENSE_CACHE_PERIOD', value: '30', source: { kind: 'default' } },
      { key: 'LICENSE_TYPE', value: 'VoxLite', source: { kind: 'file', path: config, line: 5 } },
      { key: 'DELAYED_LICENSE_ACQUISITION', value: '0', source: { kind: 'default' } },
      { key: 'AUTHENTICATION_USERNAME', value: 'ivr', source: { kind: 'file', path: config, line: 7 } },
      {
        key: 'AUTHENTICATION_PASSWORD',
        value: '[redacted]',
        source: { kind: 'file', path: config, line: 8 },
      },
    ]);
    expectNoPassword(report);
  });

  it('checks the servers and password the environment sets over the file, naming the variables (never the password)', async () => {
    await using server = await FakeLicenseServer.start({
      accounts: { ivr: { password: ENV_PASSWORD, licenses: { FULL: 1 } } },
    });
    // The file names a dead server and a password the server does not know: only the environment works.
    const config = tmp.write(
      'client_property.conf',
      `LICENSE_SERVERS = 127.0.0.1:${down}\n[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${FILE_PASSWORD}\n`,
    );
    const secret = tmp.write('password', `${ENV_PASSWORD}\n`);
    const report = await runDoctor({
      config,
      env: { LV_LICENSE_SERVERS: server.address, LV_AUTHENTICATION_PASSWORD_FILE: secret },
      timeout: TIMEOUT,
    });

    expect(setting(report, 'LICENSE_SERVERS')).toEqual({
      key: 'LICENSE_SERVERS',
      value: server.address,
      source: { kind: 'env', variable: 'LV_LICENSE_SERVERS' },
    });
    expect(setting(report, 'AUTHENTICATION_USERNAME')?.source).toEqual({
      kind: 'file',
      path: config,
      line: 3,
    });
    expect(setting(report, 'AUTHENTICATION_PASSWORD')).toEqual({
      key: 'AUTHENTICATION_PASSWORD',
      value: '[redacted]',
      source: { kind: 'env', variable: 'LV_AUTHENTICATION_PASSWORD_FILE', file: secret },
    });
    expect(findingOf(report, 'servers.list').detail).toContain('from LV_LICENSE_SERVERS');
    expect(findingOf(report, 'auth.pair').detail).toContain(
      `from LV_AUTHENTICATION_PASSWORD_FILE (${secret})`,
    );
    // The probe used the environment's server and password: the seat is seen, the verdict is yes.
    expect(findingOf(report, 'server.auth')).toMatchObject({ status: 'pass', server: server.address });
    expect(report.verdict).toMatchObject({ ok: true, server: server.address });
    expectNoPassword(report);
    expectNoPassword(await createSupportBundle(report));
  });

  it('points the fixes of a failed server at the variables that set its address and credentials', async () => {
    await using server = await FakeLicenseServer.start({
      accounts: { ivr: { password: 'the-right-one', licenses: { FULL: 1 } } },
    });
    const config = tmp.write('client_property.conf', `LICENSE_SERVERS = 127.0.0.1:${down}\n`);
    const report = await runDoctor({
      config,
      env: {
        LV_LICENSE_SERVERS: `${server.address};127.0.0.1:${down}`,
        LV_AUTHENTICATION_USERNAME: 'ivr',
        LV_AUTHENTICATION_PASSWORD: ENV_PASSWORD,
      },
      timeout: TIMEOUT,
    });
    expect(findingOf(report, 'server.auth', server.address)).toMatchObject({ status: 'fail' });
    expect(findingOf(report, 'server.auth', server.address).fix).toContain(
      'Here the username comes from LV_AUTHENTICATION_USERNAME and the password from LV_AUTHENTICATION_PASSWORD.',
    );
    const tcp = findingsOf(report, 'server.tcp').find((f) => f.status === 'fail');
    expect(tcp?.fix).toContain('Check the host and port in LV_LICENSE_SERVERS,');
    // The file has no credentials, but the client authenticates: no line may say it does not.
    expect(findingOf(report, 'auth.section').detail).toBe(
      'No credentials in the file: they come from the environment (LV_AUTHENTICATION_*).',
    );
    expect(findingOf(report, 'config.parse').detail).toContain(', no credentials.');
    expect(JSON.stringify(report)).not.toContain('without authentication');
    expectNoPassword(report);
  });

  it('stands in for a missing file, as LicenseClient.fromConfigFile() does', async () => {
    await using server = await FakeLicenseServer.start({
      accounts: { ivr: { password: ENV_PASSWORD, licenses: { LITE: 1 } } },
    });
    const report = await runDoctor({
      env: {
        LV_CLIENT_PROPERTY_CONF: join(tmp.dir, 'missing.conf'),
        LV_LICENSE_SERVERS: server.address,
        LV_AUTHENTICATION_USERNAME: 'ivr',
        LV_AUTHENTICATION_PASSWORD: ENV_PASSWORD,
      },
      timeout: TIMEOUT,
    });
    expect(findingOf(report, 'config.file').status).toBe('pass');
    expect(report.config.path).toBeNull();
    expect(report.config.settings.map((s) => [s.key, describeSettingSource(s.source)])).toEqual([
      ['LICENSE_SERVERS', 'LV_LICENSE_SERVERS'],
      ['LICENSE_CACHE_PERIOD', 'default'],
      ['LICENSE_TYPE', 'default'],
      ['DELAYED_LICENSE_ACQUISITION', 'default'],
      ['AUTHENTICATION_USERNAME', 'LV_AUTHENTICATION_USERNAME'],
      ['AUTHENTICATION_PASSWORD', 'LV_AUTHENTICATION_PASSWORD'],
    ]);
    expect(report.findings.filter((f) => f.status === 'fail')).toEqual([]);
    expect(report.verdict).toMatchObject({ ok: true, server: server.address, feature: 'LITE' });
    expectNoPassword(report);
  });

  it('fails a password with no username, and a variable that does not read, without showing the password', async () => {
    const config = tmp.write('client_property.conf', `LICENSE_SERVERS = 127.0.0.1:${down}\n`);
    const half = await runDoctor({
      config,
      env: { LV_AUTHENTICATION_PASSWORD: ENV_PASSWORD },
      timeout: TIMEOUT,
    });
    expect(findingOf(half, 'auth.pair')).toMatchObject({ status: 'fail' });
    expect(findingOf(half, 'auth.pair').detail).toContain('no username');
    expect(setting(half, 'AUTHENTICATION_USERNAME')).toMatchObject({
      value: null,
      source: { kind: 'default' },
    });
    expectNoPassword(half);

    // The password pasted as the server list: refused, and named by neither the finding nor the settings.
    const pasted = await runDoctor({
      config,
      env: { LV_LICENSE_SERVERS: `${ENV_PASSWORD}:99999`, LV_AUTHENTICATION_PASSWORD: ENV_PASSWORD },
      timeout: TIMEOUT,
    });
    expect(findingOf(pasted, 'config.environment')).toMatchObject({ status: 'fail' });
    expect(findingOf(pasted, 'config.environment').detail).toContain('LV_LICENSE_SERVERS');
    // One that passes for a host name is refused too, rather than dialed and named in network errors.
    const asHost = await runDoctor({
      config,
      env: { LV_LICENSE_SERVERS: `10.0.0.1;${ENV_PASSWORD}`, LV_AUTHENTICATION_PASSWORD: ENV_PASSWORD },
      timeout: TIMEOUT,
    });
    expect(findingOf(asHost, 'config.environment').detail).toContain('an entry that is the password');
    expect(findingsOf(asHost, 'server.tcp').map((f) => f.server)).toEqual([`127.0.0.1:${down}`]);
    expectNoPassword(asHost);
    expect(pasted.verdict.ok).toBe(false);
    expectNoPassword(pasted);
  });
});
