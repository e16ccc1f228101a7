import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  type LicenseClientOptions,
  optionsFromProperties,
  resolveOptions,
} from '../../src/client/options.js';
import { Credentials, parseClientProperties } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

/** A distinctive password, so that a leak is easy to spot. */
const SECRET = 'Pl0ugh-Options-Secret-9z';

/** Runs `fn`, expects a ConfigError (code -11) naming `key`, and returns it. */
function configError(fn: () => unknown, key: string): ConfigError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a ConfigError').toBeInstanceOf(ConfigError);
  const error = thrown as ConfigError;
  expect(error.code).toBe(-11);
  expect(error.codeName).toBe('LV_INVALID_PROPERTY_VALUE');
  expect(error.retryable).toBe(false);
  expect(error.key).toBe(key);
  return error;
}

describe('resolveOptions defaults', () => {
  it('fills every default from an empty options object', () => {
    expect(resolveOptions({})).toEqual({
      servers: [{ host: '127.0.0.1', port: 7569, tls: false }],
      credentials: undefined,
      licenseType: 'Auto',
      licenseCachePeriod: 30,
      delayedLicenseAcquisition: false,
      tls: undefined,
      connectTimeout: 3_000,
      requestTimeout: 3_000,
      operationTimeout: 15_000,
      heartbeatInterval: undefined,
      gracePeriod: 10_000,
      closeTimeout: 2_000,
      maxVoiceChannels: 64,
      reconnectDelay: { min: 100, max: 5_000 },
      logger: undefined,
      clientName: 'lv-license-client/0.1.0',
      batching: true,
      socketFactory: undefined,
    });
  });

  it('treats explicit undefined like absent', () => {
    const explicit = resolveOptions({
      username: undefined,
      password: undefined,
      tls: undefined,
      heartbeatInterval: undefined,
      logger: undefined,
      clientName: undefined,
      batching: undefined,
      socketFactory: undefined,
    });
    expect(explicit).toEqual(resolveOptions({}));
  });

  it('keeps every value given', () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const socketFactory = (() => {
      throw new Error('not used');
    }) as unknown as NonNullable<LicenseClientOptions['socketFactory']>;
    const tls = { ca: 'PEM' } as NonNullable<LicenseClientOptions['tls']>;
    const resolved = resolveOptions({
      servers: [{ host: 'ls1.example.com', port: 4971, tls: true }],
      licenseType: 'VoxLite',
      licenseCachePeriod: 0,
      delayedLicenseAcquisition: true,
      tls,
      connectTimeout: 1,
      requestTimeout: 250,
      operationTimeout: 60_000,
      heartbeatInterval: 10,
      gracePeriod: 0,
      closeTimeout: 0,
      maxVoiceChannels: 1,
      reconnectDelay: { min: 1, max: 2 },
      logger,
      clientName: 'ivr-node-7',
      socketFactory,
    });
    expect(resolved).toMatchObject({
      servers: [{ host: 'ls1.example.com', port: 4971, tls: true }],
      licenseType: 'VoxLite',
      licenseCachePeriod: 0,
      delayedLicenseAcquisition: true,
      connectTimeout: 1,
      requestTimeout: 250,
      operationTimeout: 60_000,
      heartbeatInterval: 10,
      gracePeriod: 0,
      closeTimeout: 0,
      maxVoiceChannels: 1,
      reconnectDelay: { min: 1, max: 2 },
      clientName: 'ivr-node-7',
    });
    expect(resolved.tls).toBe(tls);
    expect(resolved.logger).toBe(logger);
    expect(resolved.socketFactory).toBe(socketFactory);
  });

  it.each(['Auto', 'SpeechPort', 'VoxLite'] as const)('accepts licenseType %s', (licenseType) => {
    expect(resolveOptions({ licenseType }).licenseType).toBe(licenseType);
  });

  it.each([0, 1, 30, 3600])('accepts licenseCachePeriod %d', (licenseCachePeriod) => {
    expect(resolveOptions({ licenseCachePeriod }).licenseCachePeriod).toBe(licenseCachePeriod);
  });

  it('defaults one reconnectDelay bound when only the other is given', () => {
    const partial = { min: 50 } as unknown as { min: number; max: number };
    expect(resolveOptions({ reconnectDelay: partial }).reconnectDelay).toEqual({ min: 50, max: 5_000 });
  });
});

describe('resolveOptions validation', () => {
  const durations: [keyof LicenseClientOptions, number][] = [
    ['connectTimeout', 1],
    ['requestTimeout', 1],
    ['operationTimeout', 1],
    ['heartbeatInterval', 10],
    ['gracePeriod', 0],
    ['closeTimeout', 0],
  ];

  describe.each(durations)('%s (at least %d ms)', (name, min) => {
    it('accepts the minimum', () => {
      expect(resolveOptions({ [name]: min })[name as keyof ReturnType<typeof resolveOptions>]).toBe(min);
    });

    it.each([min - 1, min - 0.5, -1_000, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
      'rejects %d',
      (value) => {
        const error = configError(() => resolveOptions({ [name]: value }), name);
        expect(error.message).toContain(name);
        expect(error.message).toContain(String(min));
      },
    );

    it('rejects a numeric string', () => {
      configError(() => resolveOptions({ [name]: '5000' as unknown as number }), name);
    });
  });

  it.each([
    [{ min: 0, max: 5_000 }, 'reconnectDelay.min'],
    [{ min: -1, max: 5_000 }, 'reconnectDelay.min'],
    [{ min: Number.NaN, max: 5_000 }, 'reconnectDelay.min'],
    [{ min: 100, max: 0 }, 'reconnectDelay.max'],
    [{ min: 100, max: Number.POSITIVE_INFINITY }, 'reconnectDelay.max'],
  ])('rejects reconnectDelay %o, naming %s', (reconnectDelay, key) => {
    const error = configError(() => resolveOptions({ reconnectDelay }), key);
    expect(error.message).toContain(key);
  });

  // BUG? (src/client/options.ts:175-176): each reconnectDelay bound is checked on its own, never against
  // the other, so { min: 5000, max: 100 } is accepted. The backoff (p-retry in ServerLink, and
  // backoffDelay) clamps to max, so min is silently ignored and every reconnect waits at most 100 ms:
  // contradictory bounds should be a ConfigError naming reconnectDelay.
  it('rejects reconnectDelay with min above max', () => {
    configError(() => resolveOptions({ reconnectDelay: { min: 5_000, max: 100 } }), 'reconnectDelay');
  });

  it.each([-1, 3601, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects licenseCachePeriod %d', (value) => {
    const error = configError(() => resolveOptions({ licenseCachePeriod: value }), 'licenseCachePeriod');
    expect(error.message).toContain('licenseCachePeriod');
    expect(error.message).toContain('3600');
  });

  it('rejects licenseCachePeriod given as a string', () => {
    configError(
      () => resolveOptions({ licenseCachePeriod: '30' as unknown as number }),
      'licenseCachePeriod',
    );
  });

  it.each(['auto', 'FULL', 'TTS', 'AMD', ''])('rejects licenseType %j', (value) => {
    const error = configError(
      () => resolveOptions({ licenseType: value as LicenseClientOptions['licenseType'] & string }),
      'licenseType',
    );
    expect(error.message).toContain(JSON.stringify(value));
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects maxVoiceChannels %d', (value) => {
    configError(() => resolveOptions({ maxVoiceChannels: value }), 'maxVoiceChannels');
  });
});

describe('resolveOptions servers', () => {
  it('parses a LICENSE_SERVERS-style string in order, with the default port 7569', () => {
    expect(resolveOptions({ servers: '10.0.0.1:7569;10.0.0.2' }).servers).toEqual([
      { host: '10.0.0.1', port: 7569, tls: false },
      { host: '10.0.0.2', port: 7569, tls: false },
    ]);
  });

  it('tls:// entries get tls true and the default port', () => {
    expect(resolveOptions({ servers: 'tls://h' }).servers).toEqual([{ host: 'h', port: 7569, tls: true }]);
    expect(resolveOptions({ servers: 'a:1;tls://b.example.com:4971' }).servers).toEqual([
      { host: 'a', port: 1, tls: false },
      { host: 'b.example.com', port: 4971, tls: true },
    ]);
  });

  it('accepts IPv6 entries', () => {
    expect(resolveOptions({ servers: '[fe80::1]:4971;::1' }).servers).toEqual([
      { host: 'fe80::1', port: 4971, tls: false },
      { host: '::1', port: 7569, tls: false },
    ]);
  });

  it("'default' means 127.0.0.1:7569", () => {
    expect(resolveOptions({ servers: 'default' }).servers).toEqual([
      { host: '127.0.0.1', port: 7569, tls: false },
    ]);
  });

  it('drops a repeated entry of the string form', () => {
    expect(resolveOptions({ servers: 'a:1;b:2;a:1' }).servers).toEqual([
      { host: 'a', port: 1, tls: false },
      { host: 'b', port: 2, tls: false },
    ]);
  });

  it('returns plain { host, port, tls } objects (no entry/line fields)', () => {
    const [server] = resolveOptions({ servers: '10.0.0.1:7569' }).servers;
    expect(Object.keys(server ?? {}).sort()).toEqual(['host', 'port', 'tls']);
  });

  it.each([
    '',
    '   ',
    ';;',
    '10.0.0.1:99999',
    '10.0.0.1:0',
    '10.0.0.1:',
    '10.0.0.1:abc',
    'ftp://h',
    'a,b',
    'bad host',
    '[nope]:1',
    '999.1.1.1',
  ])('rejects the string %j with key servers', (servers) => {
    const error = configError(() => resolveOptions({ servers }), 'servers');
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('takes a list of { host, port, tls? } in the given order', () => {
    expect(
      resolveOptions({
        servers: [
          { host: 'b', port: 2 },
          { host: 'a', port: 1, tls: true },
          { host: 'c', port: 65_535, tls: false },
        ],
      }).servers,
    ).toEqual([
      { host: 'b', port: 2, tls: false },
      { host: 'a', port: 1, tls: true },
      { host: 'c', port: 65_535, tls: false },
    ]);
  });

  it('copies list entries rather than keeping them', () => {
    const entry = { host: 'a', port: 1, extra: 'x' };
    const [server] = resolveOptions({ servers: [entry] }).servers;
    expect(server).not.toBe(entry);
    expect(server).toEqual({ host: 'a', port: 1, tls: false });
  });

  it('only tls: true turns TLS on', () => {
    const loose = [{ host: 'a', port: 1, tls: 'yes' }] as unknown as { host: string; port: number }[];
    expect(resolveOptions({ servers: loose }).servers[0]?.tls).toBe(false);
  });

  it('rejects an empty list', () => {
    const error = configError(() => resolveOptions({ servers: [] }), 'servers');
    expect(error.message).toContain('no server');
  });

  it.each([
    { host: '', port: 1 },
    { host: 'a', port: 0 },
    { host: 'a', port: -1 },
    { host: 'a', port: 65_536 },
    { host: 'a', port: 1.5 },
    { host: 'a', port: Number.NaN },
    { host: 'a', port: '7569' },
    { host: 7, port: 7569 },
    { port: 7569 },
  ])('rejects the list entry %o with key servers', (entry) => {
    const servers = [{ host: 'ok', port: 1 }, entry] as unknown as { host: string; port: number }[];
    configError(() => resolveOptions({ servers }), 'servers');
  });

  // BUG? (src/client/options.ts:105): list entries only need a non-empty host string, while the same
  // host in the string form goes through parseServerList's host checks. A host such as 'tls://h' or
  // 'bad host' is accepted here and only fails later, at dial time, as a socket/DNS error instead of a
  // ConfigError naming `servers`.
  it.each(['bad host', 'tls://h', 'a:1'])('rejects the list entry host %j', (host) => {
    configError(() => resolveOptions({ servers: [{ host, port: 7569 }] }), 'servers');
  });
});

describe('resolveOptions credentials', () => {
  it('no username and no password: no credentials', () => {
    expect(resolveOptions({}).credentials).toBeUndefined();
    expect(resolveOptions({ username: '', password: '' }).credentials).toBeUndefined();
    expect(resolveOptions({ username: '', password: undefined }).credentials).toBeUndefined();
  });

  it('username and password: a Credentials object', () => {
    const { credentials } = resolveOptions({ username: 'ivr-app', password: SECRET });
    expect(credentials).toBeInstanceOf(Credentials);
    expect(credentials?.username).toBe('ivr-app');
    expect(credentials?.password).toBe(SECRET);
  });

  it('the Credentials hide the password from inspect, JSON, String and keys', () => {
    const resolved = resolveOptions({ username: 'ivr-app', password: SECRET });
    const { credentials } = resolved;
    expect(inspect(credentials)).not.toContain(SECRET);
    expect(inspect(credentials)).toContain('[redacted]');
    expect(JSON.stringify(credentials)).toBe('{"username":"ivr-app","password":"[redacted]"}');
    expect(String(credentials)).not.toContain(SECRET);
    expect(Object.keys(credentials ?? {})).not.toContain('password');
    expect(JSON.stringify({ ...credentials })).not.toContain(SECRET);
    // The resolved options as a whole do not show it either.
    expect(inspect(resolved, { depth: 10, showHidden: true })).not.toContain(SECRET);
    expect(JSON.stringify(resolved)).not.toContain(SECRET);
  });

  it.each([
    [{ username: 'ivr-app' }, 'password'],
    [{ username: 'ivr-app', password: '' }, 'password'],
    [{ username: 'ivr-app', password: undefined }, 'password'],
    [{ password: SECRET }, 'username'],
    [{ username: '', password: SECRET }, 'username'],
    [{ username: undefined, password: SECRET }, 'username'],
  ] as const)('rejects %o naming %s, without showing the password', (options, key) => {
    const error = configError(() => resolveOptions(options), key);
    expect(error.message).toContain('username');
    expect(error.message).toContain('password');
    for (const shown of [
      error.message,
      error.stack ?? '',
      inspect(error, { depth: 10 }),
      JSON.stringify(error),
    ])
      expect(shown).not.toContain(SECRET);
  });

  it('checks credentials before anything else, so a later error cannot show them', () => {
    configError(() => resolveOptions({ password: SECRET, servers: [], connectTimeout: -1 }), 'username');
  });
});

describe('optionsFromProperties', () => {
  const CONF = [
    '[GLOBAL]',
    'LICENSE_SERVERS = 10.0.0.1:7569;tls://ls2.example.com:4971;10.0.0.3',
    'LICENSE_CACHE_PERIOD = 120',
    '',
    '[SRE]',
    'LICENSE_TYPE = VoxLite',
    'DELAYED_LICENSE_ACQUISITION = 1',
    '',
    '[AUTHENTICATION]',
    'AUTHENTICATION_USERNAME = ivr-prod-01',
    `AUTHENTICATION_PASSWORD = ${SECRET}`,
    '',
  ].join('\n');

  it('maps a parsed conf to options', async () => {
    const options = await optionsFromProperties(parseClientProperties(CONF, { source: 'test.conf' }));
    expect(options).toEqual({
      servers: [
        { host: '10.0.0.1', port: 7569, tls: false },
        { host: 'ls2.example.com', port: 4971, tls: true },
        { host: '10.0.0.3', port: 7569, tls: false },
      ],
      username: 'ivr-prod-01',
      password: SECRET,
      licenseType: 'VoxLite',
      licenseCachePeriod: 120,
      delayedLicenseAcquisition: true,
    });
  });

  it('resolves into the same values', async () => {
    const resolved = resolveOptions(await optionsFromProperties(parseClientProperties(CONF)));
    expect(resolved.servers).toEqual([
      { host: '10.0.0.1', port: 7569, tls: false },
      { host: 'ls2.example.com', port: 4971, tls: true },
      { host: '10.0.0.3', port: 7569, tls: false },
    ]);
    expect(resolved.credentials).toBeInstanceOf(Credentials);
    expect(resolved.credentials?.username).toBe('ivr-prod-01');
    expect(resolved.credentials?.password).toBe(SECRET);
    expect(resolved.licenseType).toBe('VoxLite');
    expect(resolved.licenseCachePeriod).toBe(120);
    expect(resolved.delayedLicenseAcquisition).toBe(true);
    expect(inspect(resolved, { depth: 10 })).not.toContain(SECRET);
  });

  it('has no username/password keys when the conf does not authenticate', async () => {
    const options = await optionsFromProperties(
      parseClientProperties('[GLOBAL]\nLICENSE_SERVERS = tls://h\n[SRE]\nLICENSE_TYPE = SpeechPort\n'),
    );
    expect('username' in options).toBe(false);
    expect('password' in options).toBe(false);
    expect(options).toEqual({
      servers: [{ host: 'h', port: 7569, tls: true }],
      licenseType: 'SpeechPort',
      licenseCachePeriod: 30,
      delayedLicenseAcquisition: false,
    });
    expect(resolveOptions(options).credentials).toBeUndefined();
  });

  it('an empty conf gives the conf defaults, which resolve like no options at all', async () => {
    const options = await optionsFromProperties(parseClientProperties(''));
    expect(options).toEqual({
      servers: [{ host: '127.0.0.1', port: 7569, tls: false }],
      licenseType: 'Auto',
      licenseCachePeriod: 30,
      delayedLicenseAcquisition: false,
    });
    expect(resolveOptions(options)).toEqual(resolveOptions({}));
  });

  it('the caller overrides the conf by spreading over it', async () => {
    const options = {
      ...(await optionsFromProperties(parseClientProperties(CONF))),
      licenseType: 'Auto' as const,
      servers: 'override:1',
    };
    const resolved = resolveOptions(options);
    expect(resolved.licenseType).toBe('Auto');
    expect(resolved.servers).toEqual([{ host: 'override', port: 1, tls: false }]);
    expect(resolved.licenseCachePeriod).toBe(120);
  });

  it('returns server objects of its own, not the frozen parsed addresses', async () => {
    const props = parseClientProperties(CONF);
    const options = await optionsFromProperties(props);
    const servers = options.servers as readonly object[];
    expect(servers[0]).not.toBe(props.licenseServers[0]);
    expect(Object.keys(servers[0] ?? {}).sort()).toEqual(['host', 'port', 'tls']);
  });
});

describe('options of the wrong type', () => {
  it('say what type they got', async () => {
    const { LicenseClient: Client } = await import('../../src/index.js');
    expect(() => new Client({ servers: '127.0.0.1', requestTimeout: '5000' as never })).toThrow(
      'The requestTimeout option must be a number of milliseconds from 1 to 2147483647 (about 24.8 days), not the string "5000".',
    );
    expect(() => new Client({ servers: '127.0.0.1', username: 7 as never, password: 'x' })).toThrow(
      'The username option must be a string, not a number.',
    );
    expect(() => new Client({ servers: '127.0.0.1', username: 'u', password: 12345 as never })).toThrow(
      'The password option must be a string, not a number.',
    );
  });
});
