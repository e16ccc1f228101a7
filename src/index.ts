/**
 * lv-license-client: get and hold licenses from LumenVox-style license servers.
 *
 * @packageDocumentation
 */
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
