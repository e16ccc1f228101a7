/**
 * The line scanner of `client_property.conf`: text in, `KEY = VALUE` entries (with their section and
 * line) out. It knows the file's syntax and nothing of what the keys mean.
 *
 * Why not the `ini` package (a dependency of this library for other files): `ini.parse` treats `;` as the
 * start of an inline comment, so `LICENSE_SERVERS = 127.0.0.1:7569;10.0.0.1:4971` comes back as
 * `127.0.0.1:7569` and every server after the first silently vanishes. In this file `;` separates servers;
 * it starts a comment only at the beginning of a line.
 */
import { type Diagnostics, quote } from './diagnostics.js';

/** The section keys written before any `[SECTION]` header belong to: a "global" pseudo-section. */
export const GLOBAL_SECTION = 'GLOBAL';

/** The section whose lines are never echoed in messages. */
export const AUTHENTICATION_SECTION = 'AUTHENTICATION';

/** One `KEY = VALUE` line. */
export interface ConfEntry {
  /** 1-based line number. */
  readonly line: number;
  /** The section, upper-cased; {@link GLOBAL_SECTION} for keys before any header. */
  readonly section: string;
  /** The section as written, or `undefined` for keys before any header. */
  readonly sectionAsWritten: string | undefined;
  /** The line of the section's header, or `undefined` for keys before any header. */
  readonly sectionLine?: number | undefined;
  /** The key, upper-cased (names match case-insensitively). */
  readonly key: string;
  /** The key as written. */
  readonly keyAsWritten: string;
  /** The value, trimmed, with one pair of surrounding double quotes removed. */
  readonly value: string;
}

const HEADER = /^\[([^\]]*)\](?:\s*[#;].*)?$/;
const KEY = /^[A-Za-z0-9_.-]+$/;
// Lines that may hold a secret are never shown in a message, not even when they are malformed.
const SECRET_HINT = /PASSW|PWD|SECRET/i;

/**
 * Splits a configuration's text into entries, in file order.
 *
 * Accepts a UTF-8 BOM, CRLF / LF / CR line ends, `#` comment lines, `;` comment lines (only when `;` is the
 * first non-blank character: inside a value `;` separates servers), blanks around `=`, and values wrapped in
 * double quotes. Keys before any header land in the {@link GLOBAL_SECTION} pseudo-section.
 *
 * @throws {@link ConfigError} for a line that is neither blank, comment, `[SECTION]` header nor `KEY = VALUE`.
 */
export function scanLines(text: string, diagnostics: Diagnostics): ConfEntry[] {
  const entries: ConfEntry[] = [];
  let section = GLOBAL_SECTION;
  let sectionAsWritten: string | undefined;
  let sectionLine: number | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    if (trimmed.startsWith('[')) {
      const name = HEADER.exec(trimmed)?.[1]?.trim();
      if (name === undefined || name === '') {
        throw garbage(diagnostics, line, trimmed, section, 'is not a valid [SECTION] header');
      }
      sectionAsWritten = name;
      sectionLine = line;
      section = name.toUpperCase();
      continue;
    }
    const equals = trimmed.indexOf('=');
    if (equals < 0) {
      throw garbage(
        diagnostics,
        line,
        trimmed,
        section,
        'is not a comment, a [SECTION] header or KEY = VALUE',
      );
    }
    const keyAsWritten = trimmed.slice(0, equals).trim();
    if (!KEY.test(keyAsWritten)) {
      throw garbage(
        diagnostics,
        line,
        trimmed,
        section,
        keyAsWritten === ''
          ? 'has no key before "="'
          : 'has a key that is not letters, digits, "_", "." or "-"',
      );
    }
    const rawValue = trimmed.slice(equals + 1).trim();
    const value = unquote(rawValue);
    if (value === rawValue && (rawValue.startsWith('"') || (rawValue.endsWith('"') && rawValue.length > 1))) {
      diagnostics.warn(
        'unbalanced-quote',
        `the value of ${keyAsWritten} ${rawValue.startsWith('"') ? 'starts' : 'ends'} with a double quote but does not ${rawValue.startsWith('"') ? 'end' : 'start'} with one, so the quote is kept as part of the value. Put a double quote at both ends of the value, or at neither.`,
        { line, key: keyAsWritten.toUpperCase() },
      );
    }
    entries.push({
      line,
      section,
      sectionAsWritten,
      sectionLine,
      key: keyAsWritten.toUpperCase(),
      keyAsWritten,
      value,
    });
  }
  return entries;
}

const PASSWORD_LINE = /^\s*AUTHENTICATION_PASSWORD\s*=(.*)$/gim;

/**
 * The value of every `AUTHENTICATION_PASSWORD` line of `text`, in any section, as {@link scanLines} reads
 * it: known before any line is judged, so that no message quotes the password back wherever it was pasted.
 */
export function passwordsIn(text: string): string[] {
  return [...text.matchAll(PASSWORD_LINE)].map((m) => unquote((m[1] ?? '').trim())).filter((v) => v !== '');
}

/** A value without one pair of surrounding double quotes, when it has them. */
export function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function garbage(
  diagnostics: Diagnostics,
  line: number,
  text: string,
  section: string,
  what: string,
): ReturnType<Diagnostics['error']> {
  const secret = section === AUTHENTICATION_SECTION || SECRET_HINT.test(text);
  const shown = secret ? 'this line (not shown: it may hold a password)' : `the line ${quote(text)}`;
  return diagnostics.error(
    `${shown} ${what}. Write it as KEY = VALUE, put a # in front of it to make it a comment, or delete it.`,
    { line },
  );
}
