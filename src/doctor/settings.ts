/**
 * Where each configuration value comes from (the file and its line, an environment variable, the default),
 * and the servers and credentials a client would use once the environment is applied over the file. The
 * values are the config layer's (`ClientProperties.lines`, `readEnvironment`): nothing is parsed again here.
 */
import {
  type ClientProperties,
  Credentials,
  DEFAULT_LICENSE_CACHE_PERIOD,
  ENVIRONMENT,
  type EnvironmentSettings,
  type ServerAddress,
} from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { ConfigSetting, DoctorFinding, SettingSource } from './types.js';

const REDACTED = '[redacted]';
const DEFAULT: SettingSource = Object.freeze({ kind: 'default' });

/** What the settings are drawn from. */
export interface SettingsInput {
  /** The file's settings (as loaded, or as recovered); `undefined` when no file was read. */
  readonly props: ClientProperties | undefined;
  /** The file's credentials (stranded ones included); `undefined` when it has none. */
  readonly fileCredentials: Credentials | undefined;
  /** The file's path, when one was read. */
  readonly path: string | null;
  /** What the environment sets. */
  readonly environment: EnvironmentSettings;
}

/** The servers and credentials a client would use: the environment's over the file's. */
export interface EffectiveConnection {
  /** The servers, in priority order. */
  readonly servers: readonly ServerAddress[];
  /** The credentials, when both a username and a password are set (from either place). */
  readonly credentials: Credentials | undefined;
  /** Why the credentials cannot be used (only one of the two is set); `undefined` when they can. */
  readonly credentialsError: ConfigError | undefined;
}

/**
 * The servers and credentials a client built by `LicenseClient.fromConfigFile()` would use: each of
 * `LV_LICENSE_SERVERS`, `LV_AUTHENTICATION_USERNAME` and the password wins over the file's value on its own.
 */
export function effectiveConnection(
  fileServers: readonly ServerAddress[],
  fileCredentials: Credentials | undefined,
  environment: EnvironmentSettings,
): EffectiveConnection {
  const servers = environment.servers ?? fileServers;
  const username = environment.username ?? fileCredentials?.username;
  const password = environment.password ?? fileCredentials?.password;
  if (username === undefined && password === undefined) {
    return { servers, credentials: undefined, credentialsError: undefined };
  }
  if (username === undefined || password === undefined) {
    const [given, other] = username === undefined ? ['password', 'username'] : ['username', 'password'];
    const missing = username === undefined ? ENVIRONMENT.username : ENVIRONMENT.password;
    return {
      servers,
      credentials: undefined,
      credentialsError: new ConfigError(
        `A ${given} is set (in the environment or the file) but no ${other}, so a client refuses to start (ConfigError). Set ${missing} (or the file's [AUTHENTICATION] key), or unset the ${given}.`,
        { key: username === undefined ? 'username' : 'password' },
      ),
    };
  }
  try {
    return { servers, credentials: new Credentials(username, password), credentialsError: undefined };
  } catch (err) {
    return { servers, credentials: undefined, credentialsError: err as ConfigError };
  }
}

/** Each value a client would use, with where it came from. The password's value is never included. */
export function configSettings(input: SettingsInput): readonly ConfigSetting[] {
  const { props, path, environment } = input;
  const lines = props?.lines ?? {};
  const fromFile = (line: number | undefined): SettingSource =>
    line === undefined || path === null ? DEFAULT : Object.freeze({ kind: 'file', path, line });
  const fromEnv = (variable: string, file?: string): SettingSource =>
    Object.freeze({ kind: 'env', variable, ...(file === undefined ? {} : { file }) });
  const setting = (key: string, value: string | null, source: SettingSource): ConfigSetting =>
    Object.freeze({ key, value, source });

  const servers = environment.servers ?? props?.licenseServers;
  const fileCredentials = input.fileCredentials;
  // Credentials recovered from outside [AUTHENTICATION] have no line in `lines`, but do come from the file.
  const credentialSource = (line: number | undefined): SettingSource =>
    line === undefined && path !== null && fileCredentials !== undefined
      ? Object.freeze({ kind: 'file', path })
      : fromFile(line);
  const settings = [
    setting(
      'LICENSE_SERVERS',
      servers === undefined ? null : servers.map((s) => s.entry).join(';'),
      environment.servers === undefined ? fromFile(lines.licenseServers) : fromEnv(ENVIRONMENT.servers),
    ),
    setting(
      'LICENSE_CACHE_PERIOD',
      String(props?.licenseCachePeriod ?? DEFAULT_LICENSE_CACHE_PERIOD),
      fromFile(lines.licenseCachePeriod),
    ),
    setting('LICENSE_TYPE', props?.licenseType ?? 'Auto', fromFile(lines.licenseType)),
    setting(
      'DELAYED_LICENSE_ACQUISITION',
      props?.delayedLicenseAcquisition === true ? '1' : '0',
      fromFile(lines.delayedLicenseAcquisition),
    ),
    setting(
      'AUTHENTICATION_USERNAME',
      environment.username ?? fileCredentials?.username ?? null,
      environment.username === undefined ? credentialSource(lines.username) : fromEnv(ENVIRONMENT.username),
    ),
    setting(
      'AUTHENTICATION_PASSWORD',
      environment.password === undefined && fileCredentials === undefined ? null : REDACTED,
      environment.passwordOrigin === undefined
        ? credentialSource(lines.password)
        : fromEnv(
            environment.passwordOrigin.variable,
            'file' in environment.passwordOrigin ? environment.passwordOrigin.file : undefined,
          ),
    ),
  ];
  const tls = props?.tls ?? {};
  for (const [key, value, line] of [
    ['CA_FILE', tls.caFile, lines.caFile],
    ['CERT_FILE', tls.certFile, lines.certFile],
    ['KEY_FILE', tls.keyFile, lines.keyFile],
    ['SERVER_NAME', tls.serverName, lines.serverName],
  ] as const) {
    if (value !== undefined) settings.push(setting(key, value, fromFile(line)));
  }
  return Object.freeze(settings);
}

/**
 * A setting's source for people, as `lv-license doctor` prints it.
 *
 * @example
 * ```ts
 * describeSettingSource({ kind: 'file', path: '/etc/lumenvox/client_property.conf', line: 4 }); // '/etc/lumenvox/client_property.conf:4'
 * describeSettingSource({ kind: 'env', variable: 'LV_AUTHENTICATION_PASSWORD_FILE', file: '/run/secrets/pw' });
 * // 'LV_AUTHENTICATION_PASSWORD_FILE (/run/secrets/pw)'
 * describeSettingSource({ kind: 'default' }); // 'default'
 * ```
 */
export function describeSettingSource(source: SettingSource): string {
  switch (source.kind) {
    case 'file':
      return source.line === undefined ? source.path : `${source.path}:${source.line}`;
    case 'env':
      return source.file === undefined ? source.variable : `${source.variable} (${source.file})`;
    default:
      return 'default';
  }
}

/**
 * The per-server fixes name the file's keys (`LICENSE_SERVERS (line 2)`, `AUTHENTICATION_USERNAME`...).
 * Where the environment set a value instead, the fix says so: it names `LV_LICENSE_SERVERS`, and a
 * credentials fix says which variable each credential came from.
 */
export function pointFixesAtSources(
  findings: readonly DoctorFinding[],
  settings: readonly ConfigSetting[],
): DoctorFinding[] {
  const sourceOf = (key: string) => settings.find((s) => s.key === key)?.source;
  const serversFromEnv = sourceOf('LICENSE_SERVERS')?.kind === 'env';
  const username = sourceOf('AUTHENTICATION_USERNAME');
  const password = sourceOf('AUTHENTICATION_PASSWORD');
  const credentialsFromEnv = username?.kind === 'env' || password?.kind === 'env';
  const credentialsNote =
    username === undefined || password === undefined
      ? ''
      : ` (Here the username comes from ${describeSettingSource(username)} and the password from ${describeSettingSource(password)}.)`;
  return findings.map((f) => {
    if (f.server === undefined || f.fix === undefined || f.id === 'verdict') return f;
    let fix = f.fix;
    if (serversFromEnv) fix = fix.replace(/(?<!LV_)LICENSE_SERVERS(?: \(line \d+\))?/g, ENVIRONMENT.servers);
    if (credentialsFromEnv && /AUTHENTICATION_(USERNAME|PASSWORD)/.test(fix)) fix += credentialsNote;
    return fix === f.fix ? f : Object.freeze({ ...f, fix });
  });
}
