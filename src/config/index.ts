/**
 * The `client_property.conf` loader: the file's text to validated, frozen options.
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
export { loadClientProperties } from './load.js';
export { parseClientProperties } from './parse.js';
export { parseServerList } from './servers.js';
export {
  type ClientProperties,
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
