/**
 * The `client_property.conf` loader: the file's text to validated, frozen options. The first part is
 * public (the package root re-exports it by name); the second is for the library's own layers (the
 * doctor, the client), so that none of them reaches into this layer's files.
 */
export { Credentials, type RedactedCredentials } from './credentials.js';
export {
  CONFIG_PATH_ENV,
  DEFAULT_LICENSE_CACHE_PERIOD,
  DEFAULT_LICENSE_PORT,
  DEFAULT_LICENSE_SERVERS,
  defaultConfigPath,
  MAX_LICENSE_CACHE_PERIOD,
} from './defaults.js';
// ---- for the library's own layers (not re-exported by the package) ------------------------------------
export {
  ENVIRONMENT,
  type EnvironmentSettings,
  environmentStandsIn,
  type PasswordOrigin,
  readEnvironment,
} from './environment.js';
export { passwordsIn } from './lines.js';
export { loadClientProperties, propertiesFromFile } from './load.js';
export { parseClientProperties } from './parse.js';
export { type Recovery, recoverParse } from './recover.js';
export { isPastedSecret, redactSecrets } from './redact.js';
export { parseServerList } from './servers.js';
export { type ConfigCandidate, configCandidates, readConfFile, resolveTlsPaths } from './source.js';
export { readTlsMaterial, type TlsMaterial } from './tls-files.js';
export {
  type ClientProperties,
  type ConfigLines,
  type ConfigWarning,
  type ConfigWarningCode,
  LICENSE_TYPES,
  type LicenseType,
  type LoadClientPropertiesOptions,
  type ParseClientPropertiesOptions,
  type ParseServerListOptions,
  type ServerAddress,
  type TlsConfig,
} from './types.js';
export { watchClientProperties, watchFile } from './watch.js';
