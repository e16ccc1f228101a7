import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, isLicenseError } from '../../src/errors.js';
import { ReturnCode } from '../../src/protocol/return-codes.js';
import {
  type AccountsSpec,
  loadAccountsFile,
  parseAccountsFile,
  REDACTED,
  redactAccounts,
  validateAccounts,
} from '../../src/server/accounts.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/accounts/license_authentication.conf', import.meta.url));
const VERIFIER =
  'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=';
// Distinctive enough that finding any part of it in a message means it leaked.
const SECRET = 'Xyzzy-Plugh-7731';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function expectNoSecret(err: ConfigError, secrets: readonly string[] = [SECRET]): void {
  const shown = `${err.message} ${err.key ?? ''} ${String(err.stack)}`;
  for (const secret of secrets) expect(shown).not.toContain(secret);
}

describe('the example license_authentication.conf', () => {
  it('loads with every documented feature', async () => {
    const accounts = await loadAccountsFile(FIXTURE);
    expect(accounts).toEqual({
      'ivr-node-1': { password: 'pencil-sharpener', licenses: { FULL: 4, LITE: 2, TTS: 2, AMD: 1 } },
      'ivr-node-2': { verifier: VERIFIER, licenses: { FULL: 2, LITE: 0 } },
      'reports.batch': { password: 'tts#only;please', licenses: { TTS: 8 } },
    });
  });

  it('gives frozen accounts that validateAccounts accepts as they are', async () => {
    const accounts = await loadAccountsFile(FIXTURE);
    expect(Object.isFrozen(accounts)).toBe(true);
    expect(Object.isFrozen(accounts['ivr-node-1'])).toBe(true);
    expect(Object.isFrozen(accounts['ivr-node-1']?.licenses)).toBe(true);
    expect(validateAccounts(accounts)).toEqual(accounts);
  });
});

describe('validateAccounts', () => {
  it('returns a frozen copy and leaves the input alone', () => {
    const input = { alice: { password: 'pencil', licenses: { FULL: 4, TTS: 0 } } };
    const out = validateAccounts(input);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
    expect(Object.isFrozen(out.alice)).toBe(true);
    expect(Object.isFrozen(input.alice)).toBe(false);
  });

  it('accepts a verifier, an account with no licenses and any feature name of the allowed form', () => {
    expect(() =>
      validateAccounts({
        bob: { verifier: VERIFIER, licenses: {} },
        'ivr.node@example.com': { password: 'x', licenses: { CUSTOM_FEATURE_2: 1, A: 0 } },
        carol: { password: 'y', verifier: undefined, licenses: { FULL: 1 } },
      }),
    ).not.toThrow();
  });

  const bad: Array<[string, unknown, RegExp, string | undefined]> = [
    ['no accounts', {}, /No accounts are defined/, undefined],
    ['an empty username', { '': { password: SECRET, licenses: {} } }, /username is empty/, undefined],
    ['blanks around a username', { ' al ': { password: SECRET, licenses: {} } }, /blanks around/, ' al '],
    [
      'neither password nor verifier',
      { alice: { licenses: { FULL: 1 } } },
      /neither a password nor a verifier/,
      'alice',
    ],
    [
      'both password and verifier',
      { alice: { password: SECRET, verifier: VERIFIER, licenses: {} } },
      /both a password and a verifier/,
      'alice.verifier',
    ],
    [
      'an empty password',
      { alice: { password: '', licenses: {} } },
      /password must be a non-empty string/,
      'alice.password',
    ],
    [
      'a password that is no string',
      { alice: { password: 42, licenses: {} } },
      /non-empty string/,
      'alice.password',
    ],
    [
      'a verifier of the wrong shape',
      { alice: { verifier: `SCRAM-SHA-1$4096:${SECRET}$a:b`, licenses: {} } },
      /not a SCRAM-SHA-256 verifier/,
      'alice.verifier',
    ],
    [
      'a verifier with a short key',
      { alice: { verifier: VERIFIER.replace('WG5d', 'WG5'), licenses: {} } },
      /not a SCRAM-SHA-256 verifier/,
      'alice.verifier',
    ],
    [
      'a verifier with 0 iterations',
      { alice: { verifier: VERIFIER.replace('$4096:', '$0:'), licenses: {} } },
      /verifier/,
      'alice.verifier',
    ],
    ['no licenses object', { alice: { password: SECRET } }, /licenses must be an object/, 'alice.licenses'],
    [
      'a negative count',
      { alice: { password: SECRET, licenses: { FULL: -1 } } },
      /licenses\.FULL must be a whole number.*not -1/,
      'alice.licenses.FULL',
    ],
    [
      'a fractional count',
      { alice: { password: SECRET, licenses: { TTS: 1.5 } } },
      /licenses\.TTS must be a whole number.*not 1\.5/,
      'alice.licenses.TTS',
    ],
    [
      'a count that is a string',
      { alice: { password: SECRET, licenses: { TTS: '2' } } },
      /licenses\.TTS must be a whole number/,
      'alice.licenses.TTS',
    ],
    [
      'an infinite count',
      { alice: { password: SECRET, licenses: { AMD: Number.POSITIVE_INFINITY } } },
      /whole number/,
      'alice.licenses.AMD',
    ],
    [
      'a lower-case feature',
      { alice: { password: SECRET, licenses: { full: 1 } } },
      /"full" is not a license type.*Write "FULL"/,
      'alice.licenses.full',
    ],
    [
      'a feature with a dash',
      { alice: { password: SECRET, licenses: { 'FULL-2': 1 } } },
      /"FULL-2" is not a license type/,
      'alice.licenses.FULL-2',
    ],
    [
      'a feature of 33 characters',
      { alice: { password: SECRET, licenses: { [`F${'X'.repeat(32)}`]: 1 } } },
      /at most 32/,
      undefined,
    ],
    ['a misspelt field', { alice: { pasword: SECRET, licenses: {} } }, /unknown field "pasword"/, 'alice'],
    ['an account that is no object', { alice: SECRET }, /must be an object/, 'alice'],
    ['accounts that are no object', null, /must be an object of username/, undefined],
  ];

  it.each(bad)('refuses %s, naming the account and field, never the secret', (_name, spec, message, key) => {
    const err = configError(() => validateAccounts(spec as AccountsSpec));
    expect(err.message).toMatch(message);
    expect(err.code).toBe(ReturnCode.LV_INVALID_PROPERTY_VALUE);
    expect(err.retryable).toBe(false);
    if (key !== undefined) expect(err.key).toBe(key);
    expectNoSecret(err);
  });

  it('names the account in the message', () => {
    const err = configError(() =>
      validateAccounts({ alice: { password: 'p', licenses: { FULL: 1 } }, bob: { licenses: {} } }),
    );
    expect(err.message).toMatch(/^Account "bob": /);
  });
});

describe('parseAccountsFile', () => {
  it('reads keys case-insensitively, comments, CRLF and a BOM', () => {
    const text =
      '\uFEFF# accounts\r\n[Alice]\r\npassword = pencil\r\nFull = 3 ; three seats\r\ntts=1\r\n\r\n; done\r\n';
    expect(parseAccountsFile(text, 'a.conf')).toEqual({
      Alice: { password: 'pencil', licenses: { FULL: 3, TTS: 1 } },
    });
  });

  it('keeps a password that holds "=", and a quoted one that holds "#", ";" or quotes', () => {
    const text = [
      '[a]',
      'PASSWORD = x=y==',
      '[b]',
      'PASSWORD = "p#a;s\\"s"',
      '[c]',
      "PASSWORD = 'it;s'",
    ].join('\n');
    const accounts = parseAccountsFile(text);
    expect(accounts.a?.password).toBe('x=y==');
    expect(accounts.b?.password).toBe('p#a;s"s');
    expect(accounts.c?.password).toBe('it;s');
  });

  it('keeps a dotted username as one account', () => {
    expect(parseAccountsFile('[a.b]\nPASSWORD = p\n[a]\nPASSWORD = q\n')).toEqual({
      'a.b': { password: 'p', licenses: {} },
      a: { password: 'q', licenses: {} },
    });
  });

  it('keeps a password that reads like a keyword, quoted or not', () => {
    const accounts = parseAccountsFile(
      '[a]\nPASSWORD = "true"\n[b]\nPASSWORD = null\n[c]\nPASSWORD = 12345\n',
    );
    expect(accounts.a?.password).toBe('true');
    expect(accounts.b?.password).toBe('null');
    expect(accounts.c?.password).toBe('12345');
  });

  const bad: Array<[string, string, number | undefined, RegExp, string | undefined]> = [
    ['an empty file', '# nothing\n', undefined, /No accounts are defined/, undefined],
    [
      'a key before any section',
      'FULL = 1\n[a]\nPASSWORD = p\n',
      1,
      /FULL comes before any \[username\] section/,
      'FULL',
    ],
    [
      'a line that is not KEY = value',
      `[a]\nPASSWORD = p\n${SECRET}\n`,
      3,
      /not shown.*not a \[username\] header/,
      undefined,
    ],
    ['a section with no name', '[a]\nPASSWORD = p\n[ ]\n', 3, /has no username/, undefined],
    ['an indented header', '[a]\nPASSWORD = p\n  [b]\n', 3, /not a valid section header/, undefined],
    ['a header with text after it', '[a] x\nPASSWORD = p\n', 1, /not a valid section header/, undefined],
    [
      'a repeated section',
      '[a]\nPASSWORD = p\n[b]\nPASSWORD = q\n[a]\n',
      5,
      /\[a\] appears again \(first on line 1\)/,
      undefined,
    ],
    [
      'a repeated key',
      `[a]\nPASSWORD = ${SECRET}\nFULL = 1\npassword = ${SECRET}\n`,
      4,
      /PASSWORD appears again in \[a\] \(first on line 2\)/,
      'PASSWORD',
    ],
    [
      'a key that is no name',
      '[a]\nPASSWORD = p\nFULL[] = 1\n',
      3,
      /key before "=" is not a name/,
      undefined,
    ],
    ['an empty key', '[a]\nPASSWORD = p\n = 1\n', 3, /key before "=" is not a name/, undefined],
    [
      'an unquoted password with #',
      `[a]\nFULL = 1\nPASSWORD = ${SECRET}#x\n`,
      3,
      /holds "#" or ";".*double quotes/,
      'PASSWORD',
    ],
    [
      'an unquoted password with a comment',
      `[a]\nPASSWORD = ${SECRET} ; mine\n`,
      2,
      /holds "#" or ";"/,
      'PASSWORD',
    ],
    [
      'a single-quoted number as password',
      "[a]\nPASSWORD = '1e3'\n",
      2,
      /PASSWORD of \[a\] is not read as text/,
      'PASSWORD',
    ],
    [
      'a single-quoted object as verifier',
      "[a]\nVERIFIER = '{}'\n",
      2,
      /VERIFIER of \[a\] is not read as text/,
      'VERIFIER',
    ],
    [
      'neither password nor verifier',
      '[a]\nFULL = 1\n[b]\nFULL = 2\nLITE = 1\n',
      1,
      /Section \[a\]: has neither a PASSWORD nor a VERIFIER/,
      '[a]',
    ],
    [
      'both password and verifier',
      `[a]\nFULL = 1\nPASSWORD = ${SECRET}\nVERIFIER = ${VERIFIER}\n`,
      4,
      /both a PASSWORD and a VERIFIER/,
      'VERIFIER',
    ],
    [
      'an empty password',
      '[a]\nFULL = 1\nPASSWORD =\n',
      3,
      /PASSWORD must be a non-empty string/,
      'PASSWORD',
    ],
    [
      'a bad verifier',
      `[a]\nFULL = 1\nVERIFIER = ${SECRET}\n`,
      3,
      /VERIFIER is not a SCRAM-SHA-256 verifier/,
      'VERIFIER',
    ],
    [
      'a negative count',
      '[a]\nPASSWORD = p\nFULL = 2\nLITE = -1\n',
      4,
      /^a\.conf:4: Section \[a\]: LITE must be a whole number of licenses, 0 or more, not -1\.$/,
      'LITE',
    ],
    [
      'a fractional count',
      '[a]\nPASSWORD = p\nTTS = 0.5\n',
      3,
      /TTS must be a whole number.*not 0\.5/,
      'TTS',
    ],
    [
      'a count that is words',
      '[a]\nPASSWORD = p\nAMD = one\n',
      3,
      /AMD must be a whole number of licenses, 0 or more\.$/,
      'AMD',
    ],
    ['an empty count', '[a]\nPASSWORD = p\nAMD =\n', 3, /AMD must be a whole number/, 'AMD'],
    ['a misspelt PASSWORD key', `[a]\nPASWORD = ${SECRET}\n`, 1, /neither a PASSWORD/, '[a]'],
    [
      'a misspelt PASSWORD next to a verifier',
      `[a]\nVERIFIER = ${VERIFIER}\nPASWORD = ${SECRET}\n`,
      3,
      /PASWORD must be a whole number.*the key is PASSWORD/,
      'PASWORD',
    ],
    [
      'a feature of 33 characters',
      `[a]\nPASSWORD = p\nF${'X'.repeat(32)} = 1\n`,
      3,
      /is not a license type/,
      undefined,
    ],
  ];

  it.each(bad)('refuses %s with file:line and never shows the secret', (_name, text, line, message, key) => {
    const err = configError(() => parseAccountsFile(text, 'a.conf'));
    expect(err.message).toMatch(message);
    expect(err.file).toBe('a.conf');
    expect(err.line).toBe(line);
    expect(err.message.startsWith(line === undefined ? 'a.conf: ' : `a.conf:${line}: `)).toBe(true);
    if (key !== undefined) expect(err.key).toBe(key);
    expectNoSecret(err, [SECRET, VERIFIER, 'SCRAM-SHA-256$4096']);
  });

  it('does not show a number written under a misspelt PASSWORD key', () => {
    const err = configError(() =>
      parseAccountsFile(`[a]\nVERIFIER = ${VERIFIER}\nPass_Word = -4711\n`, 'a.conf'),
    );
    expect(err.message).toMatch(
      /^a\.conf:3: .*PASS_WORD must be a whole number of licenses, 0 or more\. If this/,
    );
    expectNoSecret(err, ['4711']);
  });

  it('says "line N" when no file name is given', () => {
    const err = configError(() => parseAccountsFile('[a]\nPASSWORD = p\nFULL = x\n'));
    expect(err.message).toMatch(/^line 3: /);
    expect(err.file).toBeUndefined();
  });

  it('never shows a password in any message, whatever the file holds', () => {
    const fragments = [
      '[alice]',
      '[bob]',
      '[]',
      '  [x]',
      `PASSWORD = ${SECRET}`,
      `password = "${SECRET}"`,
      `PASSWORD = ${SECRET}#`,
      `PASWORD = ${SECRET}`,
      `pass word = ${SECRET}`,
      `${SECRET}`,
      `${SECRET} = 1`,
      `VERIFIER = ${SECRET}`,
      `VERIFIER = ${VERIFIER}`,
      'FULL = 2',
      'full = -1',
      'TTS = abc',
      '# comment',
      '',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 12 }), (lines) => {
        try {
          parseAccountsFile(lines.join('\n'), 'p.conf');
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expectNoSecret(err as ConfigError, [SECRET, VERIFIER]);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('loadAccountsFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lv-accounts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a missing file with a ConfigError that keeps the cause', async () => {
    const path = join(dir, 'missing.conf');
    const err = await loadAccountsFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(isLicenseError(err)).toBe(true);
    const configErr = err as ConfigError;
    expect(configErr.message).toContain(path);
    expect(configErr.message).toMatch(/does not exist/);
    expect(configErr.file).toBe(path);
    expect((configErr.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('refuses a directory as unreadable', async () => {
    const err = (await loadAccountsFile(dir).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/could not be read \(EISDIR\)/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('names the file and line of a bad entry', async () => {
    const path = join(dir, 'bad.conf');
    await writeFile(path, `[alice]\nPASSWORD = ${SECRET}\nFULL = lots\n`);
    const err = (await loadAccountsFile(path).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message.startsWith(`${path}:3: `)).toBe(true);
    expect(err.line).toBe(3);
    expectNoSecret(err);
  });
});

describe('redactAccounts', () => {
  it('replaces passwords and verifiers and keeps the rest', () => {
    const accounts = {
      a: { password: SECRET, licenses: { FULL: 1 } },
      b: { verifier: VERIFIER, licenses: {} },
    };
    const redacted = redactAccounts(accounts);
    expect(redacted).toEqual({
      a: { password: REDACTED, licenses: { FULL: 1 } },
      b: { verifier: REDACTED, licenses: {} },
    });
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
    expect(accounts.a.password).toBe(SECRET);
    expect(redacted.a?.licenses).not.toBe(accounts.a.licenses);
  });
});
