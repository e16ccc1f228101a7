/**
 * The line scanner of `license_authentication.conf`: it checks the file's structure line by line (which
 * `ini` does not: it skips what it cannot read and reports no line numbers), remembers the line of each
 * section and key for messages, and lets `ini` read each section's values (quotes, escapes, inline comments).
 * What the values mean is checked by `validateAccounts`' rules in `accounts.ts`.
 */
import { parse } from 'ini';
import { ConfigError } from '../errors.js';
import type { AccountSpec, AccountsSpec } from './accounts.js';

/** Where one `[username]` section and its keys are. */
export interface AccountsFileSection {
  /** The 1-based line of the `[username]` header. */
  readonly line: number;
  /** Upper-cased key -> its 1-based line. */
  readonly keys: ReadonlyMap<string, number>;
}

/** A scanned file: the accounts as written (not yet validated) and where each part of them is. */
export interface AccountsFile {
  /** The accounts; counts that are not numbers are kept as the text written, for the validator to refuse. */
  readonly spec: AccountsSpec;
  /** Username -> where its section is. */
  readonly sections: ReadonlyMap<string, AccountsFileSection>;
}

interface OpenSection {
  readonly name: string;
  readonly line: number;
  readonly keys: Map<string, number>;
  readonly body: string[];
}

// `ini` would read an indented header, or one followed by a comment, as a key: accept only what it reads.
const HEADER = /^\[([^\]]*)\]\s*$/;
const KEY = /^[A-Za-z][A-Za-z0-9_]*$/;
const NUMBER = /^-?[0-9]+(?:\.[0-9]+)?$/;

/**
 * Scans the text of a `license_authentication.conf` file.
 *
 * @throws {@link ConfigError} (`source:line: ...`) for a line that is not a comment, a `[username]` header or
 * `KEY = value`; an empty or repeated section; a key outside any section or repeated in one; a `PASSWORD`
 * that `#` or `;` would cut short; a `PASSWORD` or `VERIFIER` that `ini` does not read as text. Never
 * shows the line itself, which may hold a password.
 */
export function scanAccountsFile(text: string, source: string | undefined): AccountsFile {
  const fail = (line: number, message: string, key?: string): ConfigError =>
    new ConfigError(`${linePrefix(source, line)}${message}`, { file: source, line, key });
  const sections = new Map<string, OpenSection>();
  let current: OpenSection | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    if (trimmed.startsWith('[')) {
      const name = HEADER.exec(raw)?.[1]?.trim();
      if (name === undefined) {
        throw fail(
          line,
          'is not a valid section header: write [username] at the start of a line of its own.',
        );
      }
      if (name === '') throw fail(line, '"[]" has no username: write the account name between the brackets.');
      const first = sections.get(name);
      if (first !== undefined) {
        throw fail(
          line,
          `[${name}] appears again (first on line ${first.line}); give each account one section.`,
        );
      }
      current = { name, line, keys: new Map(), body: [] };
      sections.set(name, current);
      continue;
    }
    const equals = trimmed.indexOf('=');
    if (equals < 0) {
      throw fail(
        line,
        'this line (not shown: it may hold a password) is not a [username] header, a comment or KEY = value.',
      );
    }
    const key = trimmed.slice(0, equals).trim();
    if (!KEY.test(key)) {
      throw fail(
        line,
        'the key before "=" is not a name: a key is PASSWORD, VERIFIER or a license type such as FULL.',
      );
    }
    const upper = key.toUpperCase();
    if (current === undefined) {
      throw fail(
        line,
        `${upper} comes before any [username] section; move it under its account's section.`,
        upper,
      );
    }
    const first = current.keys.get(upper);
    if (first !== undefined) {
      throw fail(
        line,
        `${upper} appears again in [${current.name}] (first on line ${first}); give each key once per account.`,
        upper,
      );
    }
    if (upper === 'PASSWORD' && cutShort(trimmed.slice(equals + 1).trim())) {
      throw fail(
        line,
        `the PASSWORD of [${current.name}] holds "#" or ";", which start a comment, so it would be cut short. Write it in double quotes, alone on its line: PASSWORD = "...".`,
        upper,
      );
    }
    current.keys.set(upper, line);
    current.body.push(raw);
  }

  const accounts: Array<[string, AccountSpec]> = [];
  for (const section of sections.values()) {
    const account: {
      password?: string;
      verifier?: string;
      licenses: Record<string, unknown>;
      renewsOn?: unknown;
      cancelledOn?: unknown;
      disabled?: unknown;
    } = {
      licenses: {},
    };
    for (const [key, value] of Object.entries(parse(section.body.join('\n')))) {
      const upper = key.toUpperCase();
      if (upper === 'PASSWORD' || upper === 'VERIFIER') {
        // `ini` turns true/false/null (even quoted) into values; they are still the text written.
        const text = typeof value === 'boolean' || value === null ? String(value) : value;
        if (typeof text !== 'string') {
          throw fail(
            section.keys.get(upper) ?? section.line,
            `the ${upper} of [${section.name}] is not read as text: write it in double quotes, ${upper} = "...".`,
            upper,
          );
        }
        account[upper === 'PASSWORD' ? 'password' : 'verifier'] = text;
      } else if (upper === 'RENEWS_ON') {
        account.renewsOn = typeof value === 'string' && NUMBER.test(value) ? Number(value) : value;
      } else if (upper === 'CANCELLED') {
        account.cancelledOn = value;
      } else if (upper === 'DISABLED') {
        const text = String(value).toLowerCase();
        account.disabled =
          text === 'yes' || text === 'true' ? true : text === 'no' || text === 'false' ? false : value;
      } else {
        account.licenses[upper] = typeof value === 'string' && NUMBER.test(value) ? Number(value) : value;
      }
    }
    // Counts that are not numbers stay as written; the validator refuses them without showing them.
    accounts.push([section.name, account as AccountSpec]);
  }
  return {
    spec: Object.fromEntries(accounts),
    sections: new Map([...sections].map(([name, { line, keys }]) => [name, { line, keys }])),
  };
}

/** `file:12: `, `line 12: `, `file: ` or nothing: what a message about a place in the file starts with. */
export function linePrefix(source: string | undefined, line: number | undefined): string {
  if (source === undefined) return line === undefined ? '' : `line ${line}: `;
  return line === undefined ? `${source}: ` : `${source}:${line}: `;
}

function cutShort(value: string): boolean {
  const quoted =
    value.length >= 2 && (value.startsWith('"') || value.startsWith("'")) && value.endsWith(value[0]!);
  return !quoted && /[#;]/.test(value);
}
