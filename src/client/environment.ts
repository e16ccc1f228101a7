/**
 * The client options the container settings give (`LV_LICENSE_SERVERS`, `LV_AUTHENTICATION_*`): the
 * config layer reads and checks the variables; this only maps them onto {@link LicenseClientOptions}.
 */
import { readEnvironment } from '../config/index.js';
import type { LicenseClientOptions } from './options.js';

/**
 * The client options the environment sets (none when it sets none).
 *
 * @throws {ConfigError} for a server list that does not parse, both a password and a password file, or a
 *   password file that cannot be read (the password itself is never shown).
 */
export function optionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): LicenseClientOptions {
  const settings = readEnvironment(env);
  return {
    ...(settings.servers === undefined
      ? {}
      : { servers: settings.servers.map((s) => ({ host: s.host, port: s.port, tls: s.tls })) }),
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === undefined ? {} : { password: settings.password }),
  };
}
