import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { parseClientProperties } from '../../src/config/index.js';
import { scanLines } from '../../src/config/lines.js';
import { conf, configError, SECRET } from './support.js';

const scan = (text: string) => scanLines(text, new Diagnostics('client_property.conf'));

describe('scanLines', () => {
  it('gives each KEY = VALUE with its section and 1-based line, skipping comments and blanks', () => {
    const entries = scan(
      conf('# comment', '[GLOBAL]', '', 'VERSION = 10.5', '  ; indented comment', '[SRE]', 'A=1'),
    );
    expect(entries).toEqual([
      {
        line: 4,
        section: 'GLOBAL',
        sectionAsWritten: 'GLOBAL',
        sectionLine: 2,
        key: 'VERSION',
        keyAsWritten: 'VERSION',
        value: '10.5',
      },
      {
        line: 7,
        section: 'SRE',
        sectionAsWritten: 'SRE',
        sectionLine: 6,
        key: 'A',
        keyAsWritten: 'A',
        value: '1',
      },
    ]);
  });

  it('puts keys before any header in the GLOBAL pseudo-section', () => {
    expect(scan('LICENSE_SERVERS = 10.0.0.1\n')[0]).toMatchObject({
      section: 'GLOBAL',
      sectionAsWritten: undefined,
      line: 1,
    });
  });

  it('upper-cases section and key names but keeps how they were written', () => {
    expect(scan('[Sre]\nLicense_Type = voxlite\n')[0]).toMatchObject({
      section: 'SRE',
      sectionAsWritten: 'Sre',
      key: 'LICENSE_TYPE',
      keyAsWritten: 'License_Type',
      value: 'voxlite',
    });
  });

  it('strips a UTF-8 BOM and handles CRLF, LF and lone CR line ends', () => {
    const entries = scan('\uFEFF[GLOBAL]\r\nA = 1\r\nB = 2\rC = 3\n');
    expect(entries.map((entry) => [entry.key, entry.value, entry.line])).toEqual([
      ['A', '1', 2],
      ['B', '2', 3],
      ['C', '3', 4],
    ]);
  });

  it('never treats ; inside a value as a comment (it separates LICENSE_SERVERS entries)', () => {
    expect(scan('LICENSE_SERVERS = 127.0.0.1:7569;10.0.0.1:4971 ; # not a comment\n')[0]?.value).toBe(
      '127.0.0.1:7569;10.0.0.1:4971 ; # not a comment',
    );
  });

  it('trims blanks around = and the value, and keeps an empty value', () => {
    expect(scan('  KEY   =    spaced value   \nEMPTY =\n').map((entry) => entry.value)).toEqual([
      'spaced value',
      '',
    ]);
  });

  it('strips one pair of surrounding double quotes and keeps what is inside verbatim', () => {
    expect(scan('A = "  x;y#z  "\nB = "\nC = ""\nD = "a"b"\n').map((entry) => entry.value)).toEqual([
      '  x;y#z  ',
      '"',
      '',
      'a"b',
    ]);
  });

  it('keeps everything after the first = in the value', () => {
    expect(scan('A = b=c==\n')[0]?.value).toBe('b=c==');
  });

  it('accepts keys with digits, "_", "." and "-" (the vendor file has TAG-FORMAT, FETCH-TIMEOUT)', () => {
    expect(
      scan('[GRAMMAR]\nTAG-FORMAT = default\nFETCH-TIMEOUT = 10\nx.y_1 = 2\n').map((e) => e.key),
    ).toEqual(['TAG-FORMAT', 'FETCH-TIMEOUT', 'X.Y_1']);
  });

  it('accepts blanks inside the brackets and a comment after a header', () => {
    expect(scan('[ SRE ]   # speech engine\nA = 1\n')[0]?.section).toBe('SRE');
  });
});

describe('lines that are not valid', () => {
  it('rejects a line without "=", naming the file and line and showing the line', () => {
    const error = configError(() =>
      parseClientProperties(conf('[GLOBAL]', '# ok', 'LICENSE_SERVERS 10.0.0.1'), {
        source: 'client_property.conf',
      }),
    );
    expect(error.message).toBe(
      'client_property.conf:3: the line "LICENSE_SERVERS 10.0.0.1" is not a comment, a [SECTION] header or ' +
        'KEY = VALUE. Write it as KEY = VALUE, put a # in front of it to make it a comment, or delete it.',
    );
    expect(error).toMatchObject({ file: 'client_property.conf', line: 3, key: undefined });
  });

  it.each([
    ['[GLOBAL', 'is not a valid [SECTION] header'],
    ['[]', 'is not a valid [SECTION] header'],
    ['[GLOBAL] trailing', 'is not a valid [SECTION] header'],
    ['= value', 'has no key before "="'],
    ['LICENSE SERVERS = 10.0.0.1', 'has a key that is not letters, digits, "_", "." or "-"'],
  ])('rejects %j', (line, what) => {
    const error = configError(() => parseClientProperties(`# first\n${line}\n`));
    expect(error.message).toContain(`<string>:2: the line ${JSON.stringify(line)} ${what}.`);
    expect(error.line).toBe(2);
  });

  it('never shows a malformed line of the [AUTHENTICATION] section', () => {
    const error = configError(() =>
      parseClientProperties(conf('[AUTHENTICATION]', 'AUTHENTICATION_USERNAME = me', `${SECRET}`)),
    );
    expect(error.message).toContain(
      '<string>:3: this line (not shown: it may hold a password) is not a comment',
    );
    expect(error.message).not.toContain(SECRET);
    expect(error.line).toBe(3);
  });

  it('never shows a malformed line that mentions a password, in any section', () => {
    const error = configError(() =>
      parseClientProperties(conf('[GRAMMAR]', `AUTHENTICATION_PASSWORD ${SECRET}`)),
    );
    expect(error.message).not.toContain(SECRET);
    expect(error.message).toContain('not shown');
  });

  it('shows control characters escaped and cuts long lines', () => {
    const error = configError(() => parseClientProperties(`\u0001${'x'.repeat(200)}\n`));
    expect(error.message).toContain('"\\u0001xxx');
    expect(error.message).toContain('..."');
    expect(error.message.length).toBeLessThan(300);
  });
});
