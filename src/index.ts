/**
 * lv-license-client: get and hold licenses from LumenVox-style license servers.
 *
 * @packageDocumentation
 */
export {
  type ClientProperties,
  CONFIG_PATH_ENV,
  type ConfigWarning,
  type ConfigWarningCode,
  Credentials,
  DEFAULT_LICENSE_CACHE_PERIOD,
  DEFAULT_LICENSE_PORT,
  DEFAULT_LICENSE_SERVERS,
  defaultConfigPath,
  LICENSE_TYPES,
  type LicenseType,
  type LoadClientPropertiesOptions,
  loadClientProperties,
  MAX_LICENSE_CACHE_PERIOD,
  type ParseClientPropertiesOptions,
  type ParseServerListOptions,
  parseClientProperties,
  parseServerList,
  type RedactedCredentials,
  type ServerAddress,
  type TlsConfig,
} from './config/index.js';
export {
  AuthenticationError,
  ConfigError,
  type ConfigErrorOptions,
  errorFromReturnCode,
  IncompatibleServerError,
  InvalidParameterError,
  InvalidPortError,
  isLicenseError,
  LicenseError,
  type LicenseErrorOptions,
  LicensesExceededError,
  LicensesExpiredError,
  NoServerRespondingError,
  type NoServerRespondingErrorOptions,
  OpenPortError,
  type OpenPortErrorOptions,
  SocketsError,
  TimeoutError,
  toReturnCode,
} from './errors.js';
export {
  allReturnCodes,
  describeReturnCode,
  isReturnCode,
  ReturnCode,
  type ReturnCodeDescription,
  type ReturnCodeName,
  type ReturnCodeValue,
  returnCodeName,
} from './protocol/return-codes.js';
