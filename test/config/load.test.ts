import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CONFIG_PATH_ENV,
  defaultConfigPath,
  loadClientProperties,
  parseClientProperties,
} from '../../src/config/index.js';
import { fixture, fixturePath, rejectsConfigError, SECRET } from './support.js';

const isWindows = process.platform === 'win32';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lv-conf-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('defaultConfigPath', () => {
  it.each([
    ['linux', '/etc/lumenvox/client_property.conf'],
    ['darwin', '/etc/lumenvox/client_property.conf'],
    ['freebsd', '/etc/lumenvox/client_property.conf'],
    ['win32', 'C:\\Program Files\\LumenVox\\Engine\\config\\client_property.conf'],
  ] as const)('%s: %s', (platform, path) => {
    expect(defaultConfigPath(platform)).toBe(path);
  });

  it('defaults to this platform', () => {
    expect(defaultConfigPath()).toBe(defaultConfigPath(process.platform));
  });
});

describe('loadClientProperties', () => {
  it('reads the given path and names it as the source', async () => {
    const file = join(dir, 'client_property.conf');
    await copyFile(fixturePath('vendor-linux.conf'), file);
    const options = await loadClientProperties(file, { env: {} });
    expect(options.source).toBe(file);
    expect(options.licenseServers).toHaveLength(3);
    expect(options.authentication?.password).toBe(SECRET);
  });

  it('reads CRLF + BOM files as parseClientProperties does', async () => {
    const options = await loadClientProperties(fixturePath('windows-crlf-bom.conf'), { platform: 'win32' });
    const parsed = parseClientProperties(fixture('windows-crlf-bom.conf'));
    expect(options.licenseServers.map((server) => server.entry)).toEqual(
      parsed.licenseServers.map((server) => server.entry),
    );
  });

  it('uses LV_CLIENT_PROPERTY_CONF when no path is given', async () => {
    const file = join(dir, 'from-env.conf');
    await writeFile(file, '[GLOBAL]\nLICENSE_SERVERS = 10.7.7.7\n');
    const options = await loadClientProperties(undefined, { env: { [CONFIG_PATH_ENV]: file } });
    expect(CONFIG_PATH_ENV).toBe('LV_CLIENT_PROPERTY_CONF');
    expect(options.source).toBe(file);
    expect(options.licenseServers[0]?.host).toBe('10.7.7.7');
  });

  it('prefers the path argument to the environment variable', async () => {
    const file = join(dir, 'arg.conf');
    await writeFile(file, 'LICENSE_SERVERS = 10.8.8.8\n');
    const options = await loadClientProperties(file, {
      env: { [CONFIG_PATH_ENV]: join(dir, 'missing.conf') },
    });
    expect(options.licenseServers[0]?.host).toBe('10.8.8.8');
  });

  it('lists the path tried and how to fix it when the file is missing', async () => {
    const missing = join(dir, 'nope', 'client_property.conf');
    const error = await rejectsConfigError(loadClientProperties(missing));
    expect(error.pathsTried).toEqual([missing]);
    expect(error.file).toBe(missing);
    expect(error.message).toBe(
      `No client_property.conf found. Tried: ${missing} (the path passed to loadClientProperties). ` +
        "Pass the file's path to loadClientProperties(path), or set LV_CLIENT_PROPERTY_CONF=/path/to/client_property.conf.",
    );
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('names the environment variable when the file it names is missing', async () => {
    const missing = join(dir, 'env-missing.conf');
    const error = await rejectsConfigError(
      loadClientProperties(undefined, { env: { [CONFIG_PATH_ENV]: missing } }),
    );
    expect(error.pathsTried).toEqual([missing]);
    expect(error.message).toContain(`Tried: ${missing} (LV_CLIENT_PROPERTY_CONF).`);
  });

  it.skipIf(existsSync('/etc/lumenvox/client_property.conf'))(
    'falls back to the platform default when neither is given (or they are empty)',
    async () => {
      const error = await rejectsConfigError(
        loadClientProperties('', { env: { [CONFIG_PATH_ENV]: '  ' }, platform: 'sunos' }),
      );
      expect(error.pathsTried).toEqual(['/etc/lumenvox/client_property.conf']);
      expect(error.message).toContain(
        'Tried: /etc/lumenvox/client_property.conf (the default path on sunos).',
      );
    },
  );

  it('says a directory is not the file, keeping the OS error as cause', async () => {
    const error = await rejectsConfigError(loadClientProperties(dir));
    expect(error.message.startsWith(`${dir}: cannot read the configuration file`)).toBe(true);
    expect(error.message).toContain('EISDIR');
    expect(error.message).toContain('It is a directory: name the client_property.conf file inside it.');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EISDIR');
    expect(error.pathsTried).toEqual([dir]);
  });

  it.skipIf(isWindows || isRoot)('gives the OS reason when the file is not readable', async () => {
    const file = join(dir, 'locked.conf');
    await writeFile(file, 'LICENSE_SERVERS = ls1\n');
    await chmod(file, 0o000);
    const error = await rejectsConfigError(loadClientProperties(file));
    expect(error.message).toContain('EACCES');
    expect(error.message).toContain('Make it readable by the user this process runs as');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EACCES');
  });

  it('reports an invalid file with its path and line', async () => {
    const file = join(dir, 'bad.conf');
    await writeFile(file, '[SRE]\nLICENSE_TYPE = Lite\n');
    const error = await rejectsConfigError(loadClientProperties(file));
    expect(error).toMatchObject({ file, line: 2, key: 'LICENSE_TYPE' });
    expect(error.message.startsWith(`${file}:2: LICENSE_TYPE is "Lite"`)).toBe(true);
  });

  it("resolves relative [TLS] paths against the file's directory and keeps absolute ones", async () => {
    const sub = join(dir, 'conf');
    await mkdir(sub);
    const file = join(sub, 'client_property.conf');
    await writeFile(
      file,
      '[TLS]\nCA_FILE = certs/ca.pem\nCERT_FILE = /abs/client.pem\nKEY_FILE = ../keys/k.pem\nSERVER_NAME = ls\n',
    );
    const options = await loadClientProperties(file, { platform: 'linux' });
    expect(options.tls).toEqual({
      caFile: join(sub, 'certs', 'ca.pem'),
      certFile: '/abs/client.pem',
      keyFile: join(dir, 'keys', 'k.pem'),
      serverName: 'ls',
    });
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.tls)).toBe(true);
  });

  describe.skipIf(isWindows)('file mode (POSIX)', () => {
    const withPassword = `[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${SECRET}\n`;

    it('warns when a file holding a password is readable by others (0644)', async () => {
      const file = join(dir, 'client_property.conf');
      await writeFile(file, withPassword);
      await chmod(file, 0o644);
      const options = await loadClientProperties(file);
      expect(options.warnings).toEqual([
        {
          code: 'world-readable',
          line: 3,
          key: 'AUTHENTICATION_PASSWORD',
          message:
            `${file}:3: the file holds AUTHENTICATION_PASSWORD but its mode is 0644, so other users of this ` +
            `machine can read the password. Make it readable by its owner only: chmod 600 ${file}`,
        },
      ]);
      expect(options.warnings[0]?.message).not.toContain(SECRET);
    });

    it('is quiet for 0600', async () => {
      const file = join(dir, 'client_property.conf');
      await writeFile(file, withPassword);
      await chmod(file, 0o600);
      expect((await loadClientProperties(file)).warnings).toEqual([]);
    });

    it('does not check the mode when told the platform is win32', async () => {
      const file = join(dir, 'client_property.conf');
      await writeFile(file, withPassword);
      await chmod(file, 0o644);
      expect((await loadClientProperties(file, { platform: 'win32' })).warnings).toEqual([]);
    });
  });
});
