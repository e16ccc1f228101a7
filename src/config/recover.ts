/**
 * Parsing past the first error. The loader stops at the first `ConfigError`; the doctor wants every
 * problem, and the servers and credentials as the user meant them. So it repairs the text the way each
 * error's fix says (never changing the line count, so line numbers stay true) and parses again.
 */

import { ConfigError } from '../errors.js';
import { Credentials } from './credentials.js';
import { Diagnostics } from './diagnostics.js';
import { CREDENTIAL_KEYS, KEYS } from './keys.js';
import { AUTHENTICATION_SECTION, type ConfEntry, passwordsIn, scanLines } from './lines.js';
import { parseClientProperties } from './parse.js';
import { parseServerList } from './servers.js';
import type { ClientProperties } from './types.js';

const MAX_REPAIRS = 20;
const SERVER_KEYS: ReadonlySet<string> = new Set([KEYS.licenseServers, KEYS.legacyLicenseServers]);

/** Credentials written outside `[AUTHENTICATION]`: the missing-header support case. */
export interface StrandedCredentials {
  readonly error: ConfigError;
  /** The first credential line. */
  readonly line: number;
  /** The section they landed in, as written (`undefined`: before any header). */
  readonly section: string | undefined;
  /** The line of an `[AUTHENTICATION]` header elsewhere in the file, if there is one. */
  readonly headerLine: number | undefined;
}

/** What a parse-with-repairs found. */
export interface Recovery {
  /** The errors that are not about servers or credentials, in the order found. */
  readonly errors: readonly ConfigError[];
  /** One error per bad `LICENSE_SERVERS` entry (or the list's own error). */
  readonly serverErrors: readonly ConfigError[];
  /** Set when the credentials sit outside `[AUTHENTICATION]`. */
  readonly stranded?: StrandedCredentials;
  /** Set when only one of username and password is given. */
  readonly pairError?: ConfigError;
  /** The options after the repairs; `undefined` when the text could not be repaired. */
  readonly props?: ClientProperties;
  /** The credentials as meant (stranded ones included); `undefined` without usable ones. */
  readonly credentials?: Credentials;
  /** `LICENSE_SERVERS` had no valid entry: there is nothing to probe. */
  readonly serversUnusable: boolean;
}

/** Parses `text`, repairing and re-parsing after each `ConfigError` that names a line. */
export function recoverParse(text: string, source: string, fileMode?: number): Recovery {
  const lines = text.split(/\r\n|\r|\n/);
  const errors: ConfigError[] = [];
  const serverErrors: ConfigError[] = [];
  let stranded: StrandedCredentials | undefined;
  let strandedCredentials: Credentials | undefined;
  let pairError: ConfigError | undefined;
  let serversUnusable = false;
  const comment = (line: number) => {
    lines[line - 1] = '#';
  };
  const secrets = passwordsIn(text);
  const entries = (): ConfEntry[] => scanLines(lines.join('\n'), new Diagnostics(source, undefined, secrets));

  for (let attempt = 0; attempt < MAX_REPAIRS; attempt += 1) {
    let props: ClientProperties;
    try {
      props = parseClientProperties(lines.join('\n'), {
        source,
        ...(fileMode === undefined ? {} : { fileMode }),
      });
    } catch (err) {
      if (!(err instanceof ConfigError) || err.line === undefined) {
        if (err instanceof ConfigError) errors.push(err);
        break;
      }
      const key = err.key ?? '';
      if (
        CREDENTIAL_KEYS.has(key) &&
        stranded === undefined &&
        /not in \[AUTHENTICATION\]/.test(err.message)
      ) {
        const all = entries();
        const outside = all.filter((e) => CREDENTIAL_KEYS.has(e.key) && e.section !== AUTHENTICATION_SECTION);
        stranded = {
          error: err,
          line: err.line,
          section: all.find((e) => e.line === err.line)?.sectionAsWritten,
          headerLine: authenticationHeaderLine(lines),
        };
        strandedCredentials = credentialsOf(outside);
        for (const entry of outside) comment(entry.line);
      } else if (CREDENTIAL_KEYS.has(key)) {
        pairError ??= err;
        strandedCredentials = undefined;
        for (const entry of entries().filter((e) => CREDENTIAL_KEYS.has(e.key))) comment(entry.line);
      } else if (SERVER_KEYS.has(key)) {
        const entry = entries().find((e) => e.line === err.line);
        const good = entry === undefined ? [] : checkEntries(entry, source, secrets, serverErrors);
        if (serverErrors.length === 0) serverErrors.push(err);
        if (entry !== undefined && good.length > 0) {
          lines[err.line - 1] = `${entry.keyAsWritten} = ${good.join(';')}`;
        } else {
          serversUnusable = true;
          comment(err.line);
        }
      } else {
        errors.push(err);
        comment(err.line);
      }
      continue;
    }
    const credentials = pairError === undefined ? (props.authentication ?? strandedCredentials) : undefined;
    return {
      errors,
      serverErrors,
      ...(stranded === undefined ? {} : { stranded }),
      ...(pairError === undefined ? {} : { pairError }),
      props,
      ...(credentials === undefined ? {} : { credentials }),
      serversUnusable,
    };
  }
  return {
    errors,
    serverErrors,
    ...(stranded === undefined ? {} : { stranded }),
    ...(pairError === undefined ? {} : { pairError }),
    serversUnusable,
  };
}

/**
 * Parses each entry of a server list on its own: the good ones, and one error per bad one. An entry whose
 * host is the password is bad (and never shown), although it passes for a host name.
 */
function checkEntries(
  entry: ConfEntry,
  source: string,
  secrets: readonly string[],
  errors: ConfigError[],
): string[] {
  const good: string[] = [];
  const diagnostics = new Diagnostics(source, undefined, secrets);
  for (const part of entry.value.split(';').map((p) => p.trim())) {
    if (part === '') continue;
    try {
      const [server] = parseServerList(part, { source, line: entry.line, key: entry.key, secrets });
      if (server !== undefined && diagnostics.isSecretHost(server.host)) {
        errors.push(diagnostics.pastedPassword({ line: entry.line, key: entry.key }));
        continue;
      }
      good.push(part);
    } catch (err) {
      if (err instanceof ConfigError) errors.push(err);
    }
  }
  return good;
}

function credentialsOf(entries: readonly ConfEntry[]): Credentials | undefined {
  const username = entries.findLast((e) => e.key === KEYS.username)?.value ?? '';
  const password = entries.findLast((e) => e.key === KEYS.password)?.value ?? '';
  return username !== '' && password !== '' ? new Credentials(username, password) : undefined;
}

function authenticationHeaderLine(lines: readonly string[]): number | undefined {
  const index = lines.findIndex((line) => /^\s*\[\s*AUTHENTICATION\s*\]/i.test(line));
  return index < 0 ? undefined : index + 1;
}
