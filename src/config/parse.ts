/**
 * `client_property.conf` text to validated, frozen {@link ClientProperties}. Pure: no file system.
 */
import { ConfigError } from '../errors.js';
import { hasForbiddenCredentialCharacters } from '../protocol/scram-attributes.js';
import { Credentials } from './credentials.js';
import { DEFAULT_LICENSE_PORT, DEFAULT_LICENSE_SERVERS } from './defaults.js';
import { Diagnostics } from './diagnostics.js';
import { KEYS, TLS_SECTION } from './keys.js';
import { AUTHENTICATION_SECTION, GLOBAL_SECTION, passwordsIn, scanLines } from './lines.js';
import { checkPlacement, SectionTable } from './sections.js';
import { readServerList } from './servers.js';
import type {
  ClientProperties,
  ConfigLines,
  ParseClientPropertiesOptions,
  ServerAddress,
  TlsConfig,
} from './types.js';
import { isDefault, readCachePeriod, readLicenseType, readSwitch } from './values.js';

const DEFAULT_SOURCE = '<string>';
const GROUP_OR_OTHER_READ = 0o044;

/**
 * Parses and validates the text of a `client_property.conf`.
 *
 * Reads `[GLOBAL] LICENSE_SERVERS` (or the legacy `LIC_SERVER_HOSTNAME`) and `LICENSE_CACHE_PERIOD`,
 * `[SRE] LICENSE_TYPE` and `DELAYED_LICENSE_ACQUISITION`, `[AUTHENTICATION]` and this library's `[TLS]`
 * section; every other key and section of the vendor's file is ignored. Section and key names match in any
 * case; the value `default` means the built-in default. What works but looks wrong (a repeated server or
 * key, a key under the wrong header, a legacy key name, a password in a file others can read) is reported
 * in {@link ClientProperties.warnings}.
 *
 * @param text - The file's contents (a UTF-8 BOM and CRLF line ends are fine).
 * @param options - `source` names the file in messages (default `'<string>'`); `fileMode` is the file's
 *   `fs.Stats.mode`, to warn when a file that holds a password can be read by group or others.
 * @returns The options, deeply frozen. The password is only readable through `authentication.password`.
 * @throws {@link ConfigError} (code -11, `LV_INVALID_PROPERTY_VALUE`) whose message starts with
 *   `source:line:`, names the key, says what is wrong and how to fix it, and never holds a password; its
 *   `file`, `line` and `key` fields say the same.
 * @example
 * ```ts
 * const options = parseClientProperties(
 *   '[GLOBAL]\nLICENSE_SERVERS = 10.0.0.1:7569;10.0.0.2\n',
 *   { source: 'client_property.conf' },
 * );
 * options.licenseServers.map((s) => `${s.host}:${s.port}`); // ['10.0.0.1:7569', '10.0.0.2:7569']
 * options.licenseCachePeriod; // 30
 * ```
 */
export function parseClientProperties(
  text: string,
  options: ParseClientPropertiesOptions = {},
): ClientProperties {
  const source = options.source ?? DEFAULT_SOURCE;
  if (typeof text !== 'string') {
    throw new ConfigError(
      `${source}: the configuration must be text, not ${typeof text}. Pass the file's contents.`,
      {
        file: source,
      },
    );
  }
  const diagnostics = new Diagnostics(source);
  // Known before any line is judged, so that no message quotes the password back, wherever it was pasted.
  for (const secret of passwordsIn(text)) diagnostics.addSecret(secret);
  const entries = scanLines(text, diagnostics);
  checkPlacement(entries, diagnostics);
  const table = new SectionTable(entries, diagnostics);

  const licenseServers = readLicenseServers(table, diagnostics);
  const licenseCachePeriod = readCachePeriod(table.get(GLOBAL_SECTION, KEYS.licenseCachePeriod), diagnostics);
  const licenseType = readLicenseType(table.get('SRE', KEYS.licenseType), diagnostics);
  const delayedLicenseAcquisition = readSwitch(
    table.get('SRE', KEYS.delayedLicenseAcquisition),
    diagnostics,
    false,
  );
  const authentication = readCredentials(table, diagnostics);
  const tls = readTls(table, diagnostics);
  const lines = readLines(table, authentication !== undefined);
  if (authentication !== undefined && options.fileMode !== undefined) {
    checkFileMode(options.fileMode, table, diagnostics);
  }

  return Object.freeze({
    licenseServers,
    licenseCachePeriod,
    licenseType,
    delayedLicenseAcquisition,
    authentication,
    tls,
    warnings: diagnostics.warnings,
    lines,
    source,
  });
}

/** The line of each setting whose value was used (not its default). Called once every value is valid. */
function readLines(table: SectionTable, authenticates: boolean): ConfigLines {
  const line = (section: string, key: string): number | undefined => {
    const entry = table.get(section, key);
    return entry === undefined || entry.value === '' || isDefault(entry.value) ? undefined : entry.line;
  };
  const lines: Partial<Record<keyof ConfigLines, number | undefined>> = {
    licenseServers:
      line(GLOBAL_SECTION, KEYS.licenseServers) ??
      (table.get(GLOBAL_SECTION, KEYS.licenseServers) === undefined
        ? line(GLOBAL_SECTION, KEYS.legacyLicenseServers)
        : undefined),
    licenseCachePeriod: line(GLOBAL_SECTION, KEYS.licenseCachePeriod),
    licenseType: line('SRE', KEYS.licenseType),
    delayedLicenseAcquisition: line('SRE', KEYS.delayedLicenseAcquisition),
    username: authenticates ? line(AUTHENTICATION_SECTION, KEYS.username) : undefined,
    password: authenticates ? line(AUTHENTICATION_SECTION, KEYS.password) : undefined,
    caFile: line(TLS_SECTION, KEYS.caFile),
    certFile: line(TLS_SECTION, KEYS.certFile),
    keyFile: line(TLS_SECTION, KEYS.keyFile),
    serverName: line(TLS_SECTION, KEYS.serverName),
  };
  return Object.freeze(
    Object.fromEntries(Object.entries(lines).filter(([, n]) => n !== undefined)),
  ) as ConfigLines;
}

function readLicenseServers(table: SectionTable, diagnostics: Diagnostics): readonly ServerAddress[] {
  const current = table.get(GLOBAL_SECTION, KEYS.licenseServers);
  const legacy = table.get(GLOBAL_SECTION, KEYS.legacyLicenseServers);
  if (legacy !== undefined && current !== undefined) {
    diagnostics.warn(
      'legacy-key',
      `${KEYS.legacyLicenseServers} is ignored because ${KEYS.licenseServers} is set (line ${current.line}). ` +
        `Delete the ${KEYS.legacyLicenseServers} line.`,
      { line: legacy.line, key: legacy.key },
    );
  } else if (legacy !== undefined) {
    diagnostics.warn(
      'legacy-key',
      `${KEYS.legacyLicenseServers} is the name ${KEYS.licenseServers} had before release 10.0; it is still ` +
        `read, but rename it to ${KEYS.licenseServers}.`,
      { line: legacy.line, key: legacy.key },
    );
  }
  const entry = current ?? legacy;
  const value = entry === undefined || isDefault(entry.value) ? DEFAULT_LICENSE_SERVERS : entry.value;
  const key = entry?.key ?? KEYS.licenseServers;
  const servers = readServerList(value, diagnostics, {
    key,
    line: entry?.line,
    defaultPort: DEFAULT_LICENSE_PORT,
  });
  // A password that happens to be a valid host name would be dialed, and then named in every error.
  if (servers.some((server) => diagnostics.isSecretHost(server.host))) {
    throw diagnostics.pastedPassword({ line: entry?.line, key });
  }
  return servers;
}

function readCredentials(table: SectionTable, diagnostics: Diagnostics): Credentials | undefined {
  const username = table.get(AUTHENTICATION_SECTION, KEYS.username);
  const password = table.get(AUTHENTICATION_SECTION, KEYS.password);
  const hasUsername = username !== undefined && username.value !== '';
  const hasPassword = password !== undefined && password.value !== '';
  if (!hasUsername && !hasPassword) return undefined;
  if (!hasUsername || !hasPassword) {
    const [given, missing, missingEntry] = hasUsername
      ? [KEYS.username, KEYS.password, password]
      : [KEYS.password, KEYS.username, username];
    const where = missingEntry === undefined ? 'is missing' : 'is empty';
    throw diagnostics.error(
      `[AUTHENTICATION] sets ${given} but ${missing} ${where}. Set both to authenticate, ` +
        'or leave both empty to connect without authentication.',
      { line: (missingEntry ?? (hasUsername ? username : password))?.line, key: missing },
    );
  }
  for (const entry of [username, password]) {
    if (hasForbiddenCredentialCharacters(entry.value)) {
      throw diagnostics.error(
        `${entry.key} holds a control character (a tab, a stray carriage return...) or a broken Unicode ` +
          'character, which the license server refuses in credentials. Retype the value with printable characters only.',
        { line: entry.line, key: entry.key },
      );
    }
  }
  return new Credentials(username.value, password.value);
}

function readTls(table: SectionTable, diagnostics: Diagnostics): TlsConfig {
  const read = (key: string): { value?: string; line?: number } => {
    const entry = table.get(TLS_SECTION, key);
    if (entry === undefined || entry.value === '' || isDefault(entry.value)) return {};
    return { value: entry.value, line: entry.line };
  };
  const ca = read(KEYS.caFile);
  const cert = read(KEYS.certFile);
  const key = read(KEYS.keyFile);
  const serverName = read(KEYS.serverName);
  if ((cert.value === undefined) !== (key.value === undefined)) {
    const [given, missing] =
      cert.value === undefined ? [KEYS.keyFile, KEYS.certFile] : [KEYS.certFile, KEYS.keyFile];
    throw diagnostics.error(
      `[TLS] sets ${given} but not ${missing}; a client certificate needs both. Set ${missing} ` +
        `(it may name the same PEM file if that file holds both), or remove ${given}.`,
      { line: cert.line ?? key.line, key: missing },
    );
  }
  return Object.freeze({
    ...(ca.value === undefined ? {} : { caFile: ca.value }),
    ...(cert.value === undefined ? {} : { certFile: cert.value }),
    ...(key.value === undefined ? {} : { keyFile: key.value }),
    ...(serverName.value === undefined ? {} : { serverName: serverName.value }),
  });
}

function checkFileMode(mode: number, table: SectionTable, diagnostics: Diagnostics): void {
  if ((mode & GROUP_OR_OTHER_READ) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  diagnostics.warn(
    'world-readable',
    `the file holds ${KEYS.password} but its mode is ${octal}, so other users of this machine can read the ` +
      `password. Make it readable by its owner only: chmod 600 ${diagnostics.source ?? 'FILE'}`,
    { line: table.get(AUTHENTICATION_SECTION, KEYS.password)?.line, key: KEYS.password },
  );
}
