/**
 * The fake server's accounts: who may log in (a password, or a SCRAM verifier that stands for one) and how
 * many licenses of each type each account holds. They come from code ({@link validateAccounts}) or from a
 * `license_authentication.conf` file ({@link parseAccountsFile}, {@link loadAccountsFile}).
 *
 * No message made here ever holds a password or a verifier.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { FEATURE_PATTERN } from '../protocol/constants.js';
import { type AccountsFile, linePrefix, scanAccountsFile } from './accounts-file.js';

/** One account of the fake server. */
export interface AccountSpec {
  /** The password; give this or {@link AccountSpec.verifier}, not both. */
  password?: string | undefined;
  /**
   * A SCRAM-SHA-256 verifier in place of the password, so the password need not be stored:
   * `SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>`
   * (the form PostgreSQL stores). Give this or {@link AccountSpec.password}, not both.
   */
  verifier?: string | undefined;
  /**
   * Seats per license type: `FULL`, `LITE`, `TTS`, `AMD`, or any name of upper-case letters, digits and `_`
   * that starts with a letter (at most 32 characters). Each count is a whole number, 0 or more.
   */
  licenses: Readonly<Record<string, number>>;
  /**
   * The day of the month (1 to 31; the last day of a shorter month) on which the subscription renews.
   * @defaultValue 25, the vendor's
   */
  renewsOn?: number | undefined;
  /**
   * The date the subscription was cancelled (`YYYY-MM-DD`, UTC). It stays active until the end of that
   * billing cycle (the next renewal day after this date); then its seats are revoked and new acquires
   * are refused with LV_EXPIRED_LICENSE (-59).
   */
  cancelledOn?: string | undefined;
  /**
   * A disabled account cannot log in; its connections are closed and its seats revoked (at a reload).
   * @defaultValue false
   */
  disabled?: boolean | undefined;
}

/** Accounts by username. */
export type AccountsSpec = Readonly<Record<string, AccountSpec>>;

/** What {@link redactAccounts} puts in place of a password or verifier. */
export const REDACTED = '[redacted]';

// Shape only; src/protocol/scram.ts owns the real parsing. StoredKey and ServerKey are SHA-256 sized.
const VERIFIER_SHAPE =
  /^SCRAM-SHA-256\$[1-9][0-9]{0,9}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/;
// Keys that may be a misspelt PASSWORD or VERIFIER: their values are never shown.
const SECRET_LIKE = /PAS|PWD|SECRET|VERIF/i;
const ACCOUNT_FIELDS = new Set(['password', 'verifier', 'licenses', 'renewsOn', 'cancelledOn', 'disabled']);

/** Where a problem is: an account, and one of its fields or license types. */
interface Problem {
  readonly account: string;
  readonly field?: 'password' | 'verifier' | 'licenses' | 'renewsOn' | 'cancelledOn' | 'disabled' | undefined;
  readonly feature?: string | undefined;
  readonly message: string;
}

type Style = 'code' | 'file';

/**
 * Checks accounts given in code and returns a frozen copy of them.
 *
 * @throws `ConfigError` naming the account and field when: there are no accounts; a username is empty
 * or has control characters or surrounding blanks; an account has neither a password nor a verifier, or
 * both; a password is empty; a verifier is not `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`; a
 * license type is not a name like `FULL`; a count is not a whole number, 0 or more; an account has a field
 * other than `password`, `verifier` and `licenses`.
 *
 * @example
 * ```ts
 * const accounts = validateAccounts({ alice: { password: 'pencil', licenses: { FULL: 4, TTS: 2 } } });
 * ```
 */
export function validateAccounts(spec: AccountsSpec): AccountsSpec {
  const problem = findProblem(spec, 'code');
  if (problem !== undefined) {
    throw new ConfigError(problem.message, { key: codeKey(problem) });
  }
  return freezeCopy(spec);
}

/**
 * Parses the text of a `license_authentication.conf` file: the accounts of a fake license server.
 *
 * The format is INI (read with the `ini` package):
 * - One `[username]` section per account. The section name is the username exactly as written (trimmed),
 *   case-sensitive, and may contain dots (`[ivr.node1]`). A section may appear only once.
 * - In each section exactly one of `PASSWORD = <password>` or `VERIFIER = SCRAM-SHA-256$<iterations>:<salt
 *   base64>$<StoredKey base64>:<ServerKey base64>` (a verifier stands in for the password, so the file need
 *   not hold it).
 * - One `FEATURE = count` line per license type the account holds: `FULL = 4`, `LITE = 2`, `TTS = 2`,
 *   `AMD = 1`, or any name of letters, digits and `_` starting with a letter (at most 32 characters). Counts
 *   are whole numbers, 0 or more. A type that is not listed is one the account does not have.
 * - Keys are case-insensitive (`full = 4` is `FULL = 4`); license types are stored upper-case. A key may
 *   appear once per section.
 * - Lines starting with `#` or `;` are comments; so is `#` or `;` and what follows it after a count
 *   (`FULL = 4  # four seats`). Because of that, a password holding `#` or `;` must be written in double
 *   quotes, alone on its line: `PASSWORD = "p#ss;word"`. Inside double quotes, `\"` and `\\` are escapes.
 * - A UTF-8 byte order mark and CRLF line ends are accepted.
 *
 * ```ini
 * # Accounts of the test license server.
 * [ivr-node-1]
 * PASSWORD = s3cret
 * FULL = 4
 * TTS = 2
 *
 * [ivr-node-2]
 * VERIFIER = SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=
 * LITE = 2
 * AMD = 1
 * ```
 *
 * @param text - The file's contents.
 * @param source - The file name that messages start with (`source:line: ...`).
 * @throws `ConfigError` with `file`, `line` and `key` set, for anything {@link validateAccounts}
 * refuses and for lines that are not a `[username]` header, a comment or `KEY = value`. The message never
 * holds a password or verifier.
 */
export function parseAccountsFile(text: string, source?: string): AccountsSpec {
  const file = scanAccountsFile(text, source);
  const problem = findProblem(file.spec, 'file');
  if (problem !== undefined) {
    const line = lineOf(file, problem);
    throw new ConfigError(`${linePrefix(source, line)}${problem.message}`, {
      file: source,
      line,
      key: fileKey(problem),
    });
  }
  return freezeCopy(file.spec);
}

/**
 * Reads and parses a `license_authentication.conf` file (see {@link parseAccountsFile} for the format).
 *
 * @throws `ConfigError` when the file is missing or unreadable (the file-system error is its `cause`),
 * or when {@link parseAccountsFile} refuses its contents.
 */
export async function loadAccountsFile(path: string): Promise<AccountsSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: unknown } | null)?.code;
    const why =
      code === 'ENOENT'
        ? 'does not exist. Check the path, or give the accounts in code instead of a file'
        : `could not be read (${typeof code === 'string' ? code : 'error'}). Check that it is a readable file`;
    throw new ConfigError(`${path}: the accounts file ${why}.`, { file: path, cause });
  }
  return parseAccountsFile(text, path);
}

/**
 * A copy of the accounts that is safe to log: each password and verifier replaced by `'[redacted]'`.
 *
 * @example
 * ```ts
 * redactAccounts({ alice: { password: 'pencil', licenses: { FULL: 1 } } });
 * // { alice: { password: '[redacted]', licenses: { FULL: 1 } } }
 * ```
 */
export function redactAccounts(spec: AccountsSpec): AccountsSpec {
  return Object.fromEntries(
    Object.entries(spec).map(([username, account]): [string, AccountSpec] => [
      username,
      {
        ...(account.password === undefined ? {} : { password: REDACTED }),
        ...(account.verifier === undefined ? {} : { verifier: REDACTED }),
        licenses: { ...account.licenses },
      },
    ]),
  );
}

/** The words messages use: the code's field names, or the file's keys. */
interface Words {
  readonly password: string;
  readonly verifier: string;
  readonly renewsOn: string;
  readonly cancelledOn: string;
  readonly disabled: string;
  readonly style: Style;
  readonly feature: (feature: string) => string;
  readonly who: (username: string) => string;
}

const WORDS: Record<Style, Words> = {
  code: {
    password: 'password',
    verifier: 'verifier',
    renewsOn: 'renewsOn',
    cancelledOn: 'cancelledOn',
    disabled: 'disabled',
    style: 'code',
    feature: (feature) => `licenses.${feature}`,
    who: (username) => `Account ${JSON.stringify(username)}`,
  },
  file: {
    password: 'PASSWORD',
    verifier: 'VERIFIER',
    renewsOn: 'RENEWS_ON',
    cancelledOn: 'CANCELLED',
    disabled: 'DISABLED',
    style: 'file',
    feature: (feature) => feature,
    who: (u) => `Section [${u}]`,
  },
};

type Where = Omit<Problem, 'account' | 'message'>;

/** The key each field is written as in the file. */
const FILE_KEYS: Readonly<Record<NonNullable<Problem['field']>, string>> = {
  password: 'PASSWORD',
  verifier: 'VERIFIER',
  licenses: 'LICENSES',
  renewsOn: 'RENEWS_ON',
  cancelledOn: 'CANCELLED',
  disabled: 'DISABLED',
};

function findProblem(spec: AccountsSpec, style: Style): Problem | undefined {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return { account: '', message: 'The accounts must be an object of username -> account.' };
  }
  const entries = Object.entries(spec);
  if (entries.length === 0) {
    return {
      account: '',
      message:
        style === 'code'
          ? 'No accounts are defined: give at least one, such as { alice: { password, licenses: { FULL: 1 } } }.'
          : 'No accounts are defined: add a [username] section with a PASSWORD and license counts.',
    };
  }
  const words = WORDS[style];
  for (const [username, account] of entries) {
    const found = accountProblem(username, account, words);
    if (found !== undefined) {
      const [message, where = {}] = found;
      return { account: username, ...where, message: `${words.who(username)}: ${message}` };
    }
  }
  return undefined;
}

function accountProblem(username: string, account: AccountSpec, words: Words): [string, Where?] | undefined {
  if (username === '') return ['the username is empty; every account needs a name.'];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  if (username !== username.trim() || /[\u0000-\u001f\u007f]/.test(username)) {
    return ['the username has blanks around it or control characters in it.'];
  }
  if (typeof account !== 'object' || account === null || Array.isArray(account)) {
    return ['must be an object such as { password, licenses: { FULL: 1 } }.'];
  }
  const unknown = Object.keys(account).find((field) => !ACCOUNT_FIELDS.has(field));
  if (unknown !== undefined) {
    return [
      `has an unknown field ${JSON.stringify(unknown)}; the fields are password, verifier, licenses, renewsOn, cancelledOn and disabled.`,
    ];
  }
  const { password, verifier, licenses } = account;
  if (password === undefined && verifier === undefined) {
    return [`has neither a ${words.password} nor a ${words.verifier}; give exactly one of them.`];
  }
  if (password !== undefined && verifier !== undefined) {
    return [
      `has both a ${words.password} and a ${words.verifier}; give only one (a verifier stands in for the password).`,
      { field: 'verifier' },
    ];
  }
  if (password !== undefined && (typeof password !== 'string' || password === '')) {
    return [`the ${words.password} must be a non-empty string.`, { field: 'password' }];
  }
  if (verifier !== undefined && (typeof verifier !== 'string' || !VERIFIER_SHAPE.test(verifier))) {
    return [
      `the ${words.verifier} is not a SCRAM-SHA-256 verifier: expected SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>.`,
      { field: 'verifier' },
    ];
  }
  if (typeof licenses !== 'object' || licenses === null || Array.isArray(licenses)) {
    return [
      'licenses must be an object of license type -> count, such as { FULL: 4 }.',
      { field: 'licenses' },
    ];
  }
  for (const [feature, count] of Object.entries(licenses)) {
    const found = licenseProblem(feature, count, words);
    if (found !== undefined) return [found, { feature }];
  }
  const { renewsOn, cancelledOn } = account;
  if (renewsOn !== undefined && !(Number.isInteger(renewsOn) && renewsOn >= 1 && renewsOn <= 31)) {
    return [`the ${words.renewsOn} must be a day of the month, 1 to 31.`, { field: 'renewsOn' }];
  }
  if (account.disabled !== undefined && typeof account.disabled !== 'boolean') {
    return [
      `${words.disabled} must be ${words.style === 'file' ? 'yes or no' : 'true or false'}.`,
      { field: 'disabled' },
    ];
  }
  if (cancelledOn !== undefined && parseDay(cancelledOn) === undefined) {
    return [
      `the ${words.cancelledOn} must be a date written YYYY-MM-DD, such as 2026-11-10.`,
      { field: 'cancelledOn' },
    ];
  }
  return undefined;
}

/** Epoch ms of midnight UTC of a `YYYY-MM-DD` date, or `undefined` when it is not one. */
export function parseDay(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const at = Date.UTC(year, month - 1, day);
  const back = new Date(at);
  return back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day
    ? at
    : undefined;
}

/**
 * When a cancelled subscription ends: the first renewal day (midnight UTC) after the day it was cancelled
 * (a cancellation on the renewal day itself ends at the next one). `undefined` for one not cancelled.
 */
export function subscriptionEnd(account: AccountSpec): number | undefined {
  const cancelled = parseDay(account.cancelledOn);
  if (cancelled === undefined) return undefined;
  const day = account.renewsOn ?? DEFAULT_RENEWAL_DAY;
  // The renewal this month if it is still ahead of the cancellation, else next month's.
  const start = new Date(cancelled);
  const renewalIn = (month: number): number => {
    const year = start.getUTCFullYear();
    const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    return Date.UTC(year, month, Math.min(day, last));
  };
  const thisMonth = renewalIn(start.getUTCMonth());
  return thisMonth > cancelled ? thisMonth : renewalIn(start.getUTCMonth() + 1);
}

/** The accounts that may log in and hold seats: all but the disabled ones. */
export function enabledAccounts(spec: AccountsSpec): AccountsSpec {
  return Object.fromEntries(Object.entries(spec).filter(([, account]) => account.disabled !== true));
}

/**
 * The day of the month a subscription renews when its section has no `RENEWS_ON`: the vendor's.
 *
 * @defaultValue 25
 */
export const DEFAULT_RENEWAL_DAY = 25;

function licenseProblem(feature: string, count: unknown, words: Words): string | undefined {
  if (!FEATURE_PATTERN.test(feature)) {
    const upper = feature.toUpperCase();
    const hint = upper !== feature && FEATURE_PATTERN.test(upper) ? ` Write ${JSON.stringify(upper)}.` : '';
    return `${JSON.stringify(feature)} is not a license type: a license type is upper-case letters, digits and "_", starts with a letter and has at most 32 characters (FULL, LITE, TTS, AMD).${hint}`;
  }
  if (typeof count === 'number' && Number.isSafeInteger(count) && count >= 0) return undefined;
  // A misspelt PASSWORD key lands here: then the value may be a password, so it is not shown.
  const secretLike = SECRET_LIKE.test(feature);
  const got = typeof count === 'number' && !secretLike ? `, not ${count}` : '';
  const hint = secretLike ? ` If this is meant to be the password, the key is ${words.password}.` : '';
  return `${words.feature(feature)} must be a whole number of licenses, 0 or more${got}.${hint}`;
}

function lineOf(file: AccountsFile, problem: Problem): number | undefined {
  const section = file.sections.get(problem.account);
  if (section === undefined) return undefined;
  const key = problem.feature ?? (problem.field === undefined ? undefined : FILE_KEYS[problem.field]);
  return (key === undefined ? undefined : section.keys.get(key)) ?? section.line;
}

function codeKey(problem: Problem): string | undefined {
  if (problem.feature !== undefined) return `${problem.account}.licenses.${problem.feature}`;
  if (problem.field !== undefined) return `${problem.account}.${problem.field}`;
  return problem.account === '' ? undefined : problem.account;
}

function fileKey(problem: Problem): string | undefined {
  if (problem.feature !== undefined) return problem.feature;
  if (problem.field !== undefined) return FILE_KEYS[problem.field];
  return problem.account === '' ? undefined : `[${problem.account}]`;
}

function freezeCopy(spec: AccountsSpec): AccountsSpec {
  return Object.freeze(
    Object.fromEntries(
      Object.entries(spec).map(([username, account]): [string, AccountSpec] => [
        username,
        Object.freeze({
          ...(account.password === undefined ? {} : { password: account.password }),
          ...(account.verifier === undefined ? {} : { verifier: account.verifier }),
          licenses: Object.freeze({ ...account.licenses }),
          ...(account.renewsOn === undefined ? {} : { renewsOn: account.renewsOn }),
          ...(account.cancelledOn === undefined ? {} : { cancelledOn: account.cancelledOn }),
          ...(account.disabled === undefined ? {} : { disabled: account.disabled }),
        }),
      ]),
    ),
  );
}
