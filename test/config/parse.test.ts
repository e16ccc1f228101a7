import { describe, expect, it } from 'vitest';
import { type ClientProperties, Credentials, parseClientProperties } from '../../src/config/index.js';
import type { ConfigError } from '../../src/errors.js';
import { conf, configError, SECRET } from './support.js';

const parse = (text: string, fileMode?: number): ClientProperties =>
  parseClientProperties(text, {
    source: 'client_property.conf',
    ...(fileMode === undefined ? {} : { fileMode }),
  });
const fail = (text: string): ConfigError => configError(() => parse(text));
const codes = (options: ClientProperties) => options.warnings.map((warning) => warning.code);

describe('parseClientProperties: defaults', () => {
  it('gives the built-in defaults for an empty file', () => {
    const options = parseClientProperties('');
    expect(options).toEqual({
      licenseServers: [{ host: '127.0.0.1', port: 7569, tls: false, entry: '127.0.0.1:7569' }],
      licenseCachePeriod: 30,
      licenseType: 'Auto',
      delayedLicenseAcquisition: false,
      authentication: undefined,
      tls: {},
      warnings: [],
      lines: {},
      source: '<string>',
    });
  });

  it('reads the literal default (any case) as the built-in default for every key', () => {
    const options = parse(
      conf(
        '[GLOBAL]',
        'LICENSE_SERVERS = DEFAULT',
        'LICENSE_CACHE_PERIOD = default',
        '[SRE]',
        'LICENSE_TYPE = Default',
        'DELAYED_LICENSE_ACQUISITION = "default"',
        '[TLS]',
        'CA_FILE = default',
      ),
    );
    expect(options).toMatchObject({
      licenseServers: [{ host: '127.0.0.1', port: 7569, tls: false, entry: '127.0.0.1:7569', line: 2 }],
      licenseCachePeriod: 30,
      licenseType: 'Auto',
      delayedLicenseAcquisition: false,
      tls: {},
      warnings: [],
    });
  });

  it('deep-freezes the result', () => {
    const options = parse(conf('[GLOBAL]', 'LICENSE_SERVERS = a;a', '[TLS]', 'CA_FILE = ca.pem'));
    for (const value of [options, options.licenseServers, options.licenseServers[0], options.tls]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(Object.isFrozen(options.warnings)).toBe(true);
    expect(Object.isFrozen(options.warnings[0])).toBe(true);
  });

  it('uses the given source label', () => {
    expect(parseClientProperties('', { source: 'from-vault' }).source).toBe('from-vault');
  });

  it('throws a ConfigError, not a TypeError, for a non-string', () => {
    expect(configError(() => parseClientProperties(undefined as unknown as string)).message).toBe(
      "<string>: the configuration must be text, not undefined. Pass the file's contents.",
    );
  });
});

describe('LICENSE_SERVERS', () => {
  it("reads the list from [GLOBAL] with each entry's line", () => {
    const options = parse(conf('[GLOBAL]', 'VERSION = 10.5', 'LICENSE_SERVERS = 10.0.0.1:7569;tls://ls2'));
    expect(options.licenseServers).toEqual([
      { host: '10.0.0.1', port: 7569, tls: false, entry: '10.0.0.1:7569', line: 3 },
      { host: 'ls2', port: 7569, tls: true, entry: 'tls://ls2', line: 3 },
    ]);
  });

  it('reads keys before any header as [GLOBAL]', () => {
    expect(parse('LICENSE_SERVERS = 10.0.0.9\n').licenseServers[0]?.host).toBe('10.0.0.9');
  });

  it('matches section and key names in any case', () => {
    expect(parse('[global]\nlicense_servers = 10.0.0.9\n').licenseServers[0]?.host).toBe('10.0.0.9');
  });

  it('reports an invalid entry at its line with the key', () => {
    const error = fail(conf('[GLOBAL]', '# servers', 'LICENSE_SERVERS = 10.0.0.1:99999'));
    expect(error.message).toBe(
      'client_property.conf:3: LICENSE_SERVERS entry "10.0.0.1:99999" has port 99999; a port must be 1 to 65535. ' +
        'Fix the entry, e.g. 10.0.0.1:7569.',
    );
    expect(error).toMatchObject({ file: 'client_property.conf', line: 3, key: 'LICENSE_SERVERS' });
  });

  it.each(['LICENSE_SERVERS =', 'LICENSE_SERVERS = ;', 'LICENSE_SERVERS = ""'])('rejects %j', (line) => {
    const error = fail(conf('[GLOBAL]', line));
    expect(error.message).toMatch(/^client_property\.conf:2: LICENSE_SERVERS lists no server\./);
    expect(error.line).toBe(2);
  });

  it('warns about a duplicate server and keeps the first', () => {
    const options = parse(conf('[GLOBAL]', 'LICENSE_SERVERS = ls1;LS1:7569;ls2'));
    expect(options.licenseServers.map((server) => server.entry)).toEqual(['ls1', 'ls2']);
    expect(options.warnings).toEqual([
      {
        code: 'duplicate-server',
        line: 2,
        key: 'LICENSE_SERVERS',
        message:
          'client_property.conf:2: LICENSE_SERVERS lists LS1:7569 twice ("ls1" and "LS1:7569"); the repeat is ' +
          'ignored. Remove "LS1:7569".',
      },
    ]);
  });

  describe('legacy LIC_SERVER_HOSTNAME', () => {
    it('is read when LICENSE_SERVERS is absent, with a legacy-key warning to rename it', () => {
      const options = parse(conf('[GLOBAL]', 'LIC_SERVER_HOSTNAME = 10.1.1.1:7000'));
      expect(options.licenseServers).toEqual([
        { host: '10.1.1.1', port: 7000, tls: false, entry: '10.1.1.1:7000', line: 2 },
      ]);
      expect(options.warnings).toEqual([
        {
          code: 'legacy-key',
          line: 2,
          key: 'LIC_SERVER_HOSTNAME',
          message:
            'client_property.conf:2: LIC_SERVER_HOSTNAME is the name LICENSE_SERVERS had before release 10.0; ' +
            'it is still read, but rename it to LICENSE_SERVERS.',
        },
      ]);
    });

    it('is ignored, with a warning, when LICENSE_SERVERS is set', () => {
      const options = parse(conf('[GLOBAL]', 'LIC_SERVER_HOSTNAME = 10.1.1.1', 'LICENSE_SERVERS = 10.2.2.2'));
      expect(options.licenseServers.map((server) => server.host)).toEqual(['10.2.2.2']);
      expect(options.warnings).toEqual([
        {
          code: 'legacy-key',
          line: 2,
          key: 'LIC_SERVER_HOSTNAME',
          message:
            'client_property.conf:2: LIC_SERVER_HOSTNAME is ignored because LICENSE_SERVERS is set (line 3). ' +
            'Delete the LIC_SERVER_HOSTNAME line.',
        },
      ]);
    });

    it('names itself in its own errors', () => {
      const error = fail(conf('[GLOBAL]', 'LIC_SERVER_HOSTNAME = ls1:0'));
      expect(error).toMatchObject({ key: 'LIC_SERVER_HOSTNAME', line: 2 });
      expect(error.message).toContain('LIC_SERVER_HOSTNAME entry "ls1:0" has port 0');
    });
  });
});

describe('LICENSE_CACHE_PERIOD', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['3600', 3600],
    ['"45"', 45],
    ['0030', 30],
  ])('accepts %s', (value, seconds) => {
    expect(parse(conf('[GLOBAL]', `LICENSE_CACHE_PERIOD = ${value}`)).licenseCachePeriod).toBe(seconds);
  });

  it.each(['3601', '-1', '30s', '1.5', '1e3', 'off', '99999999999999999999'])('rejects %j', (value) => {
    const error = fail(conf('[GLOBAL]', `LICENSE_CACHE_PERIOD = ${value}`));
    expect(error.message).toBe(
      `client_property.conf:2: LICENSE_CACHE_PERIOD is ${JSON.stringify(value)}; it must be a whole number of ` +
        'seconds from 0 to 3600 (0 turns the cache off). Fix it, e.g. LICENSE_CACHE_PERIOD = 30, or write default.',
    );
    expect(error).toMatchObject({ line: 2, key: 'LICENSE_CACHE_PERIOD' });
  });

  it('uses the default for an empty value, with an empty-value warning', () => {
    const options = parse(conf('[GLOBAL]', 'LICENSE_CACHE_PERIOD ='));
    expect(options.licenseCachePeriod).toBe(30);
    expect(options.warnings).toEqual([
      {
        code: 'empty-value',
        line: 2,
        key: 'LICENSE_CACHE_PERIOD',
        message:
          'client_property.conf:2: LICENSE_CACHE_PERIOD has no value, so its default (30) is used. ' +
          'Write a value, or write default.',
      },
    ]);
  });
});

describe('LICENSE_TYPE', () => {
  it.each([
    ['Auto', 'Auto'],
    ['auto', 'Auto'],
    ['SPEECHPORT', 'SpeechPort'],
    ['speechport', 'SpeechPort'],
    ['voxlite', 'VoxLite'],
    ['VoxLite', 'VoxLite'],
  ])('reads %s as %s', (value, type) => {
    expect(parse(conf('[SRE]', `LICENSE_TYPE = ${value}`)).licenseType).toBe(type);
  });

  it('rejects an unknown value, listing the three valid ones', () => {
    const error = fail(conf('[GLOBAL]', '[SRE]', 'LICENSE_TYPE = Full'));
    expect(error.message).toBe(
      'client_property.conf:3: LICENSE_TYPE is "Full"; it must be Auto, SpeechPort or VoxLite. ' +
        'Fix it, e.g. LICENSE_TYPE = Auto (Full licenses first, then Lite), or write default.',
    );
    expect(error).toMatchObject({ line: 3, key: 'LICENSE_TYPE' });
  });
});

describe('DELAYED_LICENSE_ACQUISITION', () => {
  it.each([
    ['1', true],
    ['0', false],
    ['true', true],
    ['FALSE', false],
    ['Yes', true],
    ['no', false],
  ])('reads %s as %s', (value, on) => {
    expect(parse(conf('[SRE]', `DELAYED_LICENSE_ACQUISITION = ${value}`)).delayedLicenseAcquisition).toBe(on);
  });

  it.each(['2', 'on', 'enabled', '01'])('rejects %j', (value) => {
    const error = fail(conf('[SRE]', `DELAYED_LICENSE_ACQUISITION = ${value}`));
    expect(error.message).toBe(
      `client_property.conf:2: DELAYED_LICENSE_ACQUISITION is ${JSON.stringify(value)}; it must be 0 (off) or 1 (on). ` +
        'Fix it, e.g. DELAYED_LICENSE_ACQUISITION = 0, or write default.',
    );
    expect(error).toMatchObject({ line: 2, key: 'DELAYED_LICENSE_ACQUISITION' });
  });
});

describe('sections', () => {
  it('ignores unknown sections and keys silently', () => {
    const options = parse(
      conf('[MRCP]', 'LISTEN = 0.0.0.0', '[STREAM]', 'VAD_EOS_DELAY = 800', 'CUSTOM = x'),
    );
    expect(options.warnings).toEqual([]);
  });

  it('ignores a known key in the wrong section, with a misplaced-key warning', () => {
    const options = parse(
      conf(
        '[GLOBAL]',
        'LICENSE_SERVERS = 10.0.0.1',
        '[SRE]',
        'LICENSE_SERVERS = 10.9.9.9',
        'LICENSE_CACHE_PERIOD = 5',
      ),
    );
    expect(options.licenseServers.map((server) => server.host)).toEqual(['10.0.0.1']);
    expect(options.licenseCachePeriod).toBe(30);
    expect(options.warnings).toEqual([
      {
        code: 'misplaced-key',
        line: 4,
        key: 'LICENSE_SERVERS',
        message:
          'client_property.conf:4: LICENSE_SERVERS is in the [SRE] section, where it is ignored; it belongs in ' +
          '[GLOBAL]. Move it under the [GLOBAL] header.',
      },
      expect.objectContaining({ code: 'misplaced-key', line: 5, key: 'LICENSE_CACHE_PERIOD' }),
    ]);
  });

  it('warns about LICENSE_TYPE written before any header (it belongs in [SRE])', () => {
    const options = parse(conf('LICENSE_TYPE = VoxLite', '[SRE]'));
    expect(options.licenseType).toBe('Auto');
    expect(options.warnings[0]?.message).toBe(
      'client_property.conf:1: LICENSE_TYPE is in the GLOBAL part before any [SECTION] header, where it is ' +
        'ignored; it belongs in [SRE]. Move it under the [SRE] header.',
    );
  });

  it('does not validate a misplaced value (it is ignored, like the vendor does)', () => {
    expect(codes(parse(conf('[TTS]', 'LICENSE_TYPE = nonsense')))).toEqual(['misplaced-key']);
  });

  it('lets the last of a repeated key win, with a duplicate-key warning', () => {
    const options = parse(
      conf('[GLOBAL]', 'LICENSE_CACHE_PERIOD = 10', 'X = 1', 'license_cache_period = 20'),
    );
    expect(options.licenseCachePeriod).toBe(20);
    expect(options.warnings).toEqual([
      {
        code: 'duplicate-key',
        line: 4,
        key: 'LICENSE_CACHE_PERIOD',
        message:
          'client_property.conf:4: LICENSE_CACHE_PERIOD is set twice in the [GLOBAL] section (lines 2 and 4); ' +
          'the value on line 4 wins. Delete the line you do not want.',
      },
    ]);
  });

  it('merges a repeated section header and keys before any header into [GLOBAL]', () => {
    const options = parse(
      conf('LICENSE_SERVERS = 10.0.0.1', '[GLOBAL]', '[SRE]', '[GLOBAL]', 'LICENSE_SERVERS = ls2'),
    );
    expect(options.licenseServers.map((server) => server.host)).toEqual(['ls2']);
    expect(codes(options)).toEqual(['duplicate-key']);
  });

  it('only validates the value that wins', () => {
    expect(parse(conf('[SRE]', 'LICENSE_TYPE = bogus', 'LICENSE_TYPE = VoxLite')).licenseType).toBe(
      'VoxLite',
    );
  });
});

describe('[AUTHENTICATION]', () => {
  const auth = (...lines: string[]) =>
    conf('[GLOBAL]', 'LICENSE_SERVERS = ls1', '[AUTHENTICATION]', ...lines);

  it('gives Credentials when both keys are set', () => {
    const options = parse(auth('AUTHENTICATION_USERNAME = ivr', `AUTHENTICATION_PASSWORD = ${SECRET}`));
    expect(options.authentication).toBeInstanceOf(Credentials);
    expect(options.authentication?.username).toBe('ivr');
    expect(options.authentication?.password).toBe(SECRET);
  });

  it('keeps ";", "#" and "=" in a password, and blanks inside quotes', () => {
    const options = parse(auth('AUTHENTICATION_USERNAME = ivr', 'AUTHENTICATION_PASSWORD = " a;b#c=d "'));
    expect(options.authentication?.password).toBe(' a;b#c=d ');
  });

  it.each([
    ['neither key', []],
    ['both empty', ['AUTHENTICATION_USERNAME =', 'AUTHENTICATION_PASSWORD =']],
    ['both empty quotes', ['AUTHENTICATION_USERNAME = ""', 'AUTHENTICATION_PASSWORD = ""']],
  ])('gives no authentication with %s', (_case, lines) => {
    const options = parse(auth(...lines));
    expect(options.authentication).toBeUndefined();
    expect(options.warnings).toEqual([]);
  });

  it('rejects a username without a password, naming the missing key at its line', () => {
    const error = fail(auth('AUTHENTICATION_USERNAME = ivr', 'AUTHENTICATION_PASSWORD ='));
    expect(error.message).toBe(
      'client_property.conf:5: [AUTHENTICATION] sets AUTHENTICATION_USERNAME but AUTHENTICATION_PASSWORD is empty. ' +
        'Set both to authenticate, or leave both empty to connect without authentication.',
    );
    expect(error).toMatchObject({ line: 5, key: 'AUTHENTICATION_PASSWORD' });
  });

  it('rejects a password without a username and never shows the password', () => {
    const error = fail(auth(`AUTHENTICATION_PASSWORD = ${SECRET}`));
    expect(error.message).toBe(
      'client_property.conf:4: [AUTHENTICATION] sets AUTHENTICATION_PASSWORD but AUTHENTICATION_USERNAME is missing. ' +
        'Set both to authenticate, or leave both empty to connect without authentication.',
    );
    expect(error).toMatchObject({ line: 4, key: 'AUTHENTICATION_USERNAME' });
  });

  it('rejects the credentials appended without an [AUTHENTICATION] header, at their line', () => {
    const error = fail(
      conf(
        '[GLOBAL]',
        '[GRAMMAR]',
        'LANGUAGE = default',
        'AUTHENTICATION_USERNAME = ivr',
        `AUTHENTICATION_PASSWORD = ${SECRET}`,
      ),
    );
    expect(error.message).toBe(
      'client_property.conf:4: AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD are in the [GRAMMAR] section, ' +
        'not in [AUTHENTICATION], so the client would ignore them and not authenticate (INI scoping puts a key ' +
        'under the last header above it). Put an [AUTHENTICATION] header on the line above them (above line 4).',
    );
    expect(error).toMatchObject({ line: 4, key: 'AUTHENTICATION_USERNAME', file: 'client_property.conf' });
    expect(error.message).not.toContain(SECRET);
  });

  it('rejects a single misplaced credential key, even with a proper [AUTHENTICATION] section too', () => {
    const error = fail(
      conf(
        '[AUTHENTICATION]',
        'AUTHENTICATION_USERNAME = ivr',
        'AUTHENTICATION_PASSWORD = x',
        '[TTS]',
        `AUTHENTICATION_PASSWORD = ${SECRET}`,
      ),
    );
    expect(error.message).toContain(
      'client_property.conf:5: AUTHENTICATION_PASSWORD is in the [TTS] section, not in [AUTHENTICATION]',
    );
    expect(error.message).toContain('Put an [AUTHENTICATION] header on the line above it (above line 5).');
    expect(error.message).not.toContain(SECRET);
  });

  it('asks "did you mean [AUTHENTICATION]?" of a misspelled header, naming its line', () => {
    const error = fail(
      conf('[GLOBAL]', 'LICENSE_SERVERS = 10.0.0.1', '[AUTHENTICATON]', 'AUTHENTICATION_USERNAME = ivr'),
    );
    expect(error.message).toContain(
      'Did you mean [AUTHENTICATION]? Fix the header [AUTHENTICATON] (line 3).',
    );
    expect(error.line).toBe(4);
  });

  it('rejects credentials before any header', () => {
    const error = fail(conf('AUTHENTICATION_USERNAME = ivr', '[GLOBAL]'));
    expect(error.message).toContain(
      'is in the GLOBAL part before any [SECTION] header, not in [AUTHENTICATION]',
    );
    expect(error.line).toBe(1);
  });

  it('warns about a repeated password without showing either value', () => {
    const options = parse(
      auth(
        'AUTHENTICATION_USERNAME = ivr',
        'AUTHENTICATION_PASSWORD = old-one',
        `AUTHENTICATION_PASSWORD = ${SECRET}`,
      ),
    );
    expect(options.authentication?.password).toBe(SECRET);
    expect(options.warnings).toHaveLength(1);
    expect(options.warnings[0]).toMatchObject({
      code: 'duplicate-key',
      line: 6,
      key: 'AUTHENTICATION_PASSWORD',
    });
    expect(JSON.stringify(options.warnings)).not.toMatch(/old-one|Xyzzy/);
  });

  describe('file mode', () => {
    const withPassword = auth('AUTHENTICATION_USERNAME = ivr', `AUTHENTICATION_PASSWORD = ${SECRET}`);

    it.each([0o100644, 0o100640, 0o100604, 0o100666])(
      'warns when mode %o lets group or others read it',
      (mode) => {
        const options = parse(withPassword, mode);
        const octal = (mode & 0o777).toString(8).padStart(4, '0');
        expect(options.warnings).toEqual([
          {
            code: 'world-readable',
            line: 5,
            key: 'AUTHENTICATION_PASSWORD',
            message:
              `client_property.conf:5: the file holds AUTHENTICATION_PASSWORD but its mode is ${octal}, so other ` +
              'users of this machine can read the password. Make it readable by its owner only: ' +
              'chmod 600 client_property.conf',
          },
        ]);
      },
    );

    it.each([0o100600, 0o100400, 0o100700, 0o100620])('is quiet for mode %o', (mode) => {
      expect(parse(withPassword, mode).warnings).toEqual([]);
    });

    it('is quiet when the file holds no password', () => {
      expect(parse(conf('[GLOBAL]'), 0o100644).warnings).toEqual([]);
    });
  });
});

describe('[TLS]', () => {
  it('reads CA_FILE, CERT_FILE, KEY_FILE and SERVER_NAME (any case), unresolved', () => {
    const options = parse(
      conf(
        '[tls]',
        'ca_file = certs/ca.pem',
        'CERT_FILE = /etc/pki/c.pem',
        'KEY_FILE = "k.pem"',
        'SERVER_NAME = ls',
      ),
    );
    expect(options.tls).toEqual({
      caFile: 'certs/ca.pem',
      certFile: '/etc/pki/c.pem',
      keyFile: 'k.pem',
      serverName: 'ls',
    });
  });

  it('leaves out empty and default values', () => {
    expect(parse(conf('[TLS]', 'CA_FILE =', 'SERVER_NAME = default')).tls).toEqual({});
  });

  it.each([
    ['CERT_FILE = c.pem', 'CERT_FILE', 'KEY_FILE'],
    ['KEY_FILE = k.pem', 'KEY_FILE', 'CERT_FILE'],
  ])('rejects %j alone', (line, given, missing) => {
    const error = fail(conf('[TLS]', line));
    expect(error.message).toBe(
      `client_property.conf:2: [TLS] sets ${given} but not ${missing}; a client certificate needs both. ` +
        `Set ${missing} (it may name the same PEM file if that file holds both), or remove ${given}.`,
    );
    expect(error).toMatchObject({ line: 2, key: missing });
  });

  it('warns about a TLS key outside [TLS]', () => {
    expect(parse(conf('[GLOBAL]', 'CA_FILE = ca.pem')).warnings[0]).toMatchObject({
      code: 'misplaced-key',
      key: 'CA_FILE',
      line: 2,
    });
  });
});

describe('ClientProperties.lines', () => {
  it('gives the line each value was read from, and none for a value left to its default', () => {
    const options = parse(
      conf(
        '# the vendor template',
        '[GLOBAL]',
        'LICENSE_SERVERS = 10.0.0.1',
        'LICENSE_CACHE_PERIOD = default',
        '[SRE]',
        'LICENSE_TYPE = VoxLite',
        'DELAYED_LICENSE_ACQUISITION =',
        '[AUTHENTICATION]',
        'AUTHENTICATION_USERNAME = ivr',
        `AUTHENTICATION_PASSWORD = ${SECRET}`,
        '[TLS]',
        'SERVER_NAME = ls.example.com',
      ),
    );
    expect(options.lines).toEqual({
      licenseServers: 3,
      licenseType: 6,
      username: 9,
      password: 10,
      serverName: 12,
    });
    expect(JSON.stringify(options.lines)).not.toContain(SECRET);
  });

  it('names the legacy key when LICENSE_SERVERS is read from it, and not when it is ignored', () => {
    expect(parse(conf('LIC_SERVER_HOSTNAME = 10.0.0.1')).lines).toEqual({ licenseServers: 1 });
    expect(
      parse(conf('LICENSE_SERVERS = default', 'LIC_SERVER_HOSTNAME = 10.0.0.1')).lines.licenseServers,
    ).toBeUndefined();
  });
});
