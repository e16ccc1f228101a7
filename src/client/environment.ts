/**
 * Settings from the environment, for containers: `LV_LICENSE_SERVERS`, `LV_AUTHENTICATION_USERNAME`,
 * `LV_AUTHENTICATION_PASSWORD` (or `LV_AUTHENTICATION_PASSWORD_FILE`, a Docker or Kubernetes secret). They
 * win over `client_property.conf`, and stand in for it when there is none; options given in code win over
 * them.
 */
import { readFileSync } from 'node:fs';
import { parseServerList } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { LicenseClientOptions } from './options.js';

/** The environment variables read. */
export const ENVIRONMENT = Object.freeze({
  servers: 'LV_LICENSE_SERVERS',
  username: 'LV_AUTHENTICATION_USERNAME',
  password: 'LV_AUTHENTICATION_PASSWORD',
  passwordFile: 'LV_AUTHENTICATION_PASSWORD_FILE',
});

/**
 * The client options the environment sets (none when it sets none).
 *
 * @throws {ConfigError} for a server list that does not parse, both a password and a password file, or a
 *   password file that cannot be read (the password itself is never shown).
 */
export function optionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): LicenseClientOptions {
  const options: LicenseClientOptions = {};
  const servers = env[ENVIRONMENT.servers]?.trim();
  if (servers) {
    // A password pasted into the server list by mistake is never echoed in its error.
    const secrets = [env[ENVIRONMENT.password]].filter((s): s is string => typeof s === 'string' && s !== '');
    options.servers = parseServerList(servers, { key: ENVIRONMENT.servers, secrets }).map((s) => ({
      host: s.host,
      port: s.port,
      tls: s.tls,
    }));
  }
  const username = env[ENVIRONMENT.username]?.trim();
  if (username) options.username = username;
  const password = env[ENVIRONMENT.password];
  const passwordFile = env[ENVIRONMENT.passwordFile]?.trim();
  if (password && passwordFile) {
    throw new ConfigError(
      `Both ${ENVIRONMENT.password} and ${ENVIRONMENT.passwordFile} are set: keep one (the file, for a container secret).`,
    );
  }
  if (password) options.password = password;
  if (passwordFile) options.password = readSecretFile(passwordFile);
  return options;
}

/** Whether the environment names the servers, so that no `client_property.conf` is needed. */
export function environmentNamesServers(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env[ENVIRONMENT.servers]?.trim());
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
