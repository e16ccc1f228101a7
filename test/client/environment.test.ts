/**
 * LV_LICENSE_SERVERS, LV_AUTHENTICATION_USERNAME and LV_AUTHENTICATION_PASSWORD(_FILE): settings for
 * containers, over a real fake server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { optionsFromEnvironment } from '../../src/client/environment.js';
import { ConfigError, LicenseClient } from '../../src/index.js';
import { startServer, track } from '../helpers/cluster.js';
import { closedPort } from '../helpers/raw-client.js';

const dirs: string[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lv-env-'));
  dirs.push(dir);
  return dir;
}

const PASSWORD = 'env-secret-pw-41';

describe('settings from the environment', () => {
  it('reads the servers, the username and the password, or the first line of a password file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'password');
    await writeFile(file, `${PASSWORD}\n`);
    expect(
      optionsFromEnvironment({
        LV_LICENSE_SERVERS: '10.0.0.1;10.0.0.2:7600',
        LV_AUTHENTICATION_USERNAME: 'ivr',
        LV_AUTHENTICATION_PASSWORD_FILE: file,
      }),
    ).toEqual({
      servers: [
        { host: '10.0.0.1', port: 7569, tls: false },
        { host: '10.0.0.2', port: 7600, tls: false },
      ],
      username: 'ivr',
      password: PASSWORD,
    });
    expect(optionsFromEnvironment({})).toEqual({});
  });

  it('refuses a password and a password file at once, a file it cannot read, and a bad server list', () => {
    expect(() =>
      optionsFromEnvironment({ LV_AUTHENTICATION_PASSWORD: PASSWORD, LV_AUTHENTICATION_PASSWORD_FILE: '/x' }),
    ).toThrow(ConfigError);
    const missing = (() => {
      try {
        optionsFromEnvironment({ LV_AUTHENTICATION_PASSWORD_FILE: '/nonexistent/secret' });
      } catch (err) {
        return err as Error;
      }
    })();
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing?.message).toContain('/nonexistent/secret');
    expect(() => optionsFromEnvironment({ LV_LICENSE_SERVERS: '10.0.0.1:99999' })).toThrow(
      /LV_LICENSE_SERVERS/,
    );
    // The password pasted into the server list passes for a host name: refused, and not named.
    const pasted = (() => {
      try {
        optionsFromEnvironment({
          LV_LICENSE_SERVERS: `10.0.0.1;${PASSWORD}`,
          LV_AUTHENTICATION_PASSWORD: PASSWORD,
        });
      } catch (err) {
        return err as Error;
      }
    })();
    expect(pasted).toBeInstanceOf(ConfigError);
    expect(pasted?.message).toContain('LV_LICENSE_SERVERS has an entry that is the password');
    expect(pasted?.message).not.toContain(PASSWORD);
  });

  it('stands in for a missing client_property.conf, and wins over one that exists', async () => {
    const server = await startServer({ accounts: { ivr: { password: PASSWORD, licenses: { FULL: 1 } } } });
    const dir = await tempDir();
    const secret = join(dir, 'password');
    await writeFile(secret, `${PASSWORD}\n`);
    vi.stubEnv('LV_CLIENT_PROPERTY_CONF', join(dir, 'missing.conf'));
    vi.stubEnv('LV_LICENSE_SERVERS', server.address);
    vi.stubEnv('LV_AUTHENTICATION_USERNAME', 'ivr');
    vi.stubEnv('LV_AUTHENTICATION_PASSWORD_FILE', secret);
    const fromEnvironment = track(await LicenseClient.fromConfigFile(undefined, { licenseCachePeriod: 0 }));
    await (await fromEnvironment.acquire('FULL')).release();
    await fromEnvironment.close();

    // A conf file naming a dead server and other credentials: the environment wins.
    const conf = join(dir, 'client_property.conf');
    await writeFile(
      conf,
      `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:${await closedPort()}\n[AUTHENTICATION]\nUSERNAME = other\nPASSWORD = wrong\n`,
      { mode: 0o600 },
    );
    const overridden = track(await LicenseClient.fromConfigFile(conf, { licenseCachePeriod: 0 }));
    const lease = await overridden.acquire('FULL');
    expect(lease.server).toBe(server.address);
    await lease.release();
  });
});
