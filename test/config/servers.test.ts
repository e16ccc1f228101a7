import { describe, expect, it } from 'vitest';
import {
  type ConfigWarning,
  DEFAULT_LICENSE_PORT,
  DEFAULT_LICENSE_SERVERS,
  parseServerList,
} from '../../src/config/index.js';
import { configError } from './support.js';

const hostsPorts = (value: string) =>
  parseServerList(value).map((server) => [server.host, server.port, server.tls] as const);

describe('parseServerList', () => {
  it('exports the defaults', () => {
    expect(DEFAULT_LICENSE_PORT).toBe(7569);
    expect(DEFAULT_LICENSE_SERVERS).toBe('127.0.0.1:7569');
  });

  it('parses the documented example, in order, port 7569 by default', () => {
    expect(parseServerList('10.0.0.1:7569;10.0.0.2')).toEqual([
      { host: '10.0.0.1', port: 7569, tls: false, entry: '10.0.0.1:7569' },
      { host: '10.0.0.2', port: 7569, tls: false, entry: '10.0.0.2' },
    ]);
  });

  it('returns frozen entries in a frozen list', () => {
    const servers = parseServerList('a;b');
    expect(Object.isFrozen(servers)).toBe(true);
    expect(servers.every((server) => Object.isFrozen(server))).toBe(true);
  });

  it.each([
    ['host', 'ls1', 'ls1', 7569],
    ['host:port', 'ls1.example.com:4971', 'ls1.example.com', 4971],
    ['IPv4', '192.168.0.10', '192.168.0.10', 7569],
    ['IPv4:port', '192.168.0.10:1', '192.168.0.10', 1],
    ['[v6]:port', '[fe80::1]:4971', 'fe80::1', 4971],
    ['[v6]', '[2001:db8::7]', '2001:db8::7', 7569],
    ['bare v6 ::1', '::1', '::1', 7569],
    ['bare v6 fe80::1', 'fe80::1', 'fe80::1', 7569],
    ['v6 with zone', '[fe80::1%eth0]:7000', 'fe80::1%eth0', 7000],
    ['a digit-led label', '3com.example.com', '3com.example.com', 7569],
    ['port with leading zeros', 'ls1:07569', 'ls1', 7569],
    ['highest port', 'ls1:65535', 'ls1', 65535],
  ])('accepts %s', (_form, entry, host, port) => {
    expect(parseServerList(entry)).toEqual([{ host, port, tls: false, entry }]);
  });

  it('takes tls:// (any case) on every form, with port 7569 by default', () => {
    expect(hostsPorts('tls://ls1;TLS://ls2:9000;tls://[::1]:7000;tls://fe80::2;tls://10.0.0.1')).toEqual([
      ['ls1', 7569, true],
      ['ls2', 9000, true],
      ['::1', 7000, true],
      ['fe80::2', 7569, true],
      ['10.0.0.1', 7569, true],
    ]);
  });

  it('keeps the entry as written (trimmed)', () => {
    expect(parseServerList('  tls://LS1.example.com:7569  ')[0]?.entry).toBe('tls://LS1.example.com:7569');
  });

  it('ignores blanks around ";" and empty entries, including a trailing ";"', () => {
    expect(hostsPorts(' a ; ;b:1; ;')).toEqual([
      ['a', 7569, false],
      ['b', 1, false],
    ]);
  });

  it('uses the given default port', () => {
    expect(parseServerList('sre1;sre2:1', { defaultPort: 5730 }).map((server) => server.port)).toEqual([
      5730, 1,
    ]);
  });

  it('reads "default" (any case) as 127.0.0.1 on the default port', () => {
    expect(parseServerList(' Default ')).toEqual([
      { host: '127.0.0.1', port: 7569, tls: false, entry: DEFAULT_LICENSE_SERVERS },
    ]);
  });

  it('records the line when given one', () => {
    expect(parseServerList('a;b', { line: 12 }).map((server) => server.line)).toEqual([12, 12]);
  });

  describe('duplicates', () => {
    it('drops a repeated host and port with a duplicate-server warning', () => {
      const warnings: ConfigWarning[] = [];
      const servers = parseServerList('10.0.0.1;LS1:7000;10.0.0.1:7569;ls1:7000;ls1:7001', {
        onWarning: (warning) => warnings.push(warning),
        source: 'client_property.conf',
        line: 9,
      });
      expect(servers.map((server) => server.entry)).toEqual(['10.0.0.1', 'LS1:7000', 'ls1:7001']);
      expect(warnings).toEqual([
        {
          code: 'duplicate-server',
          line: 9,
          key: 'LICENSE_SERVERS',
          message:
            'client_property.conf:9: LICENSE_SERVERS lists 10.0.0.1:7569 twice ("10.0.0.1" and "10.0.0.1:7569"); ' +
            'the repeat is ignored. Remove "10.0.0.1:7569".',
        },
        expect.objectContaining({ code: 'duplicate-server', message: expect.stringContaining('"ls1:7000"') }),
      ]);
    });

    it('sees two spellings of one IPv6 address, and tls:// vs plain, as the same server', () => {
      expect(parseServerList('[::1]:7569;0:0:0:0:0:0:0:1;tls://[::1]').map((server) => server.entry)).toEqual(
        ['[::1]:7569'],
      );
    });
  });

  describe('errors', () => {
    it('names the entry, its port, the valid range and an example fix (out-of-range port)', () => {
      const error = configError(() =>
        parseServerList('10.0.0.2;10.0.0.1:99999', { source: 'client_property.conf', line: 12 }),
      );
      expect(error.message).toBe(
        'client_property.conf:12: LICENSE_SERVERS entry "10.0.0.1:99999" has port 99999; ' +
          'a port must be 1 to 65535. Fix the entry, e.g. 10.0.0.1:7569.',
      );
      expect(error).toMatchObject({ file: 'client_property.conf', line: 12, key: 'LICENSE_SERVERS' });
    });

    it('has no location prefix without a source', () => {
      expect(configError(() => parseServerList('ls1:0')).message).toBe(
        'LICENSE_SERVERS entry "ls1:0" has port 0; a port must be 1 to 65535. Fix the entry, e.g. ls1:7569.',
      );
    });

    it.each([
      ['ls1:70000', 'has port 70000; a port must be 1 to 65535', 'ls1:7569'],
      ['tls://ls1:0', 'has port 0; a port must be 1 to 65535', 'tls://ls1:7569'],
      ['[::1]:65536', 'has port 65536; a port must be 1 to 65535', '[::1]:7569'],
      ['ls1:http', 'has port "http", which is not a decimal number', 'ls1:7569'],
      ['ls1:-1', 'has port "-1", which is not a decimal number', 'ls1:7569'],
      ['ls1:0x1F', 'has port "0x1F", which is not a decimal number', 'ls1:7569'],
      ['ls1:7569.0', 'has port "7569.0", which is not a decimal number', 'ls1:7569'],
      ['ls1:', 'has an empty port after ":"', 'ls1:7569'],
    ])('rejects %j', (entry, problem, fix) => {
      const error = configError(() => parseServerList(entry));
      expect(error.message).toContain(`LICENSE_SERVERS entry ${JSON.stringify(entry)} ${problem}.`);
      expect(error.message).toContain(fix);
    });

    it.each([
      ['http://ls1:7569', 'starts with "http://"; only tls:// is understood'],
      ['https://ls1', 'starts with "https://"; only tls:// is understood'],
      ['ssl://ls1', 'starts with "ssl://"; only tls:// is understood'],
      [':7569', 'has no host'],
      ['tls://', 'has no host'],
      ['ls_1.example.com', 'is not a valid host name: each dot-separated part must be 1 to 63 letters'],
      ['-ls1', 'is not a valid host name'],
      ['ls1-.example.com', 'is not a valid host name'],
      ['ls1..example.com', 'is not a valid host name'],
      ['ls1.example.com.', 'is not a valid host name'],
      [`${'a'.repeat(64)}.com`, 'is not a valid host name'],
      ['10.0.0.256', 'is not a valid IPv4 address (four numbers from 0 to 255, no leading zeros)'],
      ['10.0.0', 'is not a valid IPv4 address'],
      ['010.0.0.1', 'is not a valid IPv4 address'],
      ['tls://10.0.0.256:7569', 'has host "10.0.0.256", which is not a valid IPv4 address'],
      ['bad_host:7569', 'has host "bad_host", which is not a valid host name'],
      ['[ls1]:7569', 'has "ls1" in brackets, which is not an IPv6 address'],
      ['[::1', 'has a "[" without its "]"'],
      ['[::1]7569', 'has "7569" after "]"'],
      ['fe80::zz', 'has more than one ":" but is not an IPv6 address'],
      ['10.0.0.1,10.0.0.2', 'contains ","; entries are separated by ";"'],
      ['10.0.0.1 10.0.0.2', 'contains a blank; entries are separated by ";"'],
    ])('rejects %j', (entry, problem) => {
      const error = configError(() => parseServerList(`ok.example.com;${entry}`, { source: 'f', line: 3 }));
      expect(error.message).toContain(`f:3: LICENSE_SERVERS entry ${JSON.stringify(entry)} ${problem}`);
      expect(error).toMatchObject({ line: 3, key: 'LICENSE_SERVERS', file: 'f' });
    });

    it('cuts a very long entry in the message', () => {
      const entry = `${'a.'.repeat(127)}ab`;
      const error = configError(() => parseServerList(entry));
      expect(error.message).toContain(
        `LICENSE_SERVERS entry "${entry.slice(0, 80)}..." is not a valid host name`,
      );
      expect(error.message).toContain('longer than 253 characters');
    });

    it.each([
      ['10.0.0.256', 'Fix the entry, e.g. 10.0.0.1:7569.'],
      ['tls://ls_1', 'Fix the entry, e.g. tls://ls1.example.com:7569.'],
    ])('gives an example fix for %j', (entry, fix) => {
      expect(configError(() => parseServerList(entry)).message).toMatch(
        new RegExp(`${fix.replace(/[.]/g, '\\.')}$`),
      );
    });

    it('suggests the ";"-separated list when entries are separated by commas', () => {
      expect(configError(() => parseServerList('10.0.0.1, 10.0.0.2')).message).toContain(
        'Write LICENSE_SERVERS = 10.0.0.1;10.0.0.2.',
      );
    });

    it('says only tls:// is understood and shows the plain form', () => {
      expect(configError(() => parseServerList('http://ls1:7569')).message).toBe(
        'LICENSE_SERVERS entry "http://ls1:7569" starts with "http://"; only tls:// is understood. ' +
          'Write the entry as ls1:7569 for plain TCP or with tls:// in front for TLS.',
      );
    });

    it.each(['', '   ', ';', ' ; ; '])('rejects a list with no server (%j)', (value) => {
      const error = configError(() => parseServerList(value, { source: 'f', line: 4 }));
      expect(error.message).toBe(
        'f:4: LICENSE_SERVERS lists no server. Give one or more host[:port] entries separated by ";", ' +
          'e.g. LICENSE_SERVERS = 10.0.0.1:7569;10.0.0.2, or write default for 127.0.0.1:7569.',
      );
    });

    it('uses the given key name in messages', () => {
      expect(configError(() => parseServerList('ls1:0', { key: 'servers' })).message).toMatch(
        /^servers entry/,
      );
    });

    it.each([0, 65536, 1.5, Number.NaN])('rejects defaultPort %s', (defaultPort) => {
      expect(configError(() => parseServerList('ls1', { defaultPort })).message).toContain(
        `defaultPort ${defaultPort} is not a port`,
      );
    });
  });
});
