import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClientProperties, parseClientProperties, parseServerList } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { SECRET } from './support.js';

const SOURCE = 'prop.conf';

/** Parses, and checks that the outcome is options or a well-formed ConfigError, never anything else. */
function outcome(text: string): ClientProperties | ConfigError {
  try {
    return parseClientProperties(text, { source: SOURCE, fileMode: 0o644 });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.code).toBe(-11);
    expect(configError.file).toBe(SOURCE);
    expect(configError.message.startsWith(`${SOURCE}:`)).toBe(true);
    if (configError.line !== undefined) {
      expect(configError.line).toBeGreaterThanOrEqual(1);
      expect(configError.line).toBeLessThanOrEqual(text.split(/\r\n|\r|\n/).length);
      expect(configError.message.startsWith(`${SOURCE}:${configError.line}: `)).toBe(true);
    }
    return configError;
  }
}

function expectNoSecret(result: ClientProperties | ConfigError): void {
  const shown =
    result instanceof ConfigError
      ? [result.message, inspect(result)]
      : [
          inspect(result, { depth: 10 }),
          JSON.stringify(result),
          result.warnings.map((w) => w.message).join(),
        ];
  for (const text of shown) expect(text).not.toContain(SECRET);
}

const blank = fc.constantFrom('', ' ', '  ', '\t');
const header = fc.constantFrom(
  '[GLOBAL]',
  '[global]',
  '[SRE]',
  '[TTS]',
  '[STREAM]',
  '[GRAMMAR]',
  '[AUTHENTICATION]',
  '[Authentication]',
  '[TLS]',
  '[ SRE ]',
  '[MRCP]',
  '[GLOBAL] # comment',
  '[',
  '[]',
);
const key = fc.constantFrom(
  'LICENSE_SERVERS',
  'license_servers',
  'LIC_SERVER_HOSTNAME',
  'LICENSE_CACHE_PERIOD',
  'LICENSE_TYPE',
  'DELAYED_LICENSE_ACQUISITION',
  'AUTHENTICATION_USERNAME',
  'CA_FILE',
  'CERT_FILE',
  'KEY_FILE',
  'SERVER_NAME',
  'SRE_SERVERS',
  'LOGGING_VERBOSITY',
  'TAG-FORMAT',
  'VERSION',
);
const entry = fc.oneof(
  fc.ipV4(),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.ipV6(),
  fc.domain(),
  fc.constantFrom('ls1', 'tls://ls2', 'http://ls3', '[::1', '10.0.0.256', 'a_b', ':', ''),
);
const serverList = fc
  .array(fc.tuple(entry, fc.option(fc.integer({ min: -1, max: 70_000 }))), { maxLength: 4 })
  .map((entries) => entries.map(([host, port]) => (port === null ? host : `${host}:${port}`)).join(' ; '));
const value = fc.oneof(
  fc.constantFrom(
    'default',
    'DEFAULT',
    '',
    '""',
    '"x"',
    'Auto',
    'speechport',
    'VoxLite',
    'Full',
    '0',
    '1',
    'yes',
  ),
  fc.constantFrom('true', 'maybe', '30', '3600', '3601', '-1', '1.5', 'ca.pem'),
  fc.integer({ min: -10, max: 5000 }).map(String),
  serverList,
  fc.string({ maxLength: 12 }),
);
const keyValue = fc
  .tuple(blank, key, blank, blank, value, blank)
  .map(([a, k, b, c, v, d]) => `${a}${k}${b}=${c}${v}${d}`);
const password = fc
  .tuple(
    fc.constantFrom('AUTHENTICATION_PASSWORD', 'authentication_password'),
    fc.constantFrom(SECRET, `"${SECRET}"`, ''),
  )
  .map(([k, v]) => `${k} = ${v}`);
const comment = fc.oneof(
  fc.string({ maxLength: 20 }).map((text) => `# ${text}`),
  fc.string({ maxLength: 20 }).map((text) => `; ${text}`),
);
const garbage = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('LICENSE_SERVERS 10.0.0.1', '= x', 'KEY WITH SPACE = 1'),
);
const line = fc.oneof(
  { weight: 2, arbitrary: header },
  { weight: 6, arbitrary: keyValue },
  { weight: 2, arbitrary: password },
  { weight: 2, arbitrary: comment },
  { weight: 1, arbitrary: blank },
  { weight: 1, arbitrary: garbage },
);
const file = fc
  .tuple(fc.array(line, { maxLength: 25 }), fc.constantFrom('\n', '\r\n', '\r'), fc.boolean())
  .map(([lines, eol, bom]) => `${bom ? '\uFEFF' : ''}${lines.join(eol)}`);

describe('properties', () => {
  it('any text gives options or a ConfigError, never another exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 400 })),
        (text) => {
          outcome(text);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("lines made of the grammar's own pieces give options or a ConfigError, and never leak the password", () => {
    fc.assert(
      fc.property(file, (text) => {
        const result = outcome(text);
        expectNoSecret(result);
        if (!(result instanceof ConfigError)) {
          expect(Object.isFrozen(result)).toBe(true);
          expect(result.licenseServers.length).toBeGreaterThan(0);
          expect(result.licenseCachePeriod).toBeGreaterThanOrEqual(0);
          expect(result.licenseCachePeriod).toBeLessThanOrEqual(3600);
          expect(['Auto', 'SpeechPort', 'VoxLite']).toContain(result.licenseType);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('any server list gives servers or a ConfigError', () => {
    fc.assert(
      fc.property(fc.oneof(serverList, fc.string({ maxLength: 60 })), (list) => {
        try {
          for (const server of parseServerList(list)) {
            expect(server.host).not.toBe('');
            expect(Number.isInteger(server.port) && server.port >= 1 && server.port <= 65535).toBe(true);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).key).toBe('LICENSE_SERVERS');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a valid generated server list round-trips, in order', () => {
    const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
    const hostName = fc
      .array(label, { minLength: 1, maxLength: 4 })
      .map((labels) => labels.join('.'))
      .filter((name) => !/^[0-9.]+$/.test(name));
    const host = fc.oneof(
      fc.ipV4().map((ip) => ({ host: ip, v6: false })),
      fc.ipV6().map((ip) => ({ host: ip, v6: true })),
      fc.oneof(hostName, fc.domain()).map((name) => ({ host: name, v6: false })),
    );
    const server = fc.record({
      address: host,
      port: fc.option(fc.integer({ min: 1, max: 65535 })),
      tls: fc.boolean(),
      bare: fc.boolean(),
    });
    const canonical = (address: { host: string; v6: boolean }) =>
      address.v6 ? new URL(`http://[${address.host}]/`).hostname : address.host.toLowerCase();
    fc.assert(
      fc.property(
        fc.uniqueArray(server, { minLength: 1, maxLength: 6, selector: (s) => canonical(s.address) }),
        fc.constantFrom(';', ' ; ', ';  '),
        fc.boolean(),
        (servers, separator, trailing) => {
          const written = servers.map(({ address, port, tls, bare }) => {
            const hostText = address.v6 && !(bare && port === null) ? `[${address.host}]` : address.host;
            return `${tls ? 'tls://' : ''}${hostText}${port === null ? '' : `:${port}`}`;
          });
          const text = `${written.join(separator)}${trailing ? ';' : ''}`;
          const parsed = parseServerList(text);
          expect(parsed).toEqual(
            servers.map(({ address, port, tls }, index) => ({
              host: address.host,
              port: port ?? 7569,
              tls,
              entry: written[index],
            })),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
