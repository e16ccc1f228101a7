/**
 * Settings from the environment, for containers: `LV_LICENSE_SERVERS`, `LV_AUTHENTICATION_USERNAME`,
 * `LV_AUTHENTICATION_PASSWORD` (or `LV_AUTHENTICATION_PASSWORD_FILE`, a Docker or Kubernetes secret). They
 * win over `client_property.conf`, and stand in for it when there is none (and no path is given).
 *
 * The one reader of these variables: the client builds its options from what it returns, and the doctor
 * reports the same values with the variable each came from, so the two never disagree.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { parseServerList } from './servers.js';
import { configCandidates } from './source.js';
import type { ServerAddress } from './types.js';

/** The environment variables read. */
export const ENVIRONMENT = Object.freeze({
  servers: 'LV_LICENSE_SERVERS',
  username: 'LV_AUTHENTICATION_USERNAME',
  password: 'LV_AUTHENTICATION_PASSWORD',
  passwordFile: 'LV_AUTHENTICATION_PASSWORD_FILE',
} as const);

/** Where the environment's password came from: the variable itself, or the file a `_FILE` variable names. */
export type PasswordOrigin =
  | { readonly variable: typeof ENVIRONMENT.password }
  | { readonly variable: typeof ENVIRONMENT.passwordFile; readonly file: string };

/** What the environment sets; a field is absent when its variable is unset or blank. */
export interface EnvironmentSettings {
  /** `LV_LICENSE_SERVERS`, parsed as `LICENSE_SERVERS` is. */
  readonly servers?: readonly ServerAddress[];
  /** `LV_AUTHENTICATION_USERNAME`, trimmed. */
  readonly username?: string;
  /** The password, from `LV_AUTHENTICATION_PASSWORD` or the first line of `LV_AUTHENTICATION_PASSWORD_FILE`. */
  readonly password?: string;
  /** Which variable gave {@link EnvironmentSettings.password} (never the value). */
  readonly passwordOrigin?: PasswordOrigin;
}

/**
 * Reads the container settings of `env`.
 *
 * @throws {ConfigError} for a server list that does not parse, both a password and a password file, or a
 *   password file that cannot be read (the password itself is never shown).
 */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentSettings {
  const settings: {
    servers?: readonly ServerAddress[];
    username?: string;
    password?: string;
    passwordOrigin?: PasswordOrigin;
  } = {};
  const servers = env[ENVIRONMENT.servers]?.trim();
  if (servers) {
    // A password pasted into the server list by mistake is never echoed in its error.
    const secrets = [env[ENVIRONMENT.password]].filter((s): s is string => typeof s === 'string' && s !== '');
    settings.servers = parseServerList(servers, { key: ENVIRONMENT.servers, secrets });
    // One that passes for a host name would be dialed, and named in every network error: refused, unnamed.
    if (settings.servers.some((server) => secrets.includes(server.host))) {
      throw new ConfigError(
        `${ENVIRONMENT.servers} has an entry that is the password (${ENVIRONMENT.password}): it was pasted there by mistake. Remove it.`,
      );
    }
  }
  const username = env[ENVIRONMENT.username]?.trim();
  if (username) settings.username = username;
  const password = env[ENVIRONMENT.password];
  const passwordFile = env[ENVIRONMENT.passwordFile]?.trim();
  if (password && passwordFile) {
    throw new ConfigError(
      `Both ${ENVIRONMENT.password} and ${ENVIRONMENT.passwordFile} are set: keep one (the file, for a container secret).`,
    );
  }
  if (password) {
    settings.password = password;
    settings.passwordOrigin = Object.freeze({ variable: ENVIRONMENT.password });
  }
  if (passwordFile) {
    settings.password = readSecretFile(passwordFile);
    settings.passwordOrigin = Object.freeze({ variable: ENVIRONMENT.passwordFile, file: passwordFile });
  }
  return Object.freeze(settings);
}

/** Whether the environment names the servers, so that no `client_property.conf` is needed. */
export function environmentNamesServers(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env[ENVIRONMENT.servers]?.trim());
}

/**
 * Whether the environment stands in for `client_property.conf`: no path is given, `LV_LICENSE_SERVERS` is
 * set, and no file exists where the loader would look (`LV_CLIENT_PROPERTY_CONF`, else the default path).
 */
export async function environmentStandsIn(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  if ((path !== undefined && path !== '') || !environmentNamesServers(env)) return false;
  const [read] = await configCandidates(undefined, env);
  return read?.exists !== true;
}

function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${ENVIRONMENT.passwordFile} names ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? err}): mount the secret there, readable by this process.`,
      { cause: err },
    );
  }
  // The first line, as a secret file usually holds one (its line end is not part of the password).
  const secret = text.split(/\r?\n/)[0] ?? '';
  if (secret === '')
    throw new ConfigError(`${ENVIRONMENT.passwordFile} names ${path}, whose first line is empty.`);
  return secret;
}
